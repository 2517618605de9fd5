/*
 * csvout.c - the columns and the header line of -f csv and -f tsv; see
 * csvout.h.
 */
#include "csvout.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csvrow.h"

struct wq_csvout {
    wq_csvout_conf c;
    wq_order *order;               /* set before the workers start */
    _Atomic(wq_csvcols *) cols;    /* from the input's header or the first
                                      row: set once, owned here */
    atomic_int taken;              /* the header has gone out with a row */
    pthread_mutex_t mu;            /* --unordered: */
    pthread_cond_t in;
    int header_in;                 /* the batch with the header was handed back */
};

struct wq_csvout_ctx {
    wq_csvout *o;
    wq_csvcols *fixed;             /* the job's `columns`, or NULL */
    wq_csvrow row;
    uint64_t seq;                  /* the batch running */
    int file;                      /* its input file; -1: all were read */
    int rows;                      /* it has rows */
    int holds_header;              /* it has the header (--unordered) */
    wq_buf field;                  /* a header's field, unquoted */
};

wq_csvout *wq_csvout_new(const wq_csvout_conf *conf)
{
    wq_csvout *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->c = *conf;
    if (pthread_mutex_init(&o->mu, NULL) || pthread_cond_init(&o->in, NULL))
        abort();  /* cannot fail with default attributes on Linux */
    return o;
}

void wq_csvout_set_order(wq_csvout *o, wq_order *order) { o->order = order; }
int wq_csvout_tsv(const wq_csvout *o) { return o->c.tsv; }

void wq_csvout_free(wq_csvout *o)
{
    if (!o)
        return;
    wq_csvcols_free(atomic_load(&o->cols));
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->in);
    free(o);
}

wq_csvout_ctx *wq_csvout_attach(wq_csvout *o, lua_State *L, char err[WQ_ERRLEN])
{
    wq_csvout_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, WQ_ERRLEN, "out of memory");
        return NULL;
    }
    *x = (wq_csvout_ctx){.o = o, .row = WQ_CSVROW_INIT, .file = -1,
                         .field = WQ_BUF_INIT};
    if (lua_getglobal(L, "columns") != LUA_TNIL &&
        !(x->fixed = wq_csvcols_of_list(L, -1, o->c.tsv, "columns", err))) {
        free(x);
        x = NULL;
    }
    lua_pop(L, 1);
    return x;
}

const wq_csvcols *wq_csvout_columns(const wq_csvout_ctx *x) { return x->fixed; }

void wq_csvout_detach(wq_csvout_ctx *x)
{
    if (!x)
        return;
    wq_csvcols_free(x->fixed);
    wq_buf_free(&x->field);
    free(x);
}

void wq_csvout_batch(wq_csvout_ctx *x, uint64_t seq, int file)
{
    x->seq = seq;
    x->file = file;
    x->rows = 0;
}

/* ---- The columns ------------------------------------------------------- */

/* Columns named by a CSV or TSV record h[0..len) (without its end) of the
 * format rec. */
static wq_csvcols *of_record(wq_csvout_ctx *x, const wq_recfmt *rec, const char *h,
                             size_t len, const char *root, char err[WQ_ERRLEN])
{
    wq_buf text = WQ_BUF_INIT;
    size_t n = 0, cap = 0, *lens = NULL, flen;
    const char *field, **names = NULL;
    wq_fields it;
    int ok = 1;
    wq_fields_init(&it, rec, h, len);
    while (ok && wq_fields_next(&it, &x->field, &field, &flen)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            size_t *l = realloc(lens, cap * sizeof *l);
            ok = l != NULL;
            lens = l ? l : lens;
        }
        ok = ok && wq_buf_add(&text, field, flen) == 0;
        if (ok)
            lens[n++] = flen;
    }
    wq_csvcols *c = NULL;
    if (ok && (names = malloc((n ? n : 1) * sizeof *names))) {
        const char *p = text.data ? text.data : "";
        for (size_t j = 0; j < n; p += lens[j], j++)
            names[j] = p;
        c = wq_csvcols_new(x->o->c.tsv, names, lens, n, root, err);
    } else {
        snprintf(err, WQ_ERRLEN, "%s: not enough memory", root);
    }
    free(names);
    free(lens);
    wq_buf_free(&text);
    return c;
}

/* The columns of the input's header: those of the first file, up to the
 * batch's (every file when -1), that has one. */
static wq_csvcols *of_input(wq_csvout_ctx *x, char err[WQ_ERRLEN])
{
    const wq_recfmt *rec = x->o->c.rec;
    int last = x->file >= 0 ? x->file : wq_headers_count(rec->headers) - 1;
    for (int f = 0; f <= last; f++) {
        size_t len = 0;
        const char *h = wq_headers_get(rec->headers, f, &len);
        if (h)
            return of_record(x, rec, h, len, "the input's header", err);
    }
    snprintf(err, WQ_ERRLEN, "no input file has a header");
    return NULL;
}

