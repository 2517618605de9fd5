/*
 * progress.h - the progress line: items done of total, percent, items/s,
 * ETA and failures, drawn from the start by a thread of its own, redrawn
 * when the figures change (at most ten times a second) and every second.
 *
 * The total is counted in a thread of its own, in the run's record format,
 * and only when every input is a regular file (counting a pipe would
 * consume it); until then, or without it, the line shows what is done.
 */
#ifndef WQ_PROGRESS_H
#define WQ_PROGRESS_H

#include <stdint.h>
#include "input.h"
#include "record.h"

typedef struct wq_progress wq_progress;

/* files as for wq_input_new (borrowed); with --shard K/N only that
 * shard's items are counted. workers: how many run items at once; item_ns:
 * where the pool keeps the recent cost of an item in ns (0 until known),
 * borrowed. */
wq_progress *wq_progress_start(const wq_inputs *files, const wq_recfmt *fmt,
                               int shard_k, int shard_n, int workers,
                               const _Atomic int64_t *item_ns);
/* Called by the writer as results come in: items done (carried of them from
 * the journal) and failed; the rate and ETA are estimated from these, the
 * cost of items and when items ended. */
void wq_progress_update(wq_progress *p, int64_t done, int64_t failed,
                        int64_t carried);
/* Erases the line and frees p. */
void wq_progress_end(wq_progress *p);

#endif
