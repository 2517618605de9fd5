/*
 * decompress_test.c - compressed input, whole, in pieces and cut short.
 *
 * Known text is compressed by the gzip, xz and zstd programs (two members
 * or streams one after the other). Read from a pipe that gets it a few
 * bytes at a time, as the reader polls it, each must give back the text
 * exactly, without a read that waits on the pipe. Cut at every length, each must give a prefix of the text and
 * then either end (a cut between members) or fail with "truncated" or
 * "corrupt" in the message; never more bytes, never a crash (the ASan build
 * checks the reads). The gzip path is ISA-L's or zlib's, as the build has.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "decompress.h"

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static char dir[] = "/tmp/decompress_test.XXXXXX";

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

/* Each cut of z, two equal members, must give a prefix of text and fail,
 * or end where a member ends: with nothing, with the first member's text
 * (a cut between the members) or with all of it. */
static void cuts(const char *name, const unsigned char *z, size_t zlen,
                 const char *text, size_t tlen)
{
    char path[64];
    snprintf(path, sizeof path, "%s/cut", dir);
    size_t step = zlen > 1000 ? zlen / 1000 : 1, half = zlen / 2;
    for (size_t cut = 0;; cut = cut < half && cut + step > half ? half
                              : cut + step < zlen ? cut + step : zlen) {
        spit(path, z, cut);
        FILE *f = fopen(path, "rb");
        wq_decomp *d = wq_decomp_new(fileno(f), name);
        wq_buf err = WQ_BUF_INIT;
        size_t got;
        int failed;
        char *out = drain(d, &got, &failed, &err);
        int prefix = got <= tlen && memcmp(out, text, got) == 0;
        /* A one-byte cut does not hold a whole magic number: it is plain. */
        CHECK(prefix || cut < 2, "%s cut at %zu: %zu bytes that are not a prefix", name, cut, got);
        if (failed)
            CHECK(err.data && (strstr(err.data, "truncated") || strstr(err.data, "corrupt")),
                  "%s cut at %zu: %s", name, cut, err.data ? err.data : "no message");
        else
            CHECK(cut == 1 || got == (cut == 0 ? 0 : cut == half ? tlen / 2
                                      : cut == zlen ? tlen : tlen + 1),
                  "%s cut at %zu: %zu bytes and no error", name, cut, got);
        free(out);
        wq_buf_free(&err);
        wq_decomp_free(d);
        fclose(f);
        if (cut == zlen)
            break;
    }
}

/* z through a pipe, a few bytes at a time, read whenever the pipe or the
 * decoder has something, as the reader does: must give text exactly. The
 * pipe does not block, so a read the decoder said was ready but that would
 * have waited on the pipe fails (EAGAIN) instead of hanging. */
static void pieces(const char *name, const unsigned char *z, size_t zlen,
                   const char *text, size_t tlen)
{
    int fd[2];
    if (pipe(fd) != 0 || fcntl(fd[0], F_SETFL, O_NONBLOCK) != 0)
        abort();
    wq_decomp *d = wq_decomp_new(fd[0], name);
    wq_buf err = WQ_BUF_INIT;
    char *out = malloc(tlen + 65536);
    size_t got = 0, sent = 0;
    unsigned s = 7;
    int failed = 0;
    while (!failed) {
        struct pollfd p = {fd[0], POLLIN, 0};
        if (wq_decomp_ready(d) || poll(&p, 1, 0) > 0) {
            ssize_t n = wq_decomp_read(d, out + got, tlen + 65536 - got, &err);
            if (n == 0)
                break;
            if (n == -1)
                failed = 1;
            if (n > 0)
                got += (size_t)n;
            continue;
        }
        if (sent == zlen) {
            if (fd[1] >= 0)
                close(fd[1]);
            fd[1] = -1;
            continue;
        }
        s = s * 1103515245u + 12345u;
        size_t n = 1 + (s >> 16) % 300;
        if (sent == 0 && n < 6)
            n = 6;  /* a magic number's first bytes are waited for whole */
        n = n > zlen - sent ? zlen - sent : n;
        if (write(fd[1], z + sent, n) != (ssize_t)n)
            abort();
        sent += n;
    }
    CHECK(!failed, "%s in pieces: %s", name, err.data ? err.data : "");
    CHECK(got == tlen && memcmp(out, text, tlen) == 0, "%s in pieces: %zu of %zu bytes, or others",
          name, got, tlen);
    free(out);
    wq_buf_free(&err);
    wq_decomp_free(d);
    close(fd[0]);
    if (fd[1] >= 0)
        close(fd[1]);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    size_t tlen;
    char *text = text_of(&tlen);
    char plain[64], cmd[512], zpath[64];
    snprintf(plain, sizeof plain, "%s/text", dir);
    spit(plain, text, tlen);
    /* Two members: the first half, then the second, compressed apart. */
    char *twice = malloc(2 * tlen);
    memcpy(twice, text, tlen);
    memcpy(twice + tlen, text, tlen);
    const char *tools[][2] = {{"gzip", "gzip -c"}, {"xz", "xz -c"}, {"zstd", "zstd -q -c"}};
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        snprintf(zpath, sizeof zpath, "%s/z", dir);
        snprintf(cmd, sizeof cmd, "%s %s > %s && %s %s >> %s", tools[i][1], plain,
                 zpath, tools[i][1], plain, zpath);
        if (system(cmd) != 0) {
            printf("FAIL: %s\n", cmd);
            return 1;
        }
        size_t zlen;
        unsigned char *z = slurp(zpath, &zlen);
        if (zlen % 2 || memcmp(z, z + zlen / 2, zlen / 2) != 0) {
            printf("FAIL: %s did not write two equal members\n", tools[i][0]);
            return 1;
        }
        pieces(tools[i][0], z, zlen, twice, 2 * tlen);
        cuts(tools[i][0], z, zlen, twice, 2 * tlen);
        free(z);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    free(twice);
    free(text);
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
