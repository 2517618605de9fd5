/* maxfail.c - the bound of --max-failures; see maxfail.h. */
#include "maxfail.h"

#include <errno.h>
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

int wq_maxfail_note(wq_maxfail_count *c, int failed)
{
    if (!c)
        return 0;
    int64_t finished = atomic_fetch_add_explicit(&c->finished, 1, memory_order_relaxed) + 1;
    int64_t f = atomic_fetch_add_explicit(&c->failed, failed != 0, memory_order_relaxed) +
                (failed != 0);
    return wq_maxfail_exceeded(c->bound, f, finished);
}

void wq_maxfail_describe(const wq_maxfail *m, char *buf, size_t size)
{
    if (m->percent < 0)
        snprintf(buf, size, "more than %lld item%s failed", (long long)m->count,
                 m->count == 1 ? "" : "s");
    else
        snprintf(buf, size, "more than %g%% of the items failed", m->percent);
}
