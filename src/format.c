/* format.c - the formats of items in and of results out; see format.h. */
#include "format.h"

#include <stdio.h>
#include <string.h>

/* The item formats. The first row is the default; the order of the others
 * is the order in which messages list them. */
static const wq_informat informats[] = {
    /* option        name         framing kind            decode          json delim */
    {NULL,          "newline",   1, WQ_REC_LINES,     WQ_DECODE_STRING, 1, NULL},
    {"-0",          "nul",       1, WQ_REC_DELIM,     WQ_DECODE_STRING, 1, "\\0"},
    {"-d",          "delimiter", 1, WQ_REC_DELIM,     WQ_DECODE_STRING, 1, NULL},
    {"--csv",       "csv",       1, WQ_REC_CSV,       WQ_DECODE_FIELDS, 0, NULL},
    {"--tsv",       "tsv",       1, WQ_REC_TSV,       WQ_DECODE_FIELDS, 0, NULL},
    {"--paragraph", "paragraph", 1, WQ_REC_PARAGRAPH, WQ_DECODE_STRING, 0, NULL},
    {"--whole-files", "whole",   1, WQ_REC_WHOLE,     WQ_DECODE_STRING, 1, NULL},
    {"--ndjson-in", NULL,        0, WQ_REC_LINES,     WQ_DECODE_JSON,   0, NULL},
};

/* The result formats; the first row is the default. */
static const wq_outformat outformats[] = {
    /* name     layout             encoding journal */
    {"json",   WQ_LAYOUT_JSON,   WQ_JSON, "json"},
    {"ndjson", WQ_LAYOUT_NDJSON, WQ_JSON, "ndjson"},
    {"lines",  WQ_LAYOUT_LINES,  WQ_TEXT, "lines"},
    {"csv",    WQ_LAYOUT_CSV,    WQ_CSV,  "csv"},
    {"tsv",    WQ_LAYOUT_TSV,    WQ_TSV,  "tsv"},
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

/* What goes before item i of n in "a, b or c". */
static const char *separator(size_t i, size_t n)
{
    return i == 0 ? "" : i + 1 == n ? " or " : ", ";
}

const wq_informat *wq_informat_find(const char *option)
{
    for (size_t i = 0; i < COUNT(informats); i++)
        if (informats[i].option && strcmp(informats[i].option, option) == 0)
            return &informats[i];
    return NULL;
}

int wq_informat_apply(const wq_informat *row, const char *arg, wq_recfmt *f,
                      wq_buf *err)
{
    if (row->kind == WQ_REC_DELIM && wq_record_delimiter(f, row->delim ? row->delim : arg,
                                                         err) < 0)
        return -1;
    if (row->framing)
        f->kind = row->kind;
    if (!row->framing || f->decode != WQ_DECODE_JSON)
        f->decode = row->decode;
    return 0;
}

/* Whether f's delimiter is the one row sets (-0's NUL). */
static int sets_delim_of(const wq_informat *row, const wq_recfmt *f)
{
    wq_recfmt t = {.kind = WQ_REC_DELIM};
    wq_buf err = WQ_BUF_INIT;
    int same = row->delim && wq_record_delimiter(&t, row->delim, &err) == 0 &&
               t.delim_len == f->delim_len && memcmp(t.delim, f->delim, t.delim_len) == 0;
    wq_buf_free(&err);
    return same;
}

/* The framing row that gives f its record kind: of a delimiter, the row
 * that sets that delimiter if one does, else -d's. */
static const wq_informat *framing_of(const wq_recfmt *f)
{
    const wq_informat *found = NULL;
    for (size_t i = 0; i < COUNT(informats); i++) {
        const wq_informat *row = &informats[i];
        if (row->framing && row->kind == f->kind &&
            (row->delim ? sets_delim_of(row, f) : !found))
            found = row;
    }
    return found ? found : &informats[0];
}

/* Whether row is among the framings that give fields (fields), or else
 * among those whose records --ndjson-in cannot decode. */
static int listed(const wq_informat *row, int fields)
{
    return row->option && row->framing &&
           (fields ? row->decode == WQ_DECODE_FIELDS : !row->json);
}

/* Appends the options of the listed framings, as "a, b or c". */
static void list_framings(wq_buf *out, int fields)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < COUNT(informats); i++)
        n += (size_t)listed(&informats[i], fields);
    for (size_t i = 0; i < COUNT(informats); i++)
        if (listed(&informats[i], fields))
            wq_buf_printf(out, "%s%s", separator(k++, n), informats[i].option);
}

int wq_informat_check(const wq_recfmt *f, wq_buf *err)
{
    const wq_informat *framing = framing_of(f);
    if (f->header && framing->decode != WQ_DECODE_FIELDS) {
        wq_buf_adds(err, "--header goes with ");
        list_framings(err, 1);
        return -1;
    }
    if (f->decode == WQ_DECODE_JSON && !framing->json) {
        wq_buf_adds(err, "--ndjson-in reads lines of JSON: it cannot go with ");
        list_framings(err, 0);
        return -1;
    }
    return 0;
}

void wq_informat_name(const wq_recfmt *f, char *name, size_t size)
{
    const wq_informat *row = framing_of(f);
    int n = snprintf(name, size, "%s", row->name);
    if (row->kind == WQ_REC_DELIM && !row->delim)
        for (size_t i = 0; i < f->delim_len && n > 0 && (size_t)n < size; i++)
            n += snprintf(name + n, size - (size_t)n, "%s%02x", i ? "" : " ",
                          (unsigned char)f->delim[i]);
    if (f->header && n > 0 && (size_t)n < size)
        n += snprintf(name + n, size - (size_t)n, " header");
    if (f->chunk && n > 0 && (size_t)n < size)
        snprintf(name + n, size - (size_t)n, " chunk %u", (unsigned)f->chunk);
}

const wq_outformat *wq_outformat_find(const char *name)
{
    for (size_t i = 0; i < COUNT(outformats); i++)
        if (!name || strcmp(outformats[i].name, name) == 0)
            return &outformats[i];
    return NULL;
}

int wq_outformat_list(wq_buf *out, const char *mark)
{
    int rc = 0;
    for (size_t i = 0; i < COUNT(outformats) && rc == 0; i++)
        rc = wq_buf_printf(out, "%s%s%s", separator(i, COUNT(outformats)),
                           outformats[i].name, i == 0 ? mark : "");
    return rc;
}
