/*
 * arraymark.c - the luaworkq.array metatable, which marks a table that
 * JSON writes as an array even when empty; see codec.h.
 */
#include "codec_internal.h"

static const char array_mt_key;     /* its address keys the registry */

/* Creating the metatable allocates, so the first call in a state may raise a
 * memory error: the Lua glue makes that call while it builds the luaworkq
 * module under lua_pcall, and the decoders call it under their own. */
void wq_codec_push_array_mt(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "luaworkq.array");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);
}

int wq_codec_has_array_mark(lua_State *L, int t)
{
    if (!lua_getmetatable(L, t))
        return 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    int marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked;
}
