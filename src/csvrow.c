/*
 * csvrow.c - rows of CSV and TSV from Lua values; see csvrow.h.
 *
 * A keyed row is read column by column (the column's name, a Lua string
 * kept in the state, looked up with lua_rawget), so its fields come out in
 * column order with no sort and no copy; one lua_next pass before counts
 * its keys, and a key that no column took is found, to be named, only when
 * the counts differ.
 */
#include "csvrow.h"

#include <lauxlib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "numtext.h"

struct wq_csvcols {
    int tsv;
    size_t n;
    uint64_t id;        /* tells columns apart in a state's cache: an
                           address may be reused, an id never is */
    const char **name;  /* into text */
    size_t *len;
    char *header;       /* the header line */
    size_t hlen;
    char text[];        /* the names, one after another */
};

static _Atomic uint64_t next_id = 1;

size_t wq_csvcols_count(const wq_csvcols *c) { return c->n; }
int wq_csvcols_tsv(const wq_csvcols *c) { return c->tsv; }

const char *wq_csvcols_header(const wq_csvcols *c, size_t *len)
{
    *len = c->hlen;
    return c->header;
}

void wq_csvcols_free(wq_csvcols *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->len);
    free(c->header);
    free(c);
}

/* ---- Fields ------------------------------------------------------------ */

/* Where a field's value was found, for messages: root, then a key (k) or a
 * position (k NULL, i > 0), or the root itself. */
struct where {
    const char *root;
    const char *k;
    size_t klen;
    lua_Integer i;
};

static int identifier(const char *s, size_t n)
{
    if (n == 0 || n > 40 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Writes "ROOT.key: msg", "ROOT[\"a b\"]: msg" or "ROOT[3]: msg" to err;
 * returns WQ_CODEC_ERR. */
static int fail(const struct where *w, const char *msg, char err[WQ_ERRLEN])
{
    int klen = w->klen > 60 ? 60 : (int)w->klen;
    const char *cut = w->klen > 60 ? "..." : "";
    if (w->k && identifier(w->k, w->klen))
        snprintf(err, WQ_ERRLEN, "%s.%.*s: %s", w->root, klen, w->k, msg);
    else if (w->k)
        snprintf(err, WQ_ERRLEN, "%s[\"%.*s%s\"]: %s", w->root, klen, w->k, cut, msg);
    else if (w->i)
        snprintf(err, WQ_ERRLEN, "%s[%lld]: %s", w->root, (long long)w->i, msg);
    else
        snprintf(err, WQ_ERRLEN, "%s: %s", w->root, msg);
    return WQ_CODEC_ERR;
}

static int nomem(const struct where *w, char err[WQ_ERRLEN])
{
    snprintf(err, WQ_ERRLEN, "%s: not enough memory", w->root);
    return WQ_CODEC_ERR;
}

/* The bytes that make a CSV field quoted. */
static const unsigned char quoted[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};

/* A string as a CSV field: quoted, quotes doubled, when it must be. */
static int put_csv(wq_buf *out, const char *s, size_t n, int alone)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !quoted[u[i]])
        i++;
    if (i == n && (n > 0 || !alone))
        return wq_buf_add(out, s, n);
    if (wq_buf_grow(out, n + 2 + (n - i)) < 0)  /* every byte left a quote */
        return -1;
    char *p = out->data + out->len;
    *p++ = '"';
    memcpy(p, s, i);
    p += i;
    for (; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    out->len = (size_t)(p - out->data);
    return 0;
}

/* A string as a TSV field, or the message that it cannot be one. */
static const char *put_tsv(wq_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            return s[i] == '\t'   ? "a TSV field cannot hold a tab"
                   : s[i] == '\r' ? "a TSV field cannot hold a carriage return"
                                  : "a TSV field cannot hold a newline";
    return wq_buf_add(out, s, n) < 0 ? "not enough memory" : NULL;
}

static int put_text(const wq_csvcols *c, wq_buf *out, const char *s, size_t n,
                    int alone, const struct where *w, char err[WQ_ERRLEN])
{
    if (!c->tsv)
        return put_csv(out, s, n, alone) < 0 ? nomem(w, err) : 0;
    const char *msg = put_tsv(out, s, n);
    return msg ? fail(w, msg, err) : 0;
}

/* The value at idx as one field. */
static int put_value(const wq_csvcols *c, lua_State *L, int idx, int alone,
                     const struct where *w, wq_buf *out, char err[WQ_ERRLEN])
{
    char text[48], msg[64];
    size_t n;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return put_text(c, out, "", 0, alone, w, err);
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, idx, &n);
        return put_text(c, out, s, n, alone, w, err);
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            n = (size_t)wq_numtext_int(text, lua_tointeger(L, idx));
        } else {
            lua_Number x = lua_tonumber(L, idx);
            if (isnan(x))
                return fail(w, "cannot encode NaN", err);
            if (isinf(x))
                return fail(w, x > 0 ? "cannot encode infinity"
                                     : "cannot encode -infinity", err);
            n = (size_t)wq_numtext_double(text, x);
        }
        return wq_buf_add(out, text, n) < 0 ? nomem(w, err) : 0;
    case LUA_TBOOLEAN:
        return wq_buf_adds(out, lua_toboolean(L, idx) ? "true" : "false") < 0
                   ? nomem(w, err) : 0;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)  /* luaworkq.null */
            return put_text(c, out, "", 0, alone, w, err);
        break;
    case LUA_TTABLE:
        return fail(w, c->tsv ? "a table cannot be a TSV field"
                              : "a table cannot be a CSV field", err);
    }
    snprintf(msg, sizeof msg, "cannot write a %s in a %s field", luaL_typename(L, idx),
             c->tsv ? "TSV" : "CSV");
    return fail(w, msg, err);
}

