/*
 * shared.c - setup's value held once, and its read-only views; see
 * shared.h.
 *
 * The structure: values are tagged (struct sval); a table (struct stab)
 * has an array part for the integer keys 1..asize (a hole is V_NIL) and its
 * other pairs in nodes: a few in a row, searched one by one; more in an
 * open-addressing table (linear probes, at most 2/3 full), each key with
 * the high half of its hash, so that a probe reads a key's bytes only when
 * the hashes agree. A lookup of a string key thus reads the node, the
 * key's bytes and the value, as Lua's own tables do.
 * Everything lives in one arena, freed at once. Each table knows its parent
 * and its key there, for the messages of a refused assignment.
 *
 * The views: each state has one metatable for them, whose __index and
 * pairs' next are C closures with two upvalues, the state's cache of views
 * (VIEWS slots by the address of their table) and the metatable itself, so
 * that a lookup reaches neither the registry nor a name.
 */
#include "shared.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "codec.h"

enum { V_NIL, V_FALSE, V_TRUE, V_NULL, V_INT, V_FLOAT, V_STR, V_TABLE };

struct sstr {
    size_t len;
    uint64_t hash;
    char s[];                   /* NUL-terminated */
};

struct stab;

struct sval {
    int type;
    uint32_t hash;              /* a key's in an indexed table: hash >> 32 */
    union {
        lua_Integer i;
        lua_Number n;
        const struct sstr *s;
        const struct stab *t;
    } u;
};

struct snode {
    struct sval k, v;
};

struct stab {
    const struct stab *parent;  /* NULL for the root */
    struct sval key;            /* its key in parent */
    lua_Unsigned border;        /* # as the table had it */
    size_t asize, nnodes;       /* keys 1..asize, other keys */
    size_t nslots, mask;        /* nodes; mask: nslots - 1 if indexed, else 0 */
    int marked;                 /* luaworkq.array */
    struct sval *array;         /* [asize] */
    struct snode *nodes;        /* [nslots]: an empty one has a V_NIL key */
};

/* Tables of at most this many other keys are searched without an index. */
#define SCAN_NODES 8

struct block {
    struct block *next;
};

struct wq_shared {
    struct sval root;
    struct block *blocks;       /* the arena */
    char *next, *end;           /* the unused rest of the newest block */
};

/* ---- Hashing ------------------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 32);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    return mix(h ^ w);
}

static uint64_t hash_key(const struct sval *k)
{
    uint64_t bits;
    switch (k->type) {
    case V_STR: return k->u.s->hash;
    case V_INT: return mix((uint64_t)k->u.i);
    case V_FLOAT:
        memcpy(&bits, &k->u.n, 8);
        return mix(bits ^ 0x5555555555555555ull);
    }
    return mix((uint64_t)k->type);
}

/* ---- The arena ----------------------------------------------------------- */

#define CHUNK (1u << 20)

static void *arena_new(wq_shared *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if ((size_t)(s->end - s->next) < n) {
        int own = n > CHUNK / 4;  /* a large one: the chunk in use stays */
        size_t size = own ? n : CHUNK;
        struct block *b = malloc(sizeof(struct block) + 16 + size);
        if (!b)
            return NULL;
        b->next = s->blocks;
        s->blocks = b;
        char *p = (char *)b + ((sizeof(struct block) + 15) & ~(size_t)15);
        if (own)
            return p;
        s->next = p;
        s->end = p + size;
    }
    void *p = s->next;
    s->next += n;
    return p;
}

/* ---- Building ------------------------------------------------------------ */

/* Lua keeps one copy of each short string, so a string met again (a field
 * name in every record, a country code) has the same address: a small
 * cache by address stores it once without hashing its bytes again. */
#define SEEN 4096

struct builder {
    wq_shared *s;
    lua_State *L;
    int depth, refused;         /* tables open; a value that cannot cross */
    struct { const char *lua; const struct sstr *str; } seen[SEEN];
};

