/*
 * decompress_test.c - compressed input, whole, in pieces and cut short.
 *
 * Known text is compressed by the gzip, xz, zstd and pzstd programs, two
 * copies one after the other (two members, streams or frames), and put
 * together with what the reference tools skip: zero bytes after the last
 * gzip member, zstd skippable frames first, between frames and last (pzstd
 * writes one before each frame). Each sample is read:
 *
 * - from a pipe that gets it a few bytes at a time, as the reader polls
 *   it, with pieces also cut at chosen places (inside a skippable frame's
 *   header): it must give back its text exactly, without a read that
 *   waits on the pipe;
 * - cut short (at 1,000 lengths for each tool's own output, 250 for the
 *   others, and at every length near the places where the input may end): a cut shorter than a magic number is
 *   plain text, kept as it is; a cut where the tool would end without an
 *   error (after a member or frame, inside the zero padding) must end
 *   there with the text so far; any other cut must give a prefix of the
 *   text and fail with "truncated" or "corrupt" in the message. Never more
 *   bytes, never a crash (the ASan build checks the reads).
 *
 * Then single inputs: trailing bytes other than zeros, zstd windows over
 * the limit (the message, and the limit that reads them), and reads whose
 * room a member's or frame's end fills exactly. The gzip path is ISA-L's or
 * zlib's, as the build has.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include "decompress.h"

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static char dir[] = "/tmp/decompress_test.XXXXXX";

#define MAX_ENDS 16

/* A compressed input and what it holds: `copies` times the text. Cuts in
 * [from, to] of an end are where the tool ends without error, after
 * `copies` copies of the text. A piece sent through the pipe never spans
 * a split. */
struct sample {
    const char *name;
    unsigned char *z;
    size_t zlen, magic;        /* a shorter cut is plain text */
    size_t every;              /* how many cuts are read, besides those
                                  near the ends */
    int copies;
    struct end { size_t from, to; int copies; } ends[MAX_ENDS];
    int nends;
    size_t splits[4];
    int nsplits;
};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    *len = 0;
    if (!f)
        return NULL;
    for (size_t cap = 0;;) {
        if (*len == cap && !(p = realloc(p, cap = cap ? 2 * cap : 65536)))
            abort();
        size_t n = fread(p + *len, 1, cap - *len, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        abort();
}

/* What a shell command writes on its stdout; aborts the test if it fails. */
static unsigned char *run(const char *cmd, size_t *len)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "%s/out", dir);
    snprintf(line, sizeof line, "(%s) > %s", cmd, path);
    if (system(line) != 0) {
        printf("FAIL: %s\n", line);
        exit(1);
    }
    return slurp(path, len);
}

/* Lines of varied length, some repeated, so that the codecs have both
 * matches and literals to code. */
static char *text_of(size_t *len)
{
    size_t cap = 60000, n = 0;
    char *t = malloc(cap);
    unsigned s = 1;
    while (n + 100 < cap) {
        s = s * 1103515245u + 12345u;
        n += (size_t)snprintf(t + n, cap - n, "%u line %zu %.*s\n", s % 97, n,
                              (int)(s >> 27), "abcdefghijklmnopqrstuvwxyz012345");
    }
    *len = n;
    return t;
}

/* Whether the n bytes out are `copies` copies of text. */
static int is_copies(const char *out, size_t n, const char *text, size_t tlen, int copies)
{
    if (n != (size_t)copies * tlen)
        return 0;
    for (int i = 0; i < copies; i++)
        if (memcmp(out + (size_t)i * tlen, text, tlen) != 0)
            return 0;
    return 1;
}

/* Whether out is a prefix of copies of text. */
static int is_prefix(const char *out, size_t n, const char *text, size_t tlen)
{
    for (size_t at = 0; at < n; at += tlen)
        if (memcmp(out + at, text, n - at < tlen ? n - at : tlen) != 0)
            return 0;
    return 1;
}

