/*
 * worker.c - the pool of worker threads; see worker.h.
 *
 * Each worker creates its own lua_State, runs init, then pops batches until
 * the queue is closed and drained, and ends with shutdown. Nothing but the
 * batch (bytes) passes between a worker and other threads; the pool's own
 * fields are set before the threads start, or atomics.
 */
#define _GNU_SOURCE  /* syscall, SCHED_BATCH */
#include "worker.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "batch.h"
#include "cpuwait.h"

/* A worker writes its struct at every item (err is reset), so each starts
 * a cache line of its own: two workers sharing one would pass it back and
 * forth between their CPUs at every item. */
#define LINE 64


/* The timeout check's last look at a worker's item (see item_ran). */
struct look {
    int64_t started;  /* the item's start, to tell it from the next one */
    int64_t at;       /* when the check looked */
    int64_t next;     /* when to look again; 0: at the next tick */
    wq_cpuwait seen;  /* what it saw */
};

struct worker {
    _Alignas(LINE) wq_pool *pool;
    int id;                      /* 1..N: also its slot in the stop */
    pthread_t tid;
    _Atomic int64_t item;        /* index running, 0 when idle (timeouts) */
    _Atomic int64_t started;     /* when it started, ns */
    _Atomic int64_t wait0;       /* the thread's wait for a CPU by then, ns
                                    (-1: unknown) */
    int os_tid;                  /* the thread's id, set before its first item */
    int64_t waited_at, waited;   /* its last reading of its wait: when, what */
    struct look look;            /* the timeout check's, kept by its thread */
    pthread_mutex_t ending;      /* held by the check from its last look at
                                    an attempt to its kick, and by the worker
                                    to end an attempt: a kick never reaches
                                    the retry that follows the attempt */
    wq_lua *lua;                 /* its state, touched by its thread alone */
    wq_buf err;
    wq_buf scratch;              /* a folded result encoded for its size */
    int64_t mark;                /* the clock's last reading for facts */
    uint64_t mark_seq;           /* 1 + the seq of the batch it was read in */
    int64_t items, busy_ns;      /* for --stats, read after the join (with
                                    reduce, busy_ns counts its partition's
                                    work too) */
    int own_failed;              /* with reduce: its partition's fold failed */
};

struct wq_pool {
    wq_poolconf conf;
    const wq_shared *shared;     /* setup's value, for every init */
    _Atomic int nstarted;        /* read by the timeout checks */
    struct worker w[];
};

/* A timeout counts the time an item has run, on a CPU or blocked (on a
 * program it waits for, say), but not the time its worker waited for a
 * CPU while other threads had it: with more workers than CPUs, that wait
 * grows with -j and has nothing to do with the item. */

/* How often, at most, a worker reads its wait at an item's start: a read
 * takes some microseconds, a short item less. */
#define WAIT_READ_NS (10 * 1000 * 1000)

/* Marks the start of an item for the timeout check: when, and the worker's
 * wait for a CPU by then. A reading up to WAIT_READ_NS old stands in for
 * the wait: what the worker waited since (for its previous item) is then
 * subtracted too, and the item may run that much longer. */
static void mark_start(struct worker *w, int64_t index)
{
    int64_t now = wq_now_ns();
    if (!w->os_tid)
        w->os_tid = wq_cpuwait_self();
    if (!w->waited_at || now - w->waited_at >= WAIT_READ_NS) {
        wq_cpuwait c;
        w->waited = wq_cpuwait_read(w->os_tid, &c) == 0 ? c.wait_ns : -1;
        w->waited_at = now;
    }
    atomic_store(&w->started, now);
    atomic_store(&w->wait0, w->waited);
    atomic_store(&w->item, index);  /* last: the check reads it first */
}

/* The time the item of w that started at started has run, at now, as two
 * bounds (ns): it has run no longer than hi and at least lo. hi subtracts
 * the waits the kernel has counted. A wait going on now is not counted
 * yet: a thread blocked now has none (lo = hi); one that can run, and has
 * run since the check's last look at this item, has waited at most since
 * that look; of one that has not run since, lo says nothing (INT64_MIN).
 * Without the counts both are the wall time. */
