/*
 * codec.c - Lua values to bytes and back; see codec.h.
 *
 * This module owns the three encodings (binary, JSON, text), the two decoders
 * (binary, JSON) and the luaworkq.array metatable. It uses only the public
 * Lua API and never runs Lua code: tables are read with lua_next and
 * lua_raw*, so no __pairs, __index or __tostring metamethod runs.
 *
 * Raising: the encoder calls only API functions that do not allocate
 * (lua_next, lua_raw*, lua_push{value,nil,number,boolean}, lua_checkstack),
 * so it cannot raise. The steps that allocate (re-pushing the string keys of
 * very large tables, and both decoders) run inside lua_pcall of a C function,
 * so running out of memory there is an ordinary -1 with a message.
 *
 * Numbers are printed with snprintf("%e") and read with strtod, which follow
 * LC_NUMERIC. luaworkq never calls setlocale, so the "C" locale (decimal
 * point '.') applies; a program that embeds this file and sets a locale with
 * another decimal point would get broken JSON numbers.
 */
#include "codec.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

_Static_assert(sizeof(lua_Integer) == 8 && sizeof(lua_Number) == 8,
               "the binary format assumes 64-bit integers and doubles");

#ifdef __GNUC__
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

#define STR_(x) #x
#define STR(x) STR_(x)
#define TOO_DEEP "nested deeper than " STR(WQ_MAX_DEPTH) " levels"

/*
 * Binary format: versionless, one tag byte per value.
 *   NIL FALSE TRUE NULL   the tag alone
 *   INT                   zigzag varint, 1 to 10 bytes
 *   FLOAT                 the 8 bytes of the IEEE 754 value, little-endian
 *   STR                   varint length, then the bytes
 *   TABLE, ARRAY          u32 pair count and u32 array-size hint (both
 *                         little-endian), then the key/value pairs; ARRAY is
 *                         a table with the luaworkq.array mark
 * Keys are booleans, numbers (never NaN) or strings; values are never nil.
 */
enum { T_NIL, T_FALSE, T_TRUE, T_NULL, T_INT, T_FLOAT, T_STR, T_TABLE, T_ARRAY };

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

/* Whether the table at t carries the luaworkq.array metatable. Never
 * creates the metatable. Uses two stack slots. */
static int has_array_mark(lua_State *L, int t)
{
    if (!lua_getmetatable(L, t))
        return 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
    int marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked;
}

/* ---- UTF-8 and number text ---------------------------------------------- */

/* Looks at the sequence starting at p[0] >= 0x80 (n > 0 bytes available).
 * Returns its length if it is valid UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF), else minus the length of its "maximal subpart", the
 * bytes that one U+FFFD replaces under the Unicode / WHATWG practice. */
