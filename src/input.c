/*
 * input.c - the item reader; see input.h.
 *
 * One buffer holds [start, end) of unread bytes from the current file. An
 * item is handed out as a pointer into it, so most items are never copied
 * here; the buffer is compacted or grown only when a record reaches its
 * end. The search for a record's end (record.c) keeps its place across
 * reads, so a long record is scanned once.
 *
 * A record longer than fmt->max is handed out as soon as the search passes
 * the bound, without its bytes; the next call skips the rest of it,
 * dropping what the search has passed before every read, so the buffer
 * never grows much past the bound.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "decompress.h"

#define CHUNK (1 << 20)

struct wq_input {
    const wq_inputs *files;
    int file, fd, eof;
    const wq_recfmt *fmt;
    wq_decomp *dz;            /* the current file, decompressed if need be */
    int64_t line;             /* LINE of the byte at start */
    int64_t item_line;        /* LINE of the last item */
    int64_t records;          /* of the current file, header included */
    int bom_done;
    int too_long;             /* the last item was longer than fmt->max */
    int skipping;             /* the rest of it is being read and dropped */
    wq_scan scan;
    char *buf;
    size_t cap, start, end;
};

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
    struct stat st;
    for (int i = 0; i < n; i++) {
        const char *path = paths[i];
        if (strcmp(path, "-") == 0)
            continue;
        if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
            wq_buf_printf(err, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            wq_buf_printf(err, "%s: is a directory", path);
            return -1;
        }
    }
    return 0;
}

wq_input *wq_input_new(const wq_inputs *files, const wq_recfmt *fmt)
{
    wq_input *in = calloc(1, sizeof *in);
    if (!in || !(in->buf = malloc(CHUNK))) {
        free(in);
        return NULL;
    }
    in->files = files;
    in->fmt = fmt;
    in->cap = CHUNK;
    in->fd = -1;
    in->file = -1;
    return in;
}

static void close_file(wq_input *in)
{
    wq_decomp_free(in->dz);
    in->dz = NULL;
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
}

void wq_input_free(wq_input *in)
{
    if (!in)
        return;
    close_file(in);
    free(in->buf);
    free(in);
}

/* Moves to the next file. Returns 1, 0 when there is none, -1 on error. */
static int next_file(wq_input *in, wq_buf *err)
{
    close_file(in);
    int last = in->files->n ? in->files->n : 1;
    if (in->file + 1 >= last)
        return 0;
    in->file++;
    in->line = 1;
    in->records = 0;
    in->eof = in->bom_done = in->skipping = 0;
    in->start = in->end = 0;
    in->scan = (wq_scan)WQ_SCAN_INIT;
    in->fd = in->files->n ? open_path(in->files->paths[in->file], err) : STDIN_FILENO;
    if (in->fd < 0)
        return -1;
    if (!(in->dz = wq_decomp_new(in->fd, in->files->names[in->file],
                                 in->fmt->zstd_window_log))) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    return 1;
}

/* What the buffer's size must be for the next read: twice what it was when
 * less than half a chunk is free, but never much past the longest record.
 * The search passes all but the last few bytes it holds (delimiters are at
 * most WQ_DELIM_MAX bytes) before a read, and a record that it passed past
 * the bound is dropped, so what is held before a read is at most the bound
 * and those bytes. */
static size_t grown(const wq_input *in)
{
    size_t max = in->fmt->max;
    if (in->cap - in->end >= CHUNK / 2)
        return in->cap;
    if (max && in->cap >= max + 2 * (size_t)CHUNK)
        return in->cap;  /* not reached: the bound leaves room */
    size_t cap = in->cap * 2;
    return max && cap > max + 2 * (size_t)CHUNK ? max + 2 * (size_t)CHUNK : cap;
}

/* Reads more of the current file after what is buffered. Returns the bytes
 * read, or what wq_decomp_read returns without bytes (decompress.h); a
 * record too long for memory is a WQ_DECOMP_ERROR too. */