static const struct sstr *intern(struct builder *b, const char *p, size_t n)
{
    size_t j = ((uintptr_t)p >> 4) % SEEN;
    if (b->seen[j].lua == p && b->seen[j].str->len == n)
        return b->seen[j].str;
    struct sstr *x = arena_new(b->s, sizeof *x + n + 1);
    if (!x)
        return NULL;
    x->len = n;
    x->hash = hash_bytes(p, n);
    memcpy(x->s, p, n);
    x->s[n] = '\0';
    b->seen[j].lua = p;
    b->seen[j].str = x;
    return x;
}

static const struct stab *build_table(struct builder *b, int idx,
                                      const struct stab *parent, const struct sval *key);

/* The value at idx into v; a table is built under parent and key. */
static int build_value(struct builder *b, int idx, struct sval *v,
                       const struct stab *parent, const struct sval *key)
{
    lua_State *L = b->L;
    size_t n;
    const char *p;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        v->type = lua_toboolean(L, idx) ? V_TRUE : V_FALSE;
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v->type = V_INT;
            v->u.i = lua_tointeger(L, idx);
        } else {
            v->type = V_FLOAT;
            v->u.n = lua_tonumber(L, idx);
        }
        return 0;
    case LUA_TSTRING:
        p = lua_tolstring(L, idx, &n);
        v->type = V_STR;
        return (v->u.s = intern(b, p, n)) ? 0 : -1;
    case LUA_TTABLE:
        v->type = V_TABLE;
        return (v->u.t = build_table(b, idx, parent, key)) ? 0 : -1;
    case LUA_TNIL:              /* only the whole value */
        v->type = V_NIL;
        return 0;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            v->type = V_NULL;
            return 0;
        }
    }
    b->refused = 1;             /* as the codec refuses it */
    return -1;
}

/* Whether the table at idx carries the luaworkq.array mark. */
static int has_mark(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    wq_codec_push_array_mt(L);  /* made by the luaworkq module: no allocation */
    int marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked;
}

/* The array part holds keys 1..border unless holes make most of it empty.
 * Sets *count to the table's pairs and *in to those in the array part. */
static size_t array_size(lua_State *L, int idx, lua_Unsigned border, size_t *count,
                         size_t *in_array)
{
    size_t n = 0, in = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
            (lua_Unsigned)lua_tointeger(L, -1) <= border)
            in++;
    }
    *count = n;
    int whole = border <= 2 * (lua_Unsigned)in + 8;
    *in_array = whole ? in : 0;
    return whole ? (size_t)border : 0;
}

/* The node where key k goes. */
static struct snode *place(struct stab *t, struct sval *k, size_t *next)
{
    if (!t->mask)
        return &t->nodes[(*next)++];
    uint64_t h = hash_key(k);
    size_t j = h & t->mask;
    while (t->nodes[j].k.type != V_NIL)
        j = (j + 1) & t->mask;
    k->hash = (uint32_t)(h >> 32);
    return &t->nodes[j];
}

static int fill_table(struct builder *b, struct stab *t, int idx)
{
    lua_State *L = b->L;
    size_t node = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int top = lua_gettop(L), kt = lua_type(L, top - 1);
        struct sval k;
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
            b->refused = 1;
            return -1;
        }
        if (build_value(b, top - 1, &k, NULL, NULL) < 0)
            return -1;
        struct sval *v;
        if (k.type == V_INT && k.u.i >= 1 && (lua_Unsigned)k.u.i <= t->asize) {
            v = &t->array[k.u.i - 1];
        } else {
            struct snode *n = place(t, &k, &node);
            n->k = k;
            v = &n->v;
        }
        if (build_value(b, top, v, t, &k) < 0)
            return -1;
        lua_pop(L, 1);
    }
    return 0;
}

