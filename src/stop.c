/* stop.c - stop reasons, the registry of threads to tell; see stop.h. */
#include "stop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "glue.h"
#include "output.h"
#include "proctree.h"

#define KICK SIGPIPE
#define WAKE SIGUSR2   /* ends the watch thread's wait */
#define REAP_NS (50 * 1000 * 1000)  /* adopted processes are reaped at
                                       most this often */

struct slot {
    int used;
    pthread_t tid;
    wq_lua *lua;
};

struct wq_stop {
    _Atomic int why;
    pthread_mutex_t mu;       /* guards error and the slots */
    wq_buf error;             /* the first hook failure */
    pthread_t watcher;
    int watching;
    _Atomic int unwatch;
    void (*tick)(void *);
    void *tick_arg;
    int nslots;
    struct slot slots[];
};

/* A stopped run's merged value is of the items done only: a partial count
 * must never look whole, so it is written only with --partial, and never
 * after a failed hook (merge may have lost some) or a closed output. */
static const wq_stop_effect effects[] = {
    [WQ_GOING]        = {WQ_OUTCOME_OK, 1, 1, 1},
    [WQ_STOP_FAILED]  = {WQ_OUTCOME_FAILED, 1, 0, 1},
    [WQ_STOP_HOOK]    = {WQ_OUTCOME_FAILED, 1, 0, 0},
    [WQ_STOP_LOAD]    = {WQ_OUTCOME_REFUSED, 1, 0, 1},
    [WQ_STOP_THREAD]  = {WQ_OUTCOME_REFUSED, 0, 0, 1},
    [WQ_STOP_INPUT]   = {WQ_OUTCOME_REFUSED, 0, 0, 1},
    [WQ_STOP_OUTPUT]  = {WQ_OUTCOME_REFUSED, 0, 0, 1},
    [WQ_STOP_JOURNAL] = {WQ_OUTCOME_REFUSED, 0, 0, 1},
    [WQ_STOP_MEMORY]  = {WQ_OUTCOME_REFUSED, 0, 0, 1},
    [WQ_STOP_PIPE]    = {WQ_OUTCOME_PIPE, 1, 0, 0},
    [WQ_STOP_SIGINT]  = {WQ_OUTCOME_SIGINT, 1, 0, 1},
    [WQ_STOP_SIGTERM] = {WQ_OUTCOME_SIGTERM, 1, 0, 1},
};

wq_stop_effect wq_stop_effect_of(enum wq_stop_reason why)
{
    return effects[why];
}

static _Thread_local wq_lua *tl_lua;  /* the state this thread runs */

static void on_kick(int sig)
{
    (void)sig;
    int saved = errno;
    if (tl_lua)
        wq_lua_arm(tl_lua);
    errno = saved;
}

/* The signals only the watch thread takes. */
static void watched(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGCHLD);
    sigaddset(set, WAKE);
}

/* Ends the process at once: the jobs' programs are killed, the outputs
 * closed well-formed where they can be (output.h), then the exit. */
static _Noreturn void end_at_once(int code)
{
    wq_proc_kill_all();
    wq_out_abort_all();
    wq_proc_exit(code);
}

void wq_stop_signals(void)
{
    sigset_t set;
    watched(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigaction sa = {0};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sigaction(KICK, &sa, NULL);  /* no SA_RESTART: see stop.h */
}

wq_stop *wq_stop_new(int slots)
{
    wq_stop *s = calloc(1, sizeof *s + (size_t)slots * sizeof(struct slot));
    if (!s)
        return NULL;
    s->nslots = slots;
    if (pthread_mutex_init(&s->mu, NULL))
        abort();
    return s;
}

void wq_stop_free(wq_stop *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    wq_buf_free(&s->error);
    free(s);
}

/* Under s->mu: kill records why the state stops, KICK makes it see it. */
static void interrupt(struct slot *sl, int64_t item)
{
    if (sl->lua)
        wq_lua_kill(sl->lua, item);
    pthread_kill(sl->tid, KICK);
}

void wq_stop_request(wq_stop *s, enum wq_stop_reason why)
{
    int going = WQ_GOING;
    int sig = wq_stop_is_signal(why);
    if (!atomic_compare_exchange_strong(&s->why, &going, (int)why)) {
        if (!sig || wq_stop_is_signal((enum wq_stop_reason)going))
            return;
        atomic_store(&s->why, (int)why);  /* a signal during a stop still */
    }                                     /* interrupts what runs */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nslots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->used && (sig || !sl->lua))  /* a reader is told of any stop */
            interrupt(sl, WQ_KILL_ALL);
    }
    pthread_mutex_unlock(&s->mu);
}