/* Reads d to its end or error; returns the bytes read (malloc'ed). */
static char *drain(wq_decomp *d, size_t *len, int *failed, wq_buf *err)
{
    size_t cap = 1 << 16;
    char *out = malloc(cap);
    *len = 0;
    *failed = 0;
    for (;;) {
        if (cap - *len < 4096 && !(out = realloc(out, cap *= 2)))
            abort();
        ssize_t n = wq_decomp_read(d, out + *len, cap - *len, err);
        if (n == -2 || n == -3)
            continue;
        if (n < 0) {
            *failed = 1;
            return out;
        }
        if (n == 0)
            return out;
        *len += (size_t)n;
    }
}

/* Reads the bytes z through a file, with a zstd window limit of 2^log. */
static char *read_file(const unsigned char *z, size_t zlen, int log, size_t *got,
                       int *failed, wq_buf *err)
{
    char path[64];
    snprintf(path, sizeof path, "%s/cut", dir);
    spit(path, z, zlen);
    FILE *f = fopen(path, "rb");
    wq_decomp *d = wq_decomp_new(fileno(f), "cut", log);
    char *out = drain(d, got, failed, err);
    wq_decomp_free(d);
    fclose(f);
    return out;
}

static const struct end *end_at(const struct sample *s, size_t cut)
{
    for (int i = 0; i < s->nends; i++)
        if (s->ends[i].from <= cut && cut <= s->ends[i].to)
            return &s->ends[i];
    return NULL;
}

/* Whether a cut is worth a read: one in every zlen / every, and every cut
 * within 2 bytes of where an end starts or stops. */
static int worth(const struct sample *s, size_t cut)
{
    size_t step = s->zlen > s->every ? s->zlen / s->every : 1;
    if (cut % step == 0 || cut < 8 || cut + 2 >= s->zlen)
        return 1;
    for (int i = 0; i < s->nends; i++)
        if ((cut + 2 >= s->ends[i].from && cut <= s->ends[i].from + 2) ||
            (cut + 2 >= s->ends[i].to && cut <= s->ends[i].to + 2))
            return 1;
    return 0;
}

static void cut_one(const struct sample *s, size_t cut, const char *text, size_t tlen)
{
    wq_buf err = WQ_BUF_INIT;
    size_t got;
    int failed;
    char *out = read_file(s->z, cut, 0, &got, &failed, &err);
    const struct end *e = end_at(s, cut);
    if (cut < s->magic)
        CHECK(!failed && got == cut && memcmp(out, s->z, cut) == 0,
              "%s cut at %zu: not kept as plain text", s->name, cut);
    else if (e)
        CHECK(!failed && is_copies(out, got, text, tlen, e->copies),
              "%s cut at %zu: %zu bytes (%d copies expected), %s", s->name, cut, got,
              e->copies, failed ? err.data : "no error");
    else
        CHECK(failed && is_prefix(out, got, text, tlen) && err.data &&
                  (strstr(err.data, "truncated") || strstr(err.data, "corrupt")),
              "%s cut at %zu: %zu bytes, %s", s->name, cut, got,
              failed ? err.data : "and no error");
    free(out);
    wq_buf_free(&err);
}

static void cuts(const struct sample *s, const char *text, size_t tlen)
{
    for (size_t cut = 0; cut <= s->zlen; cut++)
        if (worth(s, cut))
            cut_one(s, cut, text, tlen);
}

/* The size of the next piece: 1-300 bytes, not past the next split. */
static size_t piece(const struct sample *s, size_t sent, unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 1 + (*seed >> 16) % 300;
    if (sent == 0 && n < 6)
        n = 6;  /* a magic number's first bytes are waited for whole */
    for (int i = 0; i < s->nsplits; i++)
        if (s->splits[i] > sent && s->splits[i] - sent < n)
            n = s->splits[i] - sent;
    return n > s->zlen - sent ? s->zlen - sent : n;
}

/* The sample through a pipe, a few bytes at a time, read whenever the pipe
 * or the decoder has something, as the reader does: must give its text
 * exactly. The pipe does not block, so a read the decoder said was ready
 * but that would have waited on the pipe fails (EAGAIN) instead of
 * hanging. */
