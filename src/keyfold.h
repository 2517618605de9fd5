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
 * A part (the bytes of one partition of a batch's fold) is one WQ_BINARY
 * table of its pairs (codec.h: wq_codec_table_begin).
 */
#ifndef WQ_KEYFOLD_H
#define WQ_KEYFOLD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <lua.h>
#include "buf.h"
#include "codec.h"
#include "frame.h"

typedef int (*wq_keyfold_call)(void *ctx, int nargs, int nresults, wq_buf *err);

/* An entry of the output: its text in the layout (without the ',' that
 * separates JSON entries), where its key as written is (in the text
 * itself, most often, else copied just before it), and the key's first 8
 * bytes as a big-endian number, which most comparisons stop at. Entries
 * are read by other threads once sorted (shuffle.h), never written. */
typedef struct wq_keyent {
    uint64_t prefix;
    const char *text;
    uint32_t tlen;              /* low 30 bits; the top 2 say where the key
                                   is: 3, before the text; else text + 0, 1
                                   or 2 */
    uint32_t klen;
} wq_keyent;

#define WQ_KEYENT_TLEN ((1u << 30) - 1)

static inline const char *wq_keyent_key(const wq_keyent *e)
{
    uint32_t at = e->tlen >> 30;
    return at == 3 ? e->text - e->klen : e->text + at;
}

static inline size_t wq_keyent_len(const wq_keyent *e) { return e->tlen & WQ_KEYENT_TLEN; }

/* Bytewise order of the keys as written. */
static inline int wq_keyent_cmp(const wq_keyent *x, const wq_keyent *y)
{
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n > 8 ? memcmp(wq_keyent_key(x) + 8, wq_keyent_key(y) + 8, n - 8) : 0;
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Appends e's text, framed for layout: a JSON entry after a ','. */
static inline int wq_keyent_frame(const wq_keyent *e, enum wq_layout layout, wq_buf *out)
{
    if (layout == WQ_LAYOUT_JSON && wq_buf_addc(out, ',') < 0)
        return -1;
    return wq_buf_add(out, e->text, wq_keyent_len(e));
}

typedef struct wq_keyfold {
    wq_buf *parts;              /* a batch's parts, one per partition */
    uint32_t *count;            /* the pairs in each */
    int nparts;                 /* room in parts and count */
    int begun;                  /* the parts of this batch are open */
    int direct;                 /* this batch's pairs go to the parts as
                                   they come, not folded first */
    int unfolded;               /* batches in a row not folded */
    size_t pairs;               /* pairs folded in this batch */
    wq_keyent *ents;            /* the entries, in written order once sorted */
    size_t n, cap, next;        /* how many, room, the next to emit */
    wq_buf text;                /* scratch: a key as written, an entry's text */
    struct wq_keyblock *blocks; /* the entries' bytes */
    const struct wq_csvcols *cols;  /* -f csv/tsv: the rows' columns, the */
    struct wq_csvrow *row;          /* key's first (csvrow.h) */
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

/* Folds pairs into a table: a new key takes the value, a known one
 * reduce(old, new). A lua_CFunction, to make a closure of with one
 * upvalue and call under lua_pcall with the arguments: the table, reduce,
 * a light userdata wq_keyfold_what, and (when what->p is NULL) the table
 * whose pairs to fold. Returns the number of pairs folded from a table.
 * It raises reduce's errors, and those of memory and of malformed parts;
 * after an error raised by reduce (or a reduce that returned nil), the
 * closure's upvalue is the key, to name it by. */
typedef struct wq_keyfold_what {
    const char *p;              /* a part (NULL: the table argument) */
    size_t len;
} wq_keyfold_what;

int wq_keyfold_fold(lua_State *L);

/* A batch's keys go to their parts in one of two ways: folded by key in a
 * table first (wq_keyfold_fold), then split; or, when the last batches'
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


/* Ends the fold of the table at acc: finish(key, value) on each key when
 * h is not NULL (its value is written instead, nil drops the key), each
 * entry's text made in layout, in the order of the table (cheap on the
 * caches), then the entries put in written order. The table is not
 * needed after. Returns 0, or -1 (err: the key, a finish that failed, a
 * value that cannot be written, two keys written the same). */
int wq_keyfold_order(wq_keyfold *kf, lua_State *L, int acc, const wq_keyfold_hook *h,
                     enum wq_layout layout, wq_buf *err);

/* The entries in written order, after wq_keyfold_order: n of them. They
 * stay until the next order or the free. */
const wq_keyent *wq_keyfold_sorted(const wq_keyfold *kf, size_t *n);

/* Puts "WHAT of key K: " before the message in err, K the key at idx. */
void wq_keyfold_blame(lua_State *L, int idx, const char *what, wq_buf *err);

/* The partition of a key written w[0..n), among nparts. */
int wq_keyfold_partition(const char *w, size_t n, int nparts);

#endif
