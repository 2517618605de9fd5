/*
 * worker.c - the pool of worker threads; see worker.h.
 *
 * Each worker creates its own lua_State, runs init, then pops batches until
 * the queue is closed and drained, and ends with shutdown. Nothing but the
 * batch (bytes) passes between a worker and other threads; the pool's own
 * fields are atomics, or guarded by its mutex (the first hook error, the
 * states that may be interrupted).
 *
 * Interrupting Lua: a stop by signal records the kill in every state
 * (wq_lua_kill) and sends KICK to the state's thread; the handler, on that
 * thread, arms the state's hook (wq_lua_arm), as lua.c does for SIGINT. The
 * handler is installed without SA_RESTART, so it also ends a blocking read.
 *
 * KICK is SIGPIPE. The process has no other use for it (a closed output is
 * seen as EPIPE, which write still returns with a handler installed), and
 * ThreadSanitizer delivers it at once as a synchronous signal, where it would
 * hold back SIGUSR1 until the thread's next libc call: a pure Lua loop never
 * makes one, and could not be interrupted in the TSan build.
 */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "batch.h"
#include "journal.h"

#define KICK SIGPIPE

struct worker {
    wq_pool *pool;
    int id;
    pthread_t tid;
    wq_lua *lua;                 /* under pool->mu: may be interrupted */
    _Atomic int64_t item;        /* index running, 0 when idle (timeouts) */
    _Atomic int64_t started;     /* when it started, ns */
    wq_buf err;
    int64_t items, busy_ns;      /* for --stats, read after the join */
};

struct wq_pool {
    wq_poolconf conf;
    wq_queue *q;
    wq_order *o;
    _Atomic int stop;
    _Atomic int64_t item_ns;
    pthread_mutex_t mu;
    wq_lua *host;                /* the host state, while attached */
    pthread_t host_tid;
    pthread_t reader;
    int has_reader;
    const wq_buf *shared;        /* setup's value, for every init */
    wq_buf error;                /* the first hook error */
    int nstarted;
    struct worker w[];
};

static _Thread_local wq_lua *tl_lua;  /* the state this thread runs */

int64_t wq_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_kick(int sig)
{
    (void)sig;
    int saved = errno;
    if (tl_lua)
        wq_lua_arm(tl_lua);
    errno = saved;
}

void wq_pool_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sigaction(KICK, &sa, NULL);  /* no SA_RESTART: see the file comment */
}

void wq_pool_attach(wq_pool *p, wq_lua *lw)
{
    pthread_mutex_lock(&p->mu);
    p->host = lw;
    p->host_tid = pthread_self();
    pthread_mutex_unlock(&p->mu);
    tl_lua = lw;
}

void wq_pool_watch_reader(wq_pool *p, const pthread_t *reader)
{
    pthread_mutex_lock(&p->mu);
    if (reader)
        p->reader = *reader;
    p->has_reader = reader != NULL;
    pthread_mutex_unlock(&p->mu);
}

void wq_pool_fail(wq_pool *p, enum wq_stop why, const char *what, int id,
                  const wq_buf *msg)
{
    pthread_mutex_lock(&p->mu);
    if (p->error.len == 0) {
        if (id)
            wq_buf_printf(&p->error, "%s failed in worker %d: ", what, id);
        else
            wq_buf_printf(&p->error, "%s failed: ", what);
        wq_buf_add(&p->error, msg->data, msg->len);
    }
    pthread_mutex_unlock(&p->mu);
    if (why != WQ_GOING)
        wq_pool_stop(p, why);
}

static void interrupt(wq_lua *lw, pthread_t tid)
{
    wq_lua_kill(lw, WQ_KILL_ALL);
    pthread_kill(tid, KICK);
}

void wq_pool_stop(wq_pool *p, enum wq_stop why)
{
    int going = WQ_GOING;
    int sig = why == WQ_STOP_SIGINT || why == WQ_STOP_SIGTERM;
    if (!atomic_compare_exchange_strong(&p->stop, &going, (int)why)) {
        if (!sig || going >= WQ_STOP_SIGINT)
            return;
        atomic_store(&p->stop, (int)why);  /* a signal during a stop still */
    }                                      /* interrupts what runs */
    pthread_mutex_lock(&p->mu);
    for (int i = 0; sig && i < p->nstarted; i++)
        if (p->w[i].lua)
            interrupt(p->w[i].lua, p->w[i].tid);
    if (sig && p->host)
        interrupt(p->host, p->host_tid);
    if (p->has_reader)
        pthread_kill(p->reader, KICK);
    pthread_mutex_unlock(&p->mu);
}

enum wq_stop wq_pool_stopping(const wq_pool *p)
{
    return (enum wq_stop)atomic_load_explicit(&p->stop, memory_order_relaxed);
}

