/* record.c - record formats; see record.h. */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One escape after a backslash at s; returns its byte, or -1. *used: the
 * characters after the backslash it took. */
static int unescape(const char *s, int *used)
{
    static const char from[] = "ntr0\\", to[] = "\n\t\r\0\\";
    const char *at = *s ? strchr(from, *s) : NULL;
    *used = 1;
    if (at)
        return (unsigned char)to[at - from];
    if (*s == 'x' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
        *used = 3;
        return hex(s[1]) * 16 + hex(s[2]);
    }
    return -1;
}

int wq_record_delimiter(wq_recfmt *f, const char *s, wq_buf *err)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        int c = (unsigned char)*p, used = 0;
        if (c == '\\' && (c = unescape(p + 1, &used)) < 0) {
            wq_buf_printf(err, "--delimiter: unknown escape in '%s' (use \\n \\t "
                          "\\r \\0 \\\\ or \\xHH)", s);
            return -1;
        }
        if (n == WQ_DELIM_MAX) {
            wq_buf_printf(err, "--delimiter: longer than %d bytes", WQ_DELIM_MAX);
            return -1;
        }
        f->delim[n++] = (char)c;
        p += used;
    }
    if (n == 0) {
        wq_buf_adds(err, "--delimiter: empty");
        return -1;
    }
    f->kind = WQ_REC_DELIM;
    f->delim_len = n;
    return 0;
}

/* Whether a record's LINE (where(), failure reports) is its line in the
 * file (else it is its number: -0, a -d STR without a newline). */
static int by_line_of(const wq_recfmt *f)
{
    return f->kind != WQ_REC_DELIM || memchr(f->delim, '\n', f->delim_len);
}

static int64_t count_nl(const char *p, size_t n)
{
    int64_t k = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        k++;
    return k;
}

size_t wq_record_lead(const wq_recfmt *f, const char *p, size_t n)
{
    size_t i = 0;
    if (f->kind == WQ_REC_PARAGRAPH)
        while (i < n && p[i] == '\n')
            i++;
    return i;
}

/* The end of a record that runs to the end of the input. */
static enum wq_record_rc last(size_t n, int64_t lines, size_t *len, size_t *skip,
                              int64_t *nl)
{
    if (n == 0)
        return WQ_RECORD_NONE;
    *len = n;
    *skip = 0;
    *nl = lines;
    return WQ_RECORD_FOUND;
}

static int end_line(wq_scan *s, const char *p, size_t n, int eof, size_t *len,
                    size_t *skip, int64_t *lines)
{
    const char *hit = memchr(p + s->pos, '\n', n - s->pos);
    if (!hit) {
        if (n > s->pos)  /* a last "\r" may be the terminator's: not yet passed */
            s->pos = n - (p[n - 1] == '\r');
        return eof ? last(n, 1, len, skip, lines) : 0;
    }
    size_t i = (size_t)(hit - p);
    *len = i - (i > 0 && p[i - 1] == '\r');
    *skip = i + 1 - *len;
    *lines = 1;
    return 1;
}

static const char *find(const char *p, size_t n, const char *d, size_t dlen)
{
    for (const char *end = p + n; (size_t)(end - p) >= dlen; p++) {
        if (!(p = memchr(p, d[0], (size_t)(end - p) - dlen + 1)))
            return NULL;
        if (memcmp(p, d, dlen) == 0)
            return p;
    }
    return NULL;
}

static int end_delim(const wq_recfmt *f, wq_scan *s, const char *p, size_t n,
                     int eof, size_t *len, size_t *skip, int64_t *lines)
{
    size_t dlen = f->delim_len;
    const char *hit = find(p + s->pos, n - s->pos, f->delim, dlen);
    int by_line = by_line_of(f);
    if (!hit) {
        if (n - s->pos >= dlen)
            s->pos = n - dlen + 1;  /* a delimiter may start in the last bytes */
        return eof ? last(n, by_line ? s->nl + count_nl(p, n) : 1, len, skip, lines)
                   : 0;
    }
    *len = (size_t)(hit - p);
    *skip = dlen;
    *lines = by_line ? s->nl + count_nl(p, *len + dlen) : 1;
    return 1;
}

/* A paragraph ends at its first blank line ("\n\n"); the blank lines after
 * it are the next record's lead. */
static int end_paragraph(wq_scan *s, const char *p, size_t n, int eof,
                         size_t *len, size_t *skip, int64_t *lines)
{
    for (const char *q = p + s->pos; (q = memchr(q, '\n', (size_t)(p + n - q))); q++) {
        size_t k = (size_t)(q - p);
        if (k + 1 == n && !eof) {
            s->pos = k;  /* is the next byte a newline too? */
            return 0;
        }
        if (k + 1 == n || p[k + 1] == '\n') {
            *len = k;
            *skip = k + 1 == n ? 1 : 2;
            *lines = s->nl + count_nl(p, k + *skip);
            return 1;
        }
    }
    s->pos = n;
    return eof ? last(n, s->nl + count_nl(p, n), len, skip, lines) : 0;
}

