/* hint.c - the nearest name and local definitions; see hint.h. */
#include "hint.h"

#include <ctype.h>
#include <string.h>

/* Longer words are never near: a name is at most this long. */
#define MAX_WORD 64

int wq_hint_distance(const char *a, size_t alen, const char *b, size_t blen, int max)
{
    if (alen > MAX_WORD || blen > MAX_WORD ||
        (alen > blen ? alen - blen : blen - alen) > (size_t)max)
        return max + 1;
    int d[MAX_WORD + 1][MAX_WORD + 1];
    for (size_t i = 0; i <= alen; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= blen; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= alen; i++)
        for (size_t j = 1; j <= blen; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            int best = sub < del ? sub : del;
            best = ins < best ? ins : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;  /* two neighbours swapped */
            d[i][j] = best;
        }
    return d[alen][blen] > max ? max + 1 : d[alen][blen];
}

const char *wq_hint_nearest(const char *word, size_t len, const char *const *names,
                            int n, int max)
{
    const char *best = NULL;
    int best_d = max + 1;
    for (int i = 0; i < n; i++) {
        size_t nlen = strlen(names[i]);
        int limit = nlen <= 4 && max > 1 ? 1 : max;
        int d = wq_hint_distance(word, len, names[i], nlen, limit);
        if (d > 0 && d <= limit && d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The end of the word `w` at p (not part of a longer name), or NULL. */
static const char *word_at(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n || memcmp(p, w, n) != 0 || (p + n < end && ident_char(p[n])))
        return NULL;
    return p + n;
}

static const char *spaces(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

int wq_hint_local_line(const char *src, size_t len, const char *name)
{
    const char *end = src + len;
    int line = 1;
    for (const char *p = src; p < end; p++) {
        if (*p == '\n')
            line++;
        if (p > src && ident_char(p[-1]))
            continue;
        const char *q = word_at(p, end, "local"), *f;
        if (!q || spaces(q, end) == q)
            continue;
        f = word_at(spaces(q, end), end, "function");
        if (f && spaces(f, end) > f && word_at(spaces(f, end), end, name))
            return line;
    }
    return 0;
}
