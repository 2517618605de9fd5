/*
 * stop.h - why a run ends early, what each reason means, and who is told.
 *
 * A run stops for one reason, the first one requested; a signal may still
 * replace another reason, so that it interrupts what runs. One table maps
 * every reason to the run's outcome, to whether files are put in place and
 * to whether the merged value is written.
 *
 * The stop also keeps the registry of threads to tell: every thread that
 * runs a Lua state (the host's main thread, each worker) enters it in a
 * slot, and so does the reader, whose blocking reads a stop must end. On a
 * stop by signal every registered state is interrupted at its next Lua
 * instruction: the state records the kill and its own thread is sent KICK,
 * whose handler arms the state's hook there, as lua.c does for SIGINT.
 * KICK is installed without SA_RESTART, so it also ends a blocking read.
 *
 * KICK is SIGPIPE. The process has no other use for it (a closed output is
 * seen as EPIPE, which write still returns with a handler installed), and
 * ThreadSanitizer delivers it at once as a synchronous signal, where it
 * would hold back SIGUSR1 until the thread's next libc call: a pure Lua loop
 * never makes one, and could not be interrupted in the TSan build.
 *
 * The watch thread alone takes SIGINT and SIGTERM (every other thread
 * blocks them): the first is an orderly stop, the second ends the process
 * at once (the jobs' children are killed first, then the outputs are
 * closed well-formed: wq_out_abort_all, wq_proc_exit). It takes SIGCHLD
 * too, to reap the processes luaworkq adopted (proctree.h). It also
 * calls a periodic tick (per-item timeouts) and, while a timeout or a stop
 * by signal may be pending, checks the grace period (wq_lua_unanswered): a
 * state that has not answered its interrupt ends the process as a second
 * signal would, with exit 1 after a timeout.
 */
#ifndef WQ_STOP_H
#define WQ_STOP_H

#include <stdint.h>
#include "buf.h"

typedef struct wq_lua wq_lua;
typedef struct wq_stop wq_stop;

/* Why a run stops early. Signals come last: they outrank the rest. */
enum wq_stop_reason {
    WQ_GOING = 0,
    WQ_STOP_FAILED,     /* an item failed */
    WQ_STOP_HOOK,       /* init, merge or shutdown raised an error */
    WQ_STOP_LOAD,       /* a worker could not load the job */
    WQ_STOP_THREAD,     /* a thread could not be started */
    WQ_STOP_INPUT,      /* the input could not be read, or is not what the
                           journal recorded */
    WQ_STOP_OUTPUT,     /* the output or --errors could not be written */
    WQ_STOP_JOURNAL,    /* the journal could not be written */
    WQ_STOP_MEMORY,     /* the host ran out of memory */
    WQ_STOP_PIPE,       /* the output was closed */
    WQ_STOP_SIGINT,
    WQ_STOP_SIGTERM
};

/* How a run ended; main.c maps it to the exit code. */
enum wq_outcome {
    WQ_OUTCOME_OK,        /* every item succeeded */
    WQ_OUTCOME_FAILED,    /* an item or a hook failed */
    WQ_OUTCOME_REFUSED,   /* usage or setup error: nothing (more) was run */
    WQ_OUTCOME_PIPE,      /* the output was closed: end quietly */
    WQ_OUTCOME_SIGINT,
    WQ_OUTCOME_SIGTERM
};

/* What a stop reason means for the end of the run. */
typedef struct wq_stop_effect {
    enum wq_outcome outcome;
    int keep;           /* -o FILE and --errors FILE are put in place (for
                           a merge, -o FILE only with its value) */
    int value;          /* the merged value is written */
    int partial;        /* ... with --partial: the value of the items done */
} wq_stop_effect;

wq_stop_effect wq_stop_effect_of(enum wq_stop_reason why);

/* A stop with `slots` registry slots (the host, each worker, the reader). */
wq_stop *wq_stop_new(int slots);
void wq_stop_free(wq_stop *s);

/* Requests a stop; for a signal, interrupts every registered state. Safe
 * from any thread, not from a signal handler. */
void wq_stop_request(wq_stop *s, enum wq_stop_reason why);
enum wq_stop_reason wq_stop_reason(const wq_stop *s);
static inline int wq_stop_is_signal(enum wq_stop_reason why)
{
    return why >= WQ_STOP_SIGINT;
}

/* Records that a hook failed (the first message is kept: "merge failed in
 * worker 2: ..." for id 2, id 0 is the host) and, unless why is WQ_GOING,
 * requests a stop. */
void wq_stop_fail(wq_stop *s, enum wq_stop_reason why, const char *what, int id,
                  const wq_buf *msg);
/* Appends the first hook failure to err. Returns 1 if there was one. */
int wq_stop_failure(const wq_stop *s, wq_buf *err);

/* The calling thread runs lw (NULL: it runs no Lua, but blocking reads of
 * its are ended by a stop) in slot. A state entered after a stop by signal
 * is interrupted at once. */
void wq_stop_enter(wq_stop *s, int slot, wq_lua *lw);
/* The thread of slot is done with it: it will not be signalled again. */
void wq_stop_leave(wq_stop *s, int slot);
/* Interrupts the item of this index (a timeout) in slot's state. */
void wq_stop_kick(wq_stop *s, int slot, int64_t item);

/* Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread (and the
 * threads it starts) and installs KICK's handler. Call before starting any
 * thread. */
void wq_stop_signals(void);
/* Starts the watch thread; tick (if not NULL) is called every 20 ms. Returns
 * 0, or -1 with a message in err. */
int wq_stop_watch(wq_stop *s, void (*tick)(void *), void *arg, wq_buf *err);
/* Ends and joins the watch thread. */
void wq_stop_unwatch(wq_stop *s);

#endif