/* A record ended by "\r\n", "\n" or a bare "\r" (CSV outside quotes,
 * TSV), at p[i], one of the two: sets *len and *skip. Returns 0 when p[i]
 * is a "\r" at the end of what came and more may follow: whether a "\n"
 * comes next is not known yet. */
static int crlf_end(const char *p, size_t i, size_t n, int eof, size_t *len,
                    size_t *skip)
{
    if (p[i] == '\r' && i + 1 == n && !eof)
        return 0;
    *len = i;
    *skip = p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
    return 1;
}

/* Where a short record ends when it holds neither c1 nor c2: at the first
 * "\n" among the next LOOK bytes (at the "\r" of a "\r\n"). Returns that
 * position, or n when there is none or a byte before it is c1 or c2 (the
 * caller then scans byte by byte). Bounded, so that a file whose lines end
 * in a bare "\r" is not searched to its end for each record. */
static size_t short_line(const char *p, size_t i, size_t n, int c1, int c2)
{
    enum { LOOK = 256 };
    size_t span = n - i < LOOK ? n - i : LOOK;
    const char *end = memchr(p + i, '\n', span);
    if (!end)
        return n;
    size_t k = (size_t)(end - p), body = k - i - (k > i && p[k - 1] == '\r');
    if (memchr(p + i, c1, body) || memchr(p + i, c2, body))
        return n;
    return k - (k > i && p[k - 1] == '\r');
}

/* TSV: fields hold no quoting, so the first "\r" or "\n" ends the record. */
static int end_tsv(wq_scan *s, const char *p, size_t n, int eof, size_t *len,
                   size_t *skip, int64_t *lines)
{
    size_t i = short_line(p, s->pos, n, '\r', '\r');
    if (i == n)
        for (i = s->pos; i < n && p[i] != '\n' && p[i] != '\r'; i++)
            ;
    if (i < n && crlf_end(p, i, n, eof, len, skip)) {
        *lines = 1;
        return 1;
    }
    s->pos = i;
    return eof ? last(n, 1, len, skip, lines) : 0;
}

/* CSV quoting states, as Python's csv module has them. */
enum { C_START, C_FIELD, C_QUOTED, C_QUOTE };

/* Inside quotes, to the closing quote: newlines and "\r" are data. */
static size_t quoted_to(const char *p, size_t i, size_t n, int64_t *nl)
{
    const char *q = memchr(p + i, '"', n - i);
    size_t stop = q ? (size_t)(q - p) : n;
    *nl += count_nl(p + i, stop - i);
    return stop;
}

static int end_csv(wq_scan *s, const char *p, size_t n, int eof, size_t *len,
                   size_t *skip, int64_t *lines)
{
    size_t i = s->pos;
    int st = s->state;
    int64_t nl = s->nl;
    if (st != C_QUOTED) {  /* a short record without quotes: its end at once */
        size_t k = short_line(p, i, n, '"', '\r');
        i = k < n ? k : i;
    }
    while (i < n) {
        if (st == C_QUOTED) {
            if ((i = quoted_to(p, i, n, &nl)) == n)
                break;
            st = C_QUOTE;
            i++;
            continue;
        }
        char c = p[i];
        if (c == '\n' || c == '\r') {
            if (!crlf_end(p, i, n, eof, len, skip))
                break;
            *lines = nl + 1;
            return 1;
        }
        st = c == ',' ? C_START
           : c == '"' && st != C_FIELD ? C_QUOTED : C_FIELD;
        i++;
    }
    s->pos = i;
    s->state = st;
    s->nl = nl;
    return eof ? last(n, nl + 1, len, skip, lines) : 0;
}

/* A whole file ends at its end; until then every byte is known to be in
 * it, so that --max-record can tell a file that grew past the bound. */
static int end_whole(wq_scan *s, size_t n, int eof, size_t *len, size_t *skip,
                     int64_t *lines)
{
    s->pos = n;
    if (!eof)
        return 0;
    *len = n;
    *skip = 0;
    *lines = 1;
    return 1;
}