static const struct stab *build_table(struct builder *b, int idx,
                                      const struct stab *parent, const struct sval *key)
{
    lua_State *L = b->L;
    if (b->depth == WQ_MAX_DEPTH || !lua_checkstack(L, 4)) {
        b->refused = 1;         /* a cycle, or as deep as the codec refuses */
        return NULL;
    }
    idx = lua_absindex(L, idx);
    lua_Unsigned border = lua_rawlen(L, idx);
    size_t count, in_array;
    size_t asize = array_size(L, idx, border, &count, &in_array);
    size_t nnodes = count - in_array, nslots = nnodes;
    if (nnodes > SCAN_NODES)
        for (nslots = 16; nslots < nnodes + nnodes / 2; nslots *= 2)
            ;
    /* the table and its parts in one block: a record is read in one go */
    size_t head = (sizeof(struct stab) + 15) & ~(size_t)15;
    size_t bytes = head + nslots * sizeof(struct snode) + asize * sizeof(struct sval);
    char *p = arena_new(b->s, bytes);
    if (!p)
        return NULL;
    memset(p, 0, bytes);  /* every value V_NIL: holes, empty nodes */
    struct stab *t = (struct stab *)p;
    *t = (struct stab){.parent = parent, .border = border, .asize = asize,
                       .nnodes = nnodes, .nslots = nslots,
                       .mask = nslots > nnodes ? nslots - 1 : 0,
                       .marked = has_mark(L, idx)};
    if (key)
        t->key = *key;
    t->nodes = nslots ? (struct snode *)(p + head) : NULL;
    t->array = asize ? (struct sval *)(p + head + nslots * sizeof(struct snode)) : NULL;
    b->depth++;
    int rc = fill_table(b, t, idx);
    b->depth--;
    return rc < 0 ? NULL : t;
}

int wq_shared_build(lua_State *L, int idx, wq_shared **out)
{
    *out = NULL;
    wq_shared *s = calloc(1, sizeof *s);
    struct builder *b = calloc(1, sizeof *b);
    if (!s || !b) {
        free(s);
        free(b);
        return WQ_SHARED_NOMEM;
    }
    b->s = s;
    b->L = L;
    int top = lua_gettop(L);
    int rc = build_value(b, lua_absindex(L, idx), &s->root, NULL, NULL);
    lua_settop(L, top);
    int refused = b->refused;
    free(b);
    if (rc < 0) {
        wq_shared_free(s);
        return refused ? WQ_SHARED_REFUSED : WQ_SHARED_NOMEM;
    }
    *out = s;
    return 0;
}

void wq_shared_free(wq_shared *s)
{
    if (!s)
        return;
    for (struct block *b = s->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(s);
}

/* ---- Lookups ------------------------------------------------------------- */

static int same_key(const struct sval *a, const struct sval *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case V_STR:
        return a->u.s == b->u.s || (a->u.s->len == b->u.s->len &&
                                    memcmp(a->u.s->s, b->u.s->s, a->u.s->len) == 0);
    case V_INT: return a->u.i == b->u.i;
    case V_FLOAT: return a->u.n == b->u.n;
    }
    return 1;
}

/* The node of key k (its hash h), or NULL. */
static const struct snode *find_node(const struct stab *t, const struct sval *k, uint64_t h)
{
    if (!t->mask) {
        for (size_t i = 0; i < t->nnodes; i++)
            if (same_key(&t->nodes[i].k, k))
                return &t->nodes[i];
        return NULL;
    }
    uint32_t want = (uint32_t)(h >> 32);
    for (size_t j = h & t->mask;; j = (j + 1) & t->mask) {
        const struct snode *n = &t->nodes[j];
        if (n->k.type == V_NIL)
            return NULL;
        if (n->k.hash == want && same_key(&n->k, k))
            return n;
    }
}

static int is_string(const struct sval *k, const char *p, size_t n)
{
    return k->type == V_STR && k->u.s->len == n && memcmp(k->u.s->s, p, n) == 0;
}

