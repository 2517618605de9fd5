/*
 * keypath.c - the encoder's error messages, which name the key path from
 * the root ("result.list[3].name: cannot transfer a function"); see
 * codec_internal.h. Nothing here is on the path of a value that encodes.
 */
#include "codec_internal.h"

#include <string.h>
#include <lauxlib.h>

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
        int k = c >= 0x80 ? wq_numtext_utf8(u + i, n - i) : 1;
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

int wq_keypath_fail(struct enc *e, int npath, const char *msg)
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
    return WQ_CODEC_ERR;
}

int wq_keypath_nomem(struct enc *e)
{
    snprintf(e->err, WQ_ERRLEN, "%s: not enough memory", e->root);
    return WQ_CODEC_ERR;
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

int wq_keypath_same_keys(struct enc *e, const struct key *a, const struct key *b)
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
    return wq_keypath_fail(e, e->depth - 1, msg);
}

int wq_keypath_bad_key(struct enc *e, int idx)
{
    char msg[64];
    snprintf(msg, sizeof msg, "cannot transfer a %s as a key", luaL_typename(e->L, idx));
    return wq_keypath_fail(e, e->depth - 1, msg);
}
