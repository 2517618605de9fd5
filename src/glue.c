/*
 * glue.c - a lua_State with the job loaded: its life, the calls of its
 * hooks and their interrupts; see glue.h. What a job sees of luaworkq is
 * set up by api.c, an item's Lua value made by itemval.c.
 *
 * The state's layout (struct wq_lua, its stack slots) is in
 * glue_internal.h, shared with gluekeys.c, which holds a keyed reduce's
 * side of a state.
 */
#include "glue_internal.h"

#include <lauxlib.h>
#include <lualib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "child.h"
#include "clock.h"
#include "heap.h"
#include "hint.h"
#include "itemval.h"
#include "keyfold.h"
#include "report.h"
#include "streams.h"


static const char *const hook_names[] = {
    "setup", "init", "process", "merge", "finish", "reduce", "shutdown"
};



/* Puts msg in err in place of what it held; returns WQ_LUA_FAILED. */
static int say(wq_buf *err, const char *msg)
{
    wq_buf_reset(err);
    wq_buf_adds(err, msg);
    return WQ_LUA_FAILED;
}

int wq_glue_say(wq_buf *err, const char *msg) { return say(err, msg); }

/* The wq_lua of a state, kept in its extra space by wq_lua_open. */
static wq_lua *state_of(lua_State *L)
{
    return *(wq_lua **)lua_getextraspace(L);
}

static pthread_mutex_t states_mu = PTHREAD_MUTEX_INITIALIZER;
static wq_lua *states;

/* The allocator: the state's own heap (a state runs on one thread at a
 * time), with the optional cap. Lua turns a NULL into a memory error that
 * the running call reports. */
static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    wq_lua *lw = ud;
    size_t old = ptr ? osize : 0;  /* without ptr, osize is a type tag */
    if (nsize == 0) {
        wq_heap_realloc(&lw->heap, ptr, old, 0);
        lw->used -= old;
        return NULL;
    }
    if (lw->limit && nsize > old && lw->used - old + nsize > lw->limit)
        return NULL;
    void *p = wq_heap_realloc(&lw->heap, ptr, old, nsize);
    if (p)
        lw->used = lw->used - old + nsize;
    return p;
}

/* Whether Lua code is on the stack under the handler; a traceback of C
 * frames alone says nothing the message does not. */
static int has_lua_frame(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "S", &ar) && ar.what[0] != 'C')
            return 1;
    return 0;
}

/* The message handler of every call, as lua.c's msghandler: a non-string
 * error object is shown through __tostring or as its type; a traceback is
 * appended. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)",
                                  luaL_typename(L, 1));
    }
    if (has_lua_frame(L))
        luaL_traceback(L, L, msg, 1);
    else
        lua_pushstring(L, msg);  /* a syntax error, a missing hook: C alone */
    return 1;
}

/* Calls the function under nargs arguments, as hook (LOADING: the top level).
 * On error, the message goes to err (replacing what it held) and is
 * popped. Returns the pcall status. After a kill, the children the call
 * left running are ended; what it printed without a newline is written. */
static int call(wq_lua *lw, int hook, int nargs, int nresults, wq_buf *err)
{
    lua_State *L = lw->L;
    lw->killed = 0;
    uint64_t mark = wq_child_mark(lw->children);
    atomic_store(&lw->hook, hook);
    atomic_fetch_add(&lw->calls, 1);
    int status = lua_pcall(L, nargs, nresults, MSGH);
    atomic_fetch_add(&lw->calls, 1);
    if (status != LUA_OK) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        wq_buf_reset(err);
        if (status == LUA_ERRMEM && lw->limit)
            wq_buf_printf(err, "memory limit of %zu MB exceeded", lw->limit >> 20);
        else if (msg)
            wq_buf_add(err, msg, len);
        else
            wq_buf_adds(err, "(error object is not a string)");
        lua_pop(L, 1);
        if (status == LUA_ERRMEM)
            lua_gc(L, LUA_GCCOLLECT);  /* give the next call its room back */
    }
    if (lua_gethook(L))
        lua_sethook(L, NULL, 0, 0);  /* a kill came too late to matter */
    if (lw->killed)  /* this call's children, not those init left open */
        wq_child_end_since(lw->children, mark);
    wq_streams_flush(lw->streams);
    return status;
}

int wq_glue_call(wq_lua *lw, int hook, int nargs, int nresults, wq_buf *err)
{
    return call(lw, hook, nargs, nresults, err);
}

