/*
 * keyfold.c - a group-by's values in one lua_State; see keyfold.h.
 *
 * Nothing here keeps Lua values between calls but the keys in written
 * order (a table in the registry, so that the strings the entries point
 * to stay alive while they are written).
 */
#include "keyfold.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csvrow.h"
#include "numtext.h"

static void arena_free(wq_keyfold *kf);

void wq_keyfold_init(wq_keyfold *kf)
{
    memset(kf, 0, sizeof *kf);
}

void wq_keyfold_free(wq_keyfold *kf)
{
    for (int i = 0; i < kf->nparts; i++)
        wq_buf_free(&kf->parts[i]);
    free(kf->parts);
    free(kf->count);
    free(kf->ents);
    wq_buf_free(&kf->text);
    arena_free(kf);
    wq_keyfold_init(kf);
}

/* Names the key at idx for a message: "word" or 12, long strings cut,
 * bytes that are not printable as '?'. */
static void name_key(lua_State *L, int idx, char *out, size_t size)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        snprintf(out, size, "%lld", (long long)lua_tointeger(L, idx));
        return;
    }
    size_t n, j;
    const char *s = lua_tolstring(L, idx, &n);
    char shown[64];
    for (j = 0; j < n && j < 60; j++)
        shown[j] = s[j] >= 0x20 && s[j] < 0x7f ? s[j] : '?';
    snprintf(out, size, "\"%.*s%s\"", (int)j, shown, j < n ? "..." : "");
}

void wq_keyfold_blame(lua_State *L, int key, const char *what, wq_buf *err)
{
    char name[96];
    name_key(L, key, name, sizeof name);
    wq_buf msg = WQ_BUF_INIT;
    wq_buf_printf(&msg, "%s of key %s: ", what, name);
    wq_buf_add(&msg, err->data ? err->data : "", err->len);
    wq_buf_reset(err);
    wq_buf_add(err, msg.data, msg.len);
    wq_buf_free(&msg);
}

int wq_keyfold_check(lua_State *L, int res, char err[WQ_ERRLEN])
{
    res = lua_absindex(L, res);
    if (!lua_istable(L, res)) {
        snprintf(err, WQ_ERRLEN, "result: process returned a %s; with reduce it "
                 "returns a table of key -> value, or nil", luaL_typename(L, res));
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, res)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING || lua_isinteger(L, -1))
            continue;
        if (lua_type(L, -1) == LUA_TNUMBER)
            snprintf(err, WQ_ERRLEN, "result[%.17g]: a key of reduce is a string or "
                     "an integer, not a float", lua_tonumber(L, -1));
        else
            snprintf(err, WQ_ERRLEN, "result: a key of reduce is a string or an "
                     "integer, not a %s", luaL_typename(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* wq_keyfold_fold's arguments: the stack indexes in its frame. */
enum { F_ACC = 1, F_REDUCE, F_WHAT };

/* With a key and its new value on top: acc[key] = the value, or
 * reduce(acc[key], value) when the key has one, the key kept in the
 * closure's upvalue meanwhile, so that an error can be named by it. Pops
 * both; raises reduce's errors. */
static void fold_pair(lua_State *L)
{
    lua_pushvalue(L, -2);
    if (lua_rawget(L, F_ACC) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_rawset(L, F_ACC);
        return;
    }
    lua_pushvalue(L, -3);
    lua_replace(L, lua_upvalueindex(1));
    lua_pushvalue(L, F_REDUCE);
    lua_insert(L, -2);
    lua_rotate(L, -3, -1);  /* key value fn old: key fn old value */
    lua_call(L, 2, 1);
    if (lua_isnil(L, -1))
        luaL_error(L, "returned nil");
    lua_rawset(L, F_ACC);
    lua_pushnil(L);
    lua_replace(L, lua_upvalueindex(1));
}

static void fold_pair_cb(lua_State *L, void *ud)
{
    (void)ud;
    fold_pair(L);
}

int wq_keyfold_fold(lua_State *L)
{
    const wq_keyfold_what *what = lua_touserdata(L, F_WHAT);
    int n = 0;
    if (what->p) {
        wq_codec_each_pair(L, what->p, what->len, fold_pair_cb, NULL);
    } else {
        lua_pushnil(L);
        while (lua_next(L, F_WHAT + 1)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            fold_pair(L);
            n++;
        }
    }
    lua_pushinteger(L, n);
    return 1;
}

/* The written form of the key at idx: a pointer into the Lua string, or
 * text appended to kf->text at *at (then NULL is returned). */
static const char *written(wq_keyfold *kf, lua_State *L, int idx, size_t *n,
                           size_t *at)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        char num[24];
        *n = (size_t)wq_numtext_int(num, (long long)lua_tointeger(L, idx));
        *at = kf->text.len;
        wq_buf_add(&kf->text, num, *n);
        return NULL;
    }
    int plain;
    const char *s = lua_tolstring(L, idx, n);
    if (wq_numtext_scan((const unsigned char *)s, *n, &plain))
        return s;
    char *fixed = wq_numtext_fix_utf8(s, *n, n);
    *at = kf->text.len;
    wq_buf_add(&kf->text, fixed ? fixed : "", fixed ? *n : 0);
    free(fixed);
    return NULL;
}

