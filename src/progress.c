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
#include "chunk.h"
#include "input.h"
#include "report.h"

struct wq_progress {
    const wq_inputs *files;
    int counting, shard_k, shard_n;
    wq_recfmt fmt;            /* the run's, without its header store */
    pthread_t counter, drawer;
    _Atomic int64_t total;    /* -1 until counted, or if it cannot be */
    _Atomic int cancel;
    pthread_mutex_t mu;       /* guards what follows */
    pthread_cond_t wake;
    int ended, drawing, workers;
    int64_t done, failed;     /* as the writer last told */
    int64_t carried;          /* of done: from the journal, not run */
    const _Atomic int64_t *item_ns_at;  /* the pool's recent cost of an item */
    int64_t item_ns;          /* the last cost of an item the pool told */
    double ns_sum;            /* the costs told so far, for their mean */
    int64_t ns_count;
    double start;
    double *ended_at;         /* ring of workers entries: when the items
                                 that ended last ended, by their number */
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
    wq_input *in = wq_input_new(p->files, &p->fmt);
    wq_buf err = WQ_BUF_INIT;
    const char *item;
    size_t len;
    int64_t total = in ? 0 : -1;
    int rc = WQ_INPUT_END;
    wq_chunker chunker;  /* with --chunk, an item is a chunk of records */
    wq_chunker_init(&chunker, &p->fmt);
    while (in && !atomic_load_explicit(&p->cancel, memory_order_relaxed) &&
           ((rc = wq_input_next(in, &item, &len, 1, &err)) == WQ_INPUT_ITEM ||
            rc == WQ_INPUT_INTERRUPTED))
        total += rc == WQ_INPUT_ITEM &&
                 (!p->fmt.chunk || wq_chunker_add(&chunker, wq_input_file(in),
                                                  wq_input_too_long(in)));
    if (rc != WQ_INPUT_END || atomic_load(&p->cancel))
        total = -1;
    wq_input_free(in);
    wq_buf_free(&err);
    if (total >= 0)  /* the items of index k, k + n, ... up to total */
        atomic_store(&p->total, total < p->shard_k ? 0
                                : (total - p->shard_k) / p->shard_n + 1);
    return NULL;
}

static int all_regular(const wq_inputs *files)
{
    struct stat st;
    for (int i = 0; i < files->n; i++)
        if (strcmp(files->paths[i], "-") == 0 || stat(files->paths[i], &st) != 0 ||
            !S_ISREG(st.st_mode))
            return 0;
    return files->n > 0;
}

/* When the c-th item to end (from 1) ended; the start for c <= 0. Only
 * the last `workers` are kept. */
static double ended_at(const struct wq_progress *p, int64_t c)
{
    return c <= 0 ? p->start : p->ended_at[c % p->workers];
}

/* Items per second: while few items have ended, from what items cost (the
 * mean of the costs the pool told, on every worker), since the count of
 * items done says little then (with items of 5 s, none has ended for 5 s
 * and then all workers' at once); once each worker has ended many, from the
 * count: items run / (when the last of them ended - start), which also
 * holds the time items wait for the reader and the writer. 0 if unknown. */
static double rate_of(const struct wq_progress *p)
{
    int64_t ran = p->done + p->failed - p->carried;
    double last = ended_at(p, p->done + p->failed);  /* when done last grew */
    if (ran >= 20 * (int64_t)p->workers && last > p->start)
        return (double)ran / (last - p->start);
    if (p->ns_count > 0 && p->ns_sum > 0)
        return p->workers * 1e9 / (p->ns_sum / (double)p->ns_count);
    return 0;
}


/* The seconds left, -1 if unknown. Each worker takes its next item when
 * its last one ends, so the item that starts k-th began when the (k -
 * workers)-th item ended: the items running now have run since, and what
 * is left of them (each item taking `workers / rate` seconds) is known.
 * The items still waiting are shared by all workers; when none wait, the
 * run ends with the last running item. */
static double eta_of(const struct wq_progress *p, double t, int64_t total, double rate)
{
    int64_t ended = p->done + p->failed, w = p->workers;
    if (rate <= 0 || total < 0 || total < ended)
        return -1;
    double cost = (double)w / rate, sum = 0, latest = 0;
    int64_t running = total - ended < w ? total - ended : w;
    for (int64_t k = ended + 1; k <= ended + running; k++) {
        double left = ended_at(p, k - w) + cost - t;
        left = left < 0 ? 0 : left;
        sum += left;
        latest = left > latest ? left : latest;
    }
    int64_t waiting = total - ended - running;
    return waiting > 0 ? (sum + (double)waiting * cost) / (double)w : latest;
}

