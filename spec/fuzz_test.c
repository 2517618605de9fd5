/*
 * fuzz_test.c - bad input against the decoders and the record scanner.
 *
 * One entry point, fuzz_one(data, size), whose first byte picks the target:
 *
 *   0  JSON text (--ndjson-in): if it decodes, its JSON encoding must decode
 *      again to a value with the same encoding.
 *   1  the binary transfer format (journals, folded values): if it decodes,
 *      its encoding must decode again to the same value (compared by their
 *      JSON, or by the same error when JSON cannot hold it).
 *   2  records: the second byte picks the format (lines, NUL, a delimiter
 *      taken from the input, paragraphs, CSV, TSV); the records found in the
 *      whole buffer must be those found when the same bytes come in pieces,
 *      as a pipe delivers them, and CSV/TSV records split into fields. With
 *      a small bound on a record's length (--max-record), kept as input.c
 *      keeps it (a longer record is dropped as the search passes its
 *      bytes), the records must be the same ones at the same lines, those
 *      longer than the bound marked so.
 *   3  the CSV and TSV writer (-f csv, -f tsv) against the reader: the
 *      second byte picks CSV or TSV and the number of columns, the rest,
 *      split at NUL bytes, gives the column names, then the rows' values
 *      (a lone \1 is a missing value). What the writer writes, the record
 *      scanner and the field splitter must read back as those names and
 *      values; TSV must refuse a value that holds a tab, CR or LF.
 *
 * Built as a libFuzzer target with -DWQ_LIBFUZZER (clang -fsanitize=fuzzer,
 * see README "Development"); otherwise main() runs seeds and deterministic
 * random mutations of them, so the suite (and its ASan build) covers the
 * same checks. A failed check aborts, as libFuzzer wants.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "codec.h"
#include "csvrow.h"
#include "record.h"

static lua_State *L;
static long decoded[4];   /* inputs that got past decoding or scanning */

static void require(int ok, const char *what, const uint8_t *data, size_t size)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz: %s, on %zu bytes:", what, size);
    for (size_t i = 0; i < size && i < 256; i++)
        fprintf(stderr, " %02x", data[i]);
    fprintf(stderr, "\n");
    abort();
}

/* The JSON of the value on top into out (reset), or its error into err;
 * the value stays. Returns 0 or -1. */
static int json_of(wq_buf *out, char err[WQ_ERRLEN])
{
    wq_buf_reset(out);
    return wq_codec_encode(L, -1, WQ_JSON, "value", out, err);
}