static void pieces(const struct sample *s, const char *text, size_t tlen)
{
    int fd[2];
    if (pipe(fd) != 0 || fcntl(fd[0], F_SETFL, O_NONBLOCK) != 0)
        abort();
    wq_decomp *d = wq_decomp_new(fd[0], s->name, 0);
    wq_buf err = WQ_BUF_INIT;
    size_t room = (size_t)s->copies * tlen + 65536, got = 0, sent = 0;
    char *out = malloc(room);
    unsigned seed = 7;
    int failed = 0;
    while (!failed) {
        struct pollfd p = {fd[0], POLLIN, 0};
        if (wq_decomp_ready(d) || poll(&p, 1, 0) > 0) {
            ssize_t n = wq_decomp_read(d, out + got, room - got, &err);
            if (n == 0)
                break;
            if (n == -1)
                failed = 1;
            if (n > 0)
                got += (size_t)n;
            continue;
        }
        if (sent == s->zlen) {
            if (fd[1] >= 0)
                close(fd[1]);
            fd[1] = -1;
            continue;
        }
        size_t n = piece(s, sent, &seed);
        if (write(fd[1], s->z + sent, n) != (ssize_t)n)
            abort();
        sent += n;
    }
    CHECK(!failed, "%s in pieces: %s", s->name, err.data ? err.data : "");
    CHECK(is_copies(out, got, text, tlen, s->copies), "%s in pieces: %zu of %zu bytes, or others",
          s->name, got, (size_t)s->copies * tlen);
    free(out);
    wq_buf_free(&err);
    wq_decomp_free(d);
    close(fd[0]);
    if (fd[1] >= 0)
        close(fd[1]);
}

static void add_end(struct sample *s, size_t from, size_t to, int copies)
{
    if (s->nends == MAX_ENDS)
        abort();
    s->ends[s->nends++] = (struct end){from, to, copies};
}

/* Two copies of one compressed stream: ends at nothing, between them and
 * after both. */
static struct sample doubled(const char *name, unsigned char *z, size_t zlen, size_t magic)
{
    struct sample s = {.name = name, .z = z, .zlen = zlen, .magic = magic, .every = 1000,
                       .copies = 2};
    if (zlen % 2 || memcmp(z, z + zlen / 2, zlen / 2) != 0) {
        printf("FAIL: %s did not write two equal members\n", name);
        exit(1);
    }
    add_end(&s, 0, 0, 0);
    add_end(&s, zlen / 2, zlen / 2, 1);
    add_end(&s, zlen, zlen, 2);
    return s;
}

/* A zstd input's ends: after every frame, skippable or not. Each frame
 * that is not skippable must hold one copy of the text. */
static void zstd_ends(struct sample *s)
{
    int copies = 0;
    add_end(s, 0, 0, 0);
    for (size_t at = 0; at < s->zlen;) {
        size_t n = ZSTD_findFrameCompressedSize(s->z + at, s->zlen - at);
        if (ZSTD_isError(n))
            abort();
        copies += (s->z[at] & 0xf0) != 0x50;
        at += n;
        add_end(s, at, at, copies);
    }
    if (copies != s->copies) {
        printf("FAIL: %s holds %d frames, not %d\n", s->name, copies, s->copies);
        exit(1);
    }
}

/* Appends a skippable frame (magic 0x184D2A5n) of len bytes to p at *at. */
static void skippable(unsigned char *p, size_t *at, unsigned n, size_t len)
{
    unsigned char head[8] = {(unsigned char)(0x50 | n), 0x2a, 0x4d, 0x18,
                             (unsigned char)len, (unsigned char)(len >> 8), 0, 0};
    memcpy(p + *at, head, 8);
    memset(p + *at + 8, 'S', len);
    *at += 8 + len;
}

/* zstd frames with skippable frames first (a long one, then an empty
 * one), between and last; the pipe's pieces split the headers of the
 * first (inside its length) and of the middle one. */
