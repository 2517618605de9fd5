/*
 * decompress.c - transparent decompression; see decompress.h.
 *
 * Compressed bytes go through `in`, which also holds the first bytes read
 * to tell the format. Each codec's step() turns some of `in` into output;
 * one loop (codec_read) around it reads more only when nothing is held, and
 * returns what it has rather than block on a pipe for more. gzip goes
 * through ISA-L's inflate where the build found it (WQ_ISAL; about three
 * times zlib's speed), through zlib's otherwise.
 *
 * What is accepted is what the reference tools accept: gzip members one
 * after the other, then zero bytes to the end (the padding of tapes and
 * block-padded files, which gzip -d ignores); xz streams and their padding
 * (liblzma's LZMA_CONCATENATED); zstd frames and skippable frames in any
 * order, a skippable one first too (pzstd starts every file with one). A
 * zstd frame whose window is over the limit (zstd's default, 2^27, or
 * 2^window_log) is refused before its window is allocated, as zstd -d
 * refuses it; the message gives the window, read again from the frame's
 * first bytes kept in `head`, and the option that would read it.
 */
#include "decompress.h"

#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>
#ifdef WQ_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#define INBUF (256u << 10)

enum kind { K_UNKNOWN, K_PLAIN, K_GZIP, K_XZ, K_ZSTD };

/* first_mask: the bits of the first byte that must match; a zstd
 * skippable frame's magic is any of 0x184D2A50..5F, little-endian. */
static const struct magic {
    enum kind kind;
    const char *bytes;
    size_t len;
    const char *name;
    unsigned char first_mask;
} magics[] = {
    {K_GZIP, "\x1f\x8b", 2, "gzip", 0xff},
    {K_XZ, "\xfd" "7zXZ\0", 6, "xz", 0xff},
    {K_ZSTD, "\x28\xb5\x2f\xfd", 4, "zstd", 0xff},
    {K_ZSTD, "\x50\x2a\x4d\x18", 4, "zstd", 0xf0},
};

/* zstd's window limit without --zstd-long: 2^ZSTD_WINDOWLOG_LIMIT_DEFAULT. */
#define ZSTD_DEFAULT_LOG 27
/* The longest zstd frame header (ZSTD_FRAMEHEADERSIZE_MAX). */
#define ZSTD_HEAD_MAX 18

struct wq_decomp {
    int fd;
    const char *name;
    enum kind kind;
    const char *format;      /* the codec's name, for messages */
    unsigned char *in;
    size_t in_pos, in_len;
    int in_eof;
    int ended;               /* the codec is at the end of a stream */
    int full;                /* the last step filled the output: it may
                                hold more */
    int padding;             /* gzip: zero bytes after the last member */
    int window_log;          /* zstd: the window limit's log, 0 default */
    unsigned char head[ZSTD_HEAD_MAX];  /* zstd: the current frame's first
                                bytes, as far as they were read */
    size_t head_len;
    uint64_t frame_pos;      /* zstd: bytes of the current frame taken */
#ifdef WQ_ISAL
    struct inflate_state *g;
#else
    z_stream z;
#endif
    lzma_stream x;
    ZSTD_DStream *zs;
};

wq_decomp *wq_decomp_new(int fd, const char *name, int zstd_window_log)
{
    wq_decomp *d = calloc(1, sizeof *d);
    if (!d || !(d->in = malloc(INBUF))) {
        free(d);
        return NULL;
    }
    d->fd = fd;
    d->name = name;
    d->window_log = zstd_window_log;
    lzma_stream init = LZMA_STREAM_INIT;
    d->x = init;
    return d;
}

void wq_decomp_free(wq_decomp *d)
{
    if (!d)
        return;
#ifdef WQ_ISAL
    free(d->g);
#else
    if (d->kind == K_GZIP)
        inflateEnd(&d->z);
#endif
    if (d->kind == K_XZ)
        lzma_end(&d->x);
    ZSTD_freeDStream(d->zs);
    free(d->in);
    free(d);
}

/* "cannot read NAME: gzip data is corrupt" */
static ssize_t fail(const wq_decomp *d, wq_buf *err, const char *what)
{
    wq_buf_printf(err, "cannot read %s: %s data is %s", d->name, d->format, what);
    return WQ_DECOMP_ERROR;
}

static ssize_t read_error(const wq_decomp *d, wq_buf *err)
{
    wq_buf_printf(err, "cannot read %s: %s", d->name, strerror(errno));
    return WQ_DECOMP_ERROR;
}

/* Appends what the descriptor has to `in`. Returns the bytes read (0 at
 * the end), WQ_DECOMP_ERROR or WQ_DECOMP_INTERRUPTED. */
