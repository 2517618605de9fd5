/*
 * glue_state.h - what a wq_lua holds, shared by the rooms of the Lua glue
 * alone: glue.c (the state's life, its calls and interrupts), api.c (the
 * luaworkq module) and item.c (an item as a Lua value). Nothing else
 * includes it; the rest of luaworkq sees wq_lua as opaque (glue.h).
 *
 * The fields belong to the state's own thread unless a comment says who
 * else reads them. Each room writes only the fields its comment names.
 */
#ifndef WQ_GLUE_STATE_H
#define WQ_GLUE_STATE_H

#include <lua.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "child.h"
#include "glue.h"
#include "heap.h"
#include "streams.h"

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
                                    or CLOSING (glue.c) */
    _Atomic uint64_t calls;      /* calls begun and ended: odd while one runs */
    _Atomic uint64_t kill_call;  /* `calls` when a kill reached a call */
    _Atomic int64_t kill_ns;     /* when */
    struct wq_lua *prev, *next;  /* every open state, under glue.c's lock */
    int file;                    /* where the item comes from: wq_lua_at */
    int64_t line;
    /* item.c's, between items: */
    int names_file;              /* the file whose header names are cached */
    int names_ref;               /* in the registry, or LUA_NOREF */
    int nfields;                 /* of the last record, to size the next */
    wq_buf field;                /* an unquoted CSV field */
};

/* The wq_lua of a state, kept in its extra space by wq_lua_open. */
static inline wq_lua *wq_lua_of(lua_State *L)
{
    return *(wq_lua **)lua_getextraspace(L);
}

#endif
