/*
 * gluekeys.c - a state's side of a keyed reduce; see glue.h.
 *
 * The Lua work itself is keyfold.c's; this file runs it in the state:
 * through glue.c's protected call, with the state's slots (ACC: the batch's
 * keys, OWN: the partition it owns, FOLD: the fold closure).
 */
#include "glue_internal.h"

#include <lauxlib.h>
#include <stdio.h>
#include "csvout.h"

/* Makes the fold closure, under the protected call: it allocates. */
static int make_fold(lua_State *L)
{
    lua_pushnil(L);
    lua_pushcclosure(L, wq_keyfold_fold, 1);
    return 1;
}

/* Runs keyfold.h's fold into the table at acc: of a part, or (p NULL) of
 * the table on top, which is popped. An error of reduce is named by its
 * key. Returns the pairs folded from a table, or WQ_LUA_FAILED. */
static int fold_into(wq_lua *lw, int acc, const char *p, size_t len, wq_buf *err)
{
    lua_State *L = lw->L;
    wq_keyfold_what what = {p, len};
    int table = p ? 0 : 1, n = 0;
    lua_pushvalue(L, FOLD);
    lua_pushvalue(L, acc);
    lua_pushvalue(L, MERGE);
    lua_pushlightuserdata(L, &what);
    if (table)
        lua_rotate(L, -5, -1);  /* the table after the arguments */
    if (wq_glue_call(lw, WQ_REDUCE, 3 + table, 1, err) == LUA_OK) {
        n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        return n;
    }
    if (lua_getupvalue(L, FOLD, 1)) {  /* the key being reduced, or nil */
        if (!lua_isnil(L, -1))
            wq_keyfold_blame(L, -1, "reduce", err);
        lua_pop(L, 1);
    }
    return WQ_LUA_FAILED;
}

static int call_finish(void *lw, int nargs, int nresults, wq_buf *err)
{
    return wq_glue_call(lw, WQ_FINISH, nargs, nresults, err) == LUA_OK ? 0 : -1;
}

static int fold_keys(wq_lua *lw, wq_buf *err)
{
    lua_State *L = lw->L;
    int rc;
    if (lw->kf.direct && lw->worker) {  /* the host always folds (shards.c) */
        char msg[WQ_ERRLEN];
        if ((rc = wq_keyfold_put(&lw->kf, L, -1, lw->conf->workers, msg)) < 0) {
            wq_glue_say(err, msg);
        }
    } else {
        if (lua_isnil(L, ACC)) {
            lua_newtable(L);
            lua_replace(L, ACC);
        }
        if ((rc = fold_into(lw, ACC, NULL, 0, err)) > 0)
            lw->kf.pairs += (size_t)rc;
        return rc < 0 ? WQ_LUA_FAILED : WQ_LUA_OK;
    }
    lua_pop(L, 1);
    return rc < 0 ? WQ_LUA_FAILED : WQ_LUA_OK;
}

int wq_lua_keys_open(wq_lua *lw, wq_buf *err)
{
    lua_pushcfunction(lw->L, make_fold);
    if (wq_glue_call(lw, WQ_REDUCE, 0, 1, err) != LUA_OK)
        return WQ_LUA_FAILED;
    lua_replace(lw->L, FOLD);  /* once, not an allocation an item */
    lw->fold_keys = fold_keys;
    return WQ_LUA_OK;
}

int wq_lua_split(wq_lua *lw, int nparts, wq_buf *out, size_t *ends, wq_buf *err)
{
    lua_State *L = lw->L;
    char msg[WQ_ERRLEN];
    int rc = wq_keyfold_split(&lw->kf, L, lua_isnil(L, ACC) ? 0 : ACC, nparts, out,
                              ends, msg);
    lua_pushnil(L);
    lua_replace(L, ACC);
    if (rc < 0) {
        return wq_glue_say(err, msg);
    }
    return WQ_LUA_OK;
}

int wq_lua_fold_part(wq_lua *lw, const char *p, size_t len, wq_buf *err)
{
    lua_State *L = lw->L;
    if (lua_isnil(L, OWN)) {
        lua_newtable(L);
        lua_replace(L, OWN);
    }
    return fold_into(lw, OWN, p, len, err) < 0 ? WQ_LUA_FAILED : WQ_LUA_OK;
}

/* -f csv/tsv with reduce: the rows' columns, the key's first: the job's
 * `columns`, else "key" and "value" (made into *made, for the caller to
 * free). NULL with a message in err when there are fewer than two. */
static const wq_csvcols *key_columns(wq_lua *lw, enum wq_layout layout, wq_csvcols **made,
                                     wq_buf *err)
{
    static const char *const names[] = {"key", "value"};
    static const size_t lens[] = {3, 5};
    char msg[WQ_ERRLEN] = "";
    const wq_csvcols *c = lw->csv ? wq_csvout_columns(lw->csv) : NULL;
    if (!c)
        c = *made = wq_csvcols_new(layout == WQ_LAYOUT_TSV, names, lens, 2, "columns", msg);
    if (c && wq_csvcols_count(c) < 2)
        snprintf(msg, sizeof msg, "columns: the rows of a reduce have the key and at "
                 "least one more column");
    if (msg[0]) {
        wq_glue_say(err, msg);
        return NULL;
    }
    return c;
}

int wq_lua_key_header(wq_lua *lw, enum wq_layout layout, wq_buf *out, wq_buf *err)
{
    wq_csvcols *made = NULL;
    const wq_csvcols *c = key_columns(lw, layout, &made, err);
    size_t len;
    const char *h = c ? wq_csvcols_header(c, &len) : NULL;
    if (h)
        wq_buf_add(out, h, len);
    wq_csvcols_free(made);
    return c ? WQ_LUA_OK : WQ_LUA_FAILED;
}

int wq_lua_order_keys(wq_lua *lw, enum wq_layout layout, wq_buf *err)
{
    lua_State *L = lw->L;
    wq_csvcols *made = NULL;
    lw->kf.cols = wq_frame_table(layout) ? key_columns(lw, layout, &made, err) : NULL;
    lw->kf.row = &lw->keyrow;
    if (wq_frame_table(layout) && !lw->kf.cols)
        return WQ_LUA_FAILED;
    wq_lua_kill(lw, 0);  /* the keys of a stopped run are written with --partial */
    int finish = wq_lua_has(lw, WQ_FINISH);
    if (finish)
        wq_glue_push_hook(lw, WQ_FINISH);
    wq_keyfold_hook h = {lua_gettop(L), call_finish, lw};
    int rc = lua_isnil(L, OWN) ? 0
             : wq_keyfold_order(&lw->kf, L, OWN, finish ? &h : NULL, layout, err);
    if (finish)
        lua_pop(L, 1);
    lua_pushnil(L);  /* the entries hold what is written: the keys can go */
    lua_replace(L, OWN);
    wq_csvcols_free(made);
    lw->kf.cols = NULL;
    return rc < 0 ? WQ_LUA_FAILED : WQ_LUA_OK;
}

const wq_keyent *wq_lua_sorted_keys(wq_lua *lw, size_t *n)
{
    return wq_keyfold_sorted(&lw->kf, n);
}