static ssize_t read_more(wq_decomp *d, wq_buf *err)
{
    if (d->in_pos == d->in_len)
        d->in_pos = d->in_len = 0;
    ssize_t n = read(d->fd, d->in + d->in_len, INBUF - d->in_len);
    if (n < 0 && errno == EINTR)
        return WQ_DECOMP_INTERRUPTED;
    if (n < 0)
        return read_error(d, err);
    d->in_len += (size_t)n;
    d->in_eof = n == 0;
    return n;
}

/* Whether the first n bytes of p match the first n of m's magic. */
static int magic_prefix(const struct magic *m, const unsigned char *p, size_t n)
{
    if (n == 0)
        return 1;
    return ((p[0] ^ (unsigned char)m->bytes[0]) & m->first_mask) == 0 &&
           memcmp(p + 1, m->bytes + 1, n - 1) == 0;
}

/* Whether the bytes read so far could still begin a magic number. */
static int maybe_magic(const wq_decomp *d)
{
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
        if (d->in_len < magics[i].len && magic_prefix(&magics[i], d->in, d->in_len))
            return 1;
    return 0;
}

static int start_zstd(wq_decomp *d)
{
    if (!(d->zs = ZSTD_createDStream()))
        return -1;
    int log = d->window_log ? d->window_log : ZSTD_DEFAULT_LOG;
    return ZSTD_isError(ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, log)) ? -1 : 0;
}

