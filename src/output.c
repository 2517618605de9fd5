/* output.c - the result writer; see output.h. */
#include "output.h"
#include "tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wq_out {
    int fd;
    char *path, *tmp;     /* the file and its temporary name, or NULL */
    int hold;             /* keeps the temporary file's lock (tmpfile.h) */
    enum wq_layout layout;
    int list, started, broken;
    int failed;           /* a write failed (reported once): later ones are not tried */
};

/* Opens FILE for the output: a temporary file beside it, renamed into place
 * at the end; but a device or a pipe (/dev/null, a FIFO) is written as it
 * is, since renaming over it would replace it. */
static int open_file(wq_out *o, const char *path, wq_buf *err)
{
    struct stat st;
    if (!(o->path = strdup(path)))
        return -1;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        wq_buf_printf(err, "%s: is a directory", path);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (o->fd < 0)
            wq_buf_printf(err, "cannot open %s: %s", path, strerror(errno));
        return o->fd < 0 ? -1 : 0;
    }
    o->fd = wq_tmpfile_create(path, &o->tmp, &o->hold, err);
    return o->fd < 0 ? -1 : 0;
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
    if (path && strcmp(path, "-") != 0 && open_file(o, path, err) < 0) {
        if (!err->len)
            wq_buf_adds(err, "out of memory");
        if (o->fd == STDOUT_FILENO)
            o->fd = -1;
        wq_out_close(o, 0, err);
        return NULL;
    }
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
        } else {
            p += n;
            len -= (size_t)n;
        }
    }
    return o->broken ? WQ_OUT_PIPE : WQ_OUT_OK;
}

int wq_out_list(wq_out *o, const char *p, size_t len, wq_buf *err)
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

int wq_out_value(wq_out *o, const char *p, size_t len, int raw, wq_buf *err)
{
    int rc = write_all(o, p, len, err);
    if (rc == WQ_OUT_OK && !raw && len > 0)
        rc = write_all(o, "\n", 1, err);
    return rc;
}

int wq_out_close(wq_out *o, int keep, wq_buf *err)
{
    int rc = o->failed ? WQ_OUT_ERROR : WQ_OUT_OK;
    if (o->list && o->layout == WQ_LAYOUT_JSON && !o->broken && !o->failed &&
        o->fd >= 0 && (keep || !o->tmp))
        rc = write_all(o, o->started ? "]\n" : "[]\n", o->started ? 2 : 3, err);
    if (o->tmp) {
        if (close(o->fd) != 0 && rc == WQ_OUT_OK && keep) {
            wq_buf_printf(err, "cannot write %s: %s", o->path, strerror(errno));
            rc = WQ_OUT_ERROR;
        }
        if (rc == WQ_OUT_OK && keep && rename(o->tmp, o->path) != 0) {
            wq_buf_printf(err, "cannot rename %s to %s: %s", o->tmp, o->path,
                          strerror(errno));
            rc = WQ_OUT_ERROR;
        }
        if (rc != WQ_OUT_OK || !keep)
            unlink(o->tmp);
        close(o->hold);
    } else if (o->path && o->fd >= 0 && close(o->fd) != 0 && rc == WQ_OUT_OK) {
        wq_buf_printf(err, "cannot write %s: %s", o->path, strerror(errno));
        rc = WQ_OUT_ERROR;
    }
    free(o->path);
    free(o->tmp);
    free(o);
    return rc;
}
