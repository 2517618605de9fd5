/*
 * shards.h - --merge: one run's output from the journals of its shards.
 */
#ifndef WQ_SHARDS_H
#define WQ_SHARDS_H

#include "glue.h"
#include "journal.h"
#include "output.h"
#include "stop.h"

typedef struct wq_shardconf {
    char *const *journals;      /* one per shard, in any order */
    int n;
    const wq_jheader *header;   /* this run's: the shards' differ only in
                                   their shard */
    const char *output;         /* -o FILE, or NULL */
    enum wq_layout layout;
    enum wq_format format;      /* how a merged value is written */
    int quiet;
} wq_shardconf;

/* Checks that the journals are those of all N shards of this job and
 * input, each complete, and writes the output a single run would have
 * written, folding with the host state's merge if the job has one. */
enum wq_outcome wq_shards_merge(const wq_shardconf *c, wq_lua *host);

#endif
