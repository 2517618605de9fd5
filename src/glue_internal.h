/*
 * glue_internal.h - what glue.c and gluekeys.c share; see glue.h.
 *
 * Only those two include it: a state's layout (the wq_lua and its stack
 * slots) and the one protected call that runs every hook, for the keyed
 * reduce's side of a state that gluekeys.c holds.
 */
#ifndef WQ_GLUE_INTERNAL_H
#define WQ_GLUE_INTERNAL_H

#include <lua.h>
#include <signal.h>
#include <stdatomic.h>
#include "glue.h"
#include "child.h"
#include "csvrow.h"
#include "heap.h"
#include "itemval.h"
#include "keyfold.h"
#include "streams.h"

/* Stack layout of a state between calls, so that the per-item path pushes
 * no more than the function and its arguments:
 *   1  the message handler
 *   2  process (workers) or nil
 *   3  merge, or reduce, or nil
 *   4  the accumulator of merged results, or nil; with reduce, the keys
 *      folded from the batch, a table of key -> value
 *   5  the last accumulator taken (wq_lua_take_fold), or nil
 *   6  with reduce: the keys of the partition this state owns (keyfold.h)
 *   7  with reduce: the closure that folds keys (keyfold.h), or nil */
enum { MSGH = 1, PROCESS, MERGE, ACC, LAST, OWN, FOLD };

/* The `hook` of a state while it loads the job, and while it closes. */
enum { LOADING = -1, CLOSING = -2 };

struct wq_lua {
    lua_State *L;
    const wq_jobconf *conf;
    int worker;
    unsigned has;                /* bit per enum wq_hook defined by the job */
    wq_streams *streams;         /* its stdout (streams.h), or NULL */
    wq_children *children;       /* the programs it started (child.h) */
    wq_heap heap;                /* its memory, without locks: see heap.h */
    size_t used, limit;          /* heap bytes, cap (0: none) */
    _Atomic int64_t item;        /* index of the item running, 0 if none */
    lua_State *volatile current; /* the coroutine running, NULL for L; read
                                    by the signal handler on this thread */
    _Atomic int64_t kill;        /* what to interrupt: see wq_lua_kill */
    int killed;                  /* the last error came from a kill */
    volatile sig_atomic_t closing;  /* lua_close runs or ran: the hook is
                                       never armed again (read by the
                                       signal handler on this thread) */
    char killmsg[64];            /* the message of that error */
    /* The grace period (wq_lua_unanswered), read by other threads: */
    _Atomic int hook;            /* the hook of the call running, LOADING
                                    or CLOSING */
    _Atomic uint64_t calls;      /* calls begun and ended: odd while one runs */
    _Atomic uint64_t kill_call;  /* `calls` when a kill reached a call */
    _Atomic int64_t kill_ns;     /* when */
    struct wq_lua *prev, *next;  /* every open state, under states_mu */
    int file;                    /* where the item comes from: wq_lua_at */
    int64_t line;
    wq_itemval items;            /* what making items' values keeps */
    wq_keyfold kf;               /* with reduce: splitting and writing keys */
    wq_csvrow keyrow;            /* with reduce and -f csv/tsv: its rows */
    wq_csvout_ctx *csv;          /* -f csv/tsv: how its rows are written */
    /* With reduce, set by wq_lua_keys_open (gluekeys.c): folds the result
     * on top into the batch's keys and pops it. glue.c calls it for each
     * result, and so depends on nothing of gluekeys.c. */
    int (*fold_keys)(wq_lua *lw, wq_buf *err);
};

/* Puts msg in err in place of what it held; returns WQ_LUA_FAILED. */
int wq_glue_say(wq_buf *err, const char *msg);

/* Runs the function below nargs arguments as hook (glue.c's one protected
 * call: the message handler, interrupts, the grace period). Returns the
 * pcall status; on error the message is in err and nothing is left. */
int wq_glue_call(wq_lua *lw, int hook, int nargs, int nresults, wq_buf *err);

/* Pushes the global function of a hook the job defines. */
void wq_glue_push_hook(wq_lua *lw, enum wq_hook hook);


#endif
