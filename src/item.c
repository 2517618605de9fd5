/*
 * item.c - an item as a Lua value; see item.h.
 */
#include "item.h"

#include <lauxlib.h>
#include "codec.h"
#include "glue_state.h"
#include "record.h"

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

/* Pushes the names of the current file's fields (its header record split),
 * building them at the file's first item. */
static void push_names(lua_State *L, wq_lua *lw)
{
    if (lw->names_file != lw->file) {
        const wq_recfmt *f = &lw->conf->rec;
        size_t len = 0, n;
        const char *h = wq_headers_get(f->headers, lw->file, &len), *name;
        wq_fields it;
        wq_fields_init(&it, f, h ? h : "", h ? len : 0);
        lua_newtable(L);
        for (int i = 1; wq_fields_next(&it, &lw->field, &name, &n); i++) {
            lua_pushlstring(L, name, n);
            lua_rawseti(L, -2, i);
        }
        luaL_unref(L, LUA_REGISTRYINDEX, lw->names_ref);
        lw->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lw->names_file = lw->file;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, lw->names_ref);
}

struct record { wq_lua *lw; const char *p; size_t len; };

/* Pushes a CSV/TSV record as the array of its fields, or with a header as
 * a table keyed by the header's names (a field past the names keeps its
 * position as key). Runs protected: building tables may run out of
 * memory. */
static int push_record(lua_State *L)
{
    const struct record *r = lua_touserdata(L, 1);
    wq_lua *lw = r->lw;
    int named = lw->conf->rec.header, names = 2, t = named ? 3 : 2;
    if (named)
        push_names(L, lw);
    int nnames = named ? (int)lua_rawlen(L, names) : 0;
    lua_createtable(L, named ? 0 : lw->nfields, named ? nnames : 0);
    wq_fields it;
    wq_fields_init(&it, &lw->conf->rec, r->p, r->len);
    const char *field;
    size_t n;
    int i = 1;
    for (; wq_fields_next(&it, &lw->field, &field, &n); i++) {
        if (i <= nnames)
            lua_rawgeti(L, names, i);
        else if (named)
            lua_pushinteger(L, i);
        lua_pushlstring(L, field, n);
        if (named)
            lua_rawset(L, t);
        else
            lua_rawseti(L, t, i);
    }
    lw->nfields = i - 1;
    return 1;
}

static int push_fields(wq_lua *lw, const char *item, size_t len)
{
    struct record r = {lw, item, len};
    lua_pushcfunction(lw->L, push_record);
    lua_pushlightuserdata(lw->L, &r);
    if (lua_pcall(lw->L, 1, 1, 0) == LUA_OK)
        return 0;
    lua_pop(lw->L, 1);
    lua_gc(lw->L, LUA_GCCOLLECT);
    return -1;  /* out of memory: wq_item_push says so */
}

int wq_item_push(wq_lua *lw, const char *item, size_t len, wq_buf *err)
{
    char msg[WQ_ERRLEN];
    int rc = room_for(lw, len + 64) ? 0 : -1;  /* 64: a string's header */
    enum wq_rec_kind kind = lw->conf->rec.kind;
    if (rc == 0 && (kind == WQ_REC_CSV || kind == WQ_REC_TSV))
        rc = push_fields(lw, item, len);
    else if (rc == 0 && !lw->conf->ndjson_in)
        lua_pushlstring(lw->L, item, len);
    else if (rc == 0 && (rc = wq_codec_json_decode(lw->L, item, len, msg)) == -1)
        wq_buf_printf(err, "item is not JSON: %s", msg);
    if (rc < 0 && err->len == 0 && lw->limit)
        wq_buf_printf(err, "memory limit of %zu MB exceeded", lw->limit >> 20);
    else if (rc < 0 && err->len == 0)
        wq_buf_adds(err, "not enough memory");
    return rc < 0 ? -1 : 0;
}