/* A string key, its bytes in L: hashed and compared without a copy. */
static const struct snode *find_string(const struct stab *t, const char *p, size_t n)
{
    if (!t->mask) {
        for (size_t i = 0; i < t->nnodes; i++)
            if (is_string(&t->nodes[i].k, p, n))
                return &t->nodes[i];
        return NULL;
    }
    uint64_t h = hash_bytes(p, n);
    uint32_t want = (uint32_t)(h >> 32);
    for (size_t j = h & t->mask;; j = (j + 1) & t->mask) {
        const struct snode *nd = &t->nodes[j];
        if (nd->k.type == V_NIL)
            return NULL;
        if (nd->k.hash == want && is_string(&nd->k, p, n))
            return nd;
    }
}

/* The key at idx of L as a key of the structure; 0 if no table holds it. */
static int to_key(lua_State *L, int idx, struct sval *k)
{
    int isint;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        k->u.i = lua_tointegerx(L, idx, &isint);
        k->type = V_INT;
        if (isint)
            return 1;
        k->type = V_FLOAT;
        k->u.n = lua_tonumber(L, idx);
        return k->u.n == k->u.n;  /* NaN is never a key */
    case LUA_TBOOLEAN:
        k->type = lua_toboolean(L, idx) ? V_TRUE : V_FALSE;
        return 1;
    }
    return 0;
}

/* The value of the key at idx in t, or NULL. */
static const struct sval *lookup(lua_State *L, const struct stab *t, int idx)
{
    const struct snode *n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *p = lua_tolstring(L, idx, &len);
        n = find_string(t, p, len);
    } else {
        struct sval k;
        if (!to_key(L, idx, &k))
            return NULL;
        if (k.type == V_INT && k.u.i >= 1 && (lua_Unsigned)k.u.i <= t->asize)
            return t->array[k.u.i - 1].type == V_NIL ? NULL : &t->array[k.u.i - 1];
        n = find_node(t, &k, hash_key(&k));
    }
    return n ? &n->v : NULL;
}

/* ---- Views --------------------------------------------------------------- */

static const char view_mt_key;  /* its address keys the metatable in the registry */

struct view {
    const struct stab *t;
};

#define HOT_EVERY 16   /* see Hot keys below */
#define HOT_KEYS 1024
#define HOT_MIN 64

#define CACHE lua_upvalueindex(1)
#define VIEW_MT lua_upvalueindex(2)

/* Views made lately, by the address of their table (direct-mapped). */
#define VIEWS 1024

static void new_hot_view(lua_State *L, int view, int cache, int mt);

/* Pushes the view of t: the one in the state's cache if it is there. */
static void push_view(lua_State *L, const struct stab *t, int cache, int mt)
{
    lua_Integer slot = (lua_Integer)(((uintptr_t)t >> 4) % VIEWS) + 1;
    if (lua_rawgeti(L, cache, slot) == LUA_TUSERDATA &&
        ((const struct view *)lua_touserdata(L, -1))->t == t)
        return;
    lua_pop(L, 1);
    struct view *v = lua_newuserdatauv(L, sizeof *v, 0);
    v->t = t;
    if (t->nnodes > HOT_MIN)
        new_hot_view(L, lua_gettop(L), cache, mt);
    else {
        lua_pushvalue(L, mt);
        lua_setmetatable(L, -2);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, cache, slot);
}

static void push_value(lua_State *L, const struct sval *v, int cache, int mt)
{
    switch (v->type) {
    case V_NIL: lua_pushnil(L); return;
    case V_FALSE: lua_pushboolean(L, 0); return;
    case V_TRUE: lua_pushboolean(L, 1); return;
    case V_NULL: wq_codec_pushnull(L); return;
    case V_INT: lua_pushinteger(L, v->u.i); return;
    case V_FLOAT: lua_pushnumber(L, v->u.n); return;
    case V_STR: lua_pushlstring(L, v->u.s->s, v->u.s->len); return;
    }
    push_view(L, v->u.t, cache, mt);
}

