/*
 * joblog.c - the job log; see joblog.h.
 *
 * A line is built by hand, digit by digit: at a million items a second on
 * the main thread, printf's cost per number would show in the run's time.
 *
 * Producer: the writer (main thread), which formats a batch's lines and
 * hands them over. Consumer: the log's thread, which writes what was
 * handed over, as much as there is at each write. Between them one buffer
 * under a lock, of at most WQ_JOBLOG_BOUND bytes unless a single batch is
 * bigger: the writer waits only when the log is that far behind. Shutdown:
 * wq_joblog_close says so and joins the thread once all is written. A
 * write error is kept and the writer says it at its next batch (or at the
 * close); what is handed over after it is dropped.
 */
#include "joblog.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

/* Room for a number's text (up to 20 digits, a point and 3 decimals),
 * copied whole: a copy of a known size is a few moves, not a call. */
#define NUMTEXT 24

#define HEADER "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

/* A number written again and again, mostly one more than the time before
 * (an item's index, its line): its text is kept and counted up. */
struct counter {
    uint64_t v;
    char text[NUMTEXT];
    size_t len;
};

struct wq_joblog {
    int fd;
    char *path;
    /* between the writer and the log's thread */
    pthread_t thread;
    int started;             /* the thread runs */
    pthread_mutex_t mu;
    pthread_cond_t handed;   /* lines were handed over, or closing */
    pthread_cond_t taken;    /* the thread took what was handed over */
    wq_buf pending;          /* under mu: handed over, not yet taken */
    int closing;             /* under mu: no more lines come */
    int error;               /* under mu: errno of the write that failed */
    int said;                /* the writer has reported the error */
    int truncate;            /* the thread empties the old log first */
    /* the writer's */
    int64_t unix_offset;     /* Unix time minus wq_now_ns, in ns */
    int64_t start_ms;        /* the last Starttime written, in ms ... */
    char start[NUMTEXT];     /* ... and its text */
    size_t start_len;
    struct counter seq, line; /* the last Seq and LINE written */
    int source_file;         /* whose name source holds, or -1 */
    wq_buf source;           /* that name and a colon, with 16 bytes of room
                                after (copied 16 at a time) */
    wq_buf lines;            /* the batch's lines, before they are handed
                                over */
};