int wq_csvrow_field(const wq_csvcols *c, lua_State *L, int idx, int alone,
                    const char *root, wq_buf *out, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    err[0] = '\0';
    return put_value(c, L, lua_absindex(L, idx), alone, &w, out, err);
}

int wq_csvrow_sep(const wq_csvcols *c, wq_buf *out)
{
    return wq_buf_addc(out, c->tsv ? '\t' : ',');
}

int wq_csvrow_pad(const wq_csvcols *c, size_t from, wq_buf *out)
{
    for (size_t j = from; j < c->n; j++)
        if (j > 0 && wq_csvrow_sep(c, out) < 0)
            return -1;
    return 0;
}

/* ---- Rows -------------------------------------------------------------- */

/* Pushes the names of the columns as a table of Lua strings, its
 * reference in the registry returned as an integer. Run protected. */
static int make_names(lua_State *L)
{
    const wq_csvcols *c = lua_touserdata(L, 1);
    lua_createtable(L, (int)c->n, 0);
    for (size_t j = 0; j < c->n; j++) {
        lua_pushlstring(L, c->name[j], c->len[j]);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

/* Pushes the state's table of c's names, making it at c's first row. */
static int push_names(wq_csvrow *r, lua_State *L, const wq_csvcols *c)
{
    if (r->id != c->id || r->ref == LUA_NOREF) {
        lua_pushcfunction(L, make_names);
        lua_pushlightuserdata(L, (void *)c);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
            lua_pop(L, 1);
            return -1;
        }
        int ref = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
        r->ref = ref;
        r->id = c->id;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref);
    return 0;
}

/* The keys of the table at t: how many, and one of each kind (string,
 * integer, other) for messages. */
struct keys {
    size_t n;
    const char *s;
    size_t slen;
    int has_int, has_other;
    lua_Integer i;
};

static void count_keys(lua_State *L, int t, struct keys *k)
{
    *k = (struct keys){0};
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        k->n++;
        if (lua_type(L, -1) == LUA_TSTRING && !k->s)
            k->s = lua_tolstring(L, -1, &k->slen);
        else if (lua_isinteger(L, -1) && !k->has_int) {
            k->has_int = 1;
            k->i = lua_tointeger(L, -1);
        } else if (lua_type(L, -1) != LUA_TSTRING && !lua_isinteger(L, -1))
            k->has_other = 1;
    }
}

