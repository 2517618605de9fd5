/* maxfail.c - the bound of --max-failures; see maxfail.h. */
#include "maxfail.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wq_maxfail_parse(const char *s, wq_maxfail *m)
{
    char *end;
    errno = 0;
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '%') {
        double p = strtod(s, &end);
        if (errno || end != s + n - 1 || !(p >= 0 && p < 100))
            return -1;
        *m = (wq_maxfail){1, 0, p};
        return 0;
    }
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *m = (wq_maxfail){1, v, -1};
    return 0;
}

int wq_maxfail_exceeded(const wq_maxfail *m, int64_t failed, int64_t finished)
{
    if (!m->set)
        return 0;
    if (m->percent < 0)
        return failed > m->count;
    return finished >= 100 && (double)failed * 100.0 > m->percent * (double)finished;
}

int wq_maxfail_count_init(wq_maxfail_count *c, const wq_maxfail *bound)
{
    memset(c, 0, sizeof *c);
    c->bound = bound;
    return pthread_mutex_init(&c->lock, NULL) == 0 ? 0 : -1;
}

void wq_maxfail_count_free(wq_maxfail_count *c)
{
    if (!c->bound)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->least);
    c->least = NULL;
}

/* Makes room in c->least for one more index, up to n. Returns 0 or -1. */
static int grow(wq_maxfail_count *c, size_t n)
{
    if (c->nleast < c->cap)
        return 0;
    size_t cap = c->cap ? 2 * c->cap : 16;
    cap = cap < n ? cap : n;
    int64_t *h = cap <= SIZE_MAX / sizeof *h ? realloc(c->least, cap * sizeof *h) : NULL;
    if (!h)
        return -1;
    c->least = h;
    c->cap = cap;
    return 0;
}

/* Keeps index among the N+1 least of c (a max-heap in c->least). Out of
 * memory, it keeps none from then on: until stays as it was, and the
 * workers stop at once, as they would without it. */
static void keep_least(wq_maxfail_count *c, int64_t index)
{
    size_t n = (size_t)c->bound->count + 1, i;
    pthread_mutex_lock(&c->lock);
    if (c->lost || (c->nleast < n && grow(c, n) < 0)) {
        c->lost = 1;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    int64_t *h = c->least;
    if (c->nleast < n) {  /* up from the bottom */
        for (i = c->nleast++; i > 0 && h[(i - 1) / 2] < index; i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
        h[i] = index;
    } else if (index < h[0]) {  /* down from the top, in its place */
        for (i = 0;;) {
            size_t k = 2 * i + 1;
            if (k + 1 < n && h[k + 1] > h[k])
                k++;
            if (k >= n || h[k] <= index)
                break;
            h[i] = h[k];
            i = k;
        }
        h[i] = index;
    }
    if (c->nleast == n)
        atomic_store_explicit(&c->until, h[0], memory_order_relaxed);
    pthread_mutex_unlock(&c->lock);
}

int wq_maxfail_runs_on(wq_maxfail_count *c, int64_t index)
{
    return c && index < atomic_load_explicit(&c->until, memory_order_relaxed);
}

int wq_maxfail_note(wq_maxfail_count *c, int failed, int64_t index)
{
    if (!c || !failed || c->bound->percent >= 0)
        return 0;
    keep_least(c, index);
    return atomic_fetch_add_explicit(&c->failed, 1, memory_order_relaxed) + 1 >
           c->bound->count;
}

void wq_maxfail_describe(const wq_maxfail *m, char *buf, size_t size)
{
    if (m->percent < 0)
        snprintf(buf, size, "more than %lld item%s failed", (long long)m->count,
                 m->count == 1 ? "" : "s");
    else
        snprintf(buf, size, "more than %g%% of the items failed", m->percent);
}