int wq_keyfold_partition(const char *w, size_t n, int nparts)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 1099511628211ULL;
    return (int)((h ^ h >> 29) % (uint64_t)nparts);
}


static int make_parts(wq_keyfold *kf, int nparts)
{
    if (kf->nparts >= nparts)
        return 0;
    wq_buf *p = realloc(kf->parts, (size_t)nparts * sizeof *p);
    if (p)
        kf->parts = p;
    uint32_t *c = p ? realloc(kf->count, (size_t)nparts * sizeof *c) : NULL;
    if (!c)
        return -1;
    kf->count = c;
    for (int i = kf->nparts; i < nparts; i++)
        p[i] = (wq_buf)WQ_BUF_INIT;
    kf->nparts = nparts;
    return 0;
}

/* Opens the batch's parts, each an encoded table (codec.h:
 * wq_codec_table_begin), unless they are open. */
static int begin_parts(wq_keyfold *kf, int nparts)
{
    if (kf->begun)
        return 0;
    if (make_parts(kf, nparts) < 0)
        return -1;
    for (int i = 0; i < nparts; i++) {
        wq_buf_reset(&kf->parts[i]);
        kf->count[i] = 0;
        if (wq_codec_table_begin(&kf->parts[i]) == (size_t)-1)
            return -1;
    }
    kf->begun = 1;
    return 0;
}

/* Encodes the key and value on top into the part of the key (the value
 * popped). */
static int put_pair(wq_keyfold *kf, lua_State *L, int nparts, char err[WQ_ERRLEN])
{
    size_t n, at = 0;
    wq_buf_reset(&kf->text);
    const char *w = written(kf, L, -2, &n, &at);
    int i = wq_keyfold_partition(w ? w : kf->text.data + at, n, nparts);
    if (wq_codec_encode(L, -2, WQ_BINARY, "result", &kf->parts[i], err) < 0 ||
        wq_codec_encode(L, -1, WQ_BINARY, "result", &kf->parts[i], err) < 0)
        return -1;
    kf->count[i]++;
    lua_pop(L, 1);
    return 0;
}

/* Encodes every pair of the table at t into the parts. */
static int put_pairs(wq_keyfold *kf, lua_State *L, int t, int nparts, char err[WQ_ERRLEN])
{
    t = lua_absindex(L, t);
    if (begin_parts(kf, nparts) < 0)
        return -1;
    lua_pushnil(L);
    while (lua_next(L, t))
        if (put_pair(kf, L, nparts, err) < 0) {
            lua_pop(L, 2);
            return -1;
        }
    return 0;
}

int wq_keyfold_put(wq_keyfold *kf, lua_State *L, int res, int nparts, char err[WQ_ERRLEN])
{
    err[0] = '\0';
    if (put_pairs(kf, L, res, nparts, err) == 0)
        return 0;
    if (!err[0])
        snprintf(err, WQ_ERRLEN, "not enough memory");
    return -1;
}