static void fuzz_json(const uint8_t *data, size_t size)
{
    char err[WQ_ERRLEN];
    wq_buf a = WQ_BUF_INIT, b = WQ_BUF_INIT;
    if (wq_codec_json_decode(L, (const char *)data, size, err) == 0) {
        decoded[0]++;
        if (json_of(&a, err) == 0) {
            int again = wq_codec_json_decode(L, a.data, a.len, err);
            require(again == 0, "its own JSON does not decode", data, size);
            require(json_of(&b, err) == 0 && a.len == b.len &&
                    memcmp(a.data, b.data, a.len) == 0,
                    "its JSON changes on a second round", data, size);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    wq_buf_free(&a);
    wq_buf_free(&b);
}

static void fuzz_binary(const uint8_t *data, size_t size)
{
    char err[WQ_ERRLEN], err2[WQ_ERRLEN];
    wq_buf bin = WQ_BUF_INIT, a = WQ_BUF_INIT, b = WQ_BUF_INIT;
    if (wq_codec_decode(L, (const char *)data, size, err) == 0) {
        decoded[1]++;
        require(wq_codec_encode(L, -1, WQ_BINARY, "value", &bin, err) == 0,
                "a decoded value does not encode", data, size);
        require(wq_codec_decode(L, bin.data, bin.len, err) == 0,
                "its own encoding does not decode", data, size);
        int ra = json_of(&a, err);
        lua_pop(L, 1);
        int rb = json_of(&b, err2);
        require(ra == rb && (ra == 0 ? a.len == b.len && memcmp(a.data, b.data, a.len) == 0
                                     : strcmp(err, err2) == 0),
                "a second round changes the value", data, size);
        lua_pop(L, 1);
    }
    wq_buf_free(&bin);
    wq_buf_free(&a);
    wq_buf_free(&b);
}

/* One record as the reader finds it. */
struct rec {
    size_t at, len;
    int64_t line;
};

#define TOO_LONG SIZE_MAX  /* the len of a record longer than the bound */

/* The records of p[0..n) as input.c finds them, the bytes arriving in
 * pieces of the sizes that steps gives in turn (0: all at once), records
 * longer than max (0: no bound) dropped as input.c drops them. Returns how
 * many (at most out_max are kept), or -1 if one was found past what had
 * come. */
static int scan_all(const wq_recfmt *f, const char *p, size_t n, const uint8_t *steps,
                    size_t nsteps, size_t max, struct rec *out, int out_max)
{
    size_t start = 0, have = nsteps ? 0 : n, k = 0;
    int64_t line = 1;
    wq_scan s = WQ_SCAN_INIT;
    int count = 0, skipping = 0;
    for (;;) {
        if (s.pos == 0 && s.dropped == 0) {
            size_t lead = wq_record_lead(f, p + start, have - start);
            start += lead;
            line += (int64_t)lead;
        }
        size_t len, skip;
        int64_t lines;
        int rc = wq_record_end(f, &s, p + start, have - start, have == n, &len, &skip, &lines);
        if (rc < 0)
            return count;
        if (rc == 0 && max && !skipping && s.pos > max) {
            if (count < out_max)  /* out at once; the rest is dropped as it comes */
                out[count] = (struct rec){start, TOO_LONG, line};
            count++;
            skipping = 1;
        }
        if (rc == 0) {
            if (skipping)
                start += wq_record_drop(f, &s, p + start);
            if (have == n)
                return -1;   /* at eof there is a record or none */
            have += 1 + steps[k++ % nsteps] % 64;
            have = have > n ? n : have;
            continue;
        }
        if (start + len + skip > have)
            return -1;
        if (!skipping && count < out_max)
            out[count] = (struct rec){start, max && len > max ? TOO_LONG : len, line};
        count += !skipping;
        skipping = 0;
        line += lines;
        start += len + skip;
        s = (wq_scan)WQ_SCAN_INIT;
    }
}

/* Whether the records found under a bound (b) are those found without one
 * (a): the same starts and lines, the same lengths but where longer. */
static int same_bounded(const struct rec *a, const struct rec *b, int n, size_t max)
{
    for (int i = 0; i < n; i++)
        if (a[i].at != b[i].at || a[i].line != b[i].line ||
            b[i].len != (a[i].len > max ? TOO_LONG : a[i].len))
            return 0;
    return 1;
}

static void fuzz_records(const uint8_t *data, size_t size)
{
    enum { MAX = 4096 };
    static struct rec whole[MAX], pieces[MAX], bounded[MAX];
    if (size < 2)
        return;
    wq_recfmt f = {.kind = WQ_REC_LINES};
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    switch (data[1] % 6) {
    case 0: break;
    case 1: f.kind = WQ_REC_DELIM; f.delim[0] = '\0'; f.delim_len = 1; break;
    case 2: {                   /* a delimiter of 1..4 bytes from the input */
        size_t d = 1 + (n ? p[0] % 4 : 0);
        if (n < 1 + d)
            return;
        f.kind = WQ_REC_DELIM;
        memcpy(f.delim, p + 1, d);
        f.delim_len = d;
        p += 1 + d;
        n -= 1 + d;
        break;
    }
    case 3: f.kind = WQ_REC_PARAGRAPH; break;
    case 4: f.kind = WQ_REC_CSV; break;
    default: f.kind = WQ_REC_TSV; break;
    }
    /* The bytes after the scanned text's end never count: a copy of exactly
     * n bytes lets ASan see a read past it. */
    char *text = malloc(n ? n : 1);
    if (!text)
        return;
    memcpy(text, p, n);
    size_t max = 1 + data[size - 1] % 16;
    int a = scan_all(&f, text, n, NULL, 0, 0, whole, MAX);
    int b = scan_all(&f, text, n, data, size, 0, pieces, MAX);
    int c = scan_all(&f, text, n, data + 1, size - 1, max, bounded, MAX);
    require(a >= 0 && a == b, "the records differ when the bytes come in pieces", data, size);
    require(a == c, "a bound on records changes their number", data, size);
    decoded[2] += a > 0;
    for (int i = 0; i < a && i < MAX; i++)
        require(whole[i].at == pieces[i].at && whole[i].len == pieces[i].len &&
                whole[i].line == pieces[i].line, "a record differs in pieces", data, size);
    require(same_bounded(whole, bounded, a < MAX ? a : MAX, max),
            "a bound on records changes a record or a line", data, size);
    if (f.kind == WQ_REC_CSV || f.kind == WQ_REC_TSV) {
        wq_buf tmp = WQ_BUF_INIT;
        for (int i = 0; i < a && i < MAX; i++) {
            wq_fields it;
            const char *field;
            size_t len, total = 0;
            wq_fields_init(&it, &f, text + whole[i].at, whole[i].len);
            while (wq_fields_next(&it, &tmp, &field, &len))
                total += len;
            require(total <= whole[i].len, "fields longer than their record", data, size);
        }
        wq_buf_free(&tmp);
    }
    free(text);
}

/* The pieces of p[0..n) between NUL bytes. */
struct piece { const char *p; size_t n; };

static size_t split_pieces(const char *p, size_t n, struct piece *out, size_t max)
{
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= n && count < max; i++)
        if (i == n || p[i] == '\0') {
            out[count++] = (struct piece){p + start, i - start};
            start = i + 1;
        }
    return count;
}

/* Whether the CSV/TSV text t[0..n) reads back, record by record, as the
 * rows of want (ncols fields each; NULL for a missing value, read as "").
 * TSV cannot tell one empty field from none: an empty line reads as no
 * fields, and --header then gives a record without the column. */
static int reads_back(int tsv, const char *t, size_t n, const struct piece *want,
                      size_t nrows, size_t ncols)
{
    wq_recfmt f = {.kind = tsv ? WQ_REC_TSV : WQ_REC_CSV};
    wq_buf tmp = WQ_BUF_INIT;
    size_t at = 0, row = 0;
    int ok = 1;
    for (; ok; row++) {
        wq_scan s = WQ_SCAN_INIT;
        size_t len, skip;
        int64_t lines;
        if (wq_record_end(&f, &s, t + at, n - at, 1, &len, &skip, &lines) != WQ_RECORD_FOUND)
            break;
        wq_fields it;
        const char *field;
        size_t flen, col = 0;
        wq_fields_init(&it, &f, t + at, len);
        while (ok && wq_fields_next(&it, &tmp, &field, &flen)) {
            const struct piece *w = &want[row * ncols + col];
            ok = row < nrows && col < ncols && flen == (w->p ? w->n : 0) &&
                 memcmp(field, w->p ? w->p : "", flen) == 0;
            col++;
        }
        /* A TSV row of one empty field is an empty line: no fields. */
        int empty = tsv && ncols == 1 && col == 0 && row < nrows &&
                    (!want[row].p || want[row].n == 0);
        ok = ok && (col == ncols || empty);
        at += len + skip;
    }
    wq_buf_free(&tmp);
    return ok && row == nrows && at == n;
}

/* Writes the rows of v (after the names) with csvrow.h; 0, or -1 when TSV
 * refused a value (then one must hold a tab, CR or LF). */
static int write_rows(const wq_csvcols *c, struct piece *v, size_t nrows, size_t ncols,
                      wq_buf *out, const uint8_t *data, size_t size)
{
    static wq_csvrow row = WQ_CSVROW_INIT;
    char err[WQ_ERRLEN];
    for (size_t r = 1; r < nrows; r++) {
        lua_createtable(L, 0, (int)ncols);
        for (size_t j = 0; j < ncols; j++) {
            struct piece *x = &v[r * ncols + j];
            if (x->n == 1 && x->p[0] == '\1') {
                x->p = NULL;  /* missing */
                continue;
            }
            lua_pushlstring(L, v[j].p, v[j].n);
            lua_pushlstring(L, x->p, x->n);
            lua_rawset(L, -3);
        }
        int rc = wq_csvrow_put(&row, L, c, -1, 0, "row", out, err);
        lua_pop(L, 1);
        if (rc < 0) {
            int bad = 0;
            for (size_t j = 0; j < ncols; j++)
                for (size_t i = 0; v[r * ncols + j].p && i < v[r * ncols + j].n; i++)
                    bad |= strchr("\t\r\n", v[r * ncols + j].p[i]) != NULL;
            require(wq_csvcols_tsv(c) && bad, "the writer refused a row", data, size);
            return -1;
        }
        wq_buf_addc(out, '\n');
    }
    return 0;
}

static void fuzz_writer(const uint8_t *data, size_t size)
{
    enum { MAXP = 256 };
    struct piece v[MAXP];
    const char *names[8];
    size_t lens[8];
    char err[WQ_ERRLEN];
    if (size < 2)
        return;
    int tsv = data[1] & 1;
    size_t ncols = 1 + (data[1] >> 1) % 8;
    size_t n = split_pieces((const char *)data + 2, size - 2, v, MAXP);
    if (n < ncols)
        return;
    size_t nrows = n / ncols;  /* the names are row 0 */
    for (size_t j = 0; j < ncols; j++) {
        names[j] = v[j].p;
        lens[j] = v[j].n;
    }
    wq_csvcols *c = wq_csvcols_new(tsv, names, lens, ncols, "columns", err);
    if (!c)
        return;  /* a name given twice, or TSV's refusals */
    wq_buf out = WQ_BUF_INIT;
    size_t hlen;
    const char *header = wq_csvcols_header(c, &hlen);
    wq_buf_add(&out, header, hlen);
    if (write_rows(c, v, nrows, ncols, &out, data, size) == 0) {
        decoded[3]++;
        require(reads_back(tsv, out.data, out.len, v, nrows, ncols),
                "what the writer wrote reads back otherwise", data, size);
    }
    wq_buf_free(&out);
    wq_csvcols_free(c);
}

static int fuzz_one(const uint8_t *data, size_t size)
{
    if (!L) {
        L = luaL_newstate();
        luaL_openlibs(L);
    }
    if (size == 0)
        return 0;
    switch (data[0] % 4) {
    case 0: fuzz_json(data + 1, size - 1); break;
    case 1: fuzz_binary(data + 1, size - 1); break;
    case 2: fuzz_records(data, size); break;
    default: fuzz_writer(data, size); break;
    }
    require(lua_gettop(L) == 0, "the stack is not as it was", data, size);
    return 0;
}

#ifdef WQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size);
}
#else
/* Seeds, one per target and format, then mutations of them. */
#define SEED(s) {s, sizeof(s) - 1}
static const struct seed {
    const char *p;
    size_t n;
} seeds[] = {
    SEED("\0{\"a\":[1,2.5,\"x\\u00e9\\ud83d\\ude00\",true,null,{}],\"b\":-9223372036854775808}"),
    SEED("\0[1e400,-0.0,0.1,\"\\u0000\",[[[]]],{\"1\":1,\"\":{}}]"),
    SEED("\0\"\xff\xfe\" "),
    SEED("\2\0a\r\nb\n\nc"),
    SEED("\2\1a\0b\0\0"),
    SEED("\2\2\2--a--b---"),
    SEED("\2\3\n\na\nb\n\n\nc\n"),
    SEED("\2\4a,\"b\"\"c\",d\r\n\"x\ny\",z\n\"open"),
    SEED("\2\5a\tb\t\nc"),
    SEED("\2\4a,b\rc\r\n\"x\ry\",\"\"\r\r\nlong field past the bound\r"),
    SEED("\2\5a\tb\rc\r\nd\r\r\n\tlong field past the bound\ne"),
    SEED("\2\3a\nlong paragraph\npast the bound\n\n\nb"),
    SEED("\2\2\2==long record\npast the bound\n==b==c"),
    SEED("\3\4a,b\0q\"t\0\0x\0say \"hi\", \r\n\0\1\0\0 sp \0line\nend\0\1"),
    SEED("\3\5name\0n\0apple\0\0\0\t\0pear\x65\0\1\0\xc3\xa9\0\r\0"),
    SEED("\3\0only\0\0x\0\1\0\"\0,"),
};

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Replaces, inserts or deletes a byte, or cuts the input, one to four
 * times; the first byte (the target) stays. Returns the new size. */
