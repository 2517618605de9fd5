/*
 * decode.c - the transfer format and JSON text back to Lua values; see
 * codec.h.
 *
 * Both decoders build tables and strings, which allocate, so each runs
 * inside lua_pcall of a C function (run_protected): running out of memory
 * is WQ_CODEC_NOMEM with a message, not a raised error. They use only the
 * public Lua API and never run Lua code.
 */
#include "codec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

/* ---- Running a decoder protected ----------------------------------------- */

/* Calls f(ud) under lua_pcall. f pushes one value, or sets *failed (with a
 * message in err) and returns nothing. */
static int run_protected(lua_State *L, lua_CFunction f, void *ud,
                         const int *failed, char *err)
{
    if (!lua_checkstack(L, 2)) {
        snprintf(err, WQ_ERRLEN, "not enough Lua stack");
        return WQ_CODEC_ERR;
    }
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    int status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        snprintf(err, WQ_ERRLEN, "%s", msg ? msg : "error while decoding");
        lua_pop(L, 1);
        return status == LUA_ERRMEM ? WQ_CODEC_NOMEM : WQ_CODEC_ERR;
    }
    if (*failed) {
        lua_pop(L, 1);
        return WQ_CODEC_ERR;
    }
    return WQ_CODEC_OK;
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

/* Decodes a key/value pair and pushes the key, then the value. */
static int dec_key_value(lua_State *L, struct dec *d)
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
    return dec_value(L, d);
}

/* Decodes a key/value pair and stores it in the table on top. */
static int dec_pair(lua_State *L, struct dec *d)
{
    if (dec_key_value(L, d) < 0)
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

int wq_codec_each_pair(lua_State *L, const char *p, size_t len,
                       void (*pair)(lua_State *L, void *ud), void *ud)
{
    char err[WQ_ERRLEN];
    struct dec d = {.p = (const unsigned char *)p, .start = (const unsigned char *)p,
                    .end = (const unsigned char *)p + len, .err = err};
    uint64_t n = len >= 9 ? get_le(d.p + 1, 4) : 0;
    if (len < 9 || (*d.p != T_TABLE && *d.p != T_ARRAY))
        dfail(&d, "not a table");
    else if ((d.p += 9, n > (uint64_t)(d.end - d.p) / 2) || !lua_checkstack(L, 4))
        dfail(&d, "bad table size");
    for (uint64_t i = 0; i < n && !d.failed; i++) {
        if (dec_key_value(L, &d) == 0)
            pair(L, ud);
    }
    if (!d.failed && d.p != d.end)
        dfail(&d, "trailing bytes");
    if (d.failed)
        return luaL_error(L, "%s", err);
    return 0;
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
            int k = wq_numtext_utf8(s + i, j->len - i);
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