/* The message of a pending kill that concerns what runs now, or NULL; a
 * non-NULL answer marks the error to come as a kill's. */
static const char *pending_kill(wq_lua *lw)
{
    int64_t k = atomic_load(&lw->kill);
    if (k != WQ_KILL_ALL && (k == 0 || k != atomic_load(&lw->item)))
        return NULL;
    if (k == WQ_KILL_ALL)
        snprintf(lw->killmsg, sizeof lw->killmsg, "interrupted");
    else
        snprintf(lw->killmsg, sizeof lw->killmsg, "timed out after %g s",
                 lw->conf->timeout);
    lw->killed = 1;
    return lw->killmsg;
}

/* The interrupt function of child.c: a wait on a child asks it. */
static const char *child_interrupt(lua_State *L)
{
    wq_lua *lw = state_of(L);
    const char *msg = pending_kill(lw);
    if (msg)
        wq_lua_arm(lw);
    return msg;
}

/* Raises the error of a pending kill that concerns what runs now. */
static void on_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    wq_lua *lw = state_of(L);
    int64_t k = atomic_load(&lw->kill);
    const char *msg = pending_kill(lw);
    if (msg) {  /* the hook stays: a pcall in the job cannot hide it */
        lua_pushstring(L, msg);
        lua_error(L);
    }
    lua_sethook(L, NULL, 0, 0);
    if (atomic_load(&lw->kill) != k)  /* a kill arrived while unhooking */
        wq_lua_arm(lw);
}

/* Besides recording the kill, notes when it reached a running call that it
 * concerns: from then on the call has the grace period to end. */
void wq_lua_kill(wq_lua *lw, int64_t item)
{
    atomic_store(&lw->kill, item);
    uint64_t c = atomic_load(&lw->calls);
    if (item == 0 || !(c & 1) || atomic_load(&lw->kill_call) == c)
        return;
    if (item == WQ_KILL_ALL || item == atomic_load(&lw->item)) {
        atomic_store(&lw->kill_ns, wq_now_ns());
        atomic_store(&lw->kill_call, c);
    }
}

/* The grace period: WQ_GRACE_NS, or LUAWORKQ_TEST_GRACE_MS milliseconds
 * where that is set. The suite's specs of calls that never answer set it
 * short, so that they prove the same without waiting 2 s each; it is not
 * for users (README, Development). */
static pthread_once_t grace_once = PTHREAD_ONCE_INIT;
static int64_t grace;

static void read_grace(void)
{
    const char *ms = getenv("LUAWORKQ_TEST_GRACE_MS");
    long v = ms ? strtol(ms, NULL, 10) : 0;
    grace = v > 0 && v < 60000 ? (int64_t)v * 1000000 : WQ_GRACE_NS;
}

static int64_t grace_ns(void)
{
    pthread_once(&grace_once, read_grace);
    return grace;
}

/* Describes the call of lw that has not ended within the grace period of
 * a kill, if there is one. */
static int overdue(wq_lua *lw, int64_t now, wq_buf *what)
{
    uint64_t c = atomic_load(&lw->calls);
    if (!(c & 1) || atomic_load(&lw->kill_call) != c ||
        now - atomic_load(&lw->kill_ns) < grace_ns())
        return 0;
    int hook = atomic_load(&lw->hook);
    int64_t k = atomic_load(&lw->kill);
    if (hook == WQ_PROCESS)
        wq_buf_printf(what, "item %lld", (long long)atomic_load(&lw->item));
    else
        wq_buf_printf(what, "%s", hook == LOADING   ? "loading the job"
                                  : hook == CLOSING ? "closing the state"
                                                    : hook_names[hook]);
    if (lw->worker)
        wq_buf_printf(what, " (worker %d)", lw->worker);
    wq_buf_printf(what, " did not stop within %g s of %s",
                  (double)grace_ns() / 1e9,
                  k == WQ_KILL_ALL ? "the interrupt" : "its timeout");
    return 1;
}

int wq_lua_unanswered(void)
{
    wq_buf what = WQ_BUF_INIT;
    int64_t now = wq_now_ns();
    int found = 0;
    pthread_mutex_lock(&states_mu);
    for (wq_lua *lw = states; lw && !found; lw = lw->next)
        found = overdue(lw, now, &what);
    pthread_mutex_unlock(&states_mu);
    if (found)
        wq_reportf("%.*s; ending the run", (int)what.len, what.data);
    wq_buf_free(&what);
    return found;
}