static void item_ran(struct worker *w, int64_t now, int64_t started, int64_t wait0,
                     int64_t *lo, int64_t *hi)
{
    struct look *l = &w->look;
    wq_cpuwait c;
    *lo = *hi = now - started;
    if (wait0 < 0 || wq_cpuwait_read_all(w->os_tid, &c) < 0)
        return;
    *hi -= c.wait_ns - wait0;
    int ran_since = l->started == started &&
                    (c.run_ns != l->seen.run_ns || c.runs != l->seen.runs);
    *lo = !c.runnable ? *hi : ran_since ? *hi - (now - l->at) : INT64_MIN;
    l->started = started;
    l->at = now;
    l->seen = c;
}

/* Called by the stop's watch thread every tick (20 ms). Only an item past
 * the limit in wall time is looked at closely, and then not again before
 * it could be past the limit by its run time. An item is interrupted when
 * it has surely run past the limit: up to a tick or two after it did. */
void wq_pool_check_timeouts(wq_pool *p)
{
    int64_t now = wq_now_ns();
    int64_t limit = (int64_t)(p->conf.job->timeout * 1e9);
    for (int i = 0; i < p->nstarted; i++) {
        struct worker *w = &p->w[i];
        int64_t item = atomic_load(&w->item);
        int64_t started = atomic_load(&w->started);
        int64_t wait0 = atomic_load(&w->wait0);
        if (!item || now - started <= limit ||
            (w->look.started == started && now < w->look.next))
            continue;
        int64_t lo, hi;
        item_ran(w, now, started, wait0, &lo, &hi);
        pthread_mutex_lock(&w->ending);
        if (atomic_load(&w->item) != item || atomic_load(&w->started) != started)
            ;  /* the worker went on to another item or attempt meanwhile */
        else if (lo > limit)
            wq_stop_kick(p->conf.stop, w->id, item);
        else
            w->look.next = hi <= limit ? now + (limit - hi) : 0;
        pthread_mutex_unlock(&w->ending);
    }
}

/* An item the journal had: its recorded result stands in for a new run. */
static enum wq_item carry_over(struct worker *w, wq_batch *b, const wq_jitem *j)
{
    const char *p = b->jbuf.data + j->start;
    size_t len = j->end - j->start;
    b->carried++;
    if (j->status == WQ_SLOT_NIL)
        return WQ_ITEM_NIL;
    wq_csvout_ctx *csv = wq_lua_csv(w->lua);
    if (!w->pool->conf.fold && csv)  /* a row: the header goes with the first */
        return wq_csvout_carried(csv, p, len, &b->out, &w->err) == 0 ? WQ_ITEM_OK
                                                                     : WQ_ITEM_FAILED;
    if (!w->pool->conf.fold)
        return wq_buf_add(&b->out, p, len) == 0 ? WQ_ITEM_OK : WQ_ITEM_FAILED;
    return wq_lua_merge_in(w->lua, p, len, &w->err) == 0 ? WQ_ITEM_OK
                                                          : WQ_ITEM_MERGE_FAILED;
}

/* Records how item i ended in its journal slot: the status, and as payload
 * the result, which is [from, to) of res (the batch's jbuf itself when the
 * result is folded), or the first line of the error. */
static void journal_item(struct worker *w, wq_batch *b, uint32_t i,
                         enum wq_item r, const wq_buf *res, size_t from)
{
    wq_jitem *j = &b->j[i];
    j->start = b->jbuf.len;
    switch (r) {
    case WQ_ITEM_OK:
    case WQ_ITEM_MERGE_FAILED:
        j->status = WQ_SLOT_RESULT;
        if (res == &b->jbuf)
            j->start = from;
        else if (res)
            wq_buf_add(&b->jbuf, res->data + from, res->len - from);
        break;
    case WQ_ITEM_NIL:
        j->status = WQ_SLOT_NIL;
        break;
    case WQ_ITEM_FAILED: {
        const char *msg = w->err.data ? w->err.data : "";
        j->status = WQ_SLOT_FAILED;
        wq_buf_add(&b->jbuf, msg, strcspn(msg, "\n"));
        break;
    }
    case WQ_ITEM_INTERRUPTED:
        break;
    }
    j->end = b->jbuf.len;
}