static ssize_t fill(wq_input *in, wq_buf *err)
{
    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    size_t cap = grown(in);
    if (cap > in->cap) {
        char *p = realloc(in->buf, cap);
        if (!p) {
            wq_buf_printf(err, "%s: the item at line %lld is too long for memory",
                          in->files->names[in->file], (long long)in->line);
            return WQ_DECOMP_ERROR;
        }
        in->buf = p;
        in->cap = cap;
    }
    ssize_t n = wq_decomp_read(in->dz, in->buf + in->end, in->cap - in->end, err);
    if (n > 0)
        in->end += (size_t)n;
    return n;
}

/* CSV, TSV, --ndjson-in: a UTF-8 BOM at the start of a file is no part of
 * it. Returns 0 until enough bytes are there to tell. */
static int skip_bom(wq_input *in)
{
    static const char bom[] = "\xEF\xBB\xBF";
    size_t have = in->end - in->start;
    if (have < 3 && !in->eof && memcmp(in->buf + in->start, bom, have) == 0)
        return 0;
    if (have >= 3 && memcmp(in->buf + in->start, bom, 3) == 0)
        in->start += 3;
    in->bom_done = 1;
    return 1;
}

/* Skipping a record too long to keep: drops what the search has passed,
 * and at the record's end goes past it. Returns WQ_RECORD_FOUND at its end,
 * WQ_RECORD_MORE when more bytes are needed, WQ_RECORD_NONE when it ran to
 * the end of the file. */
static enum wq_record_rc skip_rest(wq_input *in)
{
    size_t n, skip;
    int64_t lines;
    enum wq_record_rc rc = wq_record_end(in->fmt, &in->scan, in->buf + in->start,
                                         in->end - in->start, in->eof, &n, &skip, &lines);
    if (rc == WQ_RECORD_MORE) {
        in->start += wq_record_drop(in->fmt, &in->scan, in->buf + in->start);
        return rc;
    }
    if (rc == WQ_RECORD_FOUND) {
        in->line += lines;
        in->start += n + skip;
    }
    in->skipping = 0;
    in->scan = (wq_scan)WQ_SCAN_INIT;
    return rc;
}

/* Hands out the record at start: its bytes, or none when it is longer than
 * the bound (end: whether its end is in view, else the rest is skipped). */
static void hand_out(wq_input *in, int end, size_t n, size_t skip, int64_t lines,
                     const char **item, size_t *len)
{
    size_t max = in->fmt->max;
    *item = in->buf + in->start;
    in->item_line = in->line;
    in->records++;
    in->too_long = !end || (max && n > max);
    *len = in->too_long ? 0 : n;
    if (!end) {
        in->skipping = 1;
        in->start += wq_record_drop(in->fmt, &in->scan, in->buf + in->start);
        return;
    }
    in->line += lines;
    in->start += n + skip;
    in->scan = (wq_scan)WQ_SCAN_INIT;
}

/* Cuts the next record out of the buffer. Returns WQ_RECORD_FOUND,
 * WQ_RECORD_MORE when more bytes are needed, WQ_RECORD_NONE when the file
 * has no more. */
static enum wq_record_rc take(wq_input *in, const char **item, size_t *len)
{
    const wq_recfmt *f = in->fmt;
    if (wq_record_skips_bom(f) && !in->bom_done && !skip_bom(in))
        return WQ_RECORD_MORE;
    enum wq_record_rc rc;
    while (in->skipping)
        if ((rc = skip_rest(in)) != WQ_RECORD_FOUND)
            return rc;
    if (f->kind == WQ_REC_WHOLE && in->records > 0)
        return WQ_RECORD_NONE;  /* the file's one record was handed out */
    if (in->scan.pos == 0 && in->scan.dropped == 0) {
        size_t lead = wq_record_lead(f, in->buf + in->start, in->end - in->start);
        in->start += lead;
        in->line += (int64_t)lead;  /* blank lines */
    }
    size_t n, skip;
    int64_t lines;
    rc = wq_record_end(f, &in->scan, in->buf + in->start, in->end - in->start,
                       in->eof, &n, &skip, &lines);
    if (rc == WQ_RECORD_NONE || (rc == WQ_RECORD_MORE && !(f->max && in->scan.pos > f->max)))
        return rc;
    hand_out(in, rc == WQ_RECORD_FOUND, n, skip, lines, item, len);
    return WQ_RECORD_FOUND;
}

