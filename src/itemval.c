/*
 * itemval.c - an item as a Lua value; see itemval.h.
 */
#include "itemval.h"

#include <lauxlib.h>
#include "chunk.h"
#include "codec.h"

void wq_itemval_init(wq_itemval *v, const wq_recfmt *rec)
{
    *v = (wq_itemval){.rec = rec, .names_file = -1,
                      .names_ref = LUA_NOREF, .field = WQ_BUF_INIT};
}

void wq_itemval_free(wq_itemval *v)
{
    wq_buf_free(&v->field);
}

/* Pushes the names of the fields of file (its header record split),
 * building them at the file's first item. */
static void push_names(lua_State *L, wq_itemval *v, int file)
{
    if (v->names_file != file) {
        size_t len = 0, n;
        const char *h = wq_headers_get(v->rec->headers, file, &len), *name;
        wq_fields it;
        wq_fields_init(&it, v->rec, h ? h : "", h ? len : 0);
        lua_newtable(L);
        for (int i = 1; wq_fields_next(&it, &v->field, &name, &n); i++) {
            lua_pushlstring(L, name, n);
            lua_rawseti(L, -2, i);
        }
        luaL_unref(L, LUA_REGISTRYINDEX, v->names_ref);
        v->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        v->names_file = file;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, v->names_ref);
}

int wq_itemval_header(lua_State *L, wq_itemval *v, int file)
{
    size_t len;
    if (!v->rec->header || !wq_headers_get(v->rec->headers, file, &len)) {
        lua_pushnil(L);
        return 1;
    }
    push_names(L, v, file);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    lua_createtable(L, (int)n, 0);  /* a copy: the job may change it */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        lua_rawseti(L, -2, i);
    }
    lua_remove(L, -2);
    return 1;
}

struct record { wq_itemval *v; int file; const char *p; size_t len; };

/* Pushes a CSV/TSV record as the array of its fields, or with a header as
 * a table keyed by the header's names (a field past the names keeps its
 * position as key). Runs protected: building tables may run out of
 * memory. */
static int push_record(lua_State *L)
{
    const struct record *r = lua_touserdata(L, 1);
    wq_itemval *v = r->v;
    int named = v->rec->header, names = 2, t = named ? 3 : 2;
    if (named)
        push_names(L, v, r->file);
    int nnames = named ? (int)lua_rawlen(L, names) : 0;
    lua_createtable(L, named ? 0 : v->nfields, named ? nnames : 0);
    wq_fields it;
    wq_fields_init(&it, v->rec, r->p, r->len);
    const char *field;
    size_t n;
    int i = 1;
    for (; wq_fields_next(&it, &v->field, &field, &n); i++) {
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
    v->nfields = i - 1;
    return 1;
}

static enum wq_itemval_rc push_fields(lua_State *L, wq_itemval *v, int file,
                                      const char *item, size_t len)
{
    struct record r = {v, file, item, len};
    lua_pushcfunction(L, push_record);
    lua_pushlightuserdata(L, &r);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
        return WQ_ITEMVAL_OK;
    lua_pop(L, 1);
    lua_gc(L, LUA_GCCOLLECT);
    return WQ_ITEMVAL_NOMEM;
}

/* Pushes the value of one record. */
static enum wq_itemval_rc push_one(lua_State *L, wq_itemval *v, int file,
                                   const char *item, size_t len, wq_buf *err)
{
    char msg[WQ_ERRLEN];
    if (v->rec->decode == WQ_DECODE_FIELDS)
        return push_fields(L, v, file, item, len);
    if (v->rec->decode == WQ_DECODE_STRING) {
        lua_pushlstring(L, item, len);
        return WQ_ITEMVAL_OK;
    }
    int rc = wq_codec_json_decode(L, item, len, msg);
    if (rc == WQ_CODEC_ERR)
        wq_buf_printf(err, "item is not JSON: %s", msg);
    return rc == WQ_CODEC_OK    ? WQ_ITEMVAL_OK
           : rc == WQ_CODEC_ERR ? WQ_ITEMVAL_NOT_JSON
                                : WQ_ITEMVAL_NOMEM;
}

struct chunk {
    wq_itemval *v;
    int file;
    const char *p;
    size_t len;
    wq_buf *err;
    enum wq_itemval_rc rc;
};

/* Pushes the array of a chunk's values (chunk.h); a record that is no
 * value leaves its error in rc and nothing pushed. Runs protected, as the
 * array may run out of memory. */
static int push_chunk_array(lua_State *L)
{
    struct chunk *c = lua_touserdata(L, 1);
    const char *p = c->p, *end = c->p + c->len, *rec;
    size_t n;
    lua_createtable(L, (int)c->v->rec->chunk, 0);
    for (lua_Integer i = 1; wq_chunk_next(&p, end, &rec, &n); i++) {
        if ((c->rc = push_one(L, c->v, c->file, rec, n, c->err)) != WQ_ITEMVAL_OK)
            return 0;
        lua_rawseti(L, -2, i);
    }
    return 1;
}

static enum wq_itemval_rc push_chunk(lua_State *L, wq_itemval *v, int file,
                                     const char *item, size_t len, wq_buf *err)
{
    struct chunk c = {v, file, item, len, err, WQ_ITEMVAL_OK};
    lua_pushcfunction(L, push_chunk_array);
    lua_pushlightuserdata(L, &c);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT);
        return WQ_ITEMVAL_NOMEM;
    }
    if (c.rc != WQ_ITEMVAL_OK)
        lua_pop(L, 1);
    return c.rc;
}

enum wq_itemval_rc wq_itemval_push(lua_State *L, wq_itemval *v, int file,
                                   const char *item, size_t len, wq_buf *err)
{
    if (v->rec->chunk)
        return push_chunk(L, v, file, item, len, err);
    return push_one(L, v, file, item, len, err);
}