/* Appends "(the columns are a, b, c)" to msg, cut to fit. */
static void list_columns(const wq_csvcols *c, size_t from, char *msg, size_t size)
{
    size_t at = strlen(msg);
    at += (size_t)snprintf(msg + at, size - at, " (the columns are ");
    for (size_t j = from; j < c->n && at + 8 < size; j++) {
        int room = (int)(size - at - 6);
        int len = (int)c->len[j] < room ? (int)c->len[j] : room;
        at += (size_t)snprintf(msg + at, size - at, "%s%.*s", j > from ? ", " : "", len,
                               c->name[j]);
    }
    if (at + 2 < size)
        snprintf(msg + at, size - at, ")");
}

/* Whether key[0..n) names one of the columns from `from` on. */
static int is_column(const wq_csvcols *c, size_t from, const char *key, size_t n)
{
    for (size_t j = from; j < c->n; j++)
        if (c->len[j] == n && memcmp(c->name[j], key, n) == 0)
            return 1;
    return 0;
}

/* Names a key of the table at t that no column took. */
static int extra_key(const wq_csvcols *c, lua_State *L, int t, size_t from, int array,
                     const char *root, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    char msg[WQ_ERRLEN];
    lua_Integer last = (lua_Integer)(c->n - from);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        size_t n;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &n);
            if (!array && is_column(c, from, s, n))
                continue;
            w.k = s;
            w.klen = n;
            snprintf(msg, sizeof msg, "not a column");
            list_columns(c, from, msg, sizeof msg - strlen(root) - 8);
        } else if (lua_isinteger(L, -1)) {
            w.i = lua_tointeger(L, -1);
            if (w.i >= 1 && w.i <= last && array)
                continue;
            snprintf(msg, sizeof msg, w.i >= 1 ? "past the last column (%zu columns)"
                                               : "not a column (%zu columns)", c->n - from);
            if (w.i < 1)
                w.i = 0;
        } else {
            snprintf(msg, sizeof msg, "a %s key is not a column",
                     luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        return fail(&w, msg, err);
    }
    return fail(&w, "a key is not a column", err);
}

/* Writes the field of column j, the value on top, and pops it. */
static int column(const wq_csvcols *c, lua_State *L, size_t j, struct where *w,
                  wq_buf *out, char err[WQ_ERRLEN])
{
    if (j > 0 && wq_buf_addc(out, c->tsv ? '\t' : ',') < 0)
        return nomem(w, err);
    int rc = put_value(c, L, lua_gettop(L), c->n == 1, w, out, err);
    lua_pop(L, 1);
    return rc;
}

int wq_csvrow_put(wq_csvrow *r, lua_State *L, const wq_csvcols *c, int idx,
                  size_t from, const char *root, wq_buf *out, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    char msg[64];
    err[0] = '\0';
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        snprintf(msg, sizeof msg, "a row is a table of columns or an array, not a %s",
                 luaL_typename(L, idx));
        return fail(&w, msg, err);
    }
    if (!lua_checkstack(L, 4))
        return fail(&w, "not enough Lua stack", err);
    struct keys k;
    count_keys(L, idx, &k);
    if (k.has_int && k.s) {
        w.k = k.s;
        w.klen = k.slen;
        return fail(&w, "a row is an array of values or a table of columns, not both",
                    err);
    }
    size_t found = 0;
    if (k.has_int) {
        for (size_t j = from; j < c->n; j++) {
            w.i = (lua_Integer)(j - from + 1);
            found += lua_rawgeti(L, idx, w.i) != LUA_TNIL;
            if (column(c, L, j, &w, out, err) < 0)
                return WQ_CODEC_ERR;
        }
    } else {
        if (push_names(r, L, c) < 0)
            return nomem(&w, err);
        int names = lua_gettop(L);
        for (size_t j = from; j < c->n; j++) {
            w.k = c->name[j];
            w.klen = c->len[j];
            lua_rawgeti(L, names, (lua_Integer)j + 1);
            found += lua_rawget(L, idx) != LUA_TNIL;
            if (column(c, L, j, &w, out, err) < 0) {
                lua_pop(L, 1);
                return WQ_CODEC_ERR;
            }
        }
        lua_pop(L, 1);
    }
    return found == k.n ? WQ_CODEC_OK : extra_key(c, L, idx, from, k.has_int, root, err);
}