/* Hooks belong to each coroutine: the one running now is armed too. A
 * closing state is not armed: Lua runs no hooks in the finalizers that
 * lua_close calls, and the state is freed at its end. */
void wq_lua_arm(wq_lua *lw)
{
    if (lw->closing)
        return;
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT;
    lua_sethook(lw->L, on_hook, mask, 1);
    if (lw->current)
        lua_sethook(lw->current, on_hook, mask, 1);
}

/* coroutine.resume, keeping track of the coroutine that runs, so that an
 * interrupt reaches a loop inside it. */
static int l_resume(lua_State *L)
{
    wq_lua *lw = state_of(L);
    lua_State *co = lua_tothread(L, 1), *outer = lw->current;
    lua_pushvalue(L, lua_upvalueindex(1));  /* the library's resume */
    lua_insert(L, 1);
    lw->current = co;
    if (co && atomic_load(&lw->kill))
        wq_lua_arm(lw);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    lw->current = outer;
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* A function of coroutine.wrap: resumes its coroutine through l_resume and
 * raises its error as the library's wrap does. */
static int l_wrapped(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_rotate(L, 1, 2);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    if (lua_toboolean(L, 1))
        return lua_gettop(L) - 1;
    if (lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD)
        lua_resetthread(co);  /* close its to-be-closed variables */
    if (lua_type(L, 2) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, 2);
        lua_concat(L, 2);
    }
    lua_settop(L, 2);
    return lua_error(L);
}

static int l_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, l_wrapped, 2);
    return 1;
}


/* luaworkq.where(): the current item's input name and LINE; nil outside
 * process. */
static int l_where(lua_State *L)
{
    const wq_lua *lw = state_of(L);
    if (lw->item == 0)
        return 0;
    lua_pushstring(L, lw->conf->names[lw->file]);
    lua_pushinteger(L, lw->line);
    return 2;
}


/* luaworkq.header(): with --header, a new array of the names in the
 * header of the current item's file (in the host, of the first file); nil
 * without --header, and before the header has been read: in setup, and in
 * a worker until its first item (the reader may be setting it meanwhile). */
static int l_header(lua_State *L)
{
    wq_lua *lw = state_of(L);
    if (lw->worker && lw->line == 0) {
        lua_pushnil(L);
        return 1;
    }
    return wq_itemval_header(L, &lw->items, lw->file);
}

/* A job that does not compile: when its name does not end in .lua, it is
 * likely the items file given first (the operands swapped). */
static int not_compiled(lua_State *L, const wq_jobconf *c)
{
    size_t n = strlen(c->path);
    if (n >= 4 && strcmp(c->path + n - 4, ".lua") == 0)
        return lua_error(L);
    return luaL_error(L, "%s does not compile as a job script; is it the items file? "
                      "usage: luaworkq JOB.lua [ITEMS] (%s)", c->path, lua_tostring(L, -1));
}

/* No global process: says so, and where a local one hides. */
static int no_process(lua_State *L, const wq_jobconf *c)
{
    int line = wq_hint_local_line(c->source, c->source_len, "process");
    if (line)
        return luaL_error(L, "%s: no 'process' function: %s:%d defines a local 'process', "
                          "but luaworkq calls only global functions (drop 'local')",
                          c->path, c->path, line);
    return luaL_error(L, "%s: no 'process' function", c->path);
}

/* Warnings, once (in the host), for what looks like a hook the job meant
 * to define but that luaworkq will not call: a global Lua function a few
 * edits from a hook the job does not define (hint.h), a `local function`
 * of a hook's name (but a merge helper of a reduce job, or the reverse). */
