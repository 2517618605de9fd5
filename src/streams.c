/*
 * streams.c - a job's standard streams; see streams.h.
 *
 * io.stdout and io.stdin are file handles of the io library over FILEs of
 * our own (fopencookie): the first appends to the state's line buffer and
 * reports the whole lines in it, the second is always at its end. print is
 * replaced too, since Lua's writes to the C library's stdout. The FILEs
 * belong to a userdata made before the job's code runs: finalizers run in
 * the reverse order of their objects' making, so the job's own finalizers
 * may still print while the state closes.
 */
#define _GNU_SOURCE
#include "streams.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include "buf.h"
#include "report.h"

#define SINK "luaworkq.streams"
#define LONGEST (64 << 10)  /* a longer line is written in parts */

struct wq_streams {
    wq_buf line;  /* written, not yet reported: it holds no newline but in
                     what was added since the last emit */
    FILE *out, *in;
};

/* Reports the whole lines held (everything when all), keeps the rest;
 * bytes before from were held before and hold no newline. */
static void emit(struct wq_streams *s, size_t from, int all)
{
    wq_buf *b = &s->line;
    size_t n = b->len;
    if (!all) {
        const char *nl = n > from ? memrchr(b->data + from, '\n', n - from) : NULL;
        n = nl ? (size_t)(nl - b->data) + 1 : b->len >= LONGEST ? b->len : 0;
    }
    if (n == 0)
        return;
    wq_report(b->data, n);
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static ssize_t sink_write(void *cookie, const char *p, size_t n)
{
    struct wq_streams *s = cookie;
    size_t from = s->line.len;
    if (wq_buf_add(&s->line, p, n) < 0)
        return 0;
    emit(s, from, 0);
    return (ssize_t)n;
}

static ssize_t empty_read(void *cookie, char *p, size_t n)
{
    (void)cookie, (void)p, (void)n;
    return 0;
}

static int sink_gc(lua_State *L)
{
    struct wq_streams *s = lua_touserdata(L, 1);
    if (s->out) {
        emit(s, 0, 1);  /* unbuffered: nothing waits in the FILE */
        fclose(s->out);
    }
    if (s->in)
        fclose(s->in);
    s->out = s->in = NULL;
    wq_buf_free(&s->line);
    return 0;
}

/* print, as Lua's (tostring of each argument, tab-separated), into the
 * line buffer. */
static int l_print(lua_State *L)
{
    struct wq_streams *s = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L);
    size_t from = s->line.len;
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *str = luaL_tolstring(L, i, &len);
        if (i > 1)
            wq_buf_addc(&s->line, '\t');
        wq_buf_add(&s->line, str, len);
        lua_pop(L, 1);
    }
    wq_buf_addc(&s->line, '\n');
    emit(s, from, 0);
    return 0;
}

/* A standard file's close: it stays open, as in the io library. */
static int noclose(lua_State *L)
{
    luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    p->closef = noclose;
    luaL_pushfail(L);
    lua_pushliteral(L, "cannot close standard file");
    return 2;
}

/* Pushes a file handle on f, sets it as io[field] and as io's default
 * (io.input or io.output, named by setter). */
static void set_handle(lua_State *L, FILE *f, const char *field, const char *setter)
{
    luaL_Stream *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->f = f;
    p->closef = noclose;
    luaL_setmetatable(L, LUA_FILEHANDLE);
    lua_getglobal(L, "io");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, field);
    lua_getfield(L, -1, setter);
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 2);
}

wq_streams *wq_streams_open(lua_State *L)
{
    struct wq_streams *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sink_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    s->out = fopencookie(s, "w", (cookie_io_functions_t){.write = sink_write});
    s->in = fopencookie(s, "r", (cookie_io_functions_t){.read = empty_read});
    if (!s->out || !s->in)
        luaL_error(L, "cannot set up the standard streams: out of memory");
    setvbuf(s->out, NULL, _IONBF, 0);  /* print and io.write keep their order */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, l_print, 1);
    lua_setglobal(L, "print");
    lua_setfield(L, LUA_REGISTRYINDEX, SINK);
    set_handle(L, s->out, "stdout", "output");
    set_handle(L, s->in, "stdin", "input");
    return s;
}

void wq_streams_flush(wq_streams *s)
{
    if (s && s->line.len)
        emit(s, 0, 1);
}
