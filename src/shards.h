/*
 * shards.h - --merge: one run's output from the journals of its shards.
 */
#ifndef WQ_SHARDS_H
#define WQ_SHARDS_H

#include "batch.h"
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
 * written, folding with the host state's merge if the job has one. Not
 * for a job with reduce: its merge is a run (wq_shards_open below). */
enum wq_outcome wq_shards_merge(const wq_shardconf *c, wq_lua *host);

/* A keyed reduce's --merge runs as any run of the job, its items read
 * from the shards' journals instead of the input: each result carried
 * over as a resumed run carries a journal's, so that the keys are folded
 * by their owners across the workers (shuffle.h), not on one thread. */
typedef struct wq_shardset wq_shardset;

/* Opens and checks the journals, as wq_shards_merge does. NULL with a
 * message in err. */
wq_shardset *wq_shards_open(const wq_shardconf *c, wq_buf *err);
void wq_shards_close(wq_shardset *s);
/* How many items the shards' input had. */
int64_t wq_shards_items(const wq_shardset *s);
/* Fills b (empty) with the next items, up to max, in input order: their
 * recorded results and nils, carried over (journaling entries, items of no
 * bytes); an item that failed in its shard alone, failed, with its
 * message. Returns 1 while items follow, 0 after the last, -1 on an error
 * (err: a record missing, memory). */
int wq_shards_fill(wq_shardset *s, wq_batch *b, uint32_t max, wq_buf *err);

#endif