static void warn_hooks(lua_State *L, const wq_lua *lw)
{
    enum { N = sizeof hook_names / sizeof *hook_names };
    const char *path = lw->conf->path;
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t len = 0;
        const char *near = NULL, *name = NULL;
        if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1) && !lua_iscfunction(L, -1))
            name = lua_tolstring(L, -2, &len);
        if (name)
            near = wq_hint_nearest(name, len, hook_names, N, 2);
        int h = 0;
        while (near && hook_names[h] != near)
            h++;
        if (near && !wq_lua_has(lw, (enum wq_hook)h)) {
            lua_Debug ar;
            lua_pushvalue(L, -1);
            lua_getinfo(L, ">S", &ar);
            wq_reportf("warning: %s:%d: function '%s' is not a hook, and luaworkq will not "
                       "call it; did you mean '%s'?", path, ar.linedefined, name, near);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    for (int h = 0; h < N; h++) {
        int other = h == WQ_MERGE ? WQ_REDUCE : h == WQ_REDUCE ? WQ_MERGE : h;
        int line = wq_lua_has(lw, (enum wq_hook)h) || wq_lua_has(lw, (enum wq_hook)other) ? 0 :
                   wq_hint_local_line(lw->conf->source, lw->conf->source_len, hook_names[h]);
        if (line)
            wq_reportf("warning: %s:%d: '%s' is local, and luaworkq calls only global "
                       "functions (drop 'local')", path, line, hook_names[h]);
    }
}

/* The body of wq_lua_open, run protected (lua.c's pmain) so that a memory
 * error or a failing top level becomes a message, not an abort. */
static int open_job(lua_State *L)
{
    wq_lua *lw = lua_touserdata(L, 1);
    const wq_jobconf *c = lw->conf;
    luaL_openlibs(L);
    lua_gc(L, LUA_GCGEN, 0, 0);  /* as lua(1) does: young objects die cheaply */
    lw->streams = wq_streams_open(L);
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, l_resume, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "resume");
    lua_pushcclosure(L, l_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
    lw->children = wq_child_open(L, child_interrupt);  /* pushes exec */
    wq_api_conf api = {c->path, lw->worker, c->workers, c->sets, c->nsets, l_header};
    wq_api_open(L, &api, lua_gettop(L), l_where);
    lua_pop(L, 1);
    lua_pushfstring(L, "@%s", c->path);
    int loaded = luaL_loadbuffer(L, c->source, c->source_len, lua_tostring(L, -1));
    if (loaded != LUA_OK)
        return loaded == LUA_ERRSYNTAX ? not_compiled(L, c) : lua_error(L);
    lua_call(L, 0, 0);
    for (int h = WQ_SETUP; h <= WQ_SHUTDOWN; h++) {
        int t = lua_getglobal(L, hook_names[h]);
        if (t == LUA_TFUNCTION)
            lw->has |= 1u << h;
        else if (t != LUA_TNIL)
            return luaL_error(L, "%s: '%s' is a %s, not a function", c->path,
                              hook_names[h], lua_typename(L, t));
        lua_pop(L, 1);
    }
    if (!(lw->has & (1u << WQ_PROCESS)))
        return no_process(L, c);
    if (lw->worker == 0)
        warn_hooks(L, lw);
    if ((lw->has & (1u << WQ_MERGE)) && (lw->has & (1u << WQ_REDUCE)))
        return luaL_error(L, "%s: defines both 'merge' and 'reduce'; a job folds its "
                          "results with one of them", c->path);

    char msg[WQ_ERRLEN];
    if (c->csv && !(lw->csv = wq_csvout_attach(c->csv, L, msg)))
        return luaL_error(L, "%s: %s", c->path, msg);
    return 0;
}

wq_lua *wq_lua_open(const wq_jobconf *conf, int worker, wq_buf *err)
{
    wq_lua *lw = calloc(1, sizeof *lw);
    if (!lw) {
        wq_buf_adds(err, "out of memory");
        return NULL;
    }
    lw->conf = conf;
    lw->worker = worker;
    wq_keyfold_init(&lw->kf);
    lw->keyrow = (wq_csvrow)WQ_CSVROW_INIT;
    wq_itemval_init(&lw->items, &conf->rec);
    lw->limit = conf->memory_limit;
    lw->L = lua_newstate(alloc, lw);
    if (!lw->L) {
        wq_buf_adds(err, "cannot create a Lua state: out of memory");
        wq_heap_close(&lw->heap);
        free(lw);
        return NULL;
    }
    lua_State *L = lw->L;
    *(wq_lua **)lua_getextraspace(L) = lw;
    atomic_store(&lw->hook, LOADING);
    pthread_mutex_lock(&states_mu);
    lw->next = states;
    if (states)
        states->prev = lw;
    states = lw;
    pthread_mutex_unlock(&states_mu);
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, open_job);
    lua_pushlightuserdata(L, lw);
    if (call(lw, LOADING, 1, 0, err) != LUA_OK) {
        wq_lua_close(lw);
        return NULL;
    }
    lua_getglobal(L, "process");
    lua_getglobal(L, wq_lua_has(lw, WQ_REDUCE) ? "reduce" : "merge");
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    return lw;
}