static int utf8_check(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n || p[i] < lo || p[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

static int fmt_int(char *buf, lua_Integer v)
{
    char tmp[24];
    int n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* Decimal digits of a positive finite double: x = 0.d1d2...dn * 10^(exp+1),
 * that is d1.d2...dn * 10^exp, with no trailing zeros. */
struct decimal {
    char d[20];
    int n, exp;
};

/* Sets dec from the text of "%.*e" (d.ddde+XX), dropping trailing zeros. */
static void read_decimal(const char *text, struct decimal *dec)
{
    const char *p = text;
    dec->n = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            dec->d[dec->n++] = *p;
    dec->exp = atoi(p + 1);
    while (dec->n > 1 && dec->d[dec->n - 1] == '0')
        dec->n--;
}

/* Whether the p-digit decimal m * 10^e (m < 10^p) reads back to x; if so
 * sets dec to it. */
static int reads_back(double x, uint64_t m, int e, struct decimal *dec)
{
    char text[48];
    snprintf(text, sizeof text, "%llue%d", (unsigned long long)m, e);
    if (strtod(text, NULL) != x)
        return 0;
    int n = snprintf(dec->d, sizeof dec->d, "%llu", (unsigned long long)m);
    dec->n = n;
    dec->exp = e + n - 1;
    while (dec->n > 1 && dec->d[dec->n - 1] == '0')
        dec->n--;
    return 1;
}

/* The p-digit decimal nearest to x, if it reads back. Only for a power of
 * two is the interval of decimals that read back to x lopsided (the gap to
 * the next double down is half the gap up), so that the nearest can fall
 * outside while its upper neighbour is inside: that one is tried too. */
static int try_digits(double x, int p, struct decimal *dec)
{
    char text[48];
    snprintf(text, sizeof text, "%.*e", p - 1, x);
    if (strtod(text, NULL) == x) {
        read_decimal(text, dec);
        return 1;
    }
    int e2;
    if (frexp(x, &e2) != 0.5 || x < DBL_MIN)
        return 0;
    read_decimal(text, dec);
    uint64_t m = 0;
    for (int i = 0; i < p; i++)
        m = m * 10 + (uint64_t)(i < dec->n ? dec->d[i] - '0' : 0);
    return reads_back(x, m + 1, dec->exp - (p - 1), dec);
}

/* The shortest decimal that reads back to x (positive, finite), the nearest
 * to x among those of that length, as Python's repr finds it. For a normal
 * double, at most one decimal of 15 digits lies close enough to read back
 * (15 digits are coarser than 53 bits), so if the nearest one does, no
 * shorter decimal exists that %.15g would not show; subnormals have fewer
 * bits and are searched from one digit up. 17 digits always read back. */
static void shortest(double x, struct decimal *dec)
{
    int p = x >= DBL_MIN ? 15 : 1;
    while (p < 17 && !try_digits(x, p, dec))
        p++;
    if (p == 17) {  /* no need to read it back */
        char text[48];
        snprintf(text, sizeof text, "%.16e", x);
        read_decimal(text, dec);
    }
}

/* Writes dec as Python's repr does: positional for exponents -4..15 (with
 * ".0" when integral), else d.ddde+XX with at least two exponent digits. */
static int put_decimal(char *buf, const struct decimal *dec)
{
    int n = 0, e = dec->exp;
    if (e < -4 || e >= 16) {
        buf[n++] = dec->d[0];
        if (dec->n > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dec->d + 1, (size_t)dec->n - 1);
            n += dec->n - 1;
        }
        return n + sprintf(buf + n, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    if (e < 0) {
        memcpy(buf + n, "0.000", (size_t)(1 - e));
        n += 1 - e;
        memcpy(buf + n, dec->d, (size_t)dec->n);
        n += dec->n;
    } else {
        for (int i = 0; i <= e; i++)
            buf[n++] = i < dec->n ? dec->d[i] : '0';
        buf[n++] = '.';
        if (dec->n > e + 1) {
            memcpy(buf + n, dec->d + e + 1, (size_t)(dec->n - e - 1));
            n += dec->n - e - 1;
        } else {
            buf[n++] = '0';
        }
    }
    buf[n] = '\0';
    return n;
}

/* JSON text of a finite double (or of an infinite key, "inf"/"-inf"): the
 * shortest decimal that reads back to x, written as Python's repr writes
 * it. buf holds at least 32 bytes. */
static int fmt_double(char *buf, double x)
{
    int n = 0;
    if (fabs(x) < 1e16 && x == floor(x) && !(x == 0 && signbit(x))) {
        n = fmt_int(buf, (lua_Integer)x);    /* the same digits, faster */
        memcpy(buf + n, ".0", 3);
        return n + 2;
    }
    if (isinf(x) || x == 0)
        return sprintf(buf, "%s", isinf(x) ? (x < 0 ? "-inf" : "inf") : "-0.0");
    if (x < 0)
        buf[n++] = '-';
    struct decimal dec;
    shortest(fabs(x), &dec);
    return n + put_decimal(buf + n, &dec);
}

/* JSON string: escapes '"', '\\' and control bytes, keeps valid UTF-8 and
 * replaces each maximal invalid subpart by one U+FFFD. */
int wq_codec_json_string(wq_buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    if (wq_buf_addc(out, '"') < 0)
        return -1;
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        int k = c >= 0x80 ? utf8_check(s + i, n - i) : 0;
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

/* ---- Encoder: state and error paths ------------------------------------- */

enum { K_STR, K_INT, K_FLT, K_BOOL };

/* A table key as it is in Lua. A string key's bytes stay valid while its
 * table does: the table is on the stack and nothing modifies it. */
struct key {
    int kind;
    size_t len;
    union { const char *s; lua_Integer i; lua_Number n; int b; } u;
};

/* One key of a JSON object being written, with the text it sorts by. */
struct entry {
    struct key k;
    int slot;                   /* stack index of the value, or 0 */
    unsigned char tlen;
    unsigned char plain;        /* its text needs no escape in JSON */
    char text[32];              /* the key's text unless it is a string */
    char *fixed;                /* a string key with invalid UTF-8: its text
                                   with U+FFFD in place (malloc'd), or NULL */
    size_t flen;
};

#define INLINE_ENTRIES 32
/* Values of at most this many keys per object wait on the Lua stack; with
 * WQ_MAX_DEPTH levels that stays far below LUAI_MAXSTACK. */
#define STACK_VALUES 1024

struct enc {
    lua_State *L;
    enum wq_format fmt;
    wq_buf *out;
    char *err;
    const char *root;
    int depth;                          /* tables open on the current path */
    const void *open[WQ_MAX_DEPTH];     /* those tables, to find cycles */
    struct key path[WQ_MAX_DEPTH];      /* path[d]: key walked in open[d] */
    struct entry *ents;                 /* object keys, used as a stack */
    size_t nents, cap;
    struct entry inl[INLINE_ENTRIES];
};

/* A string builder that truncates, marking the cut with "...". */
struct sb {
    char *p;
    size_t len, cap;            /* cap excludes the NUL, and is >= 3 */
    int cut;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        n = b->cap - b->len;
        b->cut = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_adds(struct sb *b, const char *s) { sb_add(b, s, strlen(s)); }

static int is_identifier(const char *s, size_t n)
{
    if (n == 0 || n > 40 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* A string as Lua would quote it, cut at max bytes ("..." marks the cut):
 * '"' and '\\' escaped, control bytes and invalid UTF-8 as \xHH. */
static void add_quoted(struct sb *b, const char *s, size_t n, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n && i < max;) {
        unsigned c = u[i];
        int k = c >= 0x80 ? utf8_check(u + i, n - i) : 1;
        char esc[8];
        if (k > 1) {
            sb_add(b, s + i, (size_t)k);
            i += (size_t)k;
            continue;
        }
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c < 0x20 || c == 0x7f || k < 0)
            snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            esc[0] = (char)c, esc[1] = '\0';
        sb_adds(b, esc);
        i++;
    }
    sb_adds(b, n > max ? "...\"" : "\"");
}

/* A string key in a path: .name, or ["..."] escaped and cut at 40 bytes. */
static void add_string_segment(struct sb *b, const char *s, size_t n)
{
    if (is_identifier(s, n)) {
        sb_add(b, ".", 1);
        sb_add(b, s, n);
        return;
    }
    sb_add(b, "[", 1);
    add_quoted(b, s, n, 40);
    sb_add(b, "]", 1);
}

static void add_segment(struct sb *b, const struct key *k)
{
    char text[64];
    switch (k->kind) {
    case K_STR:
        add_string_segment(b, k->u.s, k->len);
        return;
    case K_INT:
        snprintf(text, sizeof text, "[" LUA_INTEGER_FMT "]", (LUAI_UACINT)k->u.i);
        break;
    case K_FLT:
        snprintf(text, sizeof text, "[" LUA_NUMBER_FMT "]", (LUAI_UACNUMBER)k->u.n);
        break;
    default:
        snprintf(text, sizeof text, "[%s]", k->u.b ? "true" : "false");
        break;
    }
    sb_adds(b, text);
}

/* Writes "ROOT.path[to]...: msg" (the first npath keys of the path) to err,
 * cutting the path so that msg fits. */
static int fail(struct enc *e, int npath, const char *msg)
{
    struct sb b = {e->err, 0, WQ_ERRLEN - 3 - strlen(msg), 0};
    sb_adds(&b, e->root);
    for (int d = 0; d < npath && !b.cut; d++)
        add_segment(&b, &e->path[d]);
    if (b.cut)
        memcpy(b.p + b.len - 3, "...", 3);
    b.cap = WQ_ERRLEN - 1;
    sb_adds(&b, ": ");
    sb_adds(&b, msg);
    b.p[b.len] = '\0';
    return -1;
}

static int nomem(struct enc *e)
{
    snprintf(e->err, WQ_ERRLEN, "%s: not enough memory", e->root);
    return -1;
}

static int put(struct enc *e, const void *p, size_t n)
{
    return wq_buf_add(e->out, p, n) < 0 ? nomem(e) : 0;
}

/* ---- Encoder: scalars ---------------------------------------------------- */

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
        return put(e, text, (size_t)fmt_int(text, i));
    }
    uint64_t u = (uint64_t)i;
    return put_tagged(e, T_INT, (u << 1) ^ (0 - (u >> 63)));
}

static int put_float(struct enc *e, lua_Number x)
{
    if (e->fmt == WQ_JSON) {
        char text[40];
        if (isnan(x))
            return fail(e, e->depth, "cannot encode NaN");
        if (isinf(x))
            return fail(e, e->depth, x > 0 ? "cannot encode infinity"
                                           : "cannot encode -infinity");
        return put(e, text, (size_t)fmt_double(text, x));
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
        return wq_codec_json_string(e->out, s, n) < 0 ? nomem(e) : 0;
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
        return nomem(e);
    write_key(e->out->data + e->out->len, s, n);
    e->out->len += n + 3;
    return 0;
}

static int encode_table(struct enc *e, int idx);

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
    }
    char msg[64];
    snprintf(msg, sizeof msg, "cannot transfer a %s", luaL_typename(L, idx));
    return fail(e, e->depth, msg);
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

/* Reads the key at idx of the innermost open table into k. */
static int read_key(struct enc *e, int idx, struct key *k)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        k->kind = K_STR;
        k->u.s = lua_tolstring(L, idx, &k->len);
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            k->kind = K_INT;
            k->u.i = lua_tointeger(L, idx);
        } else {
            k->kind = K_FLT;
            k->u.n = lua_tonumber(L, idx);
        }
        return 0;
    case LUA_TBOOLEAN:
        k->kind = K_BOOL;
        k->u.b = lua_toboolean(L, idx);
        return 0;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "cannot transfer a %s as a key", luaL_typename(L, idx));
    return fail(e, e->depth - 1, msg);
}

/* ---- Encoder: tables ----------------------------------------------------- */

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
    char head[9] = {has_array_mark(L, t) ? T_ARRAY : T_TABLE};
    if (put(e, head, sizeof head) < 0)
        return -1;
    uint32_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        struct key *k = &e->path[e->depth - 1];
        int top = lua_gettop(L);
        if (read_key(e, top - 1, k) < 0 || encode_value(e, top - 1) < 0 ||
            encode_value(e, top) < 0)
            return -1;
        lua_pop(L, 1);
        n++;
    }
    lua_Unsigned hint = lua_rawlen(L, t);
    write_u32(e->out->data + at + 1, n);
    write_u32(e->out->data + at + 5, hint < n ? (uint32_t)hint : n);
    return 0;
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

