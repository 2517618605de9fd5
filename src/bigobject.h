/*
 * bigobject.h - the keys of a JSON object with many keys, put in order;
 * private to the encoder (encode.c writes the object).
 *
 * Objects of more than STACK_VALUES keys (an index, a group-by: often the
 * final value of a run, with millions of keys) take a path of their own,
 * built for memory and time: each key is 32 bytes, sorted in place, and its
 * text is scanned once. The values go to an array in the Lua state, read by
 * position; the keys stay in their table, which nothing changes meanwhile.
 */
#ifndef WQ_BIGOBJECT_H
#define WQ_BIGOBJECT_H

#include "codec_internal.h"

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

/* The keys of one object in the order JSON writes them: v[0..n), with
 * their texts in a and in the table. */
struct wq_bigobj {
    struct big *v;
    size_t n;
    struct arena a;
};

/* Sorts the keys of the table at t (an absolute index) into o and pushes
 * the array of its values, which each key's value indexes. Two keys written
 * the same are an error. The array allocates, so this runs its work under
 * lua_pcall: running out of memory is an error too. Returns 0 with the array
 * pushed, or WQ_CODEC_ERR with the message in e->err and nothing pushed.
 * Either way the caller frees o with wq_bigobj_free. */
int wq_bigobj_sort(struct enc *e, int t, struct wq_bigobj *o);

void wq_bigobj_free(struct wq_bigobj *o);

/* The key of b as it is in Lua, for the path of an error: read back from
 * its text, or, for a string whose text was replaced, found in the table at
 * t (a slow look through its keys). */
void wq_bigobj_key(struct enc *e, int t, const struct big *b, struct key *k);

#endif
