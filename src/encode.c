/*
 * encode.c - Lua values to JSON, lines and the transfer format; see codec.h.
 *
 * One walk over a value serves the three encodings. It uses only the public
 * Lua API and never runs Lua code: tables are read with lua_next and
 * lua_raw*, so no __pairs, __index or __tostring metamethod runs. The
 * functions called here do not allocate in Lua (lua_next, lua_raw*,
 * lua_push{value,nil,number,boolean}, lua_checkstack), so the walk cannot
 * raise; an object of many keys is put in order by bigobject.c, and a
 * view of shared data (shared.h) copied into a plain table, both of which
 * allocate, under lua_pcall. Error messages come from keypath.c.
 */
#include "bigobject.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "shared.h"

#ifdef __GNUC__
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

/* JSON string: escapes '"', '\\' and control bytes, keeps valid UTF-8 and
 * replaces each maximal invalid subpart by one U+FFFD. */
/* Whether any of the 8 bytes of w is a control character, a quote, a
 * backslash or not ASCII: what JSON escapes or checks. */
static inline int word_needs_care(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    uint64_t below = w - ones * 0x20;                  /* < 0x20: borrows */
    uint64_t zq = quote - ones, zs = slash - ones;     /* zero bytes borrow */
    return ((below & ~w) | (zq & ~quote) | (zs & ~slash) | w) & highs ? 1 : 0;
}

int wq_codec_json_string(wq_buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    if (wq_buf_addc(out, '"') < 0)
        return -1;
    while (i < n) {
        if (n - i >= 8) {  /* plain ASCII 8 bytes a step: most text */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!word_needs_care(w)) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        int k = c >= 0x80 ? wq_numtext_utf8(s + i, n - i) : 0;
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if (wq_buf_add(out, s + run, i - run) < 0)
            return -1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        const char *rep = esc;
        size_t len = 2;
        if (k < 0) {
            rep = "\xEF\xBF\xBD";
            len = 3;
        } else if (c < 0x20) {
            const char *named = strchr("\bb\ff\nn\rr\tt", (int)c);
            if (named && c) {
                esc[1] = named[1];
            } else {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                len = 6;
            }
        }
        if (wq_buf_add(out, rep, len) < 0)
            return -1;
        i += k < 0 ? (size_t)-k : 1;
        run = i;
    }
    if (wq_buf_add(out, s + run, i - run) < 0)
        return -1;
    return wq_buf_addc(out, '"');
}

/* ---- Scalars ------------------------------------------------------------- */

static int put(struct enc *e, const void *p, size_t n)
{
    return wq_buf_add(e->out, p, n) < 0 ? wq_keypath_nomem(e) : 0;
}

static int put_tag(struct enc *e, int tag, const char *json)
{
    if (e->fmt == WQ_JSON)
        return put(e, json, strlen(json));
    char c = (char)tag;
    return put(e, &c, 1);
}

/* A tag followed by a varint. */
static int put_tagged(struct enc *e, int tag, uint64_t v)
{
    unsigned char b[11];
    int n = 0;
    b[n++] = (unsigned char)tag;
    for (; v >= 0x80; v >>= 7)
        b[n++] = (unsigned char)(v | 0x80);
    b[n++] = (unsigned char)v;
    return put(e, b, (size_t)n);
}

static int put_int(struct enc *e, lua_Integer i)
{
    if (e->fmt == WQ_JSON) {
        char text[24];
        return put(e, text, (size_t)wq_numtext_int(text, i));
    }
    uint64_t u = (uint64_t)i;
    return put_tagged(e, T_INT, (u << 1) ^ (0 - (u >> 63)));
}

static int put_float(struct enc *e, lua_Number x)
{
    if (e->fmt == WQ_JSON) {
        char text[40];
        if (isnan(x))
            return wq_keypath_fail(e, e->depth, "cannot encode NaN");
        if (isinf(x))
            return wq_keypath_fail(e, e->depth, x > 0 ? "cannot encode infinity"
                                           : "cannot encode -infinity");
        return put(e, text, (size_t)wq_numtext_double(text, x));
    }
    unsigned char b[9] = {T_FLOAT};
    uint64_t u;
    memcpy(&u, &x, 8);
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(u >> (8 * i));
    return put(e, b, 9);
}