/* Makes c the run's columns, unless some were made first: returns those
 * that are. */
static const wq_csvcols *publish(wq_csvout *o, wq_csvcols *c)
{
    wq_csvcols *none = NULL;
    if (atomic_compare_exchange_strong(&o->cols, &none, c))
        return c;
    wq_csvcols_free(c);
    return none;
}

/* The columns known now: the job's, or the run's; NULL if not yet. */
static const wq_csvcols *known(const wq_csvout_ctx *x)
{
    return x->fixed ? x->fixed : atomic_load(&x->o->cols);
}

/* The columns for the row at idx (named root): known, or made now from
 * the input's header or from the row's keys. */
static const wq_csvcols *columns_for(wq_csvout_ctx *x, lua_State *L, int idx,
                                     const char *root, char err[WQ_ERRLEN])
{
    const wq_csvcols *c = known(x);
    if (c)
        return c;
    wq_csvcols *made = x->o->c.rec->header
                           ? of_input(x, err)
                           : wq_csvcols_of_keys(L, idx, x->o->c.tsv, root, err);
    return made ? publish(x->o, made) : NULL;
}

/* ---- The first row ----------------------------------------------------- */

/* Whether the row about to be written may be the run's first. In input
 * order it is, once every batch before this one is handed back with no
 * row; unordered, it may be, and the first to take the header wins. */
static int may_be_first(wq_csvout_ctx *x)
{
    wq_csvout *o = x->o;
    if (atomic_load(&o->taken))
        return 0;
    if (o->c.unordered || !o->order)
        return 1;
    wq_order_wait_before(o->order, x->seq);
    return !atomic_load(&o->taken);
}

/* The row just appended at out[mark + hlen ..) had the header put in front
 * of it at mark: takes the header for it, or takes the header out again
 * when another row took it first (--unordered). */
static void take_header(wq_csvout_ctx *x, wq_buf *out, size_t mark, size_t hlen)
{
    int none = 0;
    if (atomic_compare_exchange_strong(&x->o->taken, &none, 1)) {
        x->holds_header = x->o->c.unordered;
        return;
    }
    memmove(out->data + mark, out->data + mark + hlen, out->len - mark - hlen);
    out->len -= hlen;
}

int wq_csvout_result(wq_csvout_ctx *x, lua_State *L, int idx, wq_buf *out,
                     char err[WQ_ERRLEN])
{
    int first = may_be_first(x);
    const wq_csvcols *c = columns_for(x, L, idx, "result", err);
    if (!c)
        return WQ_CODEC_ERR;
    size_t mark = out->len, hlen = 0;
    const char *header = wq_csvcols_header(c, &hlen);
    if (first && wq_buf_add(out, header, hlen) < 0) {
        snprintf(err, WQ_ERRLEN, "result: not enough memory");
        return WQ_CODEC_ERR;
    }
    if (wq_csvrow_put(&x->row, L, c, idx, 0, "result", out, err) < 0) {
        out->len = mark;
        return WQ_CODEC_ERR;
    }
    x->rows = 1;
    if (first)
        take_header(x, out, mark, hlen);
    return WQ_CODEC_OK;
}

size_t wq_csvout_header_len(int tsv, const char *p, size_t len)
{
    size_t end = 0;
    if (tsv) {
        const char *nl = memchr(p, '\n', len);
        end = nl ? (size_t)(nl - p) + 1 : 0;
    } else {
        int quoted = 0;
        for (size_t i = 0; i < len && !end; i++)
            if (p[i] == '"')
                quoted = !quoted;
            else if (p[i] == '\n' && !quoted)
                end = i + 1;
    }
    return end && end < len ? end : 0;
}

/* The columns a journal's header line h[0..hlen) names. */
static const wq_csvcols *of_journal(wq_csvout_ctx *x, const char *h, size_t hlen,
                                    wq_buf *err)
{
    char msg[WQ_ERRLEN];
    wq_recfmt rec = {.kind = x->o->c.tsv ? WQ_REC_TSV : WQ_REC_CSV};
    wq_csvcols *c = of_record(x, &rec, h, hlen - 1, "the journal's header", msg);
    if (!c)
        wq_buf_adds(err, msg);
    return c ? publish(x->o, c) : NULL;
}