/* The close counts as a call (LOADING's counterpart), so that a finalizer
 * that never returns after an interrupt ends the run after the grace. */
void wq_lua_end(wq_lua *lw)
{
    if (!lw || !lw->L)
        return;
    wq_child_end_left(lw->children, lw->worker);
    wq_keyfold_free(&lw->kf);
    lw->closing = 1;
    atomic_store(&lw->hook, CLOSING);
    atomic_fetch_add(&lw->calls, 1);
    lua_close(lw->L);
    atomic_fetch_add(&lw->calls, 1);
    lw->L = NULL;
}

void wq_lua_close(wq_lua *lw)
{
    if (!lw)
        return;
    wq_lua_end(lw);
    pthread_mutex_lock(&states_mu);
    if (lw->prev)
        lw->prev->next = lw->next;
    else if (states == lw)
        states = lw->next;
    if (lw->next)
        lw->next->prev = lw->prev;
    pthread_mutex_unlock(&states_mu);
    wq_itemval_free(&lw->items);
    wq_csvout_detach(lw->csv);
    wq_heap_close(&lw->heap);
    free(lw);
}

int wq_lua_has(const wq_lua *lw, enum wq_hook hook)
{
    return (lw->has >> hook) & 1u;
}

/* Pushes the global function of a hook the job defines. */
static void push_hook(wq_lua *lw, enum wq_hook hook)
{
    lua_getglobal(lw->L, hook_names[hook]);
}

void wq_glue_push_hook(wq_lua *lw, enum wq_hook hook) { push_hook(lw, hook); }

/* Sets luaworkq.shared (package.loaded's, whatever the global holds) to
 * the view of the wq_shared at 1 and returns the view. Run protected: it
 * allocates. */
static int publish_shared(lua_State *L)
{
    wq_shared_push(L, lua_touserdata(L, 1));
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "luaworkq");
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "shared");
    }
    lua_pop(L, 2);
    return 1;
}

/* Pushes the view of shared (see publish_shared). */
static int push_shared(wq_lua *lw, int hook, const wq_shared *shared, wq_buf *err)
{
    lua_pushcfunction(lw->L, publish_shared);
    lua_pushlightuserdata(lw->L, (void *)shared);
    return call(lw, hook, 1, 1, err) == LUA_OK ? 0 : WQ_LUA_FAILED;
}

/* The value on top into *shared; popped. A value that cannot cross as a
 * result is refused with the codec's message, which names its key path. */
static int hold_shared(wq_lua *lw, wq_shared **shared, wq_buf *err)
{
    char msg[WQ_ERRLEN];
    int rc = wq_shared_build(lw->L, -1, shared);
    if (rc < 0)
        wq_buf_reset(err);
    if (rc == WQ_SHARED_REFUSED && wq_codec_check(lw->L, -1, "setup value", msg) < 0)
        wq_buf_adds(err, msg);
    else if (rc == WQ_SHARED_REFUSED)
        wq_buf_adds(err, "setup value: nested too deep to hold");
    else if (rc < 0)
        wq_buf_adds(err, "setup value: not enough memory to hold it");
    lua_pop(lw->L, 1);
    return rc < 0 ? WQ_LUA_FAILED : WQ_LUA_OK;
}

int wq_lua_setup(wq_lua *lw, wq_shared **shared, wq_buf *err)
{
    *shared = NULL;
    if (!wq_lua_has(lw, WQ_SETUP))
        return WQ_LUA_OK;
    push_hook(lw, WQ_SETUP);
    if (call(lw, WQ_SETUP, 0, 1, err) != LUA_OK)
        return WQ_LUA_FAILED;
    if (hold_shared(lw, shared, err) < 0 || push_shared(lw, WQ_SETUP, *shared, err) < 0)
        return WQ_LUA_FAILED;
    lua_pop(lw->L, 1);
    /* Frees the tables the structure replaces: nothing else would soon, as
     * the host allocates little. Done before the workers start, not while
     * they run: on a machine with as many workers as CPUs the collection
     * (seconds for millions of tables) took a CPU from them. */
    lua_gc(lw->L, LUA_GCCOLLECT);
    return WQ_LUA_OK;
}

