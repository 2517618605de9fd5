/*
 * api.c - the API a job sees in its state; see api.h.
 */
#include "api.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include "codec.h"
#include "embedded.h"
#include "report.h"
#include "shared.h"

#define BUF_MT "luaworkq.buf"

/* luaworkq.log's writer: one whole line to stderr. */
static int l_write(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    wq_report(s, len);
    return 0;
}

/* luaworkq.json.encode: the output's JSON. The text is made in a buffer
 * that a userdata owns, so that a memory error leaks nothing. */
static int l_json_encode(lua_State *L)
{
    char msg[WQ_ERRLEN];
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    wq_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
    *b = (wq_buf)WQ_BUF_INIT;
    luaL_setmetatable(L, BUF_MT);
    if (wq_codec_encode(L, 1, WQ_JSON, "value", b, msg) < 0)
        return luaL_error(L, "%s", msg);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    wq_buf_free(b);
    return 1;
}

static int buf_gc(lua_State *L)
{
    wq_buf_free(lua_touserdata(L, 1));
    return 0;
}

/* luaworkq.json.decode: integers stay integers; an error names the byte. */
static int l_json_decode(lua_State *L)
{
    char msg[WQ_ERRLEN];
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int rc = wq_codec_json_decode(L, s, len, msg);
    if (rc == WQ_CODEC_NOMEM)
        return luaL_error(L, "not enough memory");
    if (rc < 0)
        return luaL_error(L, "invalid JSON %s", msg);
    return 1;
}

/* A plain copy of a view of shared data (luaworkq.copy), or nothing when
 * the value is no view. */
static int l_copy_view(lua_State *L)
{
    if (!wq_shared_is_view(L, 1))
        return 0;
    wq_shared_push_copy(L, 1);
    return 1;
}

/* os.exit would end the process under the other workers' feet, with the
 * output half-written: in a job it raises an error instead, which fails the
 * item (or the hook) that called it. */
static int l_no_exit(lua_State *L)
{
    return luaL_error(L, "os.exit is not available in a luaworkq job; "
                         "raise an error instead");
}

/* Loader of package.preload for the modules compiled in from lua/. */
static int load_embedded(lua_State *L)
{
    const wq_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
    char chunkname[128];
    snprintf(chunkname, sizeof chunkname, "=[luaworkq]/%s", m->file);
    if (luaL_loadbuffer(L, m->source, m->size, chunkname) != LUA_OK)
        return lua_error(L);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* The core table that lua/luaworkq.lua turns into the luaworkq module. */
static void push_core(lua_State *L, const wq_api_conf *c, int exec,
                      lua_CFunction where)
{
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, c->worker);
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, c->workers);
    lua_setfield(L, -2, "workers");
    lua_pushliteral(L, LUAWORKQ_VERSION);
    lua_setfield(L, -2, "version");
    wq_codec_pushnull(L);
    lua_setfield(L, -2, "null");
    wq_codec_push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    static const luaL_Reg fns[] = {
        {"write", l_write}, {"json_encode", l_json_encode},
        {"json_decode", l_json_decode}, {"copy_view", l_copy_view}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    lua_pushvalue(L, exec);
    lua_setfield(L, -2, "exec");
    lua_pushcfunction(L, where);
    lua_setfield(L, -2, "where");
    lua_pushcfunction(L, c->header);
    lua_setfield(L, -2, "header");
    lua_createtable(L, 0, c->nsets);
    for (int i = 0; i < c->nsets; i++) {
        const char *kv = c->sets[i], *eq = strchr(kv, '=');
        lua_pushlstring(L, kv, (size_t)(eq - kv));
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "args");
}

static void install_modules(lua_State *L, const wq_api_conf *c, int exec,
                            lua_CFunction where)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const wq_embedded *m = wq_embedded_modules; m->name; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_getfield(L, -1, "luaworkq");  /* its loader, called with the core */
    lua_pushliteral(L, "luaworkq");
    push_core(L, c, exec, where);
    lua_call(L, 2, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "luaworkq");
    lua_pop(L, 1);
    lua_setglobal(L, "luaworkq");
    lua_pop(L, 1);
}

/* Puts the job's folder first on package.path and package.cpath. */
static void set_paths(lua_State *L, const char *job)
{
    const char *slash = strrchr(job, '/');
    if (slash)
        lua_pushlstring(L, job, slash == job ? 1 : (size_t)(slash - job));
    else
        lua_pushliteral(L, ".");
    const char *dir = lua_tostring(L, -1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_getfield(L, -2, "cpath");
    lua_pushfstring(L, "%s/?.so;%s", dir, lua_tostring(L, -1));
    lua_setfield(L, -4, "cpath");
    lua_pop(L, 4);
}

void wq_api_open(lua_State *L, const wq_api_conf *c, int exec,
                 lua_CFunction where)
{
    luaL_newmetatable(L, BUF_MT);
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_getglobal(L, "os");
    lua_pushcfunction(L, l_no_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
    set_paths(L, c->job);
    install_modules(L, c, exec, where);
}