static int put_string(struct enc *e, const char *s, size_t n)
{
    if (e->fmt == WQ_JSON)
        return wq_codec_json_string(e->out, s, n) < 0 ? wq_keypath_nomem(e) : 0;
    if (put_tagged(e, T_STR, n) < 0)
        return -1;
    return put(e, s, n);
}

/* Writes a plain key, quoted, and the colon after it at p (n + 3 bytes);
 * returns where they end. */
static char *write_key(char *p, const char *s, size_t n)
{
    p[0] = '"';
    memcpy(p + 1, s, n);
    p[n + 1] = '"';
    p[n + 2] = ':';
    return p + n + 3;
}

/* An object's key and the colon after it; a plain key is copied as it is. */
static int put_key(struct enc *e, const char *s, size_t n, int plain)
{
    if (!plain)
        return put_string(e, s, n) < 0 ? -1 : put(e, ":", 1);
    if (wq_buf_grow(e->out, n + 3) < 0)
        return wq_keypath_nomem(e);
    write_key(e->out->data + e->out->len, s, n);
    e->out->len += n + 3;
    return 0;
}

static int encode_table(struct enc *e, int idx);

/* Pushes a plain copy of the view at 1 (shared.h). */
static int copy_view(lua_State *L)
{
    wq_shared_push_copy(L, 1);
    return 1;
}

/* A view of shared data is encoded as the table it shows: a plain copy,
 * made under lua_pcall (it allocates) and dropped after. */
static int encode_view(struct enc *e, int idx)
{
    lua_State *L = e->L;
    if (!lua_checkstack(L, 3))
        return wq_keypath_fail(e, e->depth, "not enough Lua stack");
    lua_pushcfunction(L, copy_view);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return wq_keypath_nomem(e);
    }
    int r = encode_table(e, lua_gettop(L));
    lua_pop(L, 1);
    return r;
}

/* Encodes the value at idx, an absolute index, found at path[0..depth). */
static int encode_value(struct enc *e, int idx)
{
    lua_State *L = e->L;
    size_t n;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return put_tag(e, T_NIL, "null");
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? put_tag(e, T_TRUE, "true")
                                     : put_tag(e, T_FALSE, "false");
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? put_int(e, lua_tointeger(L, idx))
                                     : put_float(e, lua_tonumber(L, idx));
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &n);
        return put_string(e, s, n);
    }
    case LUA_TTABLE:
        return encode_table(e, idx);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return put_tag(e, T_NULL, "null");
        break;
    case LUA_TUSERDATA:
        if (wq_shared_is_view(L, idx))
            return encode_view(e, idx);
        break;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "cannot transfer a %s", luaL_typename(L, idx));
    return wq_keypath_fail(e, e->depth, msg);
}

/* The fast path of wq_codec_check: whether the value at idx (absolute) can
 * plainly be encoded. It writes nothing and names nothing; anything it is
 * not sure of (depth, stack) sends the caller to the encoder. */
static int plain(lua_State *L, int idx, const void **open, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER: case LUA_TSTRING:
        return 1;
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) == NULL;
    case LUA_TTABLE:
        break;
    default:
        return 0;
    }
    const void *t = lua_topointer(L, idx);
    if (depth >= WQ_MAX_DEPTH - 1 || !lua_checkstack(L, 3))
        return 0;
    for (int d = 0; d < depth; d++)
        if (open[d] == t)
            return 0;
    open[depth] = t;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2), vt = lua_type(L, -1);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
            return 0;  /* the caller resets the stack */
        if (vt != LUA_TSTRING && vt != LUA_TNUMBER && vt != LUA_TBOOLEAN &&
            !plain(L, lua_gettop(L), open, depth + 1))  /* scalars inline: per key */
            return 0;
        lua_pop(L, 1);
    }
    return 1;
}

int wq_codec_check(lua_State *L, int idx, const char *root, char err[WQ_ERRLEN])
{
    const void *open[WQ_MAX_DEPTH];
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    int ok = plain(L, idx, open, 0);
    lua_settop(L, top);
    err[0] = '\0';
    if (ok)
        return 0;
    wq_buf scratch = WQ_BUF_INIT;  /* the encoder knows why, and where */
    int rc = wq_codec_encode(L, idx, WQ_BINARY, root, &scratch, err);
    wq_buf_free(&scratch);
    return rc;
}