/* Whether a record is no item: a header (kept), a blank NDJSON line.
 * Returns 1 to skip it, 0 to hand it out, -1 on error. */
static int not_an_item(wq_input *in, const char *rec, size_t len, wq_buf *err)
{
    const wq_recfmt *f = in->fmt;
    if (f->header && in->records == 1) {
        if (in->too_long) {
            char bound[WQ_SIZE_NAME];
            wq_record_size_name(f->max, bound, sizeof bound);
            wq_buf_printf(err, "%s: the header record is longer than the --max-record "
                          "bound of %s", in->files->names[in->file], bound);
            return -1;
        }
        if (f->headers && wq_headers_set(f->headers, in->file, rec, len) < 0) {
            wq_buf_adds(err, "out of memory");
            return -1;
        }
        return 1;
    }
    return f->decode == WQ_DECODE_JSON && !in->too_long && wq_record_blank(rec, len);
}

/* Whether a read of the current file would return at once. */
static int readable(const wq_input *in)
{
    struct pollfd p = {.fd = in->fd, .events = POLLIN};
    return wq_decomp_ready(in->dz) ||
           poll(&p, 1, 0) != 0;  /* an error too: let read report it */
}

enum wq_input_rc wq_input_next(wq_input *in, const char **item, size_t *len,
                               int wait, wq_buf *err)
{
    for (;;) {
        if (in->fd < 0) {
            int rc = next_file(in, err);
            if (rc <= 0)
                return rc < 0 ? WQ_INPUT_ERROR : WQ_INPUT_END;
        }
        enum wq_record_rc got = take(in, item, len);
        if (got == WQ_RECORD_FOUND) {
            int skip = not_an_item(in, *item, *len, err);
            if (skip < 0)
                return WQ_INPUT_ERROR;
            if (!skip)
                return WQ_INPUT_ITEM;
        } else if (got == WQ_RECORD_NONE) {
            close_file(in);  /* on to the next file */
        } else {
            if (!wait && !readable(in))
                return WQ_INPUT_LATER;
            ssize_t n = fill(in, err);
            if (n == WQ_DECOMP_LATER)
                continue;  /* nothing was held after all: to the descriptor */
            if (n < 0)
                return n == WQ_DECOMP_INTERRUPTED ? WQ_INPUT_INTERRUPTED : WQ_INPUT_ERROR;
            in->eof = n == WQ_DECOMP_END;
        }
    }
}

int wq_input_file(const wq_input *in) { return in->file; }

int64_t wq_input_line(const wq_input *in) { return in->item_line; }

int wq_input_too_long(const wq_input *in) { return in->too_long; }

/* MemAvailable from /proc/meminfo, in bytes; else the free and buffer
 * memory sysinfo gives; 0 when neither can be read. */
static uint64_t memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb)
        return (uint64_t)kb << 10;
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        return ((uint64_t)si.freeram + si.bufferram) * si.mem_unit;
    return 0;
}

size_t wq_input_max_default(void)
{
    uint64_t quarter = memory_available() / 4, max = WQ_MAX_RECORD;
    if (quarter && quarter < max)
        max = quarter < CHUNK ? CHUNK : quarter;
    return (size_t)max;
}

int wq_input_rest_is_regular(const wq_input *in)
{
    struct stat st;
    if (in->fd >= 0 && (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode)))
        return 0;
    char *const *paths = in->files->paths;
    for (int i = in->file + 1; i < in->files->n; i++)
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 ||
            !S_ISREG(st.st_mode))
            return 0;
    return 1;
}