enum wq_stop_reason wq_stop_reason(const wq_stop *s)
{
    return (enum wq_stop_reason)atomic_load_explicit(&s->why, memory_order_relaxed);
}

void wq_stop_fail(wq_stop *s, enum wq_stop_reason why, const char *what, int id,
                  const wq_buf *msg)
{
    pthread_mutex_lock(&s->mu);
    if (s->error.len == 0) {
        if (id)
            wq_buf_printf(&s->error, "%s failed in worker %d: ", what, id);
        else
            wq_buf_printf(&s->error, "%s failed: ", what);
        wq_buf_add(&s->error, msg->data, msg->len);
    }
    pthread_mutex_unlock(&s->mu);
    if (why != WQ_GOING)
        wq_stop_request(s, why);
}

int wq_stop_failure(const wq_stop *s, wq_buf *err)
{
    if (s->error.len == 0)
        return 0;
    wq_buf_add(err, s->error.data, s->error.len);
    return 1;
}

void wq_stop_enter(wq_stop *s, int slot, wq_lua *lw)
{
    pthread_mutex_lock(&s->mu);
    struct slot *sl = &s->slots[slot];
    sl->used = 1;
    sl->tid = pthread_self();
    sl->lua = lw;
    tl_lua = lw;
    if (lw && wq_stop_is_signal(wq_stop_reason(s)))
        wq_lua_kill(lw, WQ_KILL_ALL);  /* the stop came before we could be told */
    pthread_mutex_unlock(&s->mu);
}

void wq_stop_leave(wq_stop *s, int slot)
{
    pthread_mutex_lock(&s->mu);
    memset(&s->slots[slot], 0, sizeof s->slots[slot]);
    tl_lua = NULL;
    pthread_mutex_unlock(&s->mu);
}

void wq_stop_kick(wq_stop *s, int slot, int64_t item)
{
    pthread_mutex_lock(&s->mu);
    if (s->slots[slot].used && s->slots[slot].lua)
        interrupt(&s->slots[slot], item);
    pthread_mutex_unlock(&s->mu);
}

/* The watch thread; see stop.h. */
static void *watch_main(void *arg)
{
    wq_stop *s = arg;
    sigset_t set;
    watched(&set);
    int stopped = 0;  /* the signal of the stop */
    int reap = 0;     /* adopted processes may wait to be reaped */
    int64_t next_reap = 0;
    while (!atomic_load(&s->unwatch)) {
        int sig;
        if (reap && wq_now_ns() >= next_reap) {  /* a job that runs many */
            reap = wq_proc_reap_adopted() == WQ_PROC_BUSY;  /* programs makes many */
            next_reap = wq_now_ns() + REAP_NS;   /* SIGCHLDs */
        }
        if (s->tick || stopped || reap) {
            struct timespec tick = {0, 20 * 1000 * 1000};
            sig = sigtimedwait(&set, NULL, &tick);
            if (sig < 0) {
                if (s->tick)
                    s->tick(s->tick_arg);
                if (wq_lua_unanswered())  /* as a second signal would; 1: */
                    end_at_once(stopped ? 128 + stopped : 1);  /* failed */
                continue;
            }
        } else if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGCHLD)
            reap = 1;
        if (sig == WAKE || sig == SIGCHLD)
            continue;
        if (stopped)
            end_at_once(128 + sig);  /* the second signal: at once */
        stopped = sig;
        wq_stop_request(s, sig == SIGINT ? WQ_STOP_SIGINT : WQ_STOP_SIGTERM);
    }
    return NULL;
}

int wq_stop_watch(wq_stop *s, void (*tick)(void *), void *arg, wq_buf *err)
{
    s->tick = tick;
    s->tick_arg = arg;
    int rc = pthread_create(&s->watcher, NULL, watch_main, s);
    if (rc != 0) {
        wq_buf_printf(err, "cannot start the signal thread: %s", strerror(rc));
        return -1;
    }
    s->watching = 1;
    return 0;
}

void wq_stop_unwatch(wq_stop *s)
{
    if (!s->watching)
        return;
    atomic_store(&s->unwatch, 1);
    pthread_kill(s->watcher, WAKE);
    pthread_join(s->watcher, NULL);
    s->watching = 0;
}