enum wq_record_rc wq_record_end(const wq_recfmt *f, wq_scan *s, const char *p,
                                size_t n, int eof, size_t *len, size_t *skip,
                                int64_t *lines)
{
    switch (f->kind) {
    case WQ_REC_DELIM: return end_delim(f, s, p, n, eof, len, skip, lines);
    case WQ_REC_PARAGRAPH: return end_paragraph(s, p, n, eof, len, skip, lines);
    case WQ_REC_CSV: return end_csv(s, p, n, eof, len, skip, lines);
    case WQ_REC_TSV: return end_tsv(s, p, n, eof, len, skip, lines);
    case WQ_REC_WHOLE: return end_whole(s, n, eof, len, skip, lines);
    default: return end_line(s, p, n, eof, len, skip, lines);
    }
}

size_t wq_record_drop(const wq_recfmt *f, wq_scan *s, const char *p)
{
    size_t k = s->pos;
    if (f->kind != WQ_REC_CSV)  /* CSV counts the newlines it passes itself */
        s->nl += count_nl(p, k);
    s->pos = 0;
    s->dropped += k;
    return k;
}

int wq_record_skips_bom(const wq_recfmt *f)
{
    return f->decode == WQ_DECODE_JSON || f->kind == WQ_REC_CSV || f->kind == WQ_REC_TSV;
}

void wq_record_size_name(size_t size, char *name, size_t bufsize)
{
    static const char *const units[] = {"GiB", "MiB", "KiB"};
    for (int u = 0; u < 3; u++) {
        size_t unit = (size_t)1 << (30 - 10 * u);
        if (size >= unit && size % unit == 0) {
            snprintf(name, bufsize, "%zu %s", size / unit, units[u]);
            return;
        }
    }
    snprintf(name, bufsize, "%zu byte%s", size, size == 1 ? "" : "s");
}

int wq_record_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

void wq_fields_init(wq_fields *it, const wq_recfmt *f, const char *rec,
                    size_t len)
{
    it->p = rec;
    it->end = rec + len;
    it->more = len > 0;
    it->csv = f->kind == WQ_REC_CSV;
}

/* Ends the field at stop, a delimiter or the record's end. */
static void after(wq_fields *it, const char *stop)
{
    it->more = stop < it->end;
    it->p = stop < it->end ? stop + 1 : stop;
}

/* A quoted field: its text unquoted, then whatever follows the closing
 * quote up to the next comma (kept, as Python's csv does). Points into the
 * record unless a "" or such a tail made a copy necessary. */
static void quoted(wq_fields *it, wq_buf *tmp, const char **field, size_t *len)
{
    const char *p = it->p + 1, *end = it->end, *q;
    int copied = 0;
    wq_buf_reset(tmp);
    while ((q = memchr(p, '"', (size_t)(end - p))) && q + 1 < end && q[1] == '"') {
        wq_buf_add(tmp, p, (size_t)(q + 1 - p));  /* "" is one quote */
        copied = 1;
        p = q + 2;
    }
    const char *close = q ? q : end;  /* no closing quote: the rest */
    const char *rest = q ? q + 1 : end;
    const char *stop = memchr(rest, ',', (size_t)(end - rest));
    stop = stop ? stop : end;
    if (!copied && stop == rest) {
        *field = p;
        *len = (size_t)(close - p);
    } else {
        wq_buf_add(tmp, p, (size_t)(close - p));
        wq_buf_add(tmp, rest, (size_t)(stop - rest));
        *field = tmp->data ? tmp->data : "";
        *len = tmp->len;
    }
    after(it, stop);
}

int wq_fields_next(wq_fields *it, wq_buf *tmp, const char **field, size_t *len)
{
    if (!it->more)
        return 0;
    if (it->csv && it->p < it->end && *it->p == '"') {
        quoted(it, tmp, field, len);
        return 1;
    }
    const char *stop = memchr(it->p, it->csv ? ',' : '\t', (size_t)(it->end - it->p));
    stop = stop ? stop : it->end;
    *field = it->p;
    *len = (size_t)(stop - it->p);
    after(it, stop);
    return 1;
}

struct wq_headers {
    int n;
    struct { char *data; size_t len; } *file;
};

wq_headers *wq_headers_new(int nfiles)
{
    wq_headers *h = calloc(1, sizeof *h);
    if (h && !(h->file = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof *h->file))) {
        free(h);
        return NULL;
    }
    if (h)
        h->n = nfiles > 0 ? nfiles : 1;
    return h;
}

void wq_headers_free(wq_headers *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++)
        free(h->file[i].data);
    free(h->file);
    free(h);
}

int wq_headers_set(wq_headers *h, int file, const char *rec, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, rec, len);
    copy[len] = '\0';
    h->file[file].data = copy;
    h->file[file].len = len;
    return 0;
}

const char *wq_headers_get(const wq_headers *h, int file, size_t *len)
{
    if (!h || file < 0 || file >= h->n)
        return NULL;
    *len = h->file[file].len;
    return h->file[file].data;
}

int wq_headers_count(const wq_headers *h)
{
    return h ? h->n : 0;
}