/* ---- Tables: binary, JSON arrays, JSON objects' keys --------------------- */

static void write_u32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}

/* Binary: the pairs in lua_next order, count and hint patched in after. */
static int binary_table(struct enc *e, int t)
{
    lua_State *L = e->L;
    size_t at = e->out->len;
    char head[9] = {wq_codec_has_array_mark(L, t) ? T_ARRAY : T_TABLE};
    if (put(e, head, sizeof head) < 0)
        return -1;
    uint32_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        struct key *k = &e->path[e->depth - 1];
        int top = lua_gettop(L);
        if (wq_key_read(L, top - 1, k) < 0)
            return wq_keypath_bad_key(e, top - 1);
        if (encode_value(e, top - 1) < 0 || encode_value(e, top) < 0)
            return -1;
        lua_pop(L, 1);
        n++;
    }
    lua_Unsigned hint = lua_rawlen(L, t);
    write_u32(e->out->data + at + 1, n);
    write_u32(e->out->data + at + 5, hint < n ? (uint32_t)hint : n);
    return 0;
}

size_t wq_codec_table_begin(wq_buf *out)
{
    char head[9] = {T_TABLE};
    size_t at = out->len;
    return wq_buf_add(out, head, sizeof head) < 0 ? (size_t)-1 : at;
}

void wq_codec_table_end(wq_buf *out, size_t at, uint32_t pairs)
{
    write_u32(out->data + at + 1, pairs);
}

/* Whether the keys of t are exactly 1..n. */
static int is_sequence(lua_State *L, int t, lua_Unsigned n)
{
    lua_Unsigned count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_Integer k;
        if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 ||
            (lua_Unsigned)k > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n;
}

static int json_array(struct enc *e, int t, lua_Unsigned n)
{
    lua_State *L = e->L;
    struct key *k = &e->path[e->depth - 1];
    k->kind = K_INT;
    for (lua_Unsigned i = 1; i <= n; i++) {
        if (put(e, i == 1 ? "[" : ",", 1) < 0)
            return -1;
        k->u.i = (lua_Integer)i;
        lua_rawgeti(L, t, (lua_Integer)i);
        if (encode_value(e, lua_gettop(L)) < 0)
            return -1;
        lua_pop(L, 1);
    }
    return put(e, "]", 1);
}

static struct entry *new_entry(struct enc *e)
{
    if (e->nents == e->cap) {
        size_t cap = e->cap * 2;
        struct entry *p = e->ents == e->inl ? malloc(cap * sizeof *p)
                                            : realloc(e->ents, cap * sizeof *p);
        if (!p)
            return NULL;
        if (e->ents == e->inl)
            memcpy(p, e->inl, sizeof e->inl);
        e->ents = p;
        e->cap = cap;
    }
    return &e->ents[e->nents++];
}

/* The key as it is written (before JSON escaping): what it sorts by. */
static const char *entry_text(const struct entry *en, size_t *len)
{
    if (en->fixed) {
        *len = en->flen;
        return en->fixed;
    }
    if (en->k.kind == K_STR) {
        *len = en->k.len;
        return en->k.u.s;
    }
    *len = en->tlen;
    return en->text;
}

/* Sets the entry's text: numbers and booleans as JSON writes them, and
 * for a string with invalid UTF-8, the string with each maximal invalid
 * subpart replaced by U+FFFD, as wq_codec_json_string writes it. */
static int set_text(struct entry *en)
{
    en->fixed = NULL;
    en->tlen = (unsigned char)wq_key_text(&en->k, en->text);
    en->plain = 1;
    if (en->k.kind != K_STR)
        return 0;
    int plain;
    int valid = wq_numtext_scan((const unsigned char *)en->k.u.s, en->k.len, &plain);
    en->plain = (unsigned char)plain;
    if (valid)
        return 0;
    en->fixed = wq_numtext_fix_utf8(en->k.u.s, en->k.len, &en->flen);
    return en->fixed ? 0 : -1;
}

/* Bytewise by the written text, a prefix first. Keys with the same text are
 * an error found after the sort; they are ordered by kind, then by their
 * own bytes, so that the error names them in an order that does not depend
 * on lua_next. */
