/*
 * input.c - the item reader; see input.h.
 *
 * One buffer holds [start, end) of unread bytes from the current file. An
 * item is handed out as a pointer into it, so most items are never copied
 * here; the buffer is compacted or grown only when an item reaches its end.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)

struct wq_input {
    char *const *paths;
    int npaths, file, fd, eof;
    char sep;
    int64_t line;
    char *buf;
    size_t cap, start, end, scan;  /* scan: bytes after start known to hold no sep */
};

static const char *name_of(char *const *paths, int n, int i)
{
    return n == 0 || strcmp(paths[i], "-") == 0 ? "stdin" : paths[i];
}

static int open_path(const char *path, wq_buf *err)
{
    if (strcmp(path, "-") == 0)
        return STDIN_FILENO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wq_buf_printf(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        wq_buf_printf(err, "%s: is a directory", path);
        close(fd);
        return -1;
    }
    return fd;
}

int wq_input_check(char *const *paths, int n, wq_buf *err)
{
    for (int i = 0; i < n; i++) {
        int fd = open_path(paths[i], err);
        if (fd < 0)
            return -1;
        if (fd != STDIN_FILENO)
            close(fd);
    }
    return 0;
}

wq_input *wq_input_new(char *const *paths, int n, char sep)
{
    wq_input *in = calloc(1, sizeof *in);
    if (!in || !(in->buf = malloc(CHUNK))) {
        free(in);
        return NULL;
    }
    in->paths = paths;
    in->npaths = n;
    in->sep = sep;
    in->cap = CHUNK;
    in->fd = -1;
    in->file = -1;
    return in;
}

void wq_input_free(wq_input *in)
{
    if (!in)
        return;
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    free(in->buf);
    free(in);
}

/* Moves to the next file. Returns 1, 0 when there is none, -1 on error. */
static int next_file(wq_input *in, wq_buf *err)
{
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
    int last = in->npaths ? in->npaths : 1;
    if (in->file + 1 >= last)
        return 0;
    in->file++;
    in->line = 0;
    in->eof = 0;
    in->start = in->end = in->scan = 0;
    in->fd = in->npaths ? open_path(in->paths[in->file], err) : STDIN_FILENO;
    return in->fd < 0 ? -1 : 1;
}

/* Reads more of the current file after what is buffered. Returns the bytes
 * read (0 at end of file), -1 on error or -2 when a signal interrupted the
 * read. */
static ssize_t fill(wq_input *in, wq_buf *err)
{
    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    if (in->cap - in->end < CHUNK / 2) {
        char *p = realloc(in->buf, in->cap * 2);
        if (!p) {
            wq_buf_printf(err, "%s: line %lld is too long for memory",
                          wq_input_name(in, in->file), (long long)in->line + 1);
            return -1;
        }
        in->buf = p;
        in->cap *= 2;
    }
    ssize_t n = read(in->fd, in->buf + in->end, in->cap - in->end);
    if (n < 0 && errno == EINTR)
        return -2;
    if (n < 0)
        wq_buf_printf(err, "cannot read %s: %s", wq_input_name(in, in->file),
                      strerror(errno));
    else
        in->end += (size_t)n;
    return n;
}

/* Cuts the item [start, start + len) out of the buffer, dropping `skip`
 * separator bytes after it. */
static int emit(wq_input *in, const char **item, size_t *len, size_t n, size_t skip)
{
    *item = in->buf + in->start;
    *len = n;
    if (in->sep == '\n' && n > 0 && (*item)[n - 1] == '\r' && skip)
        (*len)--;
    in->start += n + skip;
    in->scan = 0;
    in->line++;
    return 1;
}

/* Whether a read of the current file would return at once. */
static int readable(const wq_input *in)
{
    struct pollfd p = {.fd = in->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;  /* an error too: let read report it */
}

enum wq_input_rc wq_input_next(wq_input *in, const char **item, size_t *len,
                               int wait, wq_buf *err)
{
    if (in->fd < 0) {
        int rc = next_file(in, err);
        if (rc <= 0)
            return rc < 0 ? WQ_INPUT_ERROR : WQ_INPUT_END;
    }
    for (;;) {
        char *from = in->buf + in->start + in->scan;
        char *hit = memchr(from, in->sep, in->end - in->start - in->scan);
        if (hit)
            return emit(in, item, len, (size_t)(hit - (in->buf + in->start)), 1);
        in->scan = in->end - in->start;
        if (!in->eof) {
            if (!wait && !readable(in))
                return WQ_INPUT_LATER;
            ssize_t n = fill(in, err);
            if (n < 0)
                return n == -2 ? WQ_INPUT_INTERRUPTED : WQ_INPUT_ERROR;
            in->eof = n == 0;
            continue;
        }
        if (in->end > in->start)
            return emit(in, item, len, in->end - in->start, 0);
        int rc = next_file(in, err);
        if (rc <= 0)
            return rc < 0 ? WQ_INPUT_ERROR : WQ_INPUT_END;
    }
}

int wq_input_file(const wq_input *in) { return in->file; }

const char *wq_input_name(const wq_input *in, int file)
{
    return name_of(in->paths, in->npaths, file);
}

int64_t wq_input_line(const wq_input *in) { return in->line; }

int wq_input_rest_is_regular(const wq_input *in)
{
    struct stat st;
    if (in->fd >= 0 && (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode)))
        return 0;
    for (int i = in->file + 1; i < in->npaths; i++)
        if (strcmp(in->paths[i], "-") == 0 || stat(in->paths[i], &st) != 0 ||
            !S_ISREG(st.st_mode))
            return 0;
    return 1;
}
