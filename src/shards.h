/*
 * shards.h - --merge: one run's output from the journals of its shards.
 */
#ifndef WQ_SHARDS_H
#define WQ_SHARDS_H

#include "glue.h"
#include "run.h"

/* Checks that o->inputs are the journals of all N shards of this job and
 * input, each complete, and writes the output a single run would have
 * written, folding with the host state's merge if the job has one. Returns
 * the exit code. */
int wq_shards_merge(const wq_opts *o, wq_lua *host);

#endif