static struct sample skips(const unsigned char *frame, size_t flen)
{
    struct sample s = {.name = "zstd with skippable frames", .magic = 4, .every = 250,
                       .copies = 2};
    unsigned char *p = s.z = malloc(2 * flen + 2000);
    size_t at = 0;
    skippable(p, &at, 0xf, 1000);
    skippable(p, &at, 0x0, 0);
    memcpy(p + at, frame, flen);
    at += flen;
    s.splits[s.nsplits++] = at + 3;
    s.splits[s.nsplits++] = at + 5;
    skippable(p, &at, 0x7, 300);
    memcpy(p + at, frame, flen);
    at += flen;
    skippable(p, &at, 0xa, 5);
    s.zlen = at;
    s.splits[s.nsplits++] = 6;
    zstd_ends(&s);
    return s;
}

/* Two gzip members, then 512 zero bytes: every cut in the zeros ends. */
static struct sample padded(const unsigned char *z, size_t zlen)
{
    struct sample s = {.name = "gzip and zero padding", .magic = 2, .every = 250,
                       .copies = 2};
    s.z = malloc(zlen + 512);
    memcpy(s.z, z, zlen);
    memset(s.z + zlen, 0, 512);
    s.zlen = zlen + 512;
    add_end(&s, 0, 0, 0);
    add_end(&s, zlen / 2, zlen / 2, 1);
    add_end(&s, zlen, s.zlen, 2);
    return s;
}