static int start_codec(wq_decomp *d)
{
    switch (d->kind) {
#ifdef WQ_ISAL
    case K_GZIP:
        if (!(d->g = malloc(sizeof *d->g)))
            return -1;
        isal_inflate_init(d->g);
        d->g->crc_flag = ISAL_GZIP;
        return 0;
#else
    case K_GZIP: return inflateInit2(&d->z, 15 + 16) == Z_OK ? 0 : -1;
#endif
    case K_XZ:
        return lzma_stream_decoder(&d->x, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK
                   ? 0 : -1;
    case K_ZSTD: return start_zstd(d);
    default: return 0;
    }
}

/* Reads the first bytes and picks the codec. Returns 0, WQ_DECOMP_ERROR or
 * WQ_DECOMP_INTERRUPTED. */
static ssize_t detect(wq_decomp *d, wq_buf *err)
{
    while (!d->in_eof && maybe_magic(d)) {
        ssize_t n = read_more(d, err);
        if (n < 0)
            return n;
    }
    d->kind = K_PLAIN;
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
        if (d->in_len >= magics[i].len && magic_prefix(&magics[i], d->in, magics[i].len)) {
            d->kind = magics[i].kind;
            d->format = magics[i].name;
        }
    if (start_codec(d) < 0) {
        d->kind = K_PLAIN;  /* nothing to end in wq_decomp_free */
        wq_buf_printf(err, "cannot read %s: out of memory for %s", d->name,
                      d->format);
        return WQ_DECOMP_ERROR;
    }
    return 0;
}

/* STEP_WINDOW: a zstd frame's window is over the limit. */
enum { STEP_WINDOW = -2, STEP_ERROR = -1, STEP_OK, STEP_END };

/* After a gzip member, a zero byte starts padding that must run to the end
 * of the input, as gzip -d reads it; any other byte after it is an error.
 * Returns STEP_END (the stream stays ended) or STEP_ERROR. */
static int step_padding(wq_decomp *d)
{
    d->padding = 1;
    while (d->in_pos < d->in_len && d->in[d->in_pos] == 0)
        d->in_pos++;
    return d->in_pos < d->in_len ? STEP_ERROR : STEP_END;
}

static int at_padding(const wq_decomp *d)
{
    return d->padding || (d->ended && d->in_pos < d->in_len && d->in[d->in_pos] == 0);
}

#ifdef WQ_ISAL
static int step_gzip(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    struct inflate_state *g = d->g;
    if (at_padding(d))
        return step_padding(d);
    if (d->ended) {  /* the next member */
        isal_inflate_reset(g);
        g->crc_flag = ISAL_GZIP;
    }
    g->next_in = d->in + d->in_pos;
    g->avail_in = (uint32_t)(d->in_len - d->in_pos);
    g->next_out = (uint8_t *)out;
    g->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    uint32_t room = g->avail_out;
    int rc = isal_inflate(g);
    d->in_pos = d->in_len - g->avail_in;
    *made = room - g->avail_out;
    if (rc < 0 || rc == ISAL_NEED_DICT)
        return STEP_ERROR;
    return g->block_state == ISAL_BLOCK_FINISH ? STEP_END : STEP_OK;
}
#else
static int step_gzip(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    if (at_padding(d))
        return step_padding(d);
    if (d->ended)
        inflateReset(&d->z);  /* the next member */
    d->z.next_in = d->in + d->in_pos;
    d->z.avail_in = (uInt)(d->in_len - d->in_pos);
    d->z.next_out = (unsigned char *)out;
    d->z.avail_out = cap > UINT32_MAX ? UINT32_MAX : (uInt)cap;
    uInt room = d->z.avail_out;
    int rc = inflate(&d->z, Z_NO_FLUSH);
    d->in_pos = d->in_len - d->z.avail_in;
    *made = room - d->z.avail_out;
    if (rc == Z_STREAM_END)
        return STEP_END;
    return rc == Z_OK || rc == Z_BUF_ERROR ? STEP_OK : STEP_ERROR;
}
#endif

static int step_xz(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    d->x.next_in = d->in + d->in_pos;
    d->x.avail_in = d->in_len - d->in_pos;
    d->x.next_out = (uint8_t *)out;
    d->x.avail_out = cap;
    lzma_ret rc = lzma_code(&d->x, d->in_eof ? LZMA_FINISH : LZMA_RUN);
    d->in_pos = d->in_len - d->x.avail_in;
    *made = cap - d->x.avail_out;
    if (rc == LZMA_STREAM_END)
        return STEP_END;
    return rc == LZMA_OK || rc == LZMA_BUF_ERROR ? STEP_OK : STEP_ERROR;
}

/* Keeps the current frame's first bytes as they come: the decoder may
 * take a header in pieces over several calls and keeps no copy a caller
 * can read. */
static void keep_head(wq_decomp *d)
{
    if (d->frame_pos >= ZSTD_HEAD_MAX)
        return;
    size_t n = ZSTD_HEAD_MAX - (size_t)d->frame_pos, held = d->in_len - d->in_pos;
    n = n < held ? n : held;
    memcpy(d->head + d->frame_pos, d->in + d->in_pos, n);
    if (d->frame_pos + n > d->head_len)
        d->head_len = (size_t)d->frame_pos + n;
}

/* A call of ZSTD_decompressStream returns at the end of each frame (0), so
 * that frame_pos counts the bytes of one frame. */
static int step_zstd(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    keep_head(d);
    ZSTD_inBuffer in = {d->in + d->in_pos, d->in_len - d->in_pos, 0};
    ZSTD_outBuffer o = {out, cap, 0};
    size_t rc = ZSTD_decompressStream(d->zs, &o, &in);
    d->in_pos += in.pos;
    d->frame_pos += in.pos;
    *made = o.pos;
    if (ZSTD_isError(rc))
        return ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge
                   ? STEP_WINDOW : STEP_ERROR;
    if (rc == 0)  /* a frame is complete; the next one's bytes follow */
        d->frame_pos = d->head_len = 0;
    return rc == 0 ? STEP_END : STEP_OK;
}

/* The little-endian number in n bytes at p. */
static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* The window a zstd frame header declares (RFC 8878, 3.1.1.1), or 0 when
 * h holds too little of it (never after the decoder refused the window:
 * it reads the whole header first). A single-segment frame's window is its
 * content's size. */
static uint64_t zstd_window(const unsigned char *h, size_t n)
{
    static const size_t did_size[] = {0, 1, 2, 4}, fcs_size[] = {1, 2, 4, 8};
    if (n < 6)
        return 0;
    unsigned fhd = h[4];
    if (!(fhd & 0x20)) {
        uint64_t base = (uint64_t)1 << (10 + (h[5] >> 3));
        return base + base / 8 * (h[5] & 7);
    }
    size_t at = 5 + did_size[fhd & 3], len = fcs_size[fhd >> 6];
    if (n < at + len)
        return 0;
    return le(h + at, len) + (len == 2 ? 256 : 0);
}

/* "256 MiB", "1 GiB", "1500000 bytes": a size in the largest unit that
 * holds it whole. */
static void size_text(uint64_t size, char *text, size_t cap)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && size >= 1024 && size % 1024 == 0) {
        size /= 1024;
        u++;
    }
    snprintf(text, cap, "%llu %s", (unsigned long long)size, units[u]);
}

/* "cannot read NAME: zstd window of 256 MiB is over the default limit of
 * 128 MiB: give --zstd-long=28 to read it (as zstd -d --long=28)". The
 * option is the command line's: the message must say what reads the
 * file. */