static const struct stab *view_of(lua_State *L, int idx)
{
    return ((const struct view *)lua_touserdata(L, idx))->t;
}

/* The table of the view at idx, which a function of the metatable (pairs'
 * next, reachable from Lua; the others through the debug library) may be
 * given in place of a view. */
static const struct stab *check_view(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        luaL_typeerror(L, idx, "shared table");
    int is = lua_rawequal(L, -1, VIEW_MT);
    lua_pop(L, 1);
    if (!is)
        luaL_typeerror(L, idx, "shared table");
    return view_of(L, idx);
}

/* A view's table for the functions of the metatable without upvalues. */
static const struct stab *check_any_view(lua_State *L, int idx)
{
    if (!wq_shared_is_view(L, idx))
        luaL_typeerror(L, idx, "shared table");
    return view_of(L, idx);
}

static int l_index(lua_State *L)
{
    const struct sval *v = lookup(L, check_view(L, 1), 2);
    if (!v)
        return 0;
    push_value(L, v, CACHE, VIEW_MT);
    return 1;
}

static int l_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_any_view(L, 1)->border);
    return 1;
}

static int l_eq(lua_State *L)
{
    lua_pushboolean(L, wq_shared_is_view(L, 1) && wq_shared_is_view(L, 2) &&
                           view_of(L, 1) == view_of(L, 2));
    return 1;
}

/* The pair at position i (0-based: the array part, then the nodes) or
 * after it that holds a value; 0 at the end. */
static int push_pair_from(lua_State *L, const struct stab *t, size_t i)
{
    for (; i < t->asize; i++)
        if (t->array[i].type != V_NIL) {
            lua_pushinteger(L, (lua_Integer)i + 1);
            push_value(L, &t->array[i], CACHE, VIEW_MT);
            return 2;
        }
    for (; i - t->asize < t->nslots; i++)
        if (t->nodes[i - t->asize].k.type != V_NIL)
            break;
    if (i - t->asize >= t->nslots)
        return 0;
    const struct snode *n = &t->nodes[i - t->asize];
    push_value(L, &n->k, CACHE, VIEW_MT);
    push_value(L, &n->v, CACHE, VIEW_MT);
    return 2;
}

/* pairs' next: the pair after the key at 2, in the structure's order. */
static int l_next(lua_State *L)
{
    const struct stab *t = check_any_view(L, 1);
    if (lua_isnil(L, 2))
        return push_pair_from(L, t, 0);
    struct sval k;
    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t len;
        const char *p = lua_tolstring(L, 2, &len);
        const struct snode *n = find_string(t, p, len);
        if (n)
            return push_pair_from(L, t, t->asize + (size_t)(n - t->nodes) + 1);
    } else if (to_key(L, 2, &k)) {
        if (k.type == V_INT && k.u.i >= 1 && (lua_Unsigned)k.u.i <= t->asize)
            return push_pair_from(L, t, (size_t)k.u.i);
        const struct snode *n = find_node(t, &k, hash_key(&k));
        if (n)
            return push_pair_from(L, t, t->asize + (size_t)(n - t->nodes) + 1);
    }
    return luaL_error(L, "invalid key to 'next'");
}

static int l_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));  /* next */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* Appends a string key to a path: .name, or ["other"] quoted, cut at 40
 * bytes. */
static void add_string_segment(luaL_Buffer *b, const char *s, size_t n)
{
    int ident = n > 0 && n <= 40 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; ident && i < n; i++)
        ident = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (ident) {
        luaL_addchar(b, '.');
        luaL_addlstring(b, s, n);
        return;
    }
    luaL_addstring(b, "[\"");
    for (size_t i = 0; i < n && i < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            luaL_addchar(b, '\\');
        if (c < 0x20 || c == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\x%02x", c);
            luaL_addstring(b, esc);
        } else {
            luaL_addchar(b, (char)c);
        }
    }
    luaL_addstring(b, n > 40 ? "...\"" : "\"");
    luaL_addchar(b, ']');
}