/* Pushes the value encoded in p[0..len), or nil when len is 0. */
static int push_decoded(wq_lua *lw, const char *p, size_t len, wq_buf *err)
{
    char msg[WQ_ERRLEN];
    if (len == 0) {
        lua_pushnil(lw->L);
        return 0;
    }
    if (wq_codec_decode(lw->L, p, len, msg) == 0)
        return 0;
    return say(err, msg);
}

int wq_lua_init(wq_lua *lw, const wq_shared *shared, wq_buf *err)
{
    if (push_shared(lw, WQ_INIT, shared, err) < 0)
        return WQ_LUA_FAILED;
    if (!wq_lua_has(lw, WQ_INIT)) {
        lua_pop(lw->L, 1);
        return WQ_LUA_OK;
    }
    push_hook(lw, WQ_INIT);
    lua_insert(lw->L, -2);
    return call(lw, WQ_INIT, 1, 0, err) == LUA_OK ? WQ_LUA_OK : WQ_LUA_FAILED;
}

int wq_lua_shutdown(wq_lua *lw, wq_buf *err)
{
    if (atomic_load(&lw->kill) == WQ_KILL_ALL)
        wq_child_end_since(lw->children, 0);  /* a stop by signal: init's too */
    wq_lua_kill(lw, 0);  /* shutdown runs also after a stop */
    if (!wq_lua_has(lw, WQ_SHUTDOWN))
        return WQ_LUA_OK;
    push_hook(lw, WQ_SHUTDOWN);
    return call(lw, WQ_SHUTDOWN, 0, 0, err) == LUA_OK ? WQ_LUA_OK : WQ_LUA_FAILED;
}




/* Replaces the accumulator by merge(accumulator, top), or by top when there
 * is none yet; pops top. */
static int fold_top(wq_lua *lw, wq_buf *err)
{
    lua_State *L = lw->L;
    if (wq_lua_has(lw, WQ_REDUCE))
        return lw->fold_keys ? lw->fold_keys(lw, err)
                             : say(err, "reduce: the state's keys were not opened");
    if (lua_isnil(L, ACC)) {
        lua_replace(L, ACC);
        return WQ_LUA_OK;
    }
    lua_pushvalue(L, MERGE);
    lua_insert(L, -2);
    lua_pushvalue(L, ACC);
    lua_insert(L, -2);
    if (call(lw, WQ_MERGE, 2, 1, err) != LUA_OK)
        return WQ_LUA_FAILED;
    lua_replace(L, ACC);
    return WQ_LUA_OK;
}

void wq_lua_at(wq_lua *lw, int file, int64_t line)
{
    lw->file = file;
    lw->line = line;
}

/* Whether the heap cap leaves room for n more bytes, after a full
 * collection if need be. An unprotected allocation that fails would be a
 * panic, so the item's bytes are measured against the cap first. */
static int room_for(wq_lua *lw, size_t n)
{
    if (!lw->limit || lw->used + n <= lw->limit)
        return 1;
    lua_gc(lw->L, LUA_GCCOLLECT);
    return lw->used + n <= lw->limit;
}

/* Pushes the item's value (itemval.h), or says why not in err (empty on
 * entry). */
static int push_item(wq_lua *lw, const char *item, size_t len, wq_buf *err)
{
    enum wq_itemval_rc rc = WQ_ITEMVAL_NOMEM;
    if (room_for(lw, len + 64))  /* 64: a string's header */
        rc = wq_itemval_push(lw->L, &lw->items, lw->file, item, len, err);
    if (rc == WQ_ITEMVAL_NOMEM && lw->limit)
        wq_buf_printf(err, "memory limit of %zu MB exceeded", lw->limit >> 20);
    else if (rc == WQ_ITEMVAL_NOMEM)
        wq_buf_adds(err, "not enough memory");
    return rc == WQ_ITEMVAL_OK ? 0 : -1;
}