/* Writes b whole to l's file. Returns 0, or an errno. */
static int write_all(wq_joblog *l, const wq_buf *b)
{
    const char *p = b->data;
    size_t left = b->len;
    while (left > 0) {
        ssize_t n = write(l->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

/* The log's thread: writes what is handed over until the close. */
static void *log_main(void *arg)
{
    wq_joblog *l = arg;
    wq_buf mine = WQ_BUF_INIT;
    int emptied = l->truncate && ftruncate(l->fd, 0) != 0 ? errno : 0;
    pthread_mutex_lock(&l->mu);
    l->error = emptied;
    for (;;) {
        while (!l->pending.len && !l->closing)
            pthread_cond_wait(&l->handed, &l->mu);
        if (!l->pending.len)
            break;
        wq_buf t = mine;
        mine = l->pending;
        l->pending = t;
        pthread_cond_signal(&l->taken);
        int failed = l->error;
        pthread_mutex_unlock(&l->mu);
        int e = failed ? 0 : write_all(l, &mine);
        wq_buf_reset(&mine);
        pthread_mutex_lock(&l->mu);
        if (e && !l->error)
            l->error = e;
    }
    pthread_mutex_unlock(&l->mu);
    wq_buf_free(&mine);
    return NULL;
}

/* Says the write error (once). Returns -1. */
static int say_error(wq_joblog *l, int e, wq_buf *err)
{
    l->said = 1;
    wq_buf_printf(err, "cannot write --joblog %s: %s", l->path, strerror(e));
    return -1;
}

/* Hands the lines formatted over to the log's thread, waiting while it is
 * WQ_JOBLOG_BOUND bytes behind. Returns 0, or -1 with a message in err
 * (the thread's write failed, or memory ran out). */
static int hand_over(wq_joblog *l, wq_buf *err)
{
    if (!l->lines.len)
        return 0;
    pthread_mutex_lock(&l->mu);
    while (l->pending.len && l->pending.len + l->lines.len > WQ_JOBLOG_BOUND && !l->error)
        pthread_cond_wait(&l->taken, &l->mu);
    int e = l->error, rc = 0;
    if (!e && !l->pending.len) {  /* the usual case: the buffers change hands */
        wq_buf t = l->pending;
        l->pending = l->lines;
        l->lines = t;
    } else if (!e) {
        rc = wq_buf_add(&l->pending, l->lines.data, l->lines.len);
    }
    pthread_cond_signal(&l->handed);
    pthread_mutex_unlock(&l->mu);
    wq_buf_reset(&l->lines);
    if (e)
        return l->said ? -1 : say_error(l, e, err);
    if (rc < 0)
        wq_buf_adds(err, "out of memory");
    return rc;
}

wq_joblog *wq_joblog_open(const char *path, int append, wq_buf *err)
{
    wq_joblog *l = calloc(1, sizeof *l);
    if (l)
        l->source_file = -1;
    if (!l || !(l->path = strdup(path))) {
        free(l);
        wq_buf_adds(err, "out of memory");
        return NULL;
    }
    /* An old log is emptied by the log's thread before its first write, not
     * here: dropping a big file's pages takes tens of milliseconds (108 MB:
     * 30-70 ms), which the run would wait for before its first item. */
    int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : 0);
    struct stat st;
    l->fd = wq_paths_open(path, "--joblog", flags, NULL, err);
    int regular = l->fd >= 0 && fstat(l->fd, &st) == 0 && S_ISREG(st.st_mode);
    l->truncate = !append && regular && st.st_size > 0;
    if (l->fd >= 0 && (!append || !regular || st.st_size == 0))
        wq_buf_adds(&l->lines, HEADER);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    l->unix_offset = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - wq_now_ns();
    if (l->fd < 0) {
        wq_joblog_close(l, err);
        return NULL;
    }
    if (pthread_mutex_init(&l->mu, NULL) != 0 || pthread_cond_init(&l->handed, NULL) != 0 ||
        pthread_cond_init(&l->taken, NULL) != 0 ||
        pthread_create(&l->thread, NULL, log_main, l) != 0) {
        wq_buf_printf(err, "--joblog %s: cannot start its thread", path);
        wq_joblog_close(l, err);
        return NULL;
    }
    l->started = 1;
    return l;
}

static const char pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The number of decimal digits of v. */
static int digits(uint64_t v)
{
    int n = 1;
    for (; v >= 10000; v /= 10000)
        n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* Appends v in decimal to p, two digits a step from its end; returns the
 * end. */
static char *put_u64(char *p, uint64_t v)
{
    if (v < 10) {  /* a worker, an exit value, a short item's bytes */
        *p = (char)('0' + v);
        return p + 1;
    }
    char *end = p + digits(v), *t = end;
    for (; v >= 100; v /= 100) {
        t -= 2;
        memcpy(t, pairs + 2 * (v % 100), 2);
    }
    if (v >= 10)
        memcpy(t - 2, pairs + 2 * v, 2);
    else
        t[-1] = (char)('0' + v);
    return end;
}

/* Appends ns as seconds with 3 decimals (rounded to the millisecond). */
static char *put_seconds(char *p, int64_t ns)
{
    if (ns < 500000) {  /* most items, when there are millions */
        memcpy(p, "0.000", 5);
        return p + 5;
    }
    uint64_t ms = ns > 0 ? ((uint64_t)ns + 500000) / 1000000 : 0;
    if (ms < 1000)
        *p++ = '0';
    else
        p = put_u64(p, ms / 1000);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100 % 10);
    memcpy(p, pairs + 2 * (ms % 100), 2);
    return p + 2;
}

/* Appends v, from c's text when v is c's last number or the next one. */
static char *put_counted(struct counter *c, char *p, uint64_t v)
{
    size_t i = c->len;
    if (v == c->v + 1 && c->len) {
        while (i > 0 && c->text[i - 1] == '9')
            c->text[--i] = '0';
        if (i > 0)
            c->text[i - 1]++;
        c->v = v;
    }
    if (i == 0 || v != c->v) {  /* all nines before, or another number */
        c->v = v;
        c->len = (size_t)(put_u64(c->text, v) - c->text);
    }
    memcpy(p, c->text, NUMTEXT);
    return p + c->len;
}

/* Appends a Starttime: items that start in one millisecond, which fast
 * items do by the thousand, share the text made for the first (copied
 * whole). */
static char *put_start(wq_joblog *l, char *p, int64_t ns)
{
    int64_t ms = (ns + 500000) / 1000000;
    if (ms != l->start_ms || !l->start_len) {
        l->start_ms = ms;
        l->start_len = (size_t)(put_seconds(l->start, ns) - l->start);
    }
    memcpy(p, l->start, NUMTEXT);
    return p + l->start_len;
}

/* What follows the backslash that escapes a byte, or 0 for a byte as it is. */
static const char escaped[256] = {['\t'] = 't', ['\n'] = 'n', ['\\'] = '\\'};

/* Copies n bytes from s to p 16 at a time: p and s have room for up to
 * 15 bytes more (a few moves, not a call, for the short copies of a
 * line). Returns the end. */
static char *put_16s(char *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        memcpy(p + i, s + i, 16);
    return p + n;
}

/* Appends s escaped to p, which has room for 2 * len; returns the end.
 * The runs between bytes to escape (most items are one run) are copied
 * whole. */
static char *put_escaped(char *p, const char *s, size_t len)
{
    for (size_t i = 0, j;; i = j + 1) {
        for (j = i; j < len && !escaped[(unsigned char)s[j]]; j++)
            *p++ = s[j];
        if (j == len)
            return p;
        p[0] = '\\';
        p[1] = escaped[(unsigned char)s[j]];
        p += 2;
    }
}

int wq_joblog_escape(wq_buf *out, const char *s, size_t len)
{
    if (out->cap - out->len < 2 * len && wq_buf_grow(out, 2 * len) < 0)
        return -1;
    out->len = (size_t)(put_escaped(out->data + out->len, s, len) - out->data);
    return 0;
}

/* The numbers of one line, before its Command. */
struct line {
    int64_t index, line;
    const wq_itemfacts *f;
    int failed;
    size_t send;
};

/* Appends one line of the log: source (slen bytes, a colon last, room
 * after: l->source) names the item's file. */
static int add_line(wq_joblog *l, const struct line *x, const char *source, size_t slen,
                    const char *item, size_t len)
{
    /* numbers of at most 24 characters and their tabs, then the source, a
     * colon, a number, a space, the item escaped and a newline */
    size_t room = 9 * 25 + slen + 16 + 2 * len + 1;
    if (l->lines.cap - l->lines.len < room && wq_buf_grow(&l->lines, room) < 0)
        return -1;
    char *p = l->lines.data + l->lines.len;
    p = put_counted(&l->seq, p, (uint64_t)x->index);
    *p++ = '\t';
    p = put_u64(p, x->f->worker);
    *p++ = '\t';
    p = put_start(l, p, (x->f->start_ns ? x->f->start_ns : wq_now_ns()) + l->unix_offset);
    *p++ = '\t';
    p = put_seconds(p, x->f->run_ns);
    *p++ = '\t';
    p = put_u64(p, x->send);
    *p++ = '\t';
    p = put_u64(p, x->f->result);
    *p++ = '\t';
    *p++ = x->failed ? '1' : '0';
    memcpy(p, "\t0\t", 3);
    p += 3;
    p = put_16s(p, source, slen);
    p = put_counted(&l->line, p, (uint64_t)x->line);
    *p++ = ' ';
    p = put_escaped(p, item, len);
    *p++ = '\n';
    l->lines.len = (size_t)(p - l->lines.data);
    return 0;
}

/* The lines of a batch whose worker kept no facts (a record too long to
 * run, or facts that could not be allocated): its failures, with zeros
 * where the facts would be. */
static int failures_only(wq_joblog *l, const wq_batch *b, const char *source, size_t slen)
{
    static const wq_itemfacts none;
    int rc = 0;
    for (const wq_failure *f = b->failures; f && rc == 0; f = f->next) {
        struct line x = {.index = f->index, .line = f->line, .f = &none, .failed = 1,
                         .send = f->item.len};
        rc = add_line(l, &x, source, slen, f->item.data, f->item.len);
    }
    return rc;
}

int wq_joblog_batch(wq_joblog *l, const wq_batch *b, const char *const *names, int cut,
                    wq_buf *err)
{
    if (b->file != l->source_file) {
        const char *name = names[b->file];
        size_t n = strlen(name);
        wq_buf_reset(&l->source);
        if (wq_buf_grow(&l->source, n + 17) < 0) {
            wq_buf_adds(err, "out of memory");
            return -1;
        }
        memcpy(l->source.data, name, n);
        l->source.data[n] = ':';
        l->source.len = n + 1;
        l->source_file = b->file;
    }
    const char *source = l->source.data;
    size_t slen = l->source.len;
    int rc = 0;
    if (!b->facts) {
        rc = failures_only(l, b, source, slen);
    } else {
        for (uint32_t i = 0; i < b->count && rc == 0; i++) {
            const wq_itemfacts *f = &b->facts[i];
            if (f->status == WQ_FACT_NONE || (f->status != WQ_FACT_FAILED && cut))
                continue;
            size_t len;
            const char *item = wq_batch_item(b, i, &len);
            struct line x = {.index = b->first + i * b->stride, .line = wq_batch_line(b, i),
                             .f = f, .failed = f->status == WQ_FACT_FAILED, .send = len};
            rc = add_line(l, &x, source, slen, item, len);
        }
    }
    if (rc < 0) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    return hand_over(l, err);
}

int wq_joblog_close(wq_joblog *l, wq_buf *err)
{
    if (!l)
        return 0;
    int rc = 0;
    if (l->started) {
        int said = l->said;
        rc = hand_over(l, err) < 0 && !said ? -1 : 0;  /* the header of a
                                                          log no batch reached */
        pthread_mutex_lock(&l->mu);
        l->closing = 1;
        pthread_cond_signal(&l->handed);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        if (rc == 0 && l->error && !l->said)
            rc = say_error(l, l->error, err);
        pthread_cond_destroy(&l->taken);
        pthread_cond_destroy(&l->handed);
        pthread_mutex_destroy(&l->mu);
    }
    if (l->fd >= 0 && close(l->fd) != 0 && rc == 0 && !l->said)
        rc = say_error(l, errno, err);
    wq_buf_free(&l->lines);
    wq_buf_free(&l->pending);
    wq_buf_free(&l->source);
    free(l->path);
    free(l);
    return rc;
}
