/*
 * output.c - the result writer; see output.h.
 *
 * One lock, out_mu, is held for every write and for the list of open
 * outputs, so that wq_out_abort_all, from another thread, finds each output
 * between two whole writes: a chunk of results is written whole or not at
 * all, and the list can be closed after it.
 */
#include "output.h"
#include "paths.h"
#include "report.h"
#include "tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wq_out {
    int fd;
    char *path, *tmp;     /* the file and its temporary name, or NULL */
    char *target;         /* with tmp: where it is renamed, the end of path's links */
    struct stat was;      /* with tmp: the target's lstat when opened, if it existed */
    int existed;
    int hold;             /* keeps the temporary file's lock (tmpfile.h) */
    enum wq_layout layout;
    int list, started, broken;
    int failed;           /* a write failed (reported once): later ones are not tried */
    int tty;              /* standard output on the terminal of stderr (report.h) */
    int last;             /* the last byte written, -1 if none since it was cleared */
    struct wq_out *prev, *next;  /* the open outputs, under out_mu */
};

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static wq_out *outs;

static void enlist(wq_out *o)
{
    pthread_mutex_lock(&out_mu);
    o->next = outs;
    if (outs)
        outs->prev = o;
    outs = o;
    pthread_mutex_unlock(&out_mu);
}

/* Under out_mu. */
static void delist(wq_out *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else if (outs == o)
        outs = o->next;
    if (o->next)
        o->next->prev = o->prev;
}

/* Opens a device or a pipe that path leads to, to be written as it is
 * (renaming over it would replace it), through wq_paths_open: never a
 * block device through a link. Returns 0, or 1 if it turned out to be a
 * regular file (replaced meanwhile: it takes a temporary file), or -1. */