static int cmp_entries(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    size_t lx, ly;
    const char *sx = entry_text(x, &lx), *sy = entry_text(y, &ly);
    int c = memcmp(sx, sy, lx < ly ? lx : ly);
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    if (x->k.kind != y->k.kind || x->k.kind != K_STR)
        return y->k.kind - x->k.kind;       /* a string last */
    c = memcmp(x->k.u.s, y->k.u.s, x->k.len < y->k.len ? x->k.len : y->k.len);
    return c ? c : x->k.len < y->k.len ? -1 : x->k.len > y->k.len;
}

static void sort_entries(struct entry *v, size_t n)
{
    if (n > 16) {
        qsort(v, n, sizeof *v, cmp_entries);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct entry x = v[i];
        size_t j = i;
        for (; j > 0 && cmp_entries(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Collects the keys of t as entries. The values of the first STACK_VALUES
 * keys stay on the stack above base; if the table has more keys, none stay
 * (bigobject.c collects them again). Returns 1 in that case, 0 otherwise,
 * -1 on error. */
static int collect_keys(struct enc *e, int t, int base)
{
    lua_State *L = e->L;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (++count > STACK_VALUES || !lua_checkstack(L, 4)) {
            lua_settop(L, base);            /* the saved values, key, value */
            return 1;
        }
        struct entry *en = new_entry(e);
        if (!en)
            return wq_keypath_nomem(e);
        en->fixed = NULL;
        if (wq_key_read(L, -2, &en->k) < 0)
            return wq_keypath_bad_key(e, -2);
        if (set_text(en) < 0)
            return wq_keypath_nomem(e);
        lua_insert(L, -2);                  /* the value stays below the key */
        en->slot = lua_gettop(L) - 1;
    }
    return 0;
}

/* Writes the n sorted entries from ents[first] as a JSON object. Their
 * values are on the stack at their slots. */
static int emit_object(struct enc *e, size_t first, size_t n)
{
    lua_State *L = e->L;
    for (size_t i = 0; i < n; i++) {
        const struct entry *en = &e->ents[first + i];  /* ents may move */
        size_t len;
        const char *s = entry_text(en, &len);
        if (put(e, i ? "," : "{", 1) < 0 || put_key(e, s, len, en->plain) < 0)
            return -1;
        e->path[e->depth - 1] = en->k;
        lua_pushvalue(L, en->slot);
        if (encode_value(e, lua_gettop(L)) < 0)
            return -1;
        lua_pop(L, 1);
    }
    return put(e, "}", 1);
}

/* The n entries from first are sorted. */
static int check_unique(struct enc *e, size_t first, size_t n)
{
    for (size_t i = first + 1; i < first + n; i++) {
        size_t la, lb;
        const char *a = entry_text(&e->ents[i - 1], &la);
        const char *b = entry_text(&e->ents[i], &lb);
        if (la == lb && memcmp(a, b, la) == 0)
            return wq_keypath_same_keys(e, &e->ents[i - 1].k, &e->ents[i].k);
    }
    return 0;
}

/* ---- Objects of many keys ------------------------------------------------ */

/* Writes the n sorted keys of v, of the table at t, with their values from
 * the array at vals. */
static int emit_big(struct enc *e, const struct big *v, size_t n, int t, int vals)
{
    lua_State *L = e->L;
    for (size_t i = 0; i < n; i++) {
        const struct big *b = &v[i];
        if (i + 16 < n)
            PREFETCH(v[i + 16].text);       /* texts lie in Lua's order, not this one */
        if (put(e, i ? "," : "{", 1) < 0 || put_key(e, b->text, b->len, b->plain) < 0)
            return -1;
        lua_rawgeti(L, vals, b->value);
        int type = lua_type(L, -1);
        if (type != LUA_TSTRING && type != LUA_TBOOLEAN && !lua_isinteger(L, -1))
            wq_bigobj_key(e, t, b, &e->path[e->depth - 1]);  /* what may fail names it */
        if (encode_value(e, lua_gettop(L)) < 0)
            return -1;
        lua_pop(L, 1);
    }
    return put(e, "}", 1);
}

/* An object of more than STACK_VALUES keys: bigobject.c puts its keys in
 * order (under lua_pcall, as its array of values allocates); they are
 * written here, outside that call. */
static int emit_large(struct enc *e, int t)
{
    struct wq_bigobj o;
    int r = wq_bigobj_sort(e, t, &o);
    if (r == 0)
        r = emit_big(e, o.v, o.n, t, lua_gettop(e->L));
    wq_bigobj_free(&o);
    return r;
}

/* ---- Objects of a few keys ----------------------------------------------- */

/* Objects of a few plain string keys and scalar values (a record,
 * {len = n}) are written in one walk, without entries on the stack: the
 * values are encoded as the keys come, after the object's place in the
 * output, then the object is put together behind them in key order and
 * moved into its place. Keys that need an escape or a U+FFFD, other
 * keys, other values (a table, NaN) and more keys send the object to the
 * general path. */
#define SMALL_KEYS 8

struct small {
    const char *k;              /* the key, written as it is */
    size_t klen, voff, vlen;    /* its value's text in the output */
};

/* Appends the text of the scalar value on top. Returns 1, 0 if it is no
 * plain scalar (NaN's error needs the general path's key path), -1. Its
 * own dispatch, not encode_value's: going through encode_value cost 70
 * more instructions an item on trivial. */
static int small_value(struct enc *e)
{
    lua_State *L = e->L;
    size_t len;
    int r;
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        const char *str = lua_tolstring(L, -1, &len);
        return put_string(e, str, len) < 0 ? -1 : 1;
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1))
            return put_int(e, lua_tointeger(L, -1)) < 0 ? -1 : 1;
        if (!isfinite(lua_tonumber(L, -1)))
            return 0;
        return put_float(e, lua_tonumber(L, -1)) < 0 ? -1 : 1;
    case LUA_TBOOLEAN:
        r = lua_toboolean(L, -1) ? put_tag(e, T_TRUE, "true") : put_tag(e, T_FALSE, "false");
        return r < 0 ? -1 : 1;
    }
    return 0;
}