static ssize_t window_error(const wq_decomp *d, wq_buf *err)
{
    int log = d->window_log ? d->window_log : ZSTD_DEFAULT_LOG, need = WQ_ZSTD_LONG_MIN;
    uint64_t size = zstd_window(d->head, d->head_len);
    char have[32], limit[32], largest[32], set[40] = "";
    while (need < 63 && ((uint64_t)1 << need) < size)
        need++;
    size_text(size, have, sizeof have);
    size_text((uint64_t)1 << log, limit, sizeof limit);
    size_text((uint64_t)1 << WQ_ZSTD_LONG_MAX, largest, sizeof largest);
    if (d->window_log)
        snprintf(set, sizeof set, " that --zstd-long=%d sets", d->window_log);
    wq_buf_printf(err, "cannot read %s: zstd window of %s is over the %slimit of %s%s",
                  d->name, have, d->window_log ? "" : "default ", limit, set);
    if (need > WQ_ZSTD_LONG_MAX)
        wq_buf_printf(err, ": no --zstd-long reads it (the largest, %d, allows %s)",
                      WQ_ZSTD_LONG_MAX, largest);
    else
        wq_buf_printf(err, ": give --zstd-long=%d to read it (as zstd -d --long=%d)",
                      need, need);
    return WQ_DECOMP_ERROR;
}

/* At the end of a stream with nothing held, a step waits for the bytes
 * that may begin the next: starting a member or frame on no input would
 * make the end of the input look like a truncated one. */
static int step(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    if (d->ended && d->in_pos == d->in_len) {
        *made = 0;
        return STEP_END;
    }
    switch (d->kind) {
    case K_GZIP: return step_gzip(d, out, cap, made);
    case K_XZ: return step_xz(d, out, cap, made);
    default: return step_zstd(d, out, cap, made);
    }
}

/* Runs the codec over what `in` holds, reading more when it holds nothing
 * and nothing was produced yet, if may_read, and then once: not after the
 * first bytes were read to tell the format, nor when the last call filled
 * its room (the caller was told bytes were ready), so that a caller that
 * polled first is never kept waiting; WQ_DECOMP_LATER then says the
 * descriptor is next. */
static ssize_t codec_read(wq_decomp *d, char *out, size_t cap, int may_read, wq_buf *err)
{
    size_t produced = 0;
    may_read = may_read && !d->full;
    for (;;) {
        int more_in = d->in_pos < d->in_len;
        if (more_in || d->full || (d->in_eof && !d->ended)) {
            size_t before = d->in_pos, made = 0;
            int rc = step(d, out + produced, cap - produced, &made);
            produced += made;
            d->full = produced == cap;
            if (rc == STEP_WINDOW)
                return window_error(d, err);
            if (rc == STEP_ERROR)
                return fail(d, err, "corrupt");
            d->ended = rc == STEP_END;
            if (d->full)
                return (ssize_t)produced;
            int stalled = rc == STEP_OK && made == 0 && d->in_pos == before;
            if (!stalled)
                continue;
            if (more_in)
                return fail(d, err, "corrupt");
            if (d->in_eof)
                return produced ? (ssize_t)produced : fail(d, err, "truncated");
        }
        if (produced > 0)
            return (ssize_t)produced;
        if (d->in_eof)
            return WQ_DECOMP_END;
        if (!may_read)
            return WQ_DECOMP_LATER;
        may_read = 0;
        ssize_t n = read_more(d, err);
        if (n < 0)
            return n;
    }
}

static ssize_t plain_read(wq_decomp *d, char *out, size_t cap, wq_buf *err)
{
    if (d->in_pos < d->in_len) {  /* the bytes read to tell the format */
        size_t n = d->in_len - d->in_pos < cap ? d->in_len - d->in_pos : cap;
        memcpy(out, d->in + d->in_pos, n);
        d->in_pos += n;
        return (ssize_t)n;
    }
    if (d->in_eof)
        return WQ_DECOMP_END;
    ssize_t n = read(d->fd, out, cap);
    if (n < 0 && errno == EINTR)
        return WQ_DECOMP_INTERRUPTED;
    if (n < 0)
        return read_error(d, err);
    return n;
}

ssize_t wq_decomp_read(wq_decomp *d, char *out, size_t cap, wq_buf *err)
{
    int detected = d->kind == K_UNKNOWN;
    if (detected) {
        ssize_t rc = detect(d, err);
        if (rc < 0)
            return rc;
    }
    if (d->kind == K_PLAIN)
        return plain_read(d, out, cap, err);
    return codec_read(d, out, cap, !detected, err);
}

int wq_decomp_ready(const wq_decomp *d)
{
    return d->in_pos < d->in_len || d->full || (d->in_eof && d->kind != K_UNKNOWN);
}