/* Whether the item of that index runs, or runs again, after a stop: one
 * that --max-failures made, while the item comes before the failure that
 * passed it in input order (maxfail.h). */
static int runs_on(const wq_poolconf *c, int64_t index)
{
    return wq_stop_reason(c->stop) == WQ_STOP_FAILED &&
           wq_maxfail_runs_on(c->failures, index);
}

/* Runs process over one item, retrying as --retries says; the result is
 * appended to res (NULL: only checked). With f, the attempts are counted
 * there and, when the run is timed, the last one's start and run time:
 * each attempt's end is read once from the clock, and is the next one's
 * start (w->mark holds the last reading). */
static enum wq_item attempt(struct worker *w, const char *item, size_t len,
                            int64_t index, wq_buf *res, wq_itemfacts *f)
{
    const wq_poolconf *c = &w->pool->conf;
    int timed = c->job->timeout > 0, clocked = f && c->timing;
    size_t mark = res ? res->len : 0;
    enum wq_item r;
    for (int tries = 0;; tries++) {
        if (timed)
            mark_start(w, index);
        r = wq_lua_process(w->lua, item, len, index, c->format, c->fold, res, &w->err);
        if (timed) {
            pthread_mutex_lock(&w->ending);
            atomic_store(&w->item, 0);
            pthread_mutex_unlock(&w->ending);
        }
        if (clocked) {
            int64_t now = wq_now_ns();
            f->start_ns = w->mark;
            f->run_ns = now - w->mark;
            w->mark = now;
        }
        if (f)
            f->attempts = (uint32_t)tries + 1;
        if (res && r != WQ_ITEM_OK && r != WQ_ITEM_MERGE_FAILED)
            res->len = mark;
        if (r != WQ_ITEM_FAILED || tries >= c->retries ||
            (wq_stop_reason(c->stop) != WQ_GOING && !runs_on(c, index)))
            return r;
    }
}

/* Records in item i's facts what attempt left there and how the item
 * ended: its worker, its status, its result's bytes (result: 0 when the
 * result was not encoded). */
static void note_item(struct worker *w, wq_batch *b, uint32_t i, enum wq_item r,
                      size_t result)
{
    wq_itemfacts *f = &b->facts[i];
    f->worker = (uint16_t)w->id;
    f->status = r == WQ_ITEM_FAILED ? WQ_FACT_FAILED
              : r == WQ_ITEM_INTERRUPTED ? WQ_FACT_NONE
              : r == WQ_ITEM_NIL ? WQ_FACT_NIL : WQ_FACT_DONE;
    f->result = r == WQ_ITEM_OK || r == WQ_ITEM_MERGE_FAILED ? result : 0;
    if (f->attempts > 1) {
        b->retried++;
        b->attempts += f->attempts;
    }
}

/* Runs item i of b. A list result goes to the batch's output, framed; a
 * folded one is merged into the state's accumulator, and encoded into the
 * journal payloads too when journaling (or into the worker's scratch
 * buffer when only its size is wanted, for the item's facts). */
static enum wq_item run_item(struct worker *w, wq_batch *b, uint32_t i)
{
    const wq_poolconf *c = &w->pool->conf;
    if (c->facts && i == 0)
        wq_batch_facts(b);  /* out of memory: the run goes on without them */
    if (b->j && b->j[i].carried)
        return carry_over(w, b, &b->j[i]);
    wq_itemfacts *f = b->facts ? &b->facts[i] : NULL;
    if (f && c->timing && w->mark_seq != b->seq + 1) {
        w->mark = wq_now_ns();  /* the batch's first item starts */
        w->mark_seq = b->seq + 1;
    }
    wq_buf *res = !c->fold ? &b->out : b->j ? &b->jbuf : f && c->timing ? &w->scratch : NULL;
    if (res == &w->scratch)
        wq_buf_reset(res);
    size_t len, framed = res ? res->len : 0;
    const char *item = wq_batch_item(b, i, &len);
    wq_lua_at(w->lua, b->file, wq_batch_line(b, i));
    if (!c->fold)
        wq_frame_open(res, c->layout);
    size_t from = res ? res->len : 0;
    enum wq_item r = attempt(w, item, len, b->first + i * b->stride, res, f);
    if (f)
        note_item(w, b, i, r, res ? res->len - from : 0);
    if (!c->fold && r == WQ_ITEM_OK)
        wq_frame_close(res, c->layout);
    else if (!c->fold)
        res->len = framed;  /* no result: no frame */
    if (b->j)
        journal_item(w, b, i, r, res, !c->fold ? framed : from);
    return r;
}