/* Makes the line (160 bytes); p->mu held. Unknown figures are "--". */
static void make_line(struct wq_progress *p, double t, char *line)
{
    enum { SIZE = 160 };
    char rtext[32] = "--", etext[32] = "--:--";
    int64_t total = atomic_load(&p->total);
    double rate = rate_of(p), eta = eta_of(p, t, total, rate);
    if (rate > 0)
        snprintf(rtext, sizeof rtext, rate < 10 ? "%.1f" : "%.0f", rate);
    if (eta >= 0)
        snprintf(etext, sizeof etext, "%d:%02d", (int)(eta + 0.5) / 60,
                 (int)(eta + 0.5) % 60);
    int len = snprintf(line, SIZE, "luaworkq: %lld", (long long)p->done);
    if (total > 0)
        len += snprintf(line + len, SIZE - (size_t)len,
                        " of %lld (%.0f%%), ETA %s", (long long)total,
                        100.0 * (double)p->done / (double)total, etext);
    snprintf(line + len, SIZE - (size_t)len, ", %s items/s, %lld failed",
             rtext, (long long)p->failed);
}

/* The drawing thread: the line from the start, then again when the figures
 * (the items ended, the total once counted) change, at most ten times a
 * second, and every second (the ETA counts down while items run). */
static void *draw_main(void *arg)
{
    struct wq_progress *p = arg;
    int64_t drawn = -1, drawn_total = -1;
    double last = 0;
    pthread_mutex_lock(&p->mu);
    while (!p->ended) {
        double t = now();
        int64_t total = atomic_load(&p->total);
        if (p->done + p->failed != drawn || total != drawn_total ||
            t - last >= 1.0) {
            char line[160];
            make_line(p, t, line);
            drawn = p->done + p->failed;
            drawn_total = total;
            last = t;
            pthread_mutex_unlock(&p->mu);  /* the writer never waits on stderr */
            wq_report_status(line);
            pthread_mutex_lock(&p->mu);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->wake, &p->mu, &until);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

wq_progress *wq_progress_start(const wq_inputs *files, const wq_recfmt *fmt,
                               int shard_k, int shard_n, int workers,
                               const _Atomic int64_t *item_ns)
{
    struct wq_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->files = files;
    p->fmt = *fmt;
    p->fmt.headers = NULL;
    p->shard_k = shard_k;
    p->shard_n = shard_n;
    p->workers = workers > 0 ? workers : 1;
    p->item_ns_at = item_ns;
    if (!(p->ended_at = calloc((size_t)p->workers, sizeof *p->ended_at))) {
        free(p);
        return NULL;
    }
    p->total = -1;
    p->start = now();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->counting = all_regular(files) &&
                  pthread_create(&p->counter, NULL, count_main, p) == 0;
    p->drawing = pthread_create(&p->drawer, NULL, draw_main, p) == 0;
    return p;
}

void wq_progress_update(wq_progress *p, int64_t done, int64_t failed,
                        int64_t carried)
{
    if (!p)
        return;
    int64_t item_ns = p->item_ns_at ? atomic_load(p->item_ns_at) : 0;
    pthread_mutex_lock(&p->mu);
    double t = now();
    int64_t before = p->done + p->failed, after = done + failed;
    if (after - before > p->workers)
        before = after - p->workers;
    for (int64_t c = before + 1; c <= after; c++)
        p->ended_at[c % p->workers] = t;
    if (item_ns > 0 && item_ns != p->item_ns) {
        p->ns_sum += (double)item_ns;
        p->ns_count++;
    }
    p->item_ns = item_ns;
    p->done = done;
    p->failed = failed;
    p->carried = carried;
    pthread_mutex_unlock(&p->mu);
}

void wq_progress_end(wq_progress *p)
{
    if (!p)
        return;
    atomic_store(&p->cancel, 1);
    pthread_mutex_lock(&p->mu);
    p->ended = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    if (p->drawing)
        pthread_join(p->drawer, NULL);
    if (p->counting)
        pthread_join(p->counter, NULL);
    wq_report_status(NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->ended_at);
    free(p);
}