static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    for (int m = 1 + (int)(next_random() % 4); m > 0; m--) {
        uint64_t x = next_random();
        size_t at = 1 + (n > 1 ? x % (n - 1) : 0);
        switch ((x >> 32) % 4) {
        case 0:
            if (at < n)
                buf[at] = (uint8_t)(x >> 40);
            break;
        case 1:
            if (n < cap) {
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = (uint8_t)(x >> 48);
                n++;
            }
            break;
        case 2:
            if (at < n) {
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
            break;
        default:
            n = at;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 500000;
    uint8_t buf[512];
    size_t nseeds = sizeof seeds / sizeof *seeds;
    for (size_t i = 0; i < nseeds; i++)
        fuzz_one((const uint8_t *)seeds[i].p, seeds[i].n);
    /* A binary seed: the encoding of a value with every tag. */
    lua_State *S = luaL_newstate();
    luaL_dostring(S, "return {1, 2.5, 'x', true, false, {a = {}}, [-3] = 'n'}");
    wq_buf bin = WQ_BUF_INIT;
    char err[WQ_ERRLEN];
    wq_buf_addc(&bin, 1);
    if (wq_codec_encode(S, -1, WQ_BINARY, "value", &bin, err) < 0)
        return 1;
    lua_close(S);
    fuzz_one((const uint8_t *)bin.data, bin.len);
    for (long r = 0; r < rounds; r++) {
        const uint8_t *from;
        size_t n;
        size_t pick = next_random() % (nseeds + 1);
        if (pick == nseeds) {
            from = (const uint8_t *)bin.data;
            n = bin.len;
        } else {
            from = (const uint8_t *)seeds[pick].p;
            n = seeds[pick].n;
        }
        memcpy(buf, from, n);
        n = mutate(buf, n, sizeof buf);
        fuzz_one(buf, n);
    }
    wq_buf_free(&bin);
    lua_close(L);
    printf("fuzz: %ld rounds over %zu seeds (%ld JSON texts and %ld binary values "
           "decoded, %ld inputs with records, %ld tables written and read back), "
           "no check failed\n",
           rounds, nseeds + 1, decoded[0], decoded[1], decoded[2], decoded[3]);
    return 0;
}
#endif