/* The key and value on top into x, the value's text appended. Returns 1,
 * 0 if they are not small, -1. */
static int small_pair(struct enc *e, struct small *x)
{
    lua_State *L = e->L;
    int plain = 0;
    if (lua_type(L, -2) != LUA_TSTRING)
        return 0;
    x->k = lua_tolstring(L, -2, &x->klen);
    if (!wq_numtext_scan((const unsigned char *)x->k, x->klen, &plain) || !plain)
        return 0;
    x->voff = e->out->len;
    int r = small_value(e);
    x->vlen = e->out->len - x->voff;
    return r;
}

/* Walks t into v (*n keys). Returns 1 if all were small, 0 if not, -1. */
static int small_walk(struct enc *e, int t, struct small *v, size_t *n)
{
    lua_State *L = e->L;
    int top = lua_gettop(L), r = 1;
    lua_pushnil(L);
    while (r == 1 && lua_next(L, t)) {
        r = *n == SMALL_KEYS ? 0 : small_pair(e, &v[*n]);
        *n += r == 1;
        lua_pop(L, 1);
    }
    lua_settop(L, top);
    return r;
}

/* Sorts v by key. Lua's keys are distinct, and these are written as they
 * are: sorting their bytes is sorting their texts, and no two collide. */
static void small_sort(struct small *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct small x = v[i];
        size_t j = i;
        for (; j > 0; j--) {
            const struct small *y = &v[j - 1];
            int c = memcmp(y->k, x.k, y->klen < x.klen ? y->klen : x.klen);
            if (c < 0 || (c == 0 && y->klen < x.klen))
                break;
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
}

/* Returns 1 if t was written, 0 if not (nothing written), -1. */
static int small_object(struct enc *e, int t)
{
    struct small v[SMALL_KEYS];
    size_t mark = e->out->len, n = 0;
    int r = small_walk(e, t, v, &n);
    if (r == 1 && n == 0)
        r = 0;                /* {} or [] as the general path says */
    if (r < 1) {
        e->out->len = mark;
        return r;
    }
    small_sort(v, n);
    size_t vals = e->out->len - mark, size = n + 1 + vals;  /* {,,} */
    for (size_t i = 0; i < n; i++)
        size += v[i].klen + 3;                               /* "k": */
    if (wq_buf_grow(e->out, size) < 0)
        return wq_keypath_nomem(e);
    char *at = e->out->data + mark, *p = at + vals;
    for (size_t i = 0; i < n; i++) {
        *p++ = i ? ',' : '{';
        p = write_key(p, v[i].k, v[i].klen);
        memcpy(p, e->out->data + v[i].voff, v[i].vlen);
        p += v[i].vlen;
    }
    *p = '}';
    memmove(at, at + vals, size);
    e->out->len = mark + size;
    return 1;
}

/* ---- Objects, and the walk over a value --------------------------------- */

static int json_object(struct enc *e, int t)
{
    int small = small_object(e, t);
    if (small)
        return small < 0 ? -1 : 0;
    lua_State *L = e->L;
    size_t first = e->nents;
    int r = collect_keys(e, t, lua_gettop(L));
    size_t n = e->nents - first;
    if (r == 1) {
        for (size_t i = first; i < e->nents; i++)
            free(e->ents[i].fixed);
        e->nents = first;
        r = emit_large(e, t);
    } else if (r == 0 && n == 0) {
        r = put(e, wq_codec_has_array_mark(L, t) ? "[]" : "{}", 2);
    } else if (r == 0) {
        sort_entries(e->ents + first, n);
        r = check_unique(e, first, n) < 0 ? -1 : emit_object(e, first, n);
    }
    for (size_t i = first; i < e->nents; i++)
        free(e->ents[i].fixed);
    e->nents = first;
    return r;
}

/* Checks for cycles and depth, then encodes the table at idx, leaving the
 * stack as it was. */
static int encode_table(struct enc *e, int idx)
{
    lua_State *L = e->L;
    const void *p = lua_topointer(L, idx);
    for (int d = 0; d < e->depth; d++)
        if (e->open[d] == p)
            return wq_keypath_fail(e, e->depth, "cannot transfer a cycle");
    if (e->depth == WQ_MAX_DEPTH)
        return wq_keypath_fail(e, e->depth, TOO_DEEP);
    if (!lua_checkstack(L, 8))
        return wq_keypath_fail(e, e->depth, "not enough Lua stack");
    int top = lua_gettop(L), r;
    e->open[e->depth++] = p;
    if (e->fmt == WQ_BINARY) {
        r = binary_table(e, idx);
    } else {
        lua_Unsigned n = lua_rawlen(L, idx);
        r = n > 0 && is_sequence(L, idx, n) ? json_array(e, idx, n)
                                            : json_object(e, idx);
    }
    e->depth--;
    lua_settop(L, top);
    return r;
}

/* The "lines" format: a string's bytes, or a number as tostring writes it. */
static int encode_text(struct enc *e, int idx)
{
    lua_State *L = e->L;
    char text[64];
    size_t n;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &n);
        return put(e, s, n);
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            n = (size_t)wq_numtext_int(text, lua_tointeger(L, idx));
        } else {    /* as lua_Number's tostring: "%.14g", ".0" if integral */
            n = (size_t)snprintf(text, sizeof text, LUA_NUMBER_FMT,
                                 (LUAI_UACNUMBER)lua_tonumber(L, idx));
            if (text[strspn(text, "-0123456789")] == '\0') {
                memcpy(text + n, ".0", 3);
                n += 2;
            }
        }
        return put(e, text, n);
    }
    snprintf(e->err, WQ_ERRLEN, "%s: lines output needs a string or a number, got %s",
             e->root, luaL_typename(L, idx));
    return -1;
}

int wq_codec_encode(lua_State *L, int idx, enum wq_format fmt, const char *root,
              wq_buf *out, char err[WQ_ERRLEN])
{
    struct enc e;           /* not zeroed: it is large and this path is hot */
    e.L = L;
    e.fmt = fmt;
    e.out = out;
    e.err = err;
    e.root = root ? root : "value";
    e.depth = 0;
    e.ents = e.inl;
    e.nents = 0;
    e.cap = INLINE_ENTRIES;
    err[0] = '\0';
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    int r = fmt == WQ_TEXT ? encode_text(&e, idx) : encode_value(&e, idx);
    lua_settop(L, top);
    if (e.ents != e.inl)
        free(e.ents);
    return r;
}
