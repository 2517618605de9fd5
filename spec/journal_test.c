/*
 * journal_test.c - a journal damaged in every way a byte can be.
 *
 * A journal of two segments (a complete run, then a resumed one that was
 * cut short) is cut at every length and has each of its bits flipped in
 * turn. Whether read for --merge or opened to resume, a damaged journal
 * must open or be refused with a message, and every record it gives back
 * must be one that was written, byte for byte: a torn or flipped record
 * is dropped, never read as another. Cut short, or followed by zeros, it
 * must still give every record that lay wholly before the cut (the ASan
 * build checks the reads). Then a journal taken over by a fixed job script
 * (--retry-failed) must stay bound to it, opened or read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "journal.h"

#define ITEMS 24          /* the first run: items 1..ITEMS, then its end */
#define MORE 12           /* the resumed run: ITEMS + 1.. ITEMS + MORE */

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static char dir[] = "/tmp/journal_test.XXXXXX";
static char path[64];

/* Item i's record: a result, no result or a failure, of varying length. */
static wq_jrecord record_of(int64_t i, char *buf)
{
    int status = i % 5 == 0 ? WQ_J_NIL : i % 7 == 0 ? WQ_J_FAILED : WQ_J_RESULT;
    int n = snprintf(buf, 64, "result %lld %.*s", (long long)i, (int)(i % 9),
                     "xxxxxxxxx");
    return (wq_jrecord){i, 1000 + (uint64_t)i, status,
                        status == WQ_J_NIL ? "" : buf, status == WQ_J_NIL ? 0 : (size_t)n};
}

static void header(wq_jheader *h)
{
    h->job = 42;
    wq_jheader_option(h, "format", "json");
}

static void write_file(const char *p, const char *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(p);
        exit(1);
    }
}

static char *read_file(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    static char buf[1 << 16];
    *n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || *n == sizeof buf) {
        perror(p);
        exit(1);
    }
    fclose(f);
    return buf;
}

/* The journal of the two runs; each record's end offset in ends[index]. */
static char *make_journal(size_t *n, size_t ends[])
{
    wq_jheader h = WQ_JHEADER_INIT;
    wq_buf err = WQ_BUF_INIT;
    char buf[64];
    header(&h);
    unlink(path);
    for (int run = 0; run < 2; run++) {
        wq_journal *j = wq_journal_open(path, &h, &err);
        if (!j) {
            printf("cannot make the journal: %.*s\n", (int)err.len, err.data);
            exit(1);
        }
        int64_t from = run ? ITEMS + 1 : 1, to = run ? ITEMS + MORE : ITEMS;
        for (int64_t i = from; i <= to; i++) {
            wq_jrecord rec = record_of(i, buf);
            if (wq_journal_add(j, &rec, &err) < 0 || wq_journal_flush(j, &err) < 0)
                exit(1);
            read_file(path, &ends[i]);
        }
        if (!run && wq_journal_end(j, ITEMS, 7, &err) < 0)
            exit(1);
        wq_journal_close(j);
    }
    wq_jheader_free(&h);
    wq_buf_free(&err);
    return read_file(path, n);
}

/* Reads back what j gives for every index; every record must be the one
 * written. Returns how many it gave. */
static int given(wq_journal *j, const char *what, size_t at)
{
    wq_buf err = WQ_BUF_INIT;
    char buf[64];
    int found = 0;
    for (int64_t i = 1; i <= ITEMS + MORE + 2; i++) {
        wq_jrecord rec, want = record_of(i, buf);
        int r = wq_journal_lookup(j, i, &rec, &err);
        CHECK(r >= 0, "%s at %zu: a lookup failed: %.*s", what, at, (int)err.len, err.data);
        if (r <= 0)
            continue;
        found++;
        CHECK(i <= ITEMS + MORE && rec.index == i && rec.hash == want.hash &&
              rec.status == want.status && rec.len == want.len &&
              memcmp(rec.data, want.data, want.len) == 0,
              "%s at %zu: item %lld reads back other than it was written", what, at,
              (long long)i);
    }
    wq_buf_free(&err);
    return found;
}