int wq_csvout_carried(wq_csvout_ctx *x, const char *p, size_t len, wq_buf *out,
                      wq_buf *err)
{
    size_t had = wq_csvout_header_len(x->o->c.tsv, p, len), hlen = 0;
    int first = may_be_first(x);
    const wq_csvcols *c = known(x);
    if (!c && had)
        c = of_journal(x, p, had, err);
    if (!c && !had && first && !x->o->c.rec->header)
        wq_buf_adds(err, "the journal's first row has no header line to give the "
                         "columns: run again without the journal");
    else if (!c && !had && first)
        c = columns_for(x, NULL, 0, "the input's header", (char[WQ_ERRLEN]){0});
    if (!c && (had || first))
        return -1;
    const char *header = c ? wq_csvcols_header(c, &hlen) : NULL;
    if (had && (had != hlen || memcmp(p, header, hlen) != 0)) {
        wq_buf_printf(err, "the journal holds rows of other columns than this run "
                           "writes (%.*s): run again without the journal",
                      (int)(had > 120 ? 120 : had - 1), p);
        return -1;
    }
    size_t mark = out->len;
    if ((first && wq_buf_add(out, header, hlen) < 0) ||
        wq_buf_add(out, p + had, len - had) < 0) {
        out->len = mark;
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    x->rows = 1;
    if (first)
        take_header(x, out, mark, hlen);
    return 0;
}

/* ---- --unordered ------------------------------------------------------- */

void wq_csvout_handing(wq_csvout_ctx *x)
{
    wq_csvout *o = x->o;
    if (!o->c.unordered || !x->rows || x->holds_header)
        return;
    pthread_mutex_lock(&o->mu);
    while (!o->header_in)
        pthread_cond_wait(&o->in, &o->mu);
    pthread_mutex_unlock(&o->mu);
}

void wq_csvout_handed(wq_csvout_ctx *x)
{
    wq_csvout *o = x->o;
    if (x->holds_header) {
        pthread_mutex_lock(&o->mu);
        o->header_in = 1;
        pthread_cond_broadcast(&o->in);
        pthread_mutex_unlock(&o->mu);
        x->holds_header = 0;
    }
    x->rows = 0;
}

/* ---- A merged value ---------------------------------------------------- */

/* The number of rows of the list at idx, or -1 if it is no list. */
static lua_Integer list_length(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return -1;
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
            lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            return -1;
        }
        count++;
    }
    return count == n ? n : -1;
}

/* The columns of a merged value root whose first row, named first, is at
 * idx. */
static const wq_csvcols *value_columns(wq_csvout_ctx *x, lua_State *L, int idx,
                                       const char *root, const char *first,
                                       char err[WQ_ERRLEN])
{
    if (x->fixed)
        return x->fixed;
    if (x->o->c.rec->header && x->o->c.shards) {
        snprintf(err, WQ_ERRLEN, "%s: its columns would be the input's header, which "
                 "the shards' journals do not hold: define a global `columns`", root);
        return NULL;
    }
    x->file = -1;
    return columns_for(x, L, idx, first, err);
}

int wq_csvout_value(wq_csvout_ctx *x, lua_State *L, int idx, const char *root,
                    wq_buf *out, char err[WQ_ERRLEN])
{
    char name[64];
    idx = lua_absindex(L, idx);
    err[0] = '\0';
    if (lua_isnil(L, idx))
        return WQ_CODEC_OK;
    lua_Integer n = list_length(L, idx);
    if (n < 0) {
        snprintf(err, WQ_ERRLEN, "%s: -f %s writes a list of rows, not a %s", root,
                 x->o->c.tsv ? "tsv" : "csv",
                 lua_type(L, idx) == LUA_TTABLE ? "table of other keys"
                                                : luaL_typename(L, idx));
        return WQ_CODEC_ERR;
    }
    if (n == 0)
        return WQ_CODEC_OK;
    snprintf(name, sizeof name, "%s[1]", root);
    lua_rawgeti(L, idx, 1);
    const wq_csvcols *c = value_columns(x, L, -1, root, name, err);
    lua_pop(L, 1);
    if (!c)
        return WQ_CODEC_ERR;
    size_t hlen;
    const char *header = wq_csvcols_header(c, &hlen);
    int rc = wq_buf_add(out, header, hlen) < 0 ? WQ_CODEC_ERR : WQ_CODEC_OK;
    for (lua_Integer i = 1; i <= n && rc == WQ_CODEC_OK; i++) {
        snprintf(name, sizeof name, "%s[%lld]", root, (long long)i);
        lua_rawgeti(L, idx, i);
        rc = wq_csvrow_put(&x->row, L, c, -1, 0, name, out, err);
        lua_pop(L, 1);
        if (rc == WQ_CODEC_OK && wq_buf_addc(out, '\n') < 0)
            rc = WQ_CODEC_ERR;
    }
    if (rc < 0 && !err[0])
        snprintf(err, WQ_ERRLEN, "%s: not enough memory", root);
    return rc;
}