/* Appends a key to a path: .name, ["other"], [1], [1.5], [true]. */
static void add_segment(luaL_Buffer *b, const struct sval *k)
{
    lua_State *L = b->L;
    switch (k->type) {
    case V_STR:
        add_string_segment(b, k->u.s->s, k->u.s->len);
        return;
    case V_INT: lua_pushfstring(L, "[%I]", (LUAI_UACINT)k->u.i); break;
    case V_FLOAT: lua_pushfstring(L, "[%f]", (LUAI_UACNUMBER)k->u.n); break;
    default: lua_pushfstring(L, "[%s]", k->type == V_TRUE ? "true" : "false"); break;
    }
    luaL_addvalue(b);
}

static void add_path(luaL_Buffer *b, const struct stab *t)
{
    if (!t->parent) {
        luaL_addstring(b, "shared");
        return;
    }
    add_path(b, t->parent);
    add_segment(b, &t->key);
}

/* Any assignment: an error naming the key path, at the job's line. */
static int l_newindex(lua_State *L)
{
    const struct stab *t = check_any_view(L, 1);
    luaL_where(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_path(&b, t);
    struct sval k;
    size_t n;
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *p = lua_tolstring(L, 2, &n);
        add_string_segment(&b, p, n);
    } else if (to_key(L, 2, &k)) {
        add_segment(&b, &k);
    } else {
        lua_pushfstring(L, "[%s]", luaL_typename(L, 2));
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ": shared data is read-only");
    luaL_pushresult(&b);
    lua_concat(L, 2);
    return lua_error(L);
}

/* ---- Hot keys ------------------------------------------------------------
 * A lookup through a view is a C call (a hash of the key's bytes, a probe,
 * a value pushed): about 190 ns against 23 ns for a key Lua finds by its
 * address in a table of the state's own. A view of a table with an index
 * (a dictionary, the build side of a join) therefore has a metatable of
 * its own whose __index is a Lua table of keys read lately: a key found
 * there costs what a table lookup costs, without a C call. Other keys fall
 * through to l_miss (that table's own __index), which looks them up and
 * puts one miss in HOT_EVERY in the table, so that keys read often get in
 * and a stream of keys each read once costs little; when HOT_KEYS have
 * gone in, a new table (made at its full size: no rehash) takes its place,
 * so a worker's memory stays small. Only tables of more than HOT_MIN keys
 * have one: a record's fewer keys are found by a short scan.
 */

/* __index of a hot view's table of keys (at 1): upvalues as l_index's,
 * then the view, its metatable and the count of misses. */
static int l_miss(lua_State *L)
{
    const struct sval *v = lookup(L, view_of(L, lua_upvalueindex(3)), 2);
    if (!v)
        return 0;
    push_value(L, v, CACHE, VIEW_MT);
    lua_Integer n = lua_tointeger(L, lua_upvalueindex(5)) + 1;
    if (n % HOT_EVERY == 0) {
        if (n == HOT_EVERY * HOT_KEYS) {  /* a new table: new keys come */
            lua_createtable(L, 0, HOT_KEYS);
            lua_getmetatable(L, 1);
            lua_setmetatable(L, -2);
            lua_pushvalue(L, -1);
            lua_setfield(L, lua_upvalueindex(4), "__index");
            lua_replace(L, 1);
            n = 0;
        }
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, 1);
    }
    lua_pushinteger(L, n);
    lua_replace(L, lua_upvalueindex(5));
    return 1;
}

/* Gives the view at index view (of a table with an index) a metatable of
 * its own: the fields of the views' metatable mt, and as __index a table
 * of hot keys whose __index is l_miss. */