/* Whether s[0..n) is valid UTF-8 throughout; *plain says whether JSON
 * writes it as it is, without an escape (which replacing invalid UTF-8
 * by U+FFFD does not change). One pass over the key serves both. */
static int scan_text(const unsigned char *s, size_t n, int *plain)
{
    int valid = 1, ok = 1;
    for (size_t i = 0; i < n;) {
        if (s[i] >= 0x80) {
            int k = utf8_check(s + i, n - i);
            valid &= k > 0;
            i += (size_t)(k > 0 ? k : -k);
            continue;
        }
        ok &= s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';
        i++;
    }
    *plain = ok;
    return valid;
}

/* The text of a number or boolean key as JSON writes it, into buf (32
 * bytes); its length, 0 for a string key. */
static int key_text(const struct key *k, char *buf)
{
    switch (k->kind) {
    case K_INT: return fmt_int(buf, k->u.i);
    case K_FLT: return fmt_double(buf, k->u.n);
    case K_BOOL: return snprintf(buf, 32, "%s", k->u.b ? "true" : "false");
    }
    return 0;
}

/* Sets the entry's text: numbers and booleans as JSON writes them, and
 * for a string with invalid UTF-8, the string with each maximal invalid
 * subpart replaced by U+FFFD, as wq_codec_json_string writes it. */
