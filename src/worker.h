/*
 * worker.h - the pool: threads that each own a lua_State with the job.
 *
 * Workers pop batches from the work queue, run process over their items and
 * hand them to the reorder window. A stop (a failed item without -k, a hook
 * error, a signal, a closed output) is one atomic reason: workers check it
 * before each item; for a signal they are also interrupted at their next Lua
 * instruction. Worker states are touched only by their own threads.
 */
#ifndef WQ_WORKER_H
#define WQ_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include "glue.h"
#include "output.h"
#include "queue.h"

typedef struct wq_pool wq_pool;

typedef struct wq_poolconf {
    const wq_jobconf *job;   /* job->workers threads */
    enum wq_layout layout;
    int fold;                 /* the job has merge: fold results in batches */
    int keep_going;           /* -k: a failed item does not stop the run */
    int retries;
} wq_poolconf;

/* Why a run stops early; the first reason given wins. */
enum wq_stop {
    WQ_GOING = 0,
    WQ_STOP_FAILED,           /* an item failed */
    WQ_STOP_HOOK,             /* init/merge/shutdown failed: the run fails */
    WQ_STOP_SETUP,            /* a worker could not load the job (exit 2) */
    WQ_STOP_INPUT,            /* the input could not be read (exit 2) */
    WQ_STOP_PIPE,             /* the output was closed */
    WQ_STOP_SIGINT,
    WQ_STOP_SIGTERM
};

/* Installs the interrupt signal handler; call once before any thread. */
void wq_pool_signals(void);
/* Makes the calling thread's state interruptible by wq_pool_stop (the host
 * state on the main thread); NULL detaches. */
void wq_pool_attach(wq_pool *p, wq_lua *lw);

/* A pool without threads yet: stops may already be requested (during the
 * host's setup). conf and q, o are borrowed. */
wq_pool *wq_pool_new(const wq_poolconf *conf, wq_queue *q, wq_order *o);
/* Starts the workers; shared is setup's value, encoded. Returns the number
 * of workers started (on 0 the run cannot go on; the error is recorded). */
int wq_pool_start(wq_pool *p, const wq_buf *shared);
/* Joins every worker, after their shutdown hooks. Returns 0, or -1 if a
 * hook failed, its message (the first) in err. */
int wq_pool_join(wq_pool *p, wq_buf *err);
/* After the join: how many workers ran, and worker i's items and time
 * spent on them. */
int wq_pool_size(const wq_pool *p);
void wq_pool_worker_stats(const wq_pool *p, int i, int64_t *items, int64_t *busy_ns);
/* Frees a joined pool. No other thread may still use it. */
void wq_pool_free(wq_pool *p);

/* Records that a hook failed (the first failure's message is kept) and,
 * unless why is WQ_GOING, requests a stop. "merge failed in worker 2: ..."
 * for id 2; id 0 is the host. */
void wq_pool_fail(wq_pool *p, enum wq_stop why, const char *what, int id,
                  const wq_buf *msg);
/* Requests an orderly stop; for signals, interrupts running Lua code. Safe
 * from any thread, not from a signal handler. */
void wq_pool_stop(wq_pool *p, enum wq_stop why);
enum wq_stop wq_pool_stopping(const wq_pool *p);
/* Interrupts items that have run past the timeout. */
void wq_pool_check_timeouts(wq_pool *p);
/* Recent cost of one item in nanoseconds (0 before the first batch). */
int64_t wq_pool_item_ns(const wq_pool *p);
/* The reader's thread, to interrupt its blocking reads on a stop; NULL
 * before it is joined. */
void wq_pool_watch_reader(wq_pool *p, const pthread_t *reader);

int64_t wq_now_ns(void);

#endif
