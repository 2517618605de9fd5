/*
 * keyfold.h - a group-by's values in one lua_State: results folded key by
 * key with the job's reduce, split by key into the parts each owner folds,
 * parts folded back, and the keys written in order.
 *
 * The Lua side of a keyed reduce (shuffle.h moves the bytes between
 * threads). Keys are strings and integers; a key's partition and its place
 * in the output come from its text as written (an integer's decimal text,
 * a string with invalid UTF-8 replaced by U+FFFD), so keys that would be
 * written the same (1 and "1") meet in one partition, where the sort finds
 * them. Hooks are called through the caller's `call` (glue.h runs every
 * hook): it calls the function below its nargs arguments on the stack and
 * leaves nresults, or pops everything and puts the message in err.
 *
 * A part (the bytes of one partition of a batch's fold) is a run of pairs,
 * each a u32 length and the WQ_BINARY key, then a u32 length and the
 * WQ_BINARY value (lengths little-endian). A run of written entries (what
 * wq_keyfold_emit appends) is a run of records, each a u32 length and the
 * key as written, then a u32 length and the entry's text in the layout.
 */
#ifndef WQ_KEYFOLD_H
#define WQ_KEYFOLD_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "buf.h"
#include "codec.h"
#include "frame.h"

typedef int (*wq_keyfold_call)(void *ctx, int nargs, int nresults, wq_buf *err);

typedef struct wq_keyfold {
    wq_buf *parts;              /* a batch's parts, one per partition */
    uint32_t *count;            /* the pairs in each */
    int nparts;                 /* room in parts and count */
    int begun;                  /* the parts of this batch are open */
    int direct;                 /* this batch's pairs go to the parts as
                                   they come, not folded first */
    int unfolded;               /* batches in a row not folded */
    size_t pairs;               /* pairs folded in this batch */
    struct wq_keyent *ents;     /* the entries, in written order once sorted */
    size_t n, cap, next;        /* how many, room, the next to emit */
    wq_buf text;                /* scratch: a key as written, an entry's text */
    struct wq_keyblock *blocks; /* the entries' bytes */
} wq_keyfold;

/* What the fold calls: the state's reduce at fn, and how. */
typedef struct wq_keyfold_hook {
    int fn;                     /* stack index of the hook */
    wq_keyfold_call call;
    void *ctx;
} wq_keyfold_hook;

void wq_keyfold_init(wq_keyfold *kf);
void wq_keyfold_free(wq_keyfold *kf);

/* Whether the value at res is a result a reduce takes: a table whose keys
 * are strings and integers. Returns 0, or -1 with a message that names
 * what it is or the key. */
int wq_keyfold_check(lua_State *L, int res, char err[WQ_ERRLEN]);

/* Folds every pair of the table at res into the table at acc: a new key
 * takes the value, a known one reduce(old, new). Returns the number of
 * pairs, or -1 with a message naming the key in err. */
int wq_keyfold_add(lua_State *L, int acc, int res, const wq_keyfold_hook *h,
                   wq_buf *err);

/* A batch's keys go to their parts in one of two ways: folded by key in a
 * table first (wq_keyfold_add), then split; or, when the last batches'
 * keys were nearly all distinct, encoded into the parts as each result
 * comes (wq_keyfold_put, while kf->direct is set). */
/* Encodes the pairs of the table at res into the batch's parts. Returns
 * 0, or -1 (err). */
int wq_keyfold_put(wq_keyfold *kf, lua_State *L, int res, int nparts, char err[WQ_ERRLEN]);
/* Ends a batch: the pairs of the table at acc (0: none, all were put) and
 * those put go into nparts parts, appended to out one after the other
 * (part i ends at ends[i]), each one encoded table or nothing. Chooses how
 * the next batch goes. Returns 0, or -1 (err). */
int wq_keyfold_split(wq_keyfold *kf, lua_State *L, int acc, int nparts,
                     wq_buf *out, size_t *ends, char err[WQ_ERRLEN]);

/* A part to fold, and what to say when memory runs out in reduce. */
typedef struct wq_keyfold_part {
    const char *p;
    size_t len;
    const char *nomem;
} wq_keyfold_part;

/* Folds the pairs of a part into a table, as wq_keyfold_add does, without
 * decoding it as a table first: a lua_CFunction to call under lua_pcall
 * with four arguments: the table, reduce, a message handler for the calls
 * of reduce, and a light userdata wq_keyfold_part. Raises the errors of
 * reduce ("reduce of key "b": ..."), and of memory and malformed parts. */
int wq_keyfold_merge(lua_State *L);

/* Ends the fold of the table at acc: finish(key, value) on each key when
 * h is not NULL (its value is written instead, nil drops the key), each
 * entry's text made in layout, in the order of the table (cheap on the
 * caches), then the entries put in written order. The table is not
 * needed after. Returns 0, or -1 (err: the key, a finish that failed, a
 * value that cannot be written, two keys written the same). */
int wq_keyfold_order(wq_keyfold *kf, lua_State *L, int acc, const wq_keyfold_hook *h,
                     enum wq_layout layout, wq_buf *err);

/* Appends the records of the next entries in order until out holds at
 * least max bytes. Returns 1 while entries are left, 0 after the last, -1
 * when out cannot grow. No Lua. */
int wq_keyfold_emit(wq_keyfold *kf, wq_buf *out, size_t max);

/* The partition of a key written w[0..n), among nparts. */
int wq_keyfold_partition(const char *w, size_t n, int nparts);

/* Reads the u32 at p (little-endian). */
static inline uint32_t wq_keyfold_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
           (uint32_t)u[3] << 24;
}

#endif