enum wq_item wq_lua_process(wq_lua *lw, const char *item, size_t len,
                            int64_t index, enum wq_format fmt, int fold,
                            wq_buf *out, wq_buf *err)
{
    lua_State *L = lw->L;
    lua_pushvalue(L, PROCESS);
    wq_buf_reset(err);
    if (push_item(lw, item, len, err) < 0) {
        lua_pop(L, 1);
        return WQ_ITEM_FAILED;
    }
    lua_pushinteger(L, index);
    int64_t stale = index;  /* a retry starts with no timeout pending */
    atomic_compare_exchange_strong(&lw->kill, &stale, 0);
    lw->item = index;
    int status = call(lw, WQ_PROCESS, 2, 1, err);
    lw->item = 0;
    if (status != LUA_OK)
        return lw->killed && atomic_load(&lw->kill) == WQ_KILL_ALL
                   ? WQ_ITEM_INTERRUPTED : WQ_ITEM_FAILED;
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return WQ_ITEM_NIL;
    }
    char msg[WQ_ERRLEN];
    size_t mark = out ? out->len : 0;
    if (fold && wq_lua_has(lw, WQ_REDUCE) && wq_keyfold_check(L, -1, msg) < 0) {
        lua_pop(L, 1);
        say(err, msg);
        return WQ_ITEM_FAILED;
    }
    int rc = !out                 ? wq_codec_check(L, -1, "result", msg)
             : !fold && lw->csv   ? wq_csvout_result(lw->csv, L, -1, out, msg)
                                  : wq_codec_encode(L, -1, fold ? WQ_BINARY : fmt,
                                                    "result", out, msg);
    if (rc < 0) {
        if (out)
            out->len = mark;
        lua_pop(L, 1);
        say(err, msg);
        return WQ_ITEM_FAILED;
    }
    if (fold && fold_top(lw, err) < 0)
        return WQ_ITEM_MERGE_FAILED;
    if (!fold)
        lua_pop(L, 1);
    return WQ_ITEM_OK;
}

wq_csvout_ctx *wq_lua_csv(wq_lua *lw)
{
    return lw->csv;
}

int wq_lua_take_fold(wq_lua *lw, wq_buf *out, wq_buf *err)
{
    lua_State *L = lw->L;
    if (lua_isnil(L, ACC))
        return 0;
    char msg[WQ_ERRLEN];
    int rc = wq_codec_encode(L, ACC, WQ_BINARY, "merged value", out, msg);
    /* The next batch's fold mostly has the same keys (words, groups). Kept
     * until then, they live through a major collection; freed, the next
     * merge would make them again as young strings, and each young key put
     * in the old accumulator makes Lua's generational collector traverse
     * all of it again at the next minor collection. Under a memory cap it
     * is kept only while the state uses less than a quarter of the cap. */
    if (lw->limit && lw->used >= lw->limit / 4)
        lua_pushnil(L);
    else
        lua_pushvalue(L, ACC);
    lua_replace(L, LAST);
    lua_pushnil(L);
    lua_replace(L, ACC);
    if (rc < 0) {
        return say(err, msg);
    }
    return 1;
}

int wq_lua_merge_in(wq_lua *lw, const char *p, size_t len, wq_buf *err)
{
    if (push_decoded(lw, p, len, err) < 0)
        return WQ_LUA_FAILED;
    return fold_top(lw, err);
}

enum wq_lua_rc wq_lua_finish(wq_lua *lw, enum wq_format fmt, wq_buf *out,
                             int *raw, wq_buf *err)
{
    lua_State *L = lw->L;
    lua_pushvalue(L, ACC);
    if (wq_lua_has(lw, WQ_FINISH)) {
        push_hook(lw, WQ_FINISH);
        lua_insert(L, -2);
        if (call(lw, WQ_FINISH, 1, 1, err) != LUA_OK)
            return WQ_LUA_FAILED;
    }
    int table = fmt == WQ_CSV || fmt == WQ_TSV;
    *raw = table || (wq_lua_has(lw, WQ_FINISH) && lua_type(L, -1) == LUA_TSTRING);
    const char *root = wq_lua_has(lw, WQ_FINISH) ? "finish value" : "merged value";
    char msg[WQ_ERRLEN];
    enum wq_lua_rc rc = WQ_LUA_OK;
    if (table) {
        if (!lw->csv || wq_csvout_value(lw->csv, L, -1, root, out, msg) < 0) {
            wq_buf_reset(err);
            wq_buf_adds(err, lw->csv ? msg : "no columns");
            rc = WQ_LUA_UNENCODABLE;
        }
    } else if (*raw) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        wq_buf_add(out, s, n);
    } else if (!(lua_isnil(L, -1) && fmt == WQ_TEXT) &&
               wq_codec_encode(L, -1, fmt, root, out, msg) < 0) {
        wq_buf_reset(err);
        wq_buf_adds(err, msg);
        rc = WQ_LUA_UNENCODABLE;
    }
    lua_pop(L, 1);
    return rc;
}

