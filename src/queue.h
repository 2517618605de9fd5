/*
 * queue.h - the two hand-offs between the reader, the workers and the writer.
 *
 * wq_queue is a bounded FIFO of pointers: the reader pushes batches, workers
 * pop the next one when they are free. wq_order is the reorder window: the
 * reader reserves a sequence number before it builds a batch, a worker hands
 * the finished batch back under that number, and the writer takes finished
 * batches in sequence order (or in the order they finish when unordered).
 * The window holds at most `slots` batches and, past the first, at most
 * `budget` bytes: what the reader and the workers say each batch weighs. A
 * reservation waits while the window is full, so memory stays bounded
 * whatever the input size: that is the backpressure that keeps it flat.
 * It also waits while `ahead` batches are ready for the writer and not yet
 * taken: a writer that falls behind (a merge that costs as much as the
 * items) is not made slower still by workers that take its CPU to make
 * more of what it cannot take yet. Batches held up behind an unfinished one
 * do not count, so a slow item never stops the free workers.
 *
 * Both know nothing of what the pointers are. Pushing or handing back a
 * pointer gives it away; popping or taking it hands it to the caller.
 */
#ifndef WQ_QUEUE_H
#define WQ_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wq_queue wq_queue;
typedef struct wq_order wq_order;

wq_queue *wq_queue_new(size_t capacity);
void wq_queue_free(wq_queue *q);
/* Blocks while full. Returns 0, or -1 if the queue is closed. */
int wq_queue_push(wq_queue *q, void *p);
/* Blocks while empty and open. Returns NULL once closed and drained. */
void *wq_queue_pop(wq_queue *q);
/* No more pushes; poppers drain what is queued, then get NULL. */
void wq_queue_close(wq_queue *q);
/* As wq_queue_pop, but also returns (NULL, *closed 0) as soon as *wake is
 * set: a worker that owns a keyed reduce's partition waits for a batch or
 * for a part to fold, whichever comes first (shuffle.h). *closed is 1 when
 * NULL means the queue is closed and drained. */
void *wq_queue_pop_or(wq_queue *q, atomic_int *wake, int *closed);
/* Wakes the poppers waiting in wq_queue_pop_or, to look at their flag
 * (set before the call). */
void wq_queue_wake(wq_queue *q);

wq_order *wq_order_new(size_t slots, size_t budget, size_t ahead, int unordered);
void wq_order_free(wq_order *o);
/* Blocks until the next sequence number has room in the window; stores it
 * in *seq. Returns 0, or -1 once wq_order_close was called. */
int wq_order_reserve(wq_order *o, uint64_t *seq);
/* As wq_order_reserve, but never waits: returns 1 when there is no room
 * now (what a reservation would wait for). */
int wq_order_try_reserve(wq_order *o, uint64_t *seq);
/* Says what the batch reserved as seq weighs now, in bytes. */
void wq_order_weigh(wq_order *o, uint64_t seq, size_t bytes);
/* Hands back the batch reserved as seq, finished, and what it weighs. */
void wq_order_done(wq_order *o, uint64_t seq, void *p, size_t bytes);
/* Ordered: blocks until every batch reserved before seq has been handed
 * back (or taken). */
void wq_order_wait_before(wq_order *o, uint64_t seq);
/* Blocks for the next finished batch (in order, or any when unordered).
 * Returns NULL once closed and every reserved batch has been taken. */
void *wq_order_take(wq_order *o);
/* No more reservations (end of input, or a stop). Idempotent. */
void wq_order_close(wq_order *o);

#endif