/* Both ways of opening the damaged bytes: for --merge, then to resume. */
static void open_damaged(const char *data, size_t n, const char *what, size_t at, int want)
{
    wq_jheader h = WQ_JHEADER_INIT, now = WQ_JHEADER_INIT;
    wq_buf err = WQ_BUF_INIT;
    header(&now);
    write_file(path, data, n);
    wq_journal *j = wq_journal_read(path, &h, &err);
    CHECK(j || err.len > 0, "%s at %zu: refused without a message", what, at);
    if (j) {
        int found = given(j, what, at);
        CHECK(want < 0 || found >= want, "%s at %zu: %d records of the %d before the cut",
              what, at, found, want);
        wq_journal_close(j);
    }
    wq_jheader_free(&h);
    wq_buf_reset(&err);
    write_file(path, data, n);
    j = wq_journal_open(path, &now, &err);
    CHECK(j || err.len > 0, "%s at %zu: refused to resume without a message", what, at);
    if (j) {
        given(j, what, at);
        wq_journal_close(j);
    }
    wq_jheader_free(&now);
    wq_buf_free(&err);
}

/* A journal of job 42, taken over by job 43 with wq_journal_open_fixed:
 * refused to 43 before, bound to 43 after (opened, read for --merge,
 * peeked at for --dry-run), refused to 42 then. */
static void check_rebind(void)
{
    wq_jheader h42 = WQ_JHEADER_INIT, h43 = WQ_JHEADER_INIT, got = WQ_JHEADER_INIT;
    wq_buf err = WQ_BUF_INIT;
    char buf[64];
    header(&h42);
    header(&h43);
    h43.job = 43;
    unlink(path);
    wq_journal *j = NULL;
    CHECK(wq_journal_peek(path, &h42, 0, &j, &err) == 0 && !j,
          "a missing journal is peeked at as none: %.*s", (int)err.len, err.data);
    j = wq_journal_open(path, &h42, &err);
    CHECK(j && !wq_journal_resumed(j), "a new journal opens, not resumed");
    wq_jrecord r = record_of(1, buf);
    CHECK(j && wq_journal_add(j, &r, &err) == 0 && wq_journal_flush(j, &err) == 0, "added");
    wq_journal_close(j);
    j = wq_journal_open(path, &h43, &err);
    CHECK(!j && err.len, "another job is refused");
    wq_buf_reset(&err);
    j = wq_journal_open_fixed(path, &h43, &err);
    CHECK(j && wq_journal_resumed(j), "a fixed job takes it over: %.*s", (int)err.len, err.data);
    wq_journal_close(j);
    j = wq_journal_open(path, &h43, &err);
    CHECK(j != NULL, "then it is the fixed job's: %.*s", (int)err.len, err.data);
    wq_journal_close(j);
    j = wq_journal_read(path, &got, &err);
    CHECK(j && got.job == 43, "read for a merge, it is the fixed job's");
    wq_journal_close(j);
    CHECK(wq_journal_peek(path, &h43, 0, &j, &err) == 0 && j, "peeked at under job 43");
    wq_journal_close(j);
    CHECK(wq_journal_peek(path, &h42, 0, &j, &err) < 0 && !j, "and refused under job 42");
    wq_jheader_free(&h42);
    wq_jheader_free(&h43);
    wq_jheader_free(&got);
    wq_buf_free(&err);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/j", dir);
    size_t n, ends[ITEMS + MORE + 1];
    const char *made = make_journal(&n, ends);
    char *copy = malloc(n);
    memcpy(copy, made, n);
    for (size_t cut = 0; cut <= n; cut++) {
        int before = 0;  /* records wholly before the cut */
        for (int i = 1; i <= ITEMS + MORE; i++)
            before += ends[i] <= cut;
        open_damaged(copy, cut, "cut", cut, before);
    }
    /* A crash can leave zeros where the last writes were meant to go (a
     * file system that grew the file before its data reached the disk):
     * they end the journal like a cut, and are never read as a record. */
    char *zeros = calloc(n + 64, 1);
    for (int i = 1; i <= ITEMS + MORE; i++) {
        memcpy(zeros, copy, ends[i]);
        memset(zeros + ends[i], 0, 64);
        open_damaged(zeros, ends[i] + 64, "zeros after", ends[i], i);
    }
    free(zeros);
    char *flipped = malloc(n);
    for (size_t at = 0; at < n; at++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(flipped, copy, n);
            flipped[at] ^= (char)(1 << bit);
            open_damaged(flipped, n, "flip", at, -1);
        }
    check_rebind();
    unlink(path);
    rmdir(dir);
    free(copy);
    free(flipped);
    printf("journal: %d checks over a journal of %zu bytes, %d failed\n", checks, n, failures);
    return failures != 0;
}
