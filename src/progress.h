/*
 * progress.h - the progress line: items done of total, percent, items/s,
 * ETA and failures, redrawn at most ten times a second.
 *
 * The total is counted in a thread of its own, in the run's record format,
 * and only when every input is a regular file (counting a pipe would
 * consume it); until then, or without it, the line shows what is done.
 */
#ifndef WQ_PROGRESS_H
#define WQ_PROGRESS_H

#include <stdint.h>
#include "record.h"

typedef struct wq_progress wq_progress;

/* paths as for wq_input_new; with --shard K/N only that shard's items are
 * counted. */
wq_progress *wq_progress_start(char *const *paths, int n, const wq_recfmt *fmt,
                               int shard_k, int shard_n);
/* Called by the writer as results come in; draws when 100 ms have passed. */
void wq_progress_update(wq_progress *p, int64_t done, int64_t failed);
/* Erases the line and frees p. */
void wq_progress_end(wq_progress *p);

#endif