/* After a batch: whether the next one skips the fold. A batch whose keys
 * were at least 90% distinct gains nothing from folding them before they
 * are split (an index: each key once); every 16th batch is folded again
 * to look. */
static void choose_mode(wq_keyfold *kf, int folded, int nparts)
{
    size_t distinct = 0;
    for (int i = 0; i < nparts; i++)
        distinct += kf->count[i];
    if (!folded)
        kf->direct = ++kf->unfolded < 16;
    else
        kf->direct = kf->pairs >= 64 && distinct * 10 >= kf->pairs * 9;
    if (!kf->direct)
        kf->unfolded = 0;
    kf->pairs = 0;
}

int wq_keyfold_split(wq_keyfold *kf, lua_State *L, int acc, int nparts,
                     wq_buf *out, size_t *ends, char err[WQ_ERRLEN])
{
    err[0] = '\0';
    int rc = acc ? put_pairs(kf, L, acc, nparts, err) : begin_parts(kf, nparts);
    for (int i = 0; rc == 0 && i < nparts; i++) {
        if (kf->count[i]) {
            wq_codec_table_end(&kf->parts[i], 0, kf->count[i]);
            rc = wq_buf_add(out, kf->parts[i].data, kf->parts[i].len);
        }
        ends[i] = out->len;
    }
    if (rc == 0)
        choose_mode(kf, acc != 0, nparts);
    kf->begun = 0;
    if (rc < 0 && !err[0])
        snprintf(err, WQ_ERRLEN, "not enough memory");
    return rc;
}

static uint64_t prefix_of(const char *w, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (i < n ? (unsigned char)w[i] : 0);
    return v;
}

#define KEY_COPIED 3u

static int cmp_ents(const wq_keyent *x, const wq_keyent *y)
{
    return wq_keyent_cmp(x, y);
}

#define DIGITS (1 << 16)

/* Sorts v by prefix: least significant digit first, 16 bits a pass, a pass
 * skipped when every key has the same digit there. tmp has room for n,
 * count for DIGITS (on the heap: in thread-local storage every thread the
 * process starts would clear its 512 KB). */
static void radix_sort(wq_keyent *v, wq_keyent *tmp, size_t n, size_t *count)
{
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, DIGITS * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[v[i].prefix >> shift & 0xffff]++;
        if (n && count[v[0].prefix >> shift & 0xffff] == n)
            continue;
        size_t sum = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[v[i].prefix >> shift & 0xffff]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
    }
}