static int set_text(struct entry *en)
{
    en->fixed = NULL;
    en->tlen = (unsigned char)key_text(&en->k, en->text);
    en->plain = 1;
    if (en->k.kind != K_STR)
        return 0;
    const unsigned char *s = (const unsigned char *)en->k.u.s;
    size_t len = en->k.len, out = 0;
    int plain;
    int valid = scan_text(s, len, &plain);
    en->plain = (unsigned char)plain;
    if (valid)
        return 0;
    if (len > SIZE_MAX / 3 || !(en->fixed = malloc(3 * len)))
        return -1;                  /* each byte becomes at most 3 */
    for (size_t i = 0; i < len;) {
        int k = s[i] < 0x80 ? 1 : utf8_check(s + i, len - i);
        size_t step = k < 0 ? (size_t)-k : (size_t)k;
        memcpy(en->fixed + out, k < 0 ? "\xEF\xBF\xBD" : (const char *)s + i,
               k < 0 ? 3 : step);
        out += k < 0 ? 3 : step;
        i += step;
    }
    en->flen = out;
    return 0;
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
 * (large_object collects them again). Returns 1 in that case, 0 otherwise,
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
            return nomem(e);
        en->fixed = NULL;
        if (read_key(e, -2, &en->k) < 0)
            return -1;
        if (set_text(en) < 0)
            return nomem(e);
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

/* A key as the user wrote it: 1, 1.5, true, or "..." quoted and cut. */
static void add_key(struct sb *b, const struct key *k)
{
    if (k->kind == K_STR) {
        add_quoted(b, k->u.s, k->len, 24);
        return;
    }
    char text[64];
    struct sb seg = {text, 0, sizeof text - 1, 0};
    add_segment(&seg, k);                   /* [1]: drop the brackets */
    if (seg.len >= 2 && seg.len < sizeof text)  /* as seg.cap says */
        sb_add(b, text + 1, seg.len - 2);
}

/* Fails for two keys written the same (1 and "1", or two strings whose
 * invalid UTF-8 both becomes U+FFFD), with the path of their object: an
 * object never holds a key twice. They are named in an order that does not
 * depend on lua_next: by kind, a string last, then by their bytes. */
static int same_keys(struct enc *e, const struct key *a, const struct key *b)
{
    int swap = a->kind < b->kind;
    if (a->kind == K_STR && b->kind == K_STR) {
        int c = memcmp(a->u.s, b->u.s, a->len < b->len ? a->len : b->len);
        swap = c > 0 || (c == 0 && a->len > b->len);
    }
    char msg[160];
    struct sb m = {msg, 0, sizeof msg - 1, 0};
    sb_adds(&m, "keys ");
    add_key(&m, swap ? b : a);
    sb_adds(&m, " and ");
    add_key(&m, swap ? a : b);
    sb_adds(&m, " are the same once written as JSON");
    msg[m.len] = '\0';
    return fail(e, e->depth - 1, msg);
}

/* The n entries from first are sorted. */
static int check_unique(struct enc *e, size_t first, size_t n)
{
    for (size_t i = first + 1; i < first + n; i++) {
        size_t la, lb;
        const char *a = entry_text(&e->ents[i - 1], &la);
        const char *b = entry_text(&e->ents[i], &lb);
        if (la == lb && memcmp(a, b, la) == 0)
            return same_keys(e, &e->ents[i - 1].k, &e->ents[i].k);
    }
    return 0;
}

/* ---- Encoder: objects of many keys -------------------------------------- */

/* Objects of more than STACK_VALUES keys (an index, a group-by: often the
 * final value of a run, with millions of keys) take a path of their own,
 * built for memory and time: each key is 32 bytes, sorted in place, and its
 * text is scanned once. The values go to an array in the Lua state, read by
 * position; the keys stay in their table, which nothing changes meanwhile. */
struct big {
    uint64_t prefix[2];         /* the text's first 16 bytes, big-endian,
                                   zero-padded: most comparisons end here */
    const char *text;           /* the key as written, before escaping */
    uint32_t len : 28;
    uint32_t plain : 1;         /* nothing in text to escape */
    uint32_t fixed : 1;         /* a string whose invalid UTF-8 was replaced */
    uint32_t kind : 2;          /* K_STR, K_INT, K_FLT or K_BOOL */
    uint32_t value;             /* where its value is in the array of values */
};

/* Texts the keys do not have in Lua (numbers, booleans, strings with
 * invalid UTF-8), in blocks that never move. */
struct arena {
    struct block { struct block *next; size_t used, cap; char data[]; } *head;
};

static char *arena_take(struct arena *a, size_t n)
{
    struct block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        *b = (struct block){a->head, 0, cap};
        a->head = b;
    }
    b->used += n;
    return b->data + b->used - n;
}

static void arena_free(struct arena *a)
{
    for (struct block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

static int big_cmp(const struct big *x, const struct big *y)
{
    for (int w = 0; w < 2; w++)
        if (x->prefix[w] != y->prefix[w])
            return x->prefix[w] < y->prefix[w] ? -1 : 1;
    size_t lx = x->len, ly = y->len, n = lx < ly ? lx : ly;
    int c = n > 16 ? memcmp(x->text + 16, y->text + 16, n - 16) : 0;
    return c ? c : (lx > ly) - (lx < ly);
}

static void big_swap(struct big *a, struct big *b)
{
    struct big t = *a;
    *a = *b;
    *b = t;
}

static void big_sift(struct big *v, size_t i, size_t n)
{
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && big_cmp(&v[c], &v[c + 1]) < 0)
            c++;
        if (big_cmp(&v[i], &v[c]) >= 0)
            return;
        big_swap(&v[i], &v[c]);
    }
}

/* Introsort: quicksort on a median of three, heapsort past a depth bound,
 * insertion sort for short runs. No memory beyond the stack. */
