/* progress.c - the progress line; see progress.h. */
#include "progress.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "input.h"
#include "report.h"

struct wq_progress {
    char *const *paths;
    int n, counting, shard_k, shard_n;
    wq_recfmt fmt;            /* the run's, without its header store */
    pthread_t counter;
    _Atomic int64_t total;    /* -1 until counted, or if it cannot be */
    _Atomic int cancel;
    double start, last;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Counts the items with a reader of its own over the same files and in the
 * same format, so that the total is what the run will read (compressed
 * files are decompressed here too). */
static void *count_main(void *arg)
{
    struct wq_progress *p = arg;
    wq_input *in = wq_input_new(p->paths, p->n, &p->fmt);
    wq_buf err = WQ_BUF_INIT;
    const char *item;
    size_t len;
    int64_t total = in ? 0 : -1;
    int rc = WQ_INPUT_END;
    while (in && !atomic_load_explicit(&p->cancel, memory_order_relaxed) &&
           ((rc = wq_input_next(in, &item, &len, 1, &err)) == WQ_INPUT_ITEM ||
            rc == WQ_INPUT_INTERRUPTED))
        total += rc == WQ_INPUT_ITEM;
    if (rc != WQ_INPUT_END || atomic_load(&p->cancel))
        total = -1;
    wq_input_free(in);
    wq_buf_free(&err);
    if (total >= 0)  /* the items of index k, k + n, ... up to total */
        atomic_store(&p->total, total < p->shard_k ? 0
                                : (total - p->shard_k) / p->shard_n + 1);
    return NULL;
}

static int all_regular(char *const *paths, int n)
{
    struct stat st;
    for (int i = 0; i < n; i++)
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 ||
            !S_ISREG(st.st_mode))
            return 0;
    return n > 0;
}

wq_progress *wq_progress_start(char *const *paths, int n, const wq_recfmt *fmt,
                               int shard_k, int shard_n)
{
    struct wq_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->paths = paths;
    p->n = n;
    p->fmt = *fmt;
    p->fmt.headers = NULL;
    p->shard_k = shard_k;
    p->shard_n = shard_n;
    p->total = -1;
    p->start = p->last = now();
    p->counting = all_regular(paths, n) &&
                  pthread_create(&p->counter, NULL, count_main, p) == 0;
    return p;
}

static void draw(struct wq_progress *p, int64_t done, int64_t failed, double t)
{
    char line[160];
    int64_t total = atomic_load(&p->total);
    double rate = t > p->start ? (double)done / (t - p->start) : 0;
    int len = snprintf(line, sizeof line, "luaworkq: %lld", (long long)done);
    if (total > 0) {
        double eta = rate > 0 ? (double)(total - done) / rate : 0;
        len += snprintf(line + len, sizeof line - (size_t)len,
                        " of %lld (%.0f%%), ETA %d:%02d", (long long)total,
                        100.0 * (double)done / (double)total,
                        (int)eta / 60, (int)eta % 60);
    }
    snprintf(line + len, sizeof line - (size_t)len, ", %.0f items/s, %lld failed",
             rate, (long long)failed);
    wq_report_status(line);
}

void wq_progress_update(wq_progress *p, int64_t done, int64_t failed)
{
    double t = now();
    if (!p || t - p->last < 0.1)
        return;
    p->last = t;
    draw(p, done, failed, t);
}

void wq_progress_end(wq_progress *p)
{
    if (!p)
        return;
    atomic_store(&p->cancel, 1);
    if (p->counting)
        pthread_join(p->counter, NULL);
    wq_report_status(NULL);
    free(p);
}
