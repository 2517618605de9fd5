/*
 * shuffle.h - a keyed reduce's parts, from the writer to their owners, and
 * the owners' sorted keys back to the writer.
 *
 * With reduce, each worker splits the fold of its batch by key into one
 * part per worker (keyfold.h); worker k owns partition k and folds its
 * parts into its own state. The order of each key's values is the input's:
 * the writer takes batches in sequence order and delivers each one's parts
 * to the owners' inboxes, which the owners read in that order. A batch
 * goes back to the spares once every owner has folded its part. The parts
 * waiting weigh at most `budget` bytes: past it the writer waits, the
 * window fills, and the reader waits (backpressure, as for any batch).
 *
 * An owner folds its inbox between batches; a worker idle in the queue is
 * woken (wq_queue_pop_or) when a part arrives. After the queue closes, it
 * waits for its last parts (wq_shuffle_wait) until the writer closes the
 * shuffle. Then each owner runs finish on its keys and writes and sorts
 * their entries (keyfold.h), in parallel, and says it is ready. The
 * writer cuts the key space into one range per owner, from a sample of
 * the sorted entries (so the ranges are about even whatever the keys),
 * and owner k merges range k out of every owner's entries into text, in
 * parallel again (wq_shuffle_write_range): the writer only writes the
 * ranges' chunks one after the other. The text of the ranges not yet
 * written waits in memory: at most the output's size.
 *
 * Threads: the writer (main thread) and the N owners (the workers). One
 * lock guards everything; owner k waits on its own condition variable.
 */
#ifndef WQ_SHUFFLE_H
#define WQ_SHUFFLE_H

#include <stdatomic.h>
#include <stddef.h>
#include "batch.h"
#include "buf.h"
#include "frame.h"
#include "keyfold.h"
#include "output.h"
#include "queue.h"

typedef struct wq_shuffle wq_shuffle;

/* n owners; queue: where idle owners wait for batches (woken by a part). */
wq_shuffle *wq_shuffle_new(int n, size_t budget, wq_queue *queue, wq_spares *spares);
void wq_shuffle_free(wq_shuffle *s);
int wq_shuffle_owners(const wq_shuffle *s);

/* Writer: hands b's parts (b->out up to b->part_end[k] for owner k) to
 * their owners; b goes back to the spares when they are all folded. */
void wq_shuffle_deliver(wq_shuffle *s, wq_batch *b);

/* Owner k: the flag that a part is waiting, for wq_queue_pop_or. */
atomic_int *wq_shuffle_flag(wq_shuffle *s, int k);
/* Owner k: its next part, or NULL when none is waiting now. */
wq_batch *wq_shuffle_next(wq_shuffle *s, int k, const char **p, size_t *len);
/* Owner k, with no more batches to run: the next part, waiting for it;
 * NULL once the writer closed the shuffle and every part was taken. */
wq_batch *wq_shuffle_wait(wq_shuffle *s, int k, const char **p, size_t *len);
/* An owner is done with b's part. */
void wq_shuffle_release(wq_shuffle *s, wq_batch *b);
/* Owner k will take no parts (it never started): parts for it are
 * dropped, and it counts as ready and failed. */
void wq_shuffle_gone(wq_shuffle *s, int k);

/* Writer: no more parts. write: whether the keys are to be written. */
void wq_shuffle_close(wq_shuffle *s, int write);

/* Owner k, after wq_shuffle_wait returned NULL: whether the keys are to
 * be written (what wq_shuffle_close said). */
int wq_shuffle_writes(wq_shuffle *s);
/* Owner k, after its last part: ok says its keys' entries are made and
 * sorted (keyfold.h: ents[0..n)), which then stay unchanged until the
 * run ends: every owner reads them. Waits for the writer's word: returns
 * 1 when k is to write its range. */
int wq_shuffle_ready(wq_shuffle *s, int k, int ok, const wq_keyent *ents, size_t n);
/* Owner k: merges range k of the keys (its part of every owner's sorted
 * entries) into text in layout, handed to the writer in chunks. Returns
 * 0, or -1 (out of memory, or the writer wants no more). */
int wq_shuffle_write_range(wq_shuffle *s, int k, enum wq_layout layout);
/* Owner k wrote its last chunk (ok) or failed to (the run stops). Waits
 * until the writer is done: the other owners read k's entries till then. */
void wq_shuffle_end(wq_shuffle *s, int k, int ok);

/* What wq_shuffle_write returns. */
enum wq_shuffle_rc {
    WQ_SHUFFLE_WRITTEN = 0,
    WQ_SHUFFLE_SKIPPED = 1,     /* not to be written, or an owner failed */
    WQ_SHUFFLE_FAILED = -1,     /* an owner failed while writing */
    WQ_SHUFFLE_OUTPUT = -2      /* the output could not be written (err) */
};

/* Writer, after wq_shuffle_close: waits for every owner; if all are ready
 * and the keys are to be written, cuts the keys into one range per owner
 * and writes the ranges' text to out in order, in layout (json: one
 * object; ndjson and lines: a line per key; csv and tsv: head, the header
 * line, then a row per key, or nothing without a key). busy_ns gets the
 * time spent other than waiting for the owners. */
enum wq_shuffle_rc wq_shuffle_write(wq_shuffle *s, enum wq_layout layout, const wq_buf *head,
                                    wq_out *out, int64_t *busy_ns, wq_buf *err);

#endif
