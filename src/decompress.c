/*
 * decompress.c - transparent decompression; see decompress.h.
 *
 * Compressed bytes go through `in`, which also holds the first bytes read
 * to tell the format. Each codec's step() turns some of `in` into output;
 * one loop (codec_read) around it reads more only when nothing is held, and
 * returns what it has rather than block on a pipe for more. gzip goes
 * through ISA-L's inflate where the build found it (WQ_ISAL; about three
 * times zlib's speed), through zlib's otherwise.
 */
#include "decompress.h"

#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#ifdef WQ_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#define INBUF (256u << 10)

enum kind { K_UNKNOWN, K_PLAIN, K_GZIP, K_XZ, K_ZSTD };

static const struct magic {
    enum kind kind;
    const char *bytes;
    size_t len;
    const char *name;
} magics[] = {
    {K_GZIP, "\x1f\x8b", 2, "gzip"},
    {K_XZ, "\xfd" "7zXZ\0", 6, "xz"},
    {K_ZSTD, "\x28\xb5\x2f\xfd", 4, "zstd"},
};

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
#ifdef WQ_ISAL
    struct inflate_state *g;
#else
    z_stream z;
#endif
    lzma_stream x;
    ZSTD_DStream *zs;
};

wq_decomp *wq_decomp_new(int fd, const char *name)
{
    wq_decomp *d = calloc(1, sizeof *d);
    if (!d || !(d->in = malloc(INBUF))) {
        free(d);
        return NULL;
    }
    d->fd = fd;
    d->name = name;
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
    return -1;
}

static ssize_t read_error(const wq_decomp *d, wq_buf *err)
{
    wq_buf_printf(err, "cannot read %s: %s", d->name, strerror(errno));
    return -1;
}

/* Appends what the descriptor has to `in`. Returns the bytes read (0 at
 * the end), -1 or -2 as wq_decomp_read. */
static ssize_t read_more(wq_decomp *d, wq_buf *err)
{
    if (d->in_pos == d->in_len)
        d->in_pos = d->in_len = 0;
    ssize_t n = read(d->fd, d->in + d->in_len, INBUF - d->in_len);
    if (n < 0 && errno == EINTR)
        return -2;
    if (n < 0)
        return read_error(d, err);
    d->in_len += (size_t)n;
    d->in_eof = n == 0;
    return n;
}

/* Whether the bytes read so far could still begin a magic number. */
static int maybe_magic(const wq_decomp *d)
{
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
        if (d->in_len < magics[i].len && memcmp(d->in, magics[i].bytes, d->in_len) == 0)
            return 1;
    return 0;
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
    case K_ZSTD: return (d->zs = ZSTD_createDStream()) ? 0 : -1;
    default: return 0;
    }
}

/* Reads the first bytes and picks the codec. Returns 0, -1 or -2. */
static ssize_t detect(wq_decomp *d, wq_buf *err)
{
    while (!d->in_eof && maybe_magic(d)) {
        ssize_t n = read_more(d, err);
        if (n < 0)
            return n;
    }
    d->kind = K_PLAIN;
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
        if (d->in_len >= magics[i].len &&
            memcmp(d->in, magics[i].bytes, magics[i].len) == 0) {
            d->kind = magics[i].kind;
            d->format = magics[i].name;
        }
    if (start_codec(d) < 0) {
        d->kind = K_PLAIN;  /* nothing to end in wq_decomp_free */
        wq_buf_printf(err, "cannot read %s: out of memory for %s", d->name,
                      d->format);
        return -1;
    }
    return 0;
}

enum { STEP_ERROR = -1, STEP_OK, STEP_END };

#ifdef WQ_ISAL
static int step_gzip(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    struct inflate_state *g = d->g;
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

static int step_zstd(wq_decomp *d, char *out, size_t cap, size_t *made)
{
    ZSTD_inBuffer in = {d->in + d->in_pos, d->in_len - d->in_pos, 0};
    ZSTD_outBuffer o = {out, cap, 0};
    size_t rc = ZSTD_decompressStream(d->zs, &o, &in);
    d->in_pos += in.pos;
    *made = o.pos;
    if (ZSTD_isError(rc))
        return STEP_ERROR;
    return rc == 0 ? STEP_END : STEP_OK;  /* 0: a frame is complete */
}

static int step(wq_decomp *d, char *out, size_t cap, size_t *made)
{
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
 * polled first is never kept waiting; -3 then says the descriptor is next. */
static ssize_t codec_read(wq_decomp *d, char *out, size_t cap, int may_read, wq_buf *err)
{
    size_t produced = 0;
    if (d->full && d->ended)
        d->full = 0;  /* a stream that ended as it filled the output holds no more */
    may_read = may_read && !d->full;
    for (;;) {
        int more_in = d->in_pos < d->in_len;
        if (more_in || d->full || (d->in_eof && !d->ended)) {
            size_t before = d->in_pos, made = 0;
            int rc = step(d, out + produced, cap - produced, &made);
            produced += made;
            d->full = produced == cap;
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
            return 0;
        if (!may_read)
            return -3;
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
        return 0;
    ssize_t n = read(d->fd, out, cap);
    if (n < 0 && errno == EINTR)
        return -2;
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
