/*
 * codec_internal.h - what the files of the codec share; see codec.h.
 *
 * Only the codec's own files include this header: arraymark.c, keypath.c,
 * bigobject.c, encode.c and decode.c. It holds the binary format's tags, the
 * encoder's state, and the helpers that more than one file of the encoder
 * calls for every key, kept static inline so that splitting the encoder
 * into files adds no call per key.
 *
 * Layering: numtext (no Lua) and arraymark at the bottom; keypath names
 * the encoder's errors; bigobject sorts the keys of objects with many keys;
 * encode walks values and calls those three; decode calls numtext and
 * arraymark. Nothing calls back up.
 */
#ifndef WQ_CODEC_INTERNAL_H
#define WQ_CODEC_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <lua.h>
#include "codec.h"
#include "numtext.h"

_Static_assert(sizeof(lua_Integer) == 8 && sizeof(lua_Number) == 8,
               "the binary format assumes 64-bit integers and doubles");
_Static_assert(sizeof(lua_Integer) == sizeof(long long),
               "wq_numtext_int takes a lua_Integer as a long long");

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

/* Whether the table at t carries the luaworkq.array metatable (arraymark.c).
 * Never creates the metatable. Uses two stack slots. */
int wq_codec_has_array_mark(lua_State *L, int t);

/* ---- The encoder's state ------------------------------------------------ */

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

/* ---- The encoder's errors (keypath.c) ------------------------------------
 * Each writes its message to e->err and returns WQ_CODEC_ERR. */

/* "ROOT.path[to]...: msg", naming the first npath keys of e->path, the
 * path cut so that msg fits. */
int wq_keypath_fail(struct enc *e, int npath, const char *msg);

/* "ROOT: not enough memory". */
int wq_keypath_nomem(struct enc *e);

/* Two keys of the object at e->path[0..depth-1) written the same (1 and
 * "1", or two strings whose invalid UTF-8 both becomes U+FFFD): an object
 * never holds a key twice. They are named in an order that does not depend
 * on lua_next: by kind, a string last, then by their bytes. */
int wq_keypath_same_keys(struct enc *e, const struct key *a, const struct key *b);

/* "ROOT.path: cannot transfer a table as a key", for the key at idx that
 * wq_key_read refused, in the innermost open table. */
int wq_keypath_bad_key(struct enc *e, int idx);

/* ---- Keys, per key ------------------------------------------------------- */

/* Reads the key at idx of the innermost open table into k. Returns 0, or
 * WQ_CODEC_ERR for a key that cannot cross (a table, a function), with no
 * message: the caller fails with wq_keypath_bad_key, which names it. */
static inline int wq_key_read(lua_State *L, int idx, struct key *k)
{
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
    return WQ_CODEC_ERR;
}

/* The text of a number or boolean key as JSON writes it, into buf (32
 * bytes); its length, 0 for a string key. */
static inline int wq_key_text(const struct key *k, char *buf)
{
    switch (k->kind) {
    case K_INT: return wq_numtext_int(buf, k->u.i);
    case K_FLT: return wq_numtext_double(buf, k->u.n);
    case K_BOOL: return snprintf(buf, 32, "%s", k->u.b ? "true" : "false");
    }
    return 0;
}

#endif