static void big_sort(struct big *v, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            for (size_t i = n / 2; i-- > 0;)
                big_sift(v, i, n);
            for (size_t i = n; i-- > 1;) {
                big_swap(&v[0], &v[i]);
                big_sift(v, 0, i);
            }
            return;
        }
        struct big *mid = &v[n / 2], *last = &v[n - 1];
        if (big_cmp(mid, v) < 0)
            big_swap(mid, v);
        if (big_cmp(last, mid) < 0) {
            big_swap(last, mid);
            if (big_cmp(mid, v) < 0)
                big_swap(mid, v);
        }
        big_swap(mid, &v[1]);               /* the pivot, at v[1] */
        size_t i = 1, j = n - 1;            /* v[0] <= pivot <= v[n-1] */
        for (;;) {
            while (big_cmp(&v[++i], &v[1]) < 0) {}
            while (big_cmp(&v[--j], &v[1]) > 0) {}
            if (i >= j)
                break;
            big_swap(&v[i], &v[j]);
        }
        big_swap(&v[1], &v[j]);
        if (j < n - j) {                    /* recurse on the smaller side */
            big_sort(v, j, depth);
            v += j + 1;
            n -= j + 1;
        } else {
            big_sort(v + j + 1, n - j - 1, depth);
            n = j;
        }
    }
    for (size_t i = 1; i < n; i++) {
        struct big x = v[i];
        size_t j = i;
        for (; j > 0 && big_cmp(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Sets b's text from the key at the top of the stack, as JSON writes it
 * (a string's invalid UTF-8 replaced by U+FFFD), scanning it once. */
static int big_text(struct enc *e, struct arena *a, struct big *b)
{
    struct key k;
    char num[40];
    const char *s;
    size_t len;
    if (read_key(e, -1, &k) < 0)
        return -1;
    if (k.kind != K_STR) {
        len = (size_t)key_text(&k, num);
        char *t = arena_take(a, len);
        if (!t)
            return nomem(e);
        s = memcpy(t, num, len);
        b->plain = 1;
        b->fixed = 0;
    } else {
        s = k.u.s;
        len = k.len;
        int plain;
        int valid = scan_text((const unsigned char *)s, len, &plain);
        b->plain = (unsigned)plain;
        b->fixed = !valid;
        if (!valid) {
            struct entry en = {.k = k};
            if (set_text(&en) < 0)
                return nomem(e);
            char *t = arena_take(a, en.flen);
            if (t)
                memcpy(t, en.fixed, en.flen);
            free(en.fixed);
            if (!t)
                return nomem(e);
            s = t;
            len = en.flen;
        }
    }
    if (len >= 1u << 28)
        return fail(e, e->depth - 1, "cannot write a key of 256 MB or more");
    uint64_t prefix[2] = {0, 0};
    for (size_t i = 0; i < 16; i++)
        prefix[i / 8] = prefix[i / 8] << 8 | (i < len ? (unsigned char)s[i] : 0);
    b->prefix[0] = prefix[0];
    b->prefix[1] = prefix[1];
    b->text = s;
    b->len = (uint32_t)len;
    b->kind = (unsigned)k.kind;
    return 0;
}

/* Finds in the table at t the first `want` keys written as b's text: a slow
 * look through all its keys, for error messages alone. */
static int find_keys(struct enc *e, int t, const struct big *b, struct key *keys, int want)
{
    lua_State *L = e->L;
    struct arena a = {NULL};
    int found = 0;
    lua_pushnil(L);
    while (found < want && lua_next(L, t)) {
        struct big x;
        lua_pushvalue(L, -2);
        if (big_text(e, &a, &x) == 0 && x.len == b->len &&
            memcmp(x.text, b->text, b->len) == 0)
            read_key(e, -1, &keys[found++]);
        lua_pop(L, 2);
    }
    if (found == want)
        lua_pop(L, 1);                      /* the key lua_next stopped at */
    arena_free(&a);
    return found;
}

/* The key of b as it is in Lua, for the path of an error: read back from
 * its text, or, for a string whose text was replaced, found in the table at
 * t. */
static void key_of(struct enc *e, int t, const struct big *b, struct key *k)
{
    char num[48];
    k->kind = b->kind;
    if (b->kind == K_STR && !b->fixed) {
        k->u.s = b->text;
        k->len = b->len;
    } else if (b->kind == K_STR) {
        find_keys(e, t, b, k, 1);
    } else {
        memcpy(num, b->text, b->len);       /* a number's or a boolean's */
        num[b->len] = '\0';
        if (b->kind == K_INT)
            k->u.i = strtoll(num, NULL, 10);
        else if (b->kind == K_FLT)
            k->u.n = strtod(num, NULL);     /* the shortest text reads back */
        else
            k->u.b = num[0] == 't';
    }
}

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
            key_of(e, t, b, &e->path[e->depth - 1]);  /* what may fail names it */
        if (encode_value(e, lua_gettop(L)) < 0)
            return -1;
        lua_pop(L, 1);
    }
    return put(e, "}", 1);
}

struct large_call {
    struct enc *e;
    struct big *v;              /* freed by the caller, as is a */
    struct arena a;
    int r;
};

/* Under lua_pcall: the array of values allocates. Stack: the call, the
 * table. */
static int large_object(lua_State *L)
{
    struct large_call *c = lua_touserdata(L, 1);
    struct enc *e = c->e;
    size_t n = 0, cap = 0;                  /* no pass to count: a lua_next
                                               costs a cache miss a key */
    lua_newtable(L);                        /* 3: the values */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            struct big *v = cap <= INT_MAX ? realloc(c->v, cap * sizeof *v) : NULL;
            if (!v)
                return nomem(e), 0;
            c->v = v;
        }
        struct big *b = &c->v[n++];
        lua_pushvalue(L, -2);
        if (big_text(e, &c->a, b) < 0)
            return 0;
        b->value = (uint32_t)n;
        lua_pop(L, 1);
        lua_rawseti(L, 3, (lua_Integer)n);
    }
    int depth = 0;
    for (size_t m = n; m; m >>= 1)
        depth += 2;
    big_sort(c->v, n, depth);
    for (size_t i = 1; i < n; i++) {
        if (big_cmp(&c->v[i - 1], &c->v[i]) != 0)
            continue;
        struct key k[2];
        if (find_keys(e, 2, &c->v[i], k, 2) == 2)
            same_keys(e, &k[0], &k[1]);
        else                                /* not found again: cannot be */
            fail(e, e->depth - 1, "two keys are the same once written as JSON");
        return 0;
    }
    c->r = emit_big(e, c->v, n, 2, 3);
    return 0;
}