static void new_hot_view(lua_State *L, int view, int cache, int mt)
{
    lua_createtable(L, 0, 12);
    int own = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, mt)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, own);
    }
    lua_createtable(L, 0, 0);           /* the hot keys */
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, cache);
    lua_pushvalue(L, mt);
    lua_pushvalue(L, view);
    lua_pushvalue(L, own);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, l_miss, 5);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, own, "__index");
    lua_setmetatable(L, view);
}

/* Makes the state's metatable of views, with its weak table, and leaves
 * the metatable on the stack. */
static void push_view_mt(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &view_mt_key) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 8);
    int mt = lua_gettop(L);
    lua_createtable(L, VIEWS, 0);       /* the cache of views, all slots made */
    for (int i = 1; i <= VIEWS; i++) {
        lua_pushboolean(L, 0);
        lua_rawseti(L, -2, i);
    }
    int cache = lua_gettop(L);
    lua_pushvalue(L, cache);
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, l_index, 2);
    lua_setfield(L, mt, "__index");
    lua_pushvalue(L, cache);
    lua_pushvalue(L, mt);
    lua_pushcclosure(L, l_next, 2);
    lua_pushcclosure(L, l_pairs, 1);
    lua_setfield(L, mt, "__pairs");
    lua_pushcfunction(L, l_len);
    lua_setfield(L, mt, "__len");
    lua_pushcfunction(L, l_eq);
    lua_setfield(L, mt, "__eq");
    lua_pushcfunction(L, l_newindex);
    lua_setfield(L, mt, "__newindex");
    lua_pushliteral(L, "shared table");
    lua_setfield(L, mt, "__name");
    lua_pushliteral(L, "read-only");
    lua_setfield(L, mt, "__metatable");
    lua_pushboolean(L, 1);
    lua_rawsetp(L, mt, &view_mt_key);     /* marks every views' metatable */
    lua_pushvalue(L, cache);
    lua_setfield(L, mt, "__views");  /* found again by wq_shared_push */
    lua_settop(L, mt);
    lua_pushvalue(L, mt);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &view_mt_key);
}

void wq_shared_push(lua_State *L, const wq_shared *s)
{
    if (!s || s->root.type != V_TABLE) {
        static const struct sval nil = {V_NIL, 0, {0}};
        push_value(L, s ? &s->root : &nil, 0, 0);  /* not a table: no view */
        return;
    }
    push_view_mt(L);
    lua_getfield(L, -1, "__views");
    push_view(L, s->root.u.t, lua_gettop(L), lua_gettop(L) - 1);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

int wq_shared_is_view(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return 0;
    int is = lua_rawgetp(L, -1, &view_mt_key) == LUA_TBOOLEAN;  /* the mark */
    lua_pop(L, 2);
    return is;
}

/* ---- Copies -------------------------------------------------------------- */

static void push_copy(lua_State *L, const struct stab *t);

static void push_plain(lua_State *L, const struct sval *v)
{
    if (v->type == V_TABLE)
        push_copy(L, v->u.t);
    else
        push_value(L, v, 0, 0);
}

static void push_copy(lua_State *L, const struct stab *t)
{
    luaL_checkstack(L, 4, "shared data nested too deep to copy");
    size_t holes = 0;
    for (size_t i = 0; i < t->asize; i++)
        holes += t->array[i].type == V_NIL;
    lua_createtable(L, (int)(t->asize - holes), (int)t->nnodes);
    for (size_t i = 0; i < t->asize; i++)
        if (t->array[i].type != V_NIL) {
            push_plain(L, &t->array[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    for (size_t i = 0; i < t->nslots; i++) {
        if (t->nodes[i].k.type == V_NIL)
            continue;
        push_plain(L, &t->nodes[i].k);
        push_plain(L, &t->nodes[i].v);
        lua_rawset(L, -3);
    }
    if (t->marked) {
        wq_codec_push_array_mt(L);
        lua_setmetatable(L, -2);
    }
}

void wq_shared_push_copy(lua_State *L, int idx)
{
    push_copy(L, view_of(L, idx));
}
