/*
 * hint.h - "did you mean": the name nearest to a word the user wrote (an
 * option, a hook), and where a script's source makes a name local.
 *
 * Distance is the optimal string alignment distance: an insertion, a
 * deletion, a substitution or a swap of two neighbours costs 1, so that
 * --jobz, --outptu and marge are each one edit from --jobs, --output and
 * merge. No threads, no Lua.
 */
#ifndef WQ_HINT_H
#define WQ_HINT_H

#include <stddef.h>

/* The edits from a[0..alen) to b[0..blen), or max + 1 if more than max. */
int wq_hint_distance(const char *a, size_t alen, const char *b, size_t blen, int max);

/* The first of the n names nearest to word[0..len) within max edits (within
 * 1 for a name of four letters or less, where two edits reach too many
 * words), other than word itself; NULL if none. */
const char *wq_hint_nearest(const char *word, size_t len, const char *const *names,
                            int n, int max);

/* The line (from 1) of src[0..len) where `local function NAME` first
 * appears, 0 if nowhere. A scan of the text, not a parse: a match in a
 * string or a comment counts too. */
int wq_hint_local_line(const char *src, size_t len, const char *name);

#endif