static int emit_large(struct enc *e, int t)
{
    lua_State *L = e->L;
    struct large_call c = {e, NULL, {NULL}, -1};
    lua_pushcfunction(L, large_object);
    lua_pushlightuserdata(L, &c);
    lua_pushvalue(L, t);
    int status = lua_pcall(L, 2, 0, 0);
    free(c.v);
    arena_free(&c.a);
    if (status != LUA_OK) {                 /* out of memory, in practice */
        snprintf(e->err, WQ_ERRLEN, "%s: %s", e->root,
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error");
        return -1;
    }
    return c.r;
}

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
    if (!scan_text((const unsigned char *)x->k, x->klen, &plain) || !plain)
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
        return nomem(e);
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
        r = put(e, has_array_mark(L, t) ? "[]" : "{}", 2);
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
            return fail(e, e->depth, "cannot transfer a cycle");
    if (e->depth == WQ_MAX_DEPTH)
        return fail(e, e->depth, TOO_DEEP);
    if (!lua_checkstack(L, 8))
        return fail(e, e->depth, "not enough Lua stack");
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
            n = (size_t)fmt_int(text, lua_tointeger(L, idx));
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

/* ---- Running a decoder protected ----------------------------------------- */

/* Calls f(ud) under lua_pcall. f pushes one value, or sets *failed (with a
 * message in err) and returns nothing. */
static int run_protected(lua_State *L, lua_CFunction f, void *ud,
                         const int *failed, char *err)
{
    if (!lua_checkstack(L, 2)) {
        snprintf(err, WQ_ERRLEN, "not enough Lua stack");
        return -1;
    }
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    int status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        snprintf(err, WQ_ERRLEN, "%s", msg ? msg : "error while decoding");
        lua_pop(L, 1);
        return status == LUA_ERRMEM ? WQ_ENOMEM : -1;
    }
    if (*failed) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* ---- Binary decoder ------------------------------------------------------ */

struct dec {
    const unsigned char *p, *start, *end;
    char *err;
    int depth, failed;
};

static int dfail(struct dec *d, const char *what)
{
    snprintf(d->err, WQ_ERRLEN, "bad binary value at byte %zu: %s",
             (size_t)(d->p - d->start), what);
    d->failed = 1;
    return -1;
}

static int read_varint(struct dec *d, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (d->p == d->end)
            return dfail(d, "truncated");
        unsigned b = *d->p;
        if (shift == 63 && b > 1)
            return dfail(d, "varint too large");
        d->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return dfail(d, "varint too large");
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int dec_value(lua_State *L, struct dec *d);

/* Decodes a key/value pair and stores it in the table on top. */
static int dec_pair(lua_State *L, struct dec *d)
{
    int tag = d->p < d->end ? *d->p : T_NIL;
    if (tag != T_FALSE && tag != T_TRUE && tag != T_INT && tag != T_FLOAT && tag != T_STR)
        return dfail(d, d->p < d->end ? "bad key" : "truncated");
    if (dec_value(L, d) < 0)
        return -1;
    if (tag == T_FLOAT && isnan(lua_tonumber(L, -1)))
        return dfail(d, "NaN key");
    if (d->p < d->end && *d->p == T_NIL)
        return dfail(d, "nil value in a table");
    if (dec_value(L, d) < 0)
        return -1;
    lua_rawset(L, -3);
    return 0;
}

static int dec_table(lua_State *L, struct dec *d, int marked)
{
    if (d->depth == WQ_MAX_DEPTH) {
        d->p--;                             /* point at the tag */
        return dfail(d, TOO_DEEP);
    }
    if (!lua_checkstack(L, 4))
        return dfail(d, "not enough Lua stack");
    if (d->end - d->p < 8)
        return dfail(d, "truncated");
    uint64_t n = get_le(d->p, 4), hint = get_le(d->p + 4, 4);
    if (n > (uint64_t)(d->end - d->p - 8) / 2 || hint > n || n > INT32_MAX)
        return dfail(d, "bad table size");
    d->p += 8;
    lua_createtable(L, (int)hint, (int)(n - hint));
    d->depth++;
    for (uint64_t i = 0; i < n; i++)
        if (dec_pair(L, d) < 0)
            return -1;
    d->depth--;
    if (marked) {
        wq_codec_push_array_mt(L);
        lua_setmetatable(L, -2);
    }
    return 0;
}

static int dec_value(lua_State *L, struct dec *d)
{
    uint64_t u;
    if (d->p == d->end)
        return dfail(d, "truncated");
    switch (*d->p++) {
    case T_NIL: lua_pushnil(L); return 0;
    case T_FALSE: lua_pushboolean(L, 0); return 0;
    case T_TRUE: lua_pushboolean(L, 1); return 0;
    case T_NULL: wq_codec_pushnull(L); return 0;
    case T_INT:
        if (read_varint(d, &u) < 0)
            return -1;
        lua_pushinteger(L, (lua_Integer)((u >> 1) ^ (0 - (u & 1))));
        return 0;
    case T_FLOAT: {
        if (d->end - d->p < 8)
            return dfail(d, "truncated");
        u = get_le(d->p, 8);
        d->p += 8;
        lua_Number x;
        memcpy(&x, &u, 8);
        lua_pushnumber(L, x);
        return 0;
    }
    case T_STR:
        if (read_varint(d, &u) < 0)
            return -1;
        if (u > (uint64_t)(d->end - d->p))
            return dfail(d, "truncated");
        lua_pushlstring(L, (const char *)d->p, (size_t)u);
        d->p += u;
        return 0;
    case T_TABLE:
    case T_ARRAY:
        return dec_table(L, d, d->p[-1] == T_ARRAY);
    }
    d->p--;
    return dfail(d, "unknown tag");
}

static int decode_main(lua_State *L)
{
    struct dec *d = lua_touserdata(L, 1);
    if (dec_value(L, d) < 0)
        return 0;
    if (d->p != d->end) {
        dfail(d, "trailing bytes");
        return 0;
    }
    return 1;
}

int wq_codec_decode(lua_State *L, const char *p, size_t len, char err[WQ_ERRLEN])
{
    struct dec d;
    d.p = d.start = (const unsigned char *)p;
    d.end = d.p + len;
    d.err = err;
    d.depth = d.failed = 0;
    err[0] = '\0';
    return run_protected(L, decode_main, &d, &d.failed, err);
}

/* ---- JSON decoder -------------------------------------------------------- */

/* Runs under lua_pcall: Lua allocations (strings, tables, luaL_Buffer) may
 * raise; every other error is reported through jfail. Byte offsets in
 * messages count from 0. */
struct jdec {
    const char *s;
    size_t len, pos;
    char *err;
    int depth, failed;
};

static int jfail(struct jdec *j, size_t pos, const char *what)
{
    j->pos = pos;
    snprintf(j->err, WQ_ERRLEN, "at byte %zu: %s", pos, what);
    j->failed = 1;
    return -1;
}

#define END_OF_INPUT "unexpected end of input"

/* Skips white space; returns the next byte, or -1 at the end of input. */
static int peek(struct jdec *j)
{
    for (; j->pos < j->len; j->pos++) {
        char c = j->s[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return (unsigned char)c;
    }
    return -1;
}

static int json_value(lua_State *L, struct jdec *j);

static long hex4(struct jdec *j, size_t at)
{
    long v = 0;
    for (size_t i = at; i < at + 4; i++) {
        if (i >= j->len)
            return jfail(j, j->len, END_OF_INPUT);
        char c = j->s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return jfail(j, i, "invalid \\u escape");
        v = v * 16 + d;
    }
    return v;
}

static void add_utf8(luaL_Buffer *b, long cp)
{
    char u[4];
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = n - 1; i > 0; i--, cp >>= 6)
        u[i] = (char)(0x80 | (cp & 0x3F));
    u[0] = (char)(lead[n] | cp);
    luaL_addlstring(b, u, (size_t)n);
}

/* Appends the escape at *i (a backslash) to b and moves *i past it. A
 * surrogate pair makes one code point; a lone surrogate is an error. */
static int unescape(struct jdec *j, size_t *i, luaL_Buffer *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *s = j->s;
    size_t at = *i;
    if (j->len - at < 2)
        return jfail(j, j->len, END_OF_INPUT);
    const char *hit = s[at + 1] ? strchr(from, s[at + 1]) : NULL;
    if (hit) {
        luaL_addchar(b, to[hit - from]);
        *i = at + 2;
        return 0;
    }
    if (s[at + 1] != 'u')
        return jfail(j, at + 1, "invalid escape");
    long cp = hex4(j, at + 2), lo;
    if (cp < 0)
        return -1;
    *i = at + 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && j->len - *i >= 2 && s[*i] == '\\' && s[*i + 1] == 'u') {
        if ((lo = hex4(j, *i + 2)) < 0)
            return -1;
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            *i += 6;
        }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return jfail(j, at, "lone surrogate in \\u escape");
    add_utf8(b, cp);
    return 0;
}

/* Pushes the string at j->pos (a quote): straight from the input when it
 * has no escapes, else through a luaL_Buffer. */
static int json_string_dec(lua_State *L, struct jdec *j)
{
    const unsigned char *s = (const unsigned char *)j->s;
    size_t i = j->pos + 1, run = i;
    luaL_Buffer b;
    int escaped = 0;
    for (;;) {
        if (i == j->len)
            return jfail(j, i, END_OF_INPUT);
        unsigned c = s[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return jfail(j, i, "control character in string");
        if (c >= 0x80) {
            int k = utf8_check(s + i, j->len - i);
            if (k < 0)
                return jfail(j, i, "invalid UTF-8 in string");
            i += (size_t)k;
        } else if (c != '\\') {
            i++;
        } else {
            if (!escaped)
                luaL_buffinit(L, &b);
            escaped = 1;
            luaL_addlstring(&b, j->s + run, i - run);
            if (unescape(j, &i, &b) < 0)
                return -1;
            run = i;
        }
    }
    if (escaped) {
        luaL_addlstring(&b, j->s + run, i - run);
        luaL_pushresult(&b);
    } else {
        lua_pushlstring(L, j->s + run, i - run);
    }
    j->pos = i + 1;
    return 0;
}

static size_t skip_digits(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* Checks the number grammar at j->pos and sets *end past the number and
 * *isint when it has neither fraction nor exponent. */
static int scan_number(struct jdec *j, size_t *end, int *isint)
{
    const char *s = j->s;
    size_t n = j->len, i = j->pos + (s[j->pos] == '-');
    size_t e = i < n && s[i] == '0' ? i + 1 : skip_digits(s, i, n);
    *isint = 1;
    if (e > i && e < n && s[e] == '.') {
        *isint = 0;
        i = e + 1;
        e = skip_digits(s, i, n);
    }
    if (e > i && e < n && (s[e] == 'e' || s[e] == 'E')) {
        *isint = 0;
        i = e + 1 + (e + 1 < n && (s[e + 1] == '+' || s[e + 1] == '-'));
        e = skip_digits(s, i, n);
    }
    if (e == i)
        return jfail(j, i, i == n ? END_OF_INPUT : "invalid number");
    *end = e;
    return 0;
}

/* Whether the digits s[0..n) (with a leading '-') fit in an integer. */
static int parse_json_int(const char *s, size_t n, lua_Integer *out)
{
    int neg = s[0] == '-';
    uint64_t u = 0, lim = (uint64_t)INT64_MAX + (uint64_t)neg;
    for (size_t i = (size_t)neg; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (lim - d) / 10)
            return 0;
        u = u * 10 + d;
    }
    *out = neg && u ? -(lua_Integer)(u - 1) - 1 : (lua_Integer)u;
    return 1;
}

/* Pushes an integer if the text has no fraction or exponent and fits in 64
 * bits, else the double that strtod reads from it. */
static int json_number(lua_State *L, struct jdec *j)
{
    size_t start = j->pos, end;
    int isint;
    lua_Integer i;
    if (scan_number(j, &end, &isint) < 0)
        return -1;
    j->pos = end;
    if (isint && parse_json_int(j->s + start, end - start, &i)) {
        lua_pushinteger(L, i);
        return 0;
    }
    char buf[64];                   /* strtod needs a NUL-terminated copy */
    const char *text = buf;
    if (end - start < sizeof buf) {
        memcpy(buf, j->s + start, end - start);
        buf[end - start] = '\0';
    } else {
        text = lua_pushlstring(L, j->s + start, end - start);
    }
    lua_Number x = strtod(text, NULL);
    if (text != buf)
        lua_pop(L, 1);
    lua_pushnumber(L, x);
    return 0;
}

static int json_literal(lua_State *L, struct jdec *j, const char *word)
{
    size_t n = strlen(word), avail = j->len - j->pos;
    if (memcmp(j->s + j->pos, word, avail < n ? avail : n) != 0)
        return jfail(j, j->pos, "expected a value");
    if (avail < n)
        return jfail(j, j->len, END_OF_INPUT);
    j->pos += n;
    if (word[0] == 'n')
        wq_codec_pushnull(L);
    else
        lua_pushboolean(L, word[0] == 't');
    return 0;
}

/* Opens an array or object at j->pos. Each level holds the table, a key
 * and a value; a luaL_Buffer growing its box needs a few more slots. */
static int enter(lua_State *L, struct jdec *j)
{
    if (j->depth == WQ_MAX_DEPTH)
        return jfail(j, j->pos, TOO_DEEP);
    if (!lua_checkstack(L, 8))
        return jfail(j, j->pos, "not enough Lua stack");
    j->depth++;
    j->pos++;
    return 0;
}

/* Consumes the closing byte (returns 1) or, unless this is the first
 * element, the comma before the next element (returns 0). */
static int next_element(struct jdec *j, char close, const char *expected, int first)
{
    int c = peek(j);
    if (c == close) {
        j->pos++;
        return 1;
    }
    if (first)
        return 0;
    if (c != ',')
        return jfail(j, j->pos, c < 0 ? END_OF_INPUT : expected);
    j->pos++;
    return 0;
}

static int json_array_dec(lua_State *L, struct jdec *j)
{
    if (enter(L, j) < 0)
        return -1;
    lua_newtable(L);
    wq_codec_push_array_mt(L);
    lua_setmetatable(L, -2);
    int r;
    for (lua_Integer i = 1; (r = next_element(j, ']', "expected ',' or ']'", i == 1)) == 0; i++) {
        if (json_value(L, j) < 0)
            return -1;
        lua_rawseti(L, -2, i);
    }
    j->depth--;
    return r < 0 ? -1 : 0;
}

static int json_object_dec(lua_State *L, struct jdec *j)
{
    if (enter(L, j) < 0)
        return -1;
    lua_newtable(L);
    int r, c;
    for (int first = 1; (r = next_element(j, '}', "expected ',' or '}'", first)) == 0; first = 0) {
        if ((c = peek(j)) != '"')
            return jfail(j, j->pos, c < 0 ? END_OF_INPUT : "expected a string key");
        if (json_string_dec(L, j) < 0)
            return -1;
        if ((c = peek(j)) != ':')
            return jfail(j, j->pos, c < 0 ? END_OF_INPUT : "expected ':'");
        j->pos++;
        if (json_value(L, j) < 0)
            return -1;
        lua_rawset(L, -3);
    }
    j->depth--;
    return r < 0 ? -1 : 0;
}

static int json_value(lua_State *L, struct jdec *j)
{
    int c = peek(j);
    switch (c) {
    case -1: return jfail(j, j->pos, END_OF_INPUT);
    case '{': return json_object_dec(L, j);
    case '[': return json_array_dec(L, j);
    case '"': return json_string_dec(L, j);
    case 't': return json_literal(L, j, "true");
    case 'f': return json_literal(L, j, "false");
    case 'n': return json_literal(L, j, "null");
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return json_number(L, j);
    return jfail(j, j->pos, "expected a value");
}

static int json_main(lua_State *L)
{
    struct jdec *j = lua_touserdata(L, 1);
    if (json_value(L, j) < 0)
        return 0;
    if (peek(j) >= 0) {
        jfail(j, j->pos, "unexpected data after the value");
        return 0;
    }
    return 1;
}

int wq_codec_json_decode(lua_State *L, const char *s, size_t len, char err[WQ_ERRLEN])
{
    struct jdec j = {s, len, 0, err, 0, 0};
    err[0] = '\0';
    return run_protected(L, json_main, &j, &j.failed, err);
}