static int open_in_place(wq_out *o, const char *path, wq_buf *err)
{
    struct stat st;
    o->fd = wq_paths_open(path, NULL, O_WRONLY, NULL, err);
    if (o->fd < 0 || fstat(o->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return o->fd < 0 ? -1 : 0;
    close(o->fd);
    o->fd = -1;
    return 1;
}

/* Opens a temporary file beside t's end, to be renamed onto it. */
static int open_temporary(wq_out *o, wq_target *t, wq_buf *err)
{
    o->existed = t->exists && S_ISREG(t->st.st_mode);
    o->was = t->st;
    o->fd = wq_tmpfile_create(t->path, &o->tmp, &o->hold, err);
    o->target = t->path;
    t->path = NULL;
    return o->fd < 0 ? -1 : 0;
}

/* Opens FILE for the output: a temporary file beside the end of its links
 * (paths.h: refused if one is another user's planted link), renamed onto
 * it at the end; but a device or a pipe (/dev/null, a FIFO) is written as
 * it is. */
static int open_file(wq_out *o, const char *path, wq_buf *err)
{
    wq_target t;
    if (!(o->path = strdup(path)))
        return -1;
    int rc = wq_paths_target(path, NULL, &t, err);
    if (rc == 0 && t.exists && S_ISDIR(t.st.st_mode)) {
        wq_buf_printf(err, "%s: is a directory", path);
        rc = -1;
    } else if (rc == 0 && t.exists && !S_ISREG(t.st.st_mode)) {
        rc = open_in_place(o, path, err);
    } else if (rc == 0) {
        rc = 1;
    }
    if (rc == 1)
        rc = open_temporary(o, &t, err);
    wq_paths_target_free(&t);
    return rc;
}

wq_out *wq_out_open(const char *path, enum wq_layout layout, int list, wq_buf *err)
{
    wq_out *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->fd = STDOUT_FILENO;
    o->hold = -1;
    o->layout = layout;
    o->list = list;
    o->tty = (!path || strcmp(path, "-") == 0) && wq_report_shares_terminal();
    if (path && strcmp(path, "-") != 0 && open_file(o, path, err) < 0) {
        if (!err->len)
            wq_buf_adds(err, "out of memory");
        if (o->fd == STDOUT_FILENO)
            o->fd = -1;
        wq_out_close(o, 0, err);
        return NULL;
    }
    enlist(o);
    return o;
}

/* Writes p[0..len). A write error is given in err once: after it the
 * output is failed, and every later write returns WQ_OUT_ERROR at once,
 * with nothing in err (a full disk does not say so again per batch). */
static int write_all(wq_out *o, const char *p, size_t len, wq_buf *err)
{
    if (o->failed)
        return WQ_OUT_ERROR;
    while (len > 0 && !o->broken) {
        ssize_t n = write(o->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EPIPE)
            o->broken = 1;
        else if (n < 0) {
            wq_buf_printf(err, "cannot write %s: %s",
                          o->path ? o->path : "standard output", strerror(errno));
            o->failed = 1;
            return WQ_OUT_ERROR;
        } else if (n > 0) {
            o->last = (unsigned char)p[n - 1];
            p += n;
            len -= (size_t)n;
        }
    }
    return o->broken ? WQ_OUT_PIPE : WQ_OUT_OK;
}

static int list_chunk(wq_out *o, const char *p, size_t len, wq_buf *err)
{
    if (len == 0)
        return o->broken ? WQ_OUT_PIPE : WQ_OUT_OK;
    if (o->layout == WQ_LAYOUT_JSON && !o->started) {
        p++;  /* the first result has no separator before it */
        len--;
        int rc = write_all(o, "[", 1, err);
        if (rc)
            return rc;
    }
    o->started = 1;
    return write_all(o, p, len, err);
}

/* Takes out_mu; on the terminal of stderr, clears the progress line
 * first (report.h). */
static void begin(wq_out *o)
{
    pthread_mutex_lock(&out_mu);
    o->last = -1;
    if (o->tty)
        wq_report_stdout_begin();
}

static void end(wq_out *o)
{
    if (o->tty)
        wq_report_stdout_end(o->last);
    pthread_mutex_unlock(&out_mu);
}

int wq_out_list(wq_out *o, const char *p, size_t len, wq_buf *err)
{
    begin(o);
    int rc = list_chunk(o, p, len, err);
    end(o);
    return rc;
}

int wq_out_value(wq_out *o, const char *p, size_t len, int raw, wq_buf *err)
{
    begin(o);
    int rc = write_all(o, p, len, err);
    if (rc == WQ_OUT_OK && !raw && len > 0)
        rc = write_all(o, "\n", 1, err);
    end(o);
    return rc;
}

/* Whether the end of o's list is to be written: "]", or "[]" when empty. */
static int list_open(const wq_out *o)
{
    return o->list && o->layout == WQ_LAYOUT_JSON && !o->broken && !o->failed &&
           o->fd >= 0;
}

int wq_out_close(wq_out *o, int keep, wq_buf *err)
{
    begin(o);
    delist(o);
    int rc = o->failed ? WQ_OUT_ERROR : WQ_OUT_OK;
    if (list_open(o) && (keep || !o->tmp))
        rc = write_all(o, o->started ? "]\n" : "[]\n", o->started ? 2 : 3, err);
    end(o);
    if (o->tmp) {
        if (close(o->fd) != 0 && rc == WQ_OUT_OK && keep) {
            wq_buf_printf(err, "cannot write %s: %s", o->path, strerror(errno));
            rc = WQ_OUT_ERROR;
        }
        if (rc == WQ_OUT_OK && keep &&
            wq_tmpfile_commit(o->hold, o->tmp, o->target, o->existed ? &o->was : NULL,
                              err) != 0)
            rc = WQ_OUT_ERROR;
        if (rc != WQ_OUT_OK || !keep)
            unlink(o->tmp);
        close(o->hold);
    } else if (o->path && o->fd >= 0 && close(o->fd) != 0 && rc == WQ_OUT_OK) {
        wq_buf_printf(err, "cannot write %s: %s", o->path, strerror(errno));
        rc = WQ_OUT_ERROR;
    }
    free(o->path);
    free(o->target);
    free(o->tmp);
    free(o);
    return rc;
}

/* How long wq_out_abort_all waits for a write under way, or for room in a
 * pipe to end the list. */
#define ABORT_MS 1000

void wq_out_abort_all(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ABORT_MS / 1000;
    if (pthread_mutex_timedlock(&out_mu, &until) != 0)
        return;  /* a write blocks (a pipe nobody reads): leave it torn */
    for (wq_out *o = outs; o; o = o->next) {
        if (o->tmp) {
            unlink(o->tmp);  /* the file is left as it was */
            continue;
        }
        struct pollfd p = {o->fd, POLLOUT, 0};
        if (list_open(o) && poll(&p, 1, ABORT_MS) == 1)
            write_all(o, o->started ? "]\n" : "[]\n", o->started ? 2 : 3,
                      &(wq_buf)WQ_BUF_INIT);
    }
    /* out_mu stays held: no write begins before the process ends. */
}
