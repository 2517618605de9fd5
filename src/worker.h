/*
 * worker.h - the pool: threads that each own a lua_State with the job.
 *
 * Workers pop batches from the work queue, run process over their items and
 * hand them back to the reorder window. They check the run's stop before
 * each item, and enter their state in the stop's registry (slot = worker
 * number) so that a stop by signal or a timeout interrupts it. Worker states
 * are touched only by their own threads; only batches (bytes) cross.
 *
 * With reduce, a worker also owns a partition of the keys (shuffle.h): it
 * splits each batch's fold into parts, folds the parts it owns between
 * batches and after the last one, and at the end writes its keys.
 */
#ifndef WQ_WORKER_H
#define WQ_WORKER_H

#include <stdatomic.h>
#include <stdint.h>
#include "clock.h"
#include "frame.h"
#include "glue.h"
#include "maxfail.h"
#include "queue.h"
#include "shuffle.h"
#include "stop.h"

typedef struct wq_pool wq_pool;

typedef struct wq_poolconf {
    const wq_jobconf *job;    /* job->workers threads */
    enum wq_layout layout;    /* how list results are framed */
    enum wq_format format;    /* how list results are encoded */
    int fold;                 /* the job has merge or reduce: fold results
                                 in batches */
    wq_shuffle *shuffle;      /* with reduce: worker k owns partition k */
    int keep_going;           /* -k: a failed item does not stop the run */
    wq_maxfail_count *failures;  /* --max-failures with -k, or NULL */
    int retries;
    int facts;                /* record each item's facts in its batch
                                 (batch.h: attempts, worker, result bytes) */
    int timing;               /* with facts, their start, run time and
                                 result bytes too (--joblog) */
    wq_stop *stop;
    wq_queue *queue;          /* where batches come from */
    wq_order *order;          /* where they go when done */
    _Atomic int64_t *item_ns; /* the pool keeps the recent cost of an item
                                 here, in nanoseconds, for the reader */
} wq_poolconf;

/* A pool without threads yet; everything in conf is borrowed. */
wq_pool *wq_pool_new(const wq_poolconf *conf);
/* Starts the workers; shared is setup's value (shared.h), borrowed. Returns
 * the number of workers started; if one cannot start, the stop says why. */
int wq_pool_start(wq_pool *p, const wq_shared *shared);
/* Joins every worker, after their shutdown hooks. */
void wq_pool_join(wq_pool *p);
/* Interrupts items that have run past the timeout. */
void wq_pool_check_timeouts(wq_pool *p);
/* After the join: how many workers ran, and worker i's items and time
 * spent on them. */
int wq_pool_size(const wq_pool *p);
void wq_pool_worker_stats(const wq_pool *p, int i, int64_t *items, int64_t *busy_ns);
/* Frees a joined pool. */
void wq_pool_free(wq_pool *p);

#endif
