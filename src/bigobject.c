/*
 * bigobject.c - the keys of a JSON object with many keys, put in order;
 * see bigobject.h.
 */
#include "bigobject.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
    if (wq_key_read(e->L, -1, &k) < 0)
        return wq_keypath_bad_key(e, -1);
    if (k.kind != K_STR) {
        len = (size_t)wq_key_text(&k, num);
        char *t = arena_take(a, len);
        if (!t)
            return wq_keypath_nomem(e);
        s = memcpy(t, num, len);
        b->plain = 1;
        b->fixed = 0;
    } else {
        s = k.u.s;
        len = k.len;
        int plain;
        int valid = wq_numtext_scan((const unsigned char *)s, len, &plain);
        b->plain = (unsigned)plain;
        b->fixed = !valid;
        if (!valid) {
            size_t flen;
            char *fixed = wq_numtext_fix_utf8(s, len, &flen);
            if (!fixed)
                return wq_keypath_nomem(e);
            char *t = arena_take(a, flen);
            if (t)
                memcpy(t, fixed, flen);
            free(fixed);
            if (!t)
                return wq_keypath_nomem(e);
            s = t;
            len = flen;
        }
    }
    if (len >= 1u << 28)
        return wq_keypath_fail(e, e->depth - 1, "cannot write a key of 256 MB or more");
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
            wq_key_read(L, -1, &keys[found++]);
        lua_pop(L, 2);
    }
    if (found == want)
        lua_pop(L, 1);                      /* the key lua_next stopped at */
    arena_free(&a);
    return found;
}

void wq_bigobj_key(struct enc *e, int t, const struct big *b, struct key *k)
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

struct large_call {
    struct enc *e;
    struct wq_bigobj *o;
    int r;
};

/* Under lua_pcall: the array of values allocates. Stack: the call, the
 * table. Returns the array, or nothing with c->r < 0. */
static int large_object(lua_State *L)
{
    struct large_call *c = lua_touserdata(L, 1);
    struct enc *e = c->e;
    struct wq_bigobj *o = c->o;
    size_t n = 0, cap = 0;                  /* no pass to count: a lua_next
                                               costs a cache miss a key */
    lua_newtable(L);                        /* 3: the values */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            struct big *v = cap <= INT_MAX ? realloc(o->v, cap * sizeof *v) : NULL;
            if (!v)
                return wq_keypath_nomem(e), 0;
            o->v = v;
        }
        struct big *b = &o->v[n++];
        lua_pushvalue(L, -2);
        if (big_text(e, &o->a, b) < 0)
            return 0;
        b->value = (uint32_t)n;
        lua_pop(L, 1);
        lua_rawseti(L, 3, (lua_Integer)n);
    }
    o->n = n;
    int depth = 0;
    for (size_t m = n; m; m >>= 1)
        depth += 2;
    big_sort(o->v, n, depth);
    for (size_t i = 1; i < n; i++) {
        if (big_cmp(&o->v[i - 1], &o->v[i]) != 0)
            continue;
        struct key k[2];
        if (find_keys(e, 2, &o->v[i], k, 2) == 2)
            wq_keypath_same_keys(e, &k[0], &k[1]);
        else                                /* not found again: cannot be */
            wq_keypath_fail(e, e->depth - 1, "two keys are the same once written as JSON");
        return 0;
    }
    c->r = 0;
    return 1;
}

int wq_bigobj_sort(struct enc *e, int t, struct wq_bigobj *o)
{
    lua_State *L = e->L;
    struct large_call c = {e, o, WQ_CODEC_ERR};
    *o = (struct wq_bigobj){NULL, 0, {NULL}};
    lua_pushcfunction(L, large_object);
    lua_pushlightuserdata(L, &c);
    lua_pushvalue(L, t);
    int status = lua_pcall(L, 2, 1, 0);
    if (status != LUA_OK)                   /* out of memory, in practice */
        snprintf(e->err, WQ_ERRLEN, "%s: %s", e->root,
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error");
    if (status != LUA_OK || c.r < 0) {
        lua_pop(L, 1);
        return WQ_CODEC_ERR;
    }
    return 0;
}

void wq_bigobj_free(struct wq_bigobj *o)
{
    free(o->v);
    arena_free(&o->a);
}