/* Single inputs, whole: what follows the last member; zstd windows. */
static void singles(void)
{
    static const struct {
        const char *name, *cmd;
        size_t junk_len;
        const char *junk;
        int log;
        const char *want;      /* the text, or in the message with "!" */
    } cases[] = {
        {"gzip and zeros", "printf 'a\\nb\\n' | gzip", 4, "\0\0\0\0", 0, "a\nb\n"},
        {"gzip, zeros and garbage", "printf 'a\\n' | gzip", 4, "\0\0\0x", 0, "!corrupt"},
        {"gzip and garbage", "printf 'a\\n' | gzip", 12, "xyzxyzxyzxyz", 0, "!corrupt"},
        {"zstd and zeros", "printf 'a\\n' | zstd -q", 4, "\0\0\0\0", 0, "!corrupt"},
        /* From a pipe zstd does not know the size: the frame keeps the
         * window that --long asks for. */
        {"zstd --long=28", "printf 'a\\n' | zstd -q --long=28", 0, "", 0,
         "!cut: zstd window of 256 MiB is over the default limit of 128 MiB: give "
         "--zstd-long=28 to read it (as zstd -d --long=28)"},
        {"zstd --long=28, limit 28", "printf 'a\\n' | zstd -q --long=28", 0, "", 28, "a\n"},
        {"zstd --long=28, limit 27", "printf 'a\\n' | zstd -q --long=28", 0, "", 27,
         "!window of 256 MiB is over the limit of 128 MiB that --zstd-long=27 sets: "
         "give --zstd-long=28"},
        {"zstd, limit 20", "printf 'a\\n' | zstd -q --long=21", 0, "", 20,
         "!window of 2 MiB is over the limit of 1 MiB that --zstd-long=20 sets: "
         "give --zstd-long=21"},
        /* Headers alone: the window is checked before any block is read.
         * 0x89 = 2^27 and 1/8 of it; 0xa0 = single segment with a 4-byte
         * content size, the window. */
        {"zstd window descriptor", "printf '\\050\\265\\057\\375\\000\\211'", 0, "", 0,
         "!zstd window of 144 MiB is over the default limit of 128 MiB: give --zstd-long=28"},
        {"zstd single segment", "printf '\\050\\265\\057\\375\\240\\001\\302\\353\\013'", 0, "",
         0, "!zstd window of 200000001 bytes is over the default limit of 128 MiB: give "
         "--zstd-long=28"},
        {"zstd window over 2^31", "printf '\\050\\265\\057\\375\\000\\270'", 0, "", 31,
         "!zstd window of 8 GiB is over the limit of 2 GiB that --zstd-long=31 sets: "
         "no --zstd-long reads it (the largest, 31, allows 2 GiB)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t zlen, got;
        unsigned char *z = run(cases[i].cmd, &zlen);
        z = realloc(z, zlen + cases[i].junk_len);
        memcpy(z + zlen, cases[i].junk, cases[i].junk_len);
        wq_buf err = WQ_BUF_INIT;
        int failed;
        char *out = read_file(z, zlen + cases[i].junk_len, cases[i].log, &got, &failed, &err);
        const char *want = cases[i].want;
        if (want[0] == '!')
            CHECK(failed && strstr(err.data, want + 1), "%s: %s", cases[i].name,
                  failed ? err.data : "no error");
        else
            CHECK(!failed && got == strlen(want) && memcmp(out, want, got) == 0,
                  "%s: %zu bytes, %s", cases[i].name, got, failed ? err.data : "no error");
        free(out);
        free(z);
        wq_buf_free(&err);
    }
}

/* A read whose room a member's or frame's end fills exactly, at the end of
 * the input: the next read ends (0); it does not call the input cut. */
static void exact_room(const char *tool)
{
    char cmd[64], out[8];
    snprintf(cmd, sizeof cmd, "printf 'a\\nb\\n' | %s", tool);
    size_t zlen;
    unsigned char *z = run(cmd, &zlen);
    char path[64];
    snprintf(path, sizeof path, "%s/exact", dir);
    spit(path, z, zlen);
    FILE *f = fopen(path, "rb");
    wq_decomp *d = wq_decomp_new(fileno(f), tool, 0);
    wq_buf err = WQ_BUF_INIT;
    ssize_t first = wq_decomp_read(d, out, 4, &err), second;
    while ((second = wq_decomp_read(d, out + 4, 4, &err)) == -3)
        continue;
    CHECK(first == 4 && memcmp(out, "a\nb\n", 4) == 0 && second == 0,
          "%s, room filled at the end: %zd then %zd %s", tool, first, second,
          err.data ? err.data : "");
    wq_buf_free(&err);
    wq_decomp_free(d);
    fclose(f);
    free(z);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    size_t tlen;
    char *text = text_of(&tlen);
    char plain[64], cmd[512];
    snprintf(plain, sizeof plain, "%s/text", dir);
    spit(plain, text, tlen);
    struct { const char *name, *cmd; size_t magic; } tools[] = {
        {"gzip", "gzip -c", 2}, {"xz", "xz -c", 6}, {"zstd", "zstd -q -c", 4},
        {"pzstd", "pzstd -q -p 2 -c", 4},
    };
    struct sample samples[8];
    int n = 0;
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        snprintf(cmd, sizeof cmd, "%s %s && %s %s", tools[i].cmd, plain, tools[i].cmd, plain);
        size_t zlen;
        unsigned char *z = run(cmd, &zlen);
        samples[n++] = doubled(tools[i].name, z, zlen, tools[i].magic);
        if (i == 0)
            samples[n++] = padded(z, zlen);
    }
    /* pzstd's frames: each after a skippable frame, every one an end. */
    struct sample *pz = &samples[n - 1];
    if ((pz->z[0] & 0xf0) != 0x50) {
        printf("FAIL: pzstd did not write a skippable frame first\n");
        return 1;
    }
    pz->nends = 0;
    pz->every = 250;
    zstd_ends(pz);
    size_t flen;
    snprintf(cmd, sizeof cmd, "zstd -q -c %s", plain);
    unsigned char *frame = run(cmd, &flen);
    samples[n++] = skips(frame, flen);
    free(frame);
    for (int i = 0; i < n; i++) {
        pieces(&samples[i], text, tlen);
        cuts(&samples[i], text, tlen);
        free(samples[i].z);
    }
    singles();
    exact_room("gzip");
    exact_room("zstd -q");
    exact_room("xz");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    free(text);
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
