/*
 * joblog.c - the job log; see joblog.h.
 *
 * A line is built by hand, digit by digit: at a million items a second on
 * the main thread, printf's cost per number would show in the run's time.
 */
#include "joblog.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
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
    int64_t unix_offset;     /* Unix time minus wq_now_ns, in ns */
    int64_t start_ms;        /* the last Starttime written, in ms ... */
    char start[NUMTEXT];     /* ... and its text */
    size_t start_len;
    struct counter seq, line; /* the last Seq and LINE written */
    wq_buf lines;            /* the batch's lines, before their write */
};

wq_joblog *wq_joblog_open(const char *path, int append, wq_buf *err)
{
    wq_joblog *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        free(l);
        wq_buf_adds(err, "out of memory");
        return NULL;
    }
    int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    struct stat st;
    l->fd = wq_paths_open(path, "--joblog", flags, NULL, err);
    if (l->fd >= 0 && fstat(l->fd, &st) == 0 && (st.st_size == 0 || !S_ISREG(st.st_mode)))
        wq_buf_adds(&l->lines, HEADER);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    l->unix_offset = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - wq_now_ns();
    if (l->fd < 0) {
        wq_joblog_close(l, err);
        return NULL;
    }
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

int wq_joblog_escape(wq_buf *out, const char *s, size_t len)
{
    if (out->cap - out->len < 2 * len && wq_buf_grow(out, 2 * len) < 0)
        return -1;
    char *p = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        char e = escaped[(unsigned char)s[i]];
        if (e) {
            p[0] = '\\';
            p[1] = e;
            p += 2;
        } else {
            *p++ = s[i];
        }
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

/* The numbers of one line, before its Command. */
struct line {
    int64_t index, line;
    const wq_itemfacts *f;
    int failed;
    size_t send;
};

/* Appends one line of the log: source (slen bytes) names the item's file. */
static int add_line(wq_joblog *l, const struct line *x, const char *source, size_t slen,
                    const char *item, size_t len)
{
    /* numbers of at most 24 characters and their tabs, then the source, a
     * colon, a number, a space, the item escaped and a newline */
    size_t room = 9 * 25 + slen + 2 * len + 1;
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
    memcpy(p, source, slen);
    p += slen;
    *p++ = ':';
    p = put_counted(&l->line, p, (uint64_t)x->line);
    *p++ = ' ';
    l->lines.len = (size_t)(p - l->lines.data);
    return wq_joblog_escape(&l->lines, item, len) | wq_buf_addc(&l->lines, '\n');
}

/* Writes the lines gathered, whole. */
static int flush(wq_joblog *l, wq_buf *err)
{
    const char *p = l->lines.data;
    size_t left = l->lines.len;
    while (left > 0) {
        ssize_t n = write(l->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            wq_buf_printf(err, "cannot write --joblog %s: %s", l->path, strerror(errno));
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    wq_buf_reset(&l->lines);
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
    const char *source = names[b->file];
    size_t slen = strlen(source);
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
    return flush(l, err);
}

int wq_joblog_close(wq_joblog *l, wq_buf *err)
{
    if (!l)
        return 0;
    int rc = l->fd >= 0 && l->lines.len ? flush(l, err) : 0;
    if (l->fd >= 0 && close(l->fd) != 0 && rc == 0) {
        wq_buf_printf(err, "cannot write --joblog %s: %s", l->path, strerror(errno));
        rc = -1;
    }
    wq_buf_free(&l->lines);
    free(l->path);
    free(l);
    return rc;
}