/* Insertion sort of a run of one prefix (short, nearly always). */
static void sort_run(wq_keyent *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        wq_keyent x = v[i];
        size_t j = i;
        for (; j > 0 && cmp_ents(&x, &v[j - 1]) < 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Puts the entries in written order: by prefix, then runs of one prefix
 * by the rest of their bytes. */
static int sort_ents(wq_keyfold *kf)
{
    wq_keyent *v = kf->ents, *tmp = malloc((kf->n ? kf->n : 1) * sizeof *tmp);
    size_t *count = malloc(DIGITS * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    radix_sort(v, tmp, kf->n, count);
    free(tmp);
    free(count);
    for (size_t i = 0, j; i < kf->n; i = j) {
        for (j = i + 1; j < kf->n && v[j].prefix == v[i].prefix;)
            j++;
        sort_run(v + i, j - i);
    }
    return 0;
}

/* The entries' bytes: blocks that never move, so entries point into them,
 * and whose unused tails waste at most a block. */
struct wq_keyblock {
    struct wq_keyblock *next;
    size_t used, cap;
    char data[];
};

#define BLOCK (1u << 20)

static char *arena_take(wq_keyfold *kf, size_t n)
{
    struct wq_keyblock *b = kf->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK ? n : BLOCK;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        *b = (struct wq_keyblock){kf->blocks, 0, cap};
        kf->blocks = b;
    }
    b->used += n;
    return b->data + b->used - n;
}

static void arena_free(wq_keyfold *kf)
{
    for (struct wq_keyblock *b = kf->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    kf->blocks = NULL;
}

/* Says why the value on top cannot be written in fmt, naming its key
 * (at key): value["word"].x: cannot encode NaN. */
static void blame_value(lua_State *L, int key, enum wq_format fmt, char err[WQ_ERRLEN])
{
    char root[112] = "value[";
    wq_buf scratch = WQ_BUF_INIT;
    name_key(L, key, root + 6, sizeof root - 7);
    strcat(root, "]");
    if (wq_codec_encode(L, -1, fmt, root, &scratch, err) == 0)
        snprintf(err, WQ_ERRLEN, "not enough memory");
    wq_buf_free(&scratch);
}

/* -f csv/tsv: the row of the value on top and its key (at key): the key
 * in the first column, a table value's fields in the others (a scalar in
 * the second, the rest empty). */
static int row_text(wq_keyfold *kf, lua_State *L, int key, wq_buf *out,
                    char err[WQ_ERRLEN])
{
    char root[112] = "value[";
    name_key(L, key, root + 6, sizeof root - 7);
    strcat(root, "]");
    const wq_csvcols *c = kf->cols;
    int rc = wq_csvrow_field(c, L, key, 0, "key", out, err);
    if (rc == 0 && lua_istable(L, -1))
        rc = wq_csvrow_put(kf->row, L, c, lua_gettop(L), 1, root, out, err);
    else if (rc == 0)
        rc = wq_csvrow_sep(c, out) < 0 ||
             wq_csvrow_field(c, L, -1, 0, root, out, err) < 0 || wq_csvrow_pad(c, 2, out) < 0
                 ? -1 : 0;
    return rc == 0 ? wq_buf_addc(out, '\n') : -1;
}

/* Appends the entry's text for the value on top and its key (at key),
 * written w[0..n): the key, then the value, in layout. */
static int entry_text(wq_keyfold *kf, lua_State *L, int key, const char *w, size_t n,
                      enum wq_layout layout, wq_buf *out, char err[WQ_ERRLEN])
{
    enum wq_format fmt = layout == WQ_LAYOUT_LINES ? WQ_TEXT : WQ_JSON;
    int rc;
    if (wq_frame_table(layout))
        return row_text(kf, L, key, out, err);
    if (layout == WQ_LAYOUT_LINES) {
        if (lua_type(L, key) == LUA_TSTRING)
            w = lua_tolstring(L, key, &n);  /* lines: the bytes as they are */
        rc = wq_buf_add(out, w, n) < 0 || wq_buf_addc(out, '\t') < 0 ? -1 : 0;
    } else {
        rc = (layout == WQ_LAYOUT_NDJSON && wq_buf_addc(out, '[') < 0) ||
             wq_codec_json_string(out, w, n) < 0 ||
             wq_buf_addc(out, layout == WQ_LAYOUT_NDJSON ? ',' : ':') < 0 ? -1 : 0;
    }
    if (rc == 0 && wq_codec_encode(L, -1, fmt, "value", out, err) < 0) {
        blame_value(L, key, fmt, err);
        return -1;
    }
    if (rc == 0 && layout != WQ_LAYOUT_JSON)
        rc = layout == WQ_LAYOUT_NDJSON ? wq_buf_add(out, "]\n", 2) : wq_buf_addc(out, '\n');
    return rc;
}

/* Adds the entry of the key and value on top (the value popped) to kf:
 * its text made in kf->text, then kept in the arena with, if the text does
 * not hold it as it is, the key as written before it. */
static int add_entry(wq_keyfold *kf, lua_State *L, enum wq_layout layout,
                     char err[WQ_ERRLEN])
{
    size_t n, at = 0;
    wq_buf_reset(&kf->text);
    const char *w = written(kf, L, -2, &n, &at);
    size_t text = kf->text.len;
    /* A key written in kf->text is read while the text grows after it:
     * room for it escaped (6 bytes a byte at most) first, so it stays. */
    int scratch = !w;
    if (wq_buf_grow(&kf->text, 6 * n + 8) < 0)
        return -1;
    if (scratch)
        w = kf->text.data + at;
    if (entry_text(kf, L, -2, w, n, layout, &kf->text, err) < 0)
        return -1;
    if (scratch)
        w = kf->text.data + at;  /* the value's text may have moved it */
    size_t tlen = kf->text.len - text, koff = layout == WQ_LAYOUT_NDJSON ? 2
                                             : layout == WQ_LAYOUT_JSON ? 1 : 0;
    int inside = koff + n <= tlen && memcmp(kf->text.data + text + koff, w, n) == 0;
    char *p = tlen <= WQ_KEYENT_TLEN && n <= UINT32_MAX && kf->n < kf->cap
                  ? arena_take(kf, tlen + (inside ? 0 : n)) : NULL;
    if (!p)
        return -1;
    if (!inside) {
        memcpy(p, w, n);
        p += n;
    }
    memcpy(p, kf->text.data + text, tlen);
    kf->ents[kf->n++] = (wq_keyent){
        prefix_of(w, n), p, (uint32_t)tlen | (uint32_t)(inside ? koff : KEY_COPIED) << 30,
        (uint32_t)n};
    lua_pop(L, 1);
    return 0;
}

/* Makes room for an entry per key of acc. */
static int size_ents(wq_keyfold *kf, lua_State *L, int acc)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, acc)) {
        lua_pop(L, 1);
        n++;
    }
    free(kf->ents);
    kf->ents = malloc((n ? n : 1) * sizeof *kf->ents);
    kf->cap = kf->ents ? n : 0;
    return kf->ents ? 0 : -1;
}