int64_t wq_pool_item_ns(const wq_pool *p)
{
    return atomic_load_explicit(&p->item_ns, memory_order_relaxed);
}

void wq_pool_check_timeouts(wq_pool *p)
{
    int64_t now = wq_now_ns();
    int64_t limit = (int64_t)(p->conf.job->timeout * 1e9);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nstarted; i++) {
        struct worker *w = &p->w[i];
        int64_t item = atomic_load(&w->item);
        if (w->lua && item && now - atomic_load(&w->started) > limit) {
            wq_lua_kill(w->lua, item);
            pthread_kill(w->tid, KICK);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* An item the journal had: its recorded result stands in for a new run. */
static enum wq_item replay(struct worker *w, wq_batch *b, const wq_jitem *j)
{
    const char *p = b->jbuf.data + j->start;
    size_t len = j->end - j->start;
    b->carried++;
    if (j->status == WQ_J_NIL)
        return WQ_ITEM_NIL;
    if (!w->pool->conf.fold)
        return wq_buf_add(&b->out, p, len) == 0 ? WQ_ITEM_OK : WQ_ITEM_FAILED;
    return wq_lua_merge_in(w->lua, p, len, &w->err) == 0 ? WQ_ITEM_OK
                                                          : WQ_ITEM_MERGE_FAILED;
}

/* Records how item i ended in its journal entry: the status, and as
 * payload the framed result [from, to) of dst, or the error message. */
static void journal_item(struct worker *w, wq_batch *b, uint32_t i,
                         enum wq_item r, const wq_buf *dst, size_t from)
{
    wq_jitem *j = &b->j[i];
    j->start = b->jbuf.len;
    if (r == WQ_ITEM_OK || r == WQ_ITEM_MERGE_FAILED) {
        j->status = WQ_J_RESULT;
        if (dst != &b->jbuf)
            wq_buf_add(&b->jbuf, dst->data + from, dst->len - from);
    } else if (r == WQ_ITEM_NIL) {
        j->status = WQ_J_NIL;
    } else if (r == WQ_ITEM_FAILED) {
        j->status = WQ_J_FAILED;
        const char *msg = w->err.data ? w->err.data : "";
        wq_buf_add(&b->jbuf, msg, strcspn(msg, "\n"));
    }
    if (dst == &b->jbuf && j->status == WQ_J_RESULT)
        j->start = from;
    j->end = b->jbuf.len;
}

/* Runs one item, with its retries. A list result is framed in b->out; a
 * result to fold goes to the journal payloads when journaling. */
static enum wq_item run_item(struct worker *w, wq_batch *b, uint32_t i)
{
    const wq_poolconf *c = &w->pool->conf;
    if (b->j && b->j[i].carried)
        return replay(w, b, &b->j[i]);
    int timed = c->job->timeout > 0;
    wq_buf *dst = !c->fold ? &b->out : b->j ? &b->jbuf : NULL;
    size_t len, mark = dst ? dst->len : 0;
    const char *item = wq_batch_item(b, i, &len);
    int64_t index = b->first + i * b->stride;
    enum wq_item r;
    for (int attempt = 0;; attempt++) {
        if (!c->fold && c->layout == WQ_LAYOUT_JSON)
            wq_buf_addc(dst, ',');
        if (timed) {
            atomic_store(&w->started, wq_now_ns());
            atomic_store(&w->item, index);
        }
        r = wq_lua_process(w->lua, item, len, index,
                           wq_layout_format(c->layout), c->fold, dst, &w->err);
        if (timed)
            atomic_store(&w->item, 0);
        if (dst && r != WQ_ITEM_OK && r != WQ_ITEM_MERGE_FAILED)
            dst->len = mark;
        if (r != WQ_ITEM_FAILED || attempt >= c->retries ||
            wq_pool_stopping(w->pool))
            break;
    }
    if (r == WQ_ITEM_OK && !c->fold && c->layout != WQ_LAYOUT_JSON)
        wq_buf_addc(dst, '\n');
    if (b->j)
        journal_item(w, b, i, r, dst, mark);
    return r;
}

static void run_batch(struct worker *w, wq_batch *b)
{
    wq_pool *p = w->pool;
    int64_t t0 = wq_now_ns();
    uint32_t i;
    for (i = 0; i < b->count && !wq_pool_stopping(p); i++) {
        switch (run_item(w, b, i)) {
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
                wq_pool_stop(p, WQ_STOP_FAILED);
            break;
        case WQ_ITEM_INTERRUPTED:
            b->unrun++;
            break;
        case WQ_ITEM_MERGE_FAILED:
            b->done++;
            wq_pool_fail(p, WQ_STOP_HOOK, "merge", w->id, &w->err);
            break;
        }
    }
    b->unrun += b->count - i;
    if (p->conf.fold && wq_lua_take_fold(w->lua, &b->out, &w->err) < 0)
        wq_pool_fail(p, WQ_STOP_HOOK, "merge", w->id, &w->err);
    int64_t busy = wq_now_ns() - t0;
    int64_t ran = (int64_t)i - b->carried;  /* not the journal's results */
    w->items += ran;
    w->busy_ns += busy;
    if (ran > 0)
        atomic_store_explicit(&p->item_ns, busy / ran, memory_order_relaxed);
}

/* Creates the worker's state and runs init. Returns 0 or -1 (reported). */
static int start_state(struct worker *w)
{
    wq_pool *p = w->pool;
    wq_lua *lw = wq_lua_open(p->conf.job, w->id, &w->err);
    if (!lw) {
        if (wq_pool_stopping(p) < WQ_STOP_SIGINT)
            wq_pool_fail(p, WQ_STOP_SETUP, "loading the job", w->id, &w->err);
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    w->lua = lw;
    pthread_mutex_unlock(&p->mu);
    tl_lua = lw;
    if (wq_pool_stopping(p) >= WQ_STOP_SIGINT)
        wq_lua_kill(lw, WQ_KILL_ALL);  /* the stop came before we could be told */
    if (wq_lua_init(lw, p->shared, &w->err) < 0) {
        if (wq_pool_stopping(p) < WQ_STOP_SIGINT)  /* not an interrupt */
            wq_pool_fail(p, WQ_STOP_HOOK, "init", w->id, &w->err);
        return -1;
    }
    return 0;
}

static void stop_state(struct worker *w)
{
    wq_pool *p = w->pool;
    if (!w->lua)
        return;
    if (wq_lua_shutdown(w->lua, &w->err) < 0)
        wq_pool_fail(p, WQ_GOING, "shutdown", w->id, &w->err);  /* others go on */
    pthread_mutex_lock(&p->mu);
    tl_lua = NULL;
    wq_lua *lw = w->lua;
    w->lua = NULL;
    pthread_mutex_unlock(&p->mu);
    wq_lua_close(lw);
}

/* Locking rule: a worker holds no lock while it runs Lua; it takes the
 * queue's lock to pop, the window's lock to hand a batch back, and the
 * pool's lock only to publish or retire its state. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    wq_pool *p = w->pool;
    int ok = start_state(w) == 0;
    wq_batch *b;
    while ((b = wq_queue_pop(p->q))) {
        if (ok)
            run_batch(w, b);
        else
            b->unrun = b->count;
        wq_order_done(p->o, b->seq, b);
    }
    stop_state(w);
    wq_buf_free(&w->err);
    return NULL;
}

wq_pool *wq_pool_new(const wq_poolconf *conf, wq_queue *q, wq_order *o)
{
    wq_pool *p = calloc(1, sizeof *p + (size_t)conf->job->workers * sizeof(struct worker));
    if (!p)
        return NULL;
    p->conf = *conf;
    p->q = q;
    p->o = o;
    if (pthread_mutex_init(&p->mu, NULL))
        abort();
    return p;
}

int wq_pool_start(wq_pool *p, const wq_buf *shared)
{
    p->shared = shared;
    for (int i = 0; i < p->conf.job->workers; i++) {
        struct worker *w = &p->w[i];
        w->pool = p;
        w->id = i + 1;
        pthread_mutex_lock(&p->mu);
        int rc = pthread_create(&w->tid, NULL, worker_main, w);
        if (rc == 0)
            p->nstarted++;
        pthread_mutex_unlock(&p->mu);
        if (rc != 0) {
            wq_buf msg = WQ_BUF_INIT;
            wq_buf_printf(&msg, "cannot start thread %d: %s", i + 1, strerror(rc));
            wq_pool_fail(p, WQ_STOP_SETUP, "starting workers", 0, &msg);
            wq_buf_free(&msg);
            break;
        }
    }
    return p->nstarted;
}

int wq_pool_join(wq_pool *p, wq_buf *err)
{
    for (int i = 0; i < p->nstarted; i++)
        pthread_join(p->w[i].tid, NULL);
    if (p->error.len == 0)
        return 0;
    wq_buf_add(err, p->error.data, p->error.len);
    return -1;
}

int wq_pool_size(const wq_pool *p) { return p->nstarted; }

void wq_pool_worker_stats(const wq_pool *p, int i, int64_t *items, int64_t *busy_ns)
{
    *items = p->w[i].items;
    *busy_ns = p->w[i].busy_ns;
}

void wq_pool_free(wq_pool *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    wq_buf_free(&p->error);
    free(p);
}