/* ---- Columns ----------------------------------------------------------- */

struct named { const char *s; size_t n; size_t at; };

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

/* The first name given twice, or -1 (v sorted). */
static long twice(const struct named *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (cmp_named(&v[i - 1], &v[i]) == 0)
            return (long)(v[i - 1].at > v[i].at ? v[i - 1].at : v[i].at);
    return -1;
}

/* Refuses names that cannot make a header: none, one given twice, or for
 * TSV one that holds a tab, CR or LF. */
static int check_names(int tsv, const char *const *names, const size_t *lens, size_t n,
                       const char *root, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    if (n == 0)
        return fail(&w, "no columns", err);
    wq_buf scratch = WQ_BUF_INIT;
    for (size_t j = 0; tsv && j < n; j++) {
        const char *msg = put_tsv(&scratch, names[j], lens[j]);
        wq_buf_reset(&scratch);
        w.i = (lua_Integer)j + 1;
        if (msg) {
            wq_buf_free(&scratch);
            return fail(&w, msg, err);
        }
    }
    wq_buf_free(&scratch);
    struct named *v = malloc(n * sizeof *v);
    if (!v)
        return nomem(&w, err);
    for (size_t j = 0; j < n; j++)
        v[j] = (struct named){names[j], lens[j], j};
    qsort(v, n, sizeof *v, cmp_named);
    long dup = twice(v, n);
    free(v);
    if (dup < 0)
        return 0;
    w.i = dup + 1;
    snprintf(err, WQ_ERRLEN, "%s[%ld]: \"%.*s\" is a column already", root, dup + 1,
             lens[dup] > 60 ? 60 : (int)lens[dup], names[dup]);
    return WQ_CODEC_ERR;
}

/* The header line of c, made from its names. */
static int make_header(wq_csvcols *c)
{
    wq_buf h = WQ_BUF_INIT;
    int rc = 0;
    for (size_t j = 0; j < c->n && rc == 0; j++) {
        if (j > 0)
            rc = wq_buf_addc(&h, c->tsv ? '\t' : ',');
        if (rc == 0)
            rc = c->tsv ? wq_buf_add(&h, c->name[j], c->len[j])
                        : put_csv(&h, c->name[j], c->len[j], c->n == 1);
    }
    if (rc == 0)
        rc = wq_buf_addc(&h, '\n');
    c->header = h.data;
    c->hlen = h.len;
    return rc;
}

wq_csvcols *wq_csvcols_new(int tsv, const char *const *names, const size_t *lens,
                           size_t n, const char *root, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    err[0] = '\0';
    if (check_names(tsv, names, lens, n, root, err) < 0)
        return NULL;
    size_t size = 0;
    for (size_t j = 0; j < n; j++)
        size += lens[j];
    wq_csvcols *c = calloc(1, sizeof *c + size + 1);
    if (!c || !(c->name = malloc(n * sizeof *c->name)) ||
        !(c->len = malloc(n * sizeof *c->len))) {
        wq_csvcols_free(c);
        nomem(&w, err);
        return NULL;
    }
    c->tsv = tsv;
    c->n = n;
    c->id = atomic_fetch_add(&next_id, 1);
    char *p = c->text;
    for (size_t j = 0; j < n; j++) {
        memcpy(p, names[j], lens[j]);
        c->name[j] = p;
        c->len[j] = lens[j];
        p += lens[j];
    }
    if (make_header(c) < 0) {
        wq_csvcols_free(c);
        nomem(&w, err);
        return NULL;
    }
    return c;
}

/* Makes columns of the n names in v. */
static wq_csvcols *of_named(struct named *v, size_t n, int tsv, const char *root,
                            char err[WQ_ERRLEN])
{
    const char **names = malloc((n ? n : 1) * sizeof *names);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    wq_csvcols *c = NULL;
    if (names && lens) {
        for (size_t j = 0; j < n; j++) {
            names[j] = v[j].s;
            lens[j] = v[j].n;
        }
        c = wq_csvcols_new(tsv, names, lens, n, root, err);
    } else {
        snprintf(err, WQ_ERRLEN, "%s: not enough memory", root);
    }
    free(names);
    free(lens);
    return c;
}