/* With reduce: the batch's keys, split into one part per owner. */
static void split(struct worker *w, wq_batch *b)
{
    int n = wq_shuffle_owners(w->pool->conf.shuffle);
    if (wq_batch_parts(b, n) < 0) {
        wq_buf_reset(&w->err);
        wq_buf_adds(&w->err, "out of memory");
    } else if (wq_lua_split(w->lua, n, &b->out, b->part_end, &w->err) == 0) {
        b->nparts = n;
        return;
    }
    wq_stop_fail(w->pool->conf.stop, WQ_STOP_HOOK, "reduce", w->id, &w->err);
}

static void run_batch(struct worker *w, wq_batch *b)
{
    wq_pool *p = w->pool;
    wq_stop *stop = p->conf.stop;
    int64_t t0 = wq_now_ns();
    uint32_t i;
    if (wq_lua_csv(w->lua))
        wq_csvout_batch(wq_lua_csv(w->lua), b->seq, b->file);
    for (i = 0; i < b->count && (wq_stop_reason(stop) == WQ_GOING || runs_on(&p->conf, b->first + i * b->stride));
         i++) {
        enum wq_item rc = run_item(w, b, i);
        if (b->facts)
            b->facts[i].out_end = b->out.len;
        if (wq_maxfail_note(p->conf.failures, rc == WQ_ITEM_FAILED, b->first + i * b->stride))
            wq_stop_request(stop, WQ_STOP_FAILED);  /* at once: see maxfail.h */
        switch (rc) {
        case WQ_ITEM_NIL:
            b->nil++;
            /* fall through */
        case WQ_ITEM_OK:
            b->done++;
            break;
        case WQ_ITEM_FAILED:
            b->failed++;
            wq_batch_fail(b, i, &w->err);
            if (!p->conf.keep_going)
                wq_stop_request(stop, WQ_STOP_FAILED);
            break;
        case WQ_ITEM_INTERRUPTED:
            b->unrun++;
            break;
        case WQ_ITEM_MERGE_FAILED:
            b->done++;
            wq_stop_fail(stop, WQ_STOP_HOOK, p->conf.shuffle ? "reduce" : "merge", w->id,
                         &w->err);
            break;
        }
    }
    b->unrun += b->count - i;
    if (p->conf.shuffle)
        split(w, b);
    else if (p->conf.fold && wq_lua_take_fold(w->lua, &b->out, &w->err) < 0)
        wq_stop_fail(stop, WQ_STOP_HOOK, "merge", w->id, &w->err);
    int64_t busy = wq_now_ns() - t0;
    int64_t ran = (int64_t)i - b->carried;  /* not the journal's results */
    w->items += ran;
    w->busy_ns += busy;
    if (ran > 0)
        atomic_store_explicit(p->conf.item_ns, busy / ran, memory_order_relaxed);
}

/* Creates the worker's state and runs init. Returns 0 or -1 (reported). */
static int start_state(struct worker *w)
{
    wq_stop *stop = w->pool->conf.stop;
    wq_lua *lw = wq_lua_open(w->pool->conf.job, w->id, &w->err);
    if (!lw) {
        if (!wq_stop_is_signal(wq_stop_reason(stop)))
            wq_stop_fail(stop, WQ_STOP_LOAD, "loading the job", w->id, &w->err);
        return -1;
    }
    w->lua = lw;
    wq_stop_enter(stop, w->id, lw);
    if (w->pool->conf.shuffle && wq_lua_keys_open(lw, &w->err) < 0) {
        wq_stop_fail(stop, WQ_STOP_MEMORY, "loading the job", w->id, &w->err);
        return -1;
    }
    if (wq_lua_init(lw, w->pool->shared, &w->err) < 0) {
        if (!wq_stop_is_signal(wq_stop_reason(stop)))  /* not an interrupt */
            wq_stop_fail(stop, WQ_STOP_HOOK, "init", w->id, &w->err);
        return -1;
    }
    return 0;
}