/* The entries of every key of acc, after finish(key, value) when h is not
 * NULL (a nil from it drops the key). */
static int make_entries(wq_keyfold *kf, lua_State *L, int acc, const wq_keyfold_hook *h,
                        enum wq_layout layout, wq_buf *err)
{
    char msg[WQ_ERRLEN] = "";
    lua_pushnil(L);
    while (lua_next(L, acc)) {
        if (h) {
            lua_pushvalue(L, h->fn);
            lua_pushvalue(L, -3);
            lua_rotate(L, -3, -1);  /* key fn key value */
            if (h->call(h->ctx, 2, 1, err) != 0) {
                wq_keyfold_blame(L, -1, "finish", err);
                lua_pop(L, 1);
                return -1;
            }
        }
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
        } else if (add_entry(kf, L, layout, msg) < 0) {
            wq_buf_reset(err);
            wq_buf_adds(err, msg[0] ? msg : "not enough memory");
            lua_pop(L, 2);
            return -1;
        }
    }
    return 0;
}

int wq_keyfold_order(wq_keyfold *kf, lua_State *L, int acc, const wq_keyfold_hook *h,
                     enum wq_layout layout, wq_buf *err)
{
    kf->n = kf->next = 0;
    arena_free(kf);
    if (size_ents(kf, L, acc) < 0) {
        wq_buf_adds(err, "not enough memory to put the keys in order");
        return -1;
    }
    if (make_entries(kf, L, acc, h, layout, err) < 0)
        return -1;
    wq_buf_free(&kf->text);
    if (sort_ents(kf) < 0) {
        wq_buf_adds(err, "not enough memory to put the keys in order");
        return -1;
    }
    for (size_t i = 1; i < kf->n; i++) {
        const wq_keyent *e = &kf->ents[i];
        if (cmp_ents(&kf->ents[i - 1], e) != 0)
            continue;
        wq_buf_reset(err);
        wq_buf_printf(err, "two keys are both written \"%.*s\" (an integer and a "
                      "string, or invalid UTF-8): an object never holds a key twice",
                      (int)(e->klen > 60 ? 60 : e->klen), wq_keyent_key(e));
        return -1;
    }
    return 0;
}

const wq_keyent *wq_keyfold_sorted(const wq_keyfold *kf, size_t *n)
{
    *n = kf->n;
    return kf->ents;
}