/* Reads the keys of the table at t into *v (*n of them): all strings when
 * keys, all of 1..n when !keys. */
static int read_list(lua_State *L, int t, int keys, struct named **v, size_t *n,
                     const char *root, char err[WQ_ERRLEN])
{
    struct where w = {root, NULL, 0, 0};
    size_t count = 0, len;
    lua_Unsigned size = keys ? 0 : lua_rawlen(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        count++;
    }
    if (!(*v = malloc((count ? count : 1) * sizeof **v)))
        return nomem(&w, err);
    *n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int kt = lua_type(L, -2);
        int vt = lua_type(L, -1);
        w.i = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
        w.k = kt == LUA_TSTRING ? lua_tolstring(L, -2, &w.klen) : NULL;
        const char *msg = NULL;
        if (keys && kt != LUA_TSTRING)
            msg = "a column's name is a string";
        else if (!keys && (w.i < 1 || (lua_Unsigned)w.i > size))
            msg = "not a position in the list of names";
        else if (!keys && vt != LUA_TSTRING)
            msg = "a column's name is a string";
        if (msg) {
            lua_pop(L, 2);
            return fail(&w, msg, err);
        }
        const char *s = keys ? lua_tolstring(L, -2, &len) : lua_tolstring(L, -1, &len);
        size_t at = keys ? *n : (size_t)w.i - 1;
        (*v)[(*n)++] = (struct named){s, len, at};
        lua_pop(L, 1);
    }
    return 0;
}

static int cmp_at(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* The length of the array at t (keys exactly 1..n, n >= 1), or 0. */
static size_t array_length(lua_State *L, int t)
{
    lua_Unsigned n = lua_rawlen(L, t), count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_Integer k = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
        if (k < 1 || (lua_Unsigned)k > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n ? (size_t)n : 0;
}

/* Columns named by their positions, "1" to "n", as Miller names the
 * fields of a file without a header (--implicit-csv-header). */
static wq_csvcols *of_positions(size_t n, int tsv, const char *root, char err[WQ_ERRLEN])
{
    struct named *v = malloc(n * sizeof *v);
    char *text = malloc(n * 21);
    wq_csvcols *c = NULL;
    if (v && text) {
        for (size_t j = 0; j < n; j++) {
            char *s = text + 21 * j;
            v[j] = (struct named){s, (size_t)wq_numtext_int(s, (long long)j + 1), j};
        }
        c = of_named(v, n, tsv, root, err);
    } else {
        snprintf(err, WQ_ERRLEN, "%s: not enough memory", root);
    }
    free(v);
    free(text);
    return c;
}

wq_csvcols *wq_csvcols_of_keys(lua_State *L, int idx, int tsv, const char *root,
                               char err[WQ_ERRLEN])
{
    struct named *v = NULL;
    size_t n = 0;
    wq_csvcols *c = NULL;
    idx = lua_absindex(L, idx);
    err[0] = '\0';
    if (lua_type(L, idx) != LUA_TTABLE)
        snprintf(err, WQ_ERRLEN, "%s: a row is a table of columns, not a %s", root,
                 luaL_typename(L, idx));
    else if ((n = array_length(L, idx)) > 0)
        c = of_positions(n, tsv, root, err);
    else if (read_list(L, idx, 1, &v, &n, root, err) == 0) {
        qsort(v, n, sizeof *v, cmp_named);
        c = of_named(v, n, tsv, root, err);
    }
    free(v);
    return c;
}

wq_csvcols *wq_csvcols_of_list(lua_State *L, int idx, int tsv, const char *root,
                               char err[WQ_ERRLEN])
{
    struct named *v = NULL;
    size_t n = 0;
    wq_csvcols *c = NULL;
    idx = lua_absindex(L, idx);
    err[0] = '\0';
    if (lua_type(L, idx) != LUA_TTABLE)
        snprintf(err, WQ_ERRLEN, "%s: a list of column names, not a %s", root,
                 luaL_typename(L, idx));
    else if (read_list(L, idx, 0, &v, &n, root, err) == 0) {
        qsort(v, n, sizeof *v, cmp_at);
        c = of_named(v, n, tsv, root, err);
    }
    free(v);
    return c;
}