/* Runs shutdown and closes the state. The worker stays in the stop's
 * registry until the state is closed: a signal still ends what the close
 * waits on (a finalizer's program), and the programs the job left open are
 * ended there. A shutdown that a signal interrupted is not a failure. */
static void stop_state(struct worker *w)
{
    wq_stop *stop = w->pool->conf.stop;
    if (!w->lua)
        return;
    if (wq_lua_shutdown(w->lua, &w->err) < 0 &&
        !wq_stop_is_signal(wq_stop_reason(stop)))
        wq_stop_fail(stop, WQ_GOING, "shutdown", w->id, &w->err);  /* others go on */
    wq_lua_end(w->lua);
    wq_stop_leave(stop, w->id);
    wq_lua_close(w->lua);
    w->lua = NULL;
}

#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif

/* The first version of sched_setattr(2)'s attributes. */
struct sched_attr0 {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

/* A worker asks the kernel for the longest time slice it grants a normal
 * thread, 100 ms (the default is a few ms). With more workers than CPUs,
 * each then runs that long between switches and finds its caches warm
 * (word count at -j16 on 2 CPUs: a third of the involuntary switches, see
 * the README). Linux reads a normal thread's sched_runtime as its slice
 * since 6.12; older kernels ignore it. Threads that wake with the default
 * slice (reader, writer, progress) still preempt a worker, and a signal
 * that stops a worker is handled as soon as it runs. Policy and nice stay
 * as they are. Programs the job starts get the default slice: the slice
 * is asked with reset-on-fork, which would also take a negative nice from
 * them, so a thread with one keeps the default slice. */
static void ask_long_slice(void)
{
#if defined(SYS_sched_getattr) && defined(SYS_sched_setattr)
    struct sched_attr0 a;
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0 ||
        (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH) || a.nice < 0)
        return;
    a.size = sizeof a;
    a.runtime = 100 * 1000 * 1000;
    a.flags |= SCHED_FLAG_RESET_ON_FORK;  /* not for the job's programs */
    (void)syscall(SYS_sched_setattr, 0, &a, 0);
#endif
}

/* With reduce: folds a part this worker owns, unless its fold failed (an
 * orderly stop: the parts after it are only let go). */
static void fold_part(struct worker *w, wq_batch *b, const char *p, size_t len)
{
    wq_shuffle *s = w->pool->conf.shuffle;
    int64_t t0 = wq_now_ns();
    if (w->lua && !w->own_failed && wq_lua_fold_part(w->lua, p, len, &w->err) < 0) {
        w->own_failed = 1;
        wq_stop_fail(w->pool->conf.stop, WQ_STOP_HOOK, "reduce", w->id, &w->err);
    }
    wq_shuffle_release(s, b);
    w->busy_ns += wq_now_ns() - t0;
}

/* The next batch to run, or NULL at the end. With reduce, the parts that
 * came meanwhile are folded first, and a part that comes while the queue
 * is empty is folded at once. */
static wq_batch *next_batch(struct worker *w)
{
    wq_shuffle *s = w->pool->conf.shuffle;
    wq_queue *q = w->pool->conf.queue;
    if (!s)
        return wq_queue_pop(q);
    for (;;) {
        const char *p;
        size_t len;
        wq_batch *part, *b;
        int closed;
        while ((part = wq_shuffle_next(s, w->id - 1, &p, &len)))
            fold_part(w, part, p, len);
        if ((b = wq_queue_pop_or(q, wq_shuffle_flag(s, w->id - 1), &closed)) || closed)
            return b;
    }
}

/* With reduce, after the last batch: folds the last parts, then, if the
 * writer wants the keys, runs finish on them, puts them in order and hands
 * them over in chunks. */
static void own_end(struct worker *w)
{
    const wq_poolconf *c = &w->pool->conf;
    int k = w->id - 1;
    const char *p;
    size_t len;
    wq_batch *part;
    while ((part = wq_shuffle_wait(c->shuffle, k, &p, &len)))
        fold_part(w, part, p, len);
    int ok = w->lua && !w->own_failed && wq_shuffle_writes(c->shuffle);
    int64_t t0 = wq_now_ns();
    if (ok && wq_lua_order_keys(w->lua, c->layout, &w->err) < 0) {
        wq_stop_fail(c->stop, WQ_STOP_HOOK, "finish", w->id, &w->err);
        ok = 0;
    }
    size_t n = 0;
    const wq_keyent *ents = ok ? wq_lua_sorted_keys(w->lua, &n) : NULL;
    w->busy_ns += wq_now_ns() - t0;
    if (!wq_shuffle_ready(c->shuffle, k, ok, ents, n))
        return;
    t0 = wq_now_ns();
    int rc = wq_shuffle_write_range(c->shuffle, k, c->layout);
    w->busy_ns += wq_now_ns() - t0;
    wq_shuffle_end(c->shuffle, k, rc == 0);
}

/* Locking rule: a worker holds no lock while it runs Lua; it takes the
 * queue's lock to pop, the window's lock to hand a batch back, and the
 * stop's lock only to enter or leave its registry. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    wq_pool *p = w->pool;
    ask_long_slice();
    int ok = start_state(w) == 0;
    wq_batch *b;
    while ((b = next_batch(w))) {
        if (ok)
            run_batch(w, b);
        else
            b->unrun = b->count;
        wq_csvout_ctx *csv = ok ? wq_lua_csv(w->lua) : NULL;
        if (csv)  /* --unordered: the rows wait for the header's batch */
            wq_csvout_handing(csv);
        wq_order_done(p->conf.order, b->seq, b, wq_batch_weight(b));
        if (csv)
            wq_csvout_handed(csv);
    }
    if (p->conf.shuffle)
        own_end(w);
    stop_state(w);
    wq_buf_free(&w->err);
    wq_buf_free(&w->scratch);
    return NULL;
}

wq_pool *wq_pool_new(const wq_poolconf *conf)
{
    size_t size = sizeof(wq_pool) + (size_t)conf->job->workers * sizeof(struct worker);
    wq_pool *p = aligned_alloc(LINE, (size + LINE - 1) / LINE * LINE);
    if (p) {
        memset(p, 0, size);
        p->conf = *conf;
        for (int i = 0; i < conf->job->workers; i++)
            if (pthread_mutex_init(&p->w[i].ending, NULL))
                abort();  /* cannot fail with default attributes on Linux */
    }
    return p;
}

int wq_pool_start(wq_pool *p, const wq_shared *shared)
{
    p->shared = shared;
    for (int i = 0; i < p->conf.job->workers; i++) {
        struct worker *w = &p->w[i];
        w->pool = p;
        w->id = i + 1;
        int rc = pthread_create(&w->tid, NULL, worker_main, w);
        if (rc != 0) {
            wq_buf msg = WQ_BUF_INIT;
            wq_buf_printf(&msg, "cannot start thread %d: %s", i + 1, strerror(rc));
            wq_stop_fail(p->conf.stop, WQ_STOP_THREAD, "starting workers", 0, &msg);
            wq_buf_free(&msg);
            break;
        }
        atomic_fetch_add(&p->nstarted, 1);
    }
    for (int k = p->nstarted; p->conf.shuffle && k < p->conf.job->workers; k++)
        wq_shuffle_gone(p->conf.shuffle, k);
    return p->nstarted;
}

void wq_pool_join(wq_pool *p)
{
    for (int i = 0; i < p->nstarted; i++)
        pthread_join(p->w[i].tid, NULL);
}

int wq_pool_size(const wq_pool *p) { return p->nstarted; }

void wq_pool_worker_stats(const wq_pool *p, int i, int64_t *items, int64_t *busy_ns)
{
    *items = p->w[i].items;
    *busy_ns = p->w[i].busy_ns;
}

void wq_pool_free(wq_pool *p)
{
    for (int i = 0; p && i < p->conf.job->workers; i++)
        pthread_mutex_destroy(&p->w[i].ending);
    free(p);
}
