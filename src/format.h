/*
 * format.h - the formats of items in and of results out: one table for
 * each direction, looked up by name.
 *
 * In: each option that chooses how items are read sets where an item ends
 * (the record kind, record.h) and what process is given of its bytes (the
 * decoding). Out: each name -f takes sets how list results are framed (the
 * layout, frame.h), how values are encoded (codec.h) and the word the
 * journal's header records. main.c looks options up here and the run names
 * its formats in the journal's header from here, so a new format is a row
 * here and its scanner (record.c) or encoder (encode.c; csvout.c for the
 * rows of csv and tsv). No threads, no Lua calls.
 */
#ifndef WQ_FORMAT_H
#define WQ_FORMAT_H

#include <stddef.h>
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "record.h"

/* An option that chooses how items are read. A framing option sets the
 * record kind and the decoding; two of them on one command line are two
 * formats. An option that is no framing (--ndjson-in) sets the decoding
 * alone, over the framing given or lines. */
typedef struct wq_informat {
    const char *option;         /* as messages spell it ("-0", "--csv");
                                   NULL for the default, lines */
    const char *name;           /* the journal header's word for the framing */
    int framing;                /* it sets the record kind */
    enum wq_rec_kind kind;
    enum wq_rec_decode decode;
    int json;                   /* --ndjson-in may decode its records */
    const char *delim;          /* a delimiter it sets, as -d takes it (-0);
                                   NULL: -d's value */
} wq_informat;

/* The row of an option spelled as messages spell it, or NULL when the
 * option chooses no item format. */
const wq_informat *wq_informat_find(const char *option);

/* Sets in f what the option of row sets (arg: -d's value). A framing leaves
 * a JSON decoding in place, for wq_informat_check to refuse if it must.
 * Returns 0, or -1 with a message in err. */
int wq_informat_apply(const wq_informat *row, const char *arg, wq_recfmt *f,
                      wq_buf *err);

/* Whether f, with every option applied, is a format: --header needs a
 * framing that gives fields, and --ndjson-in one whose records may be JSON.
 * Returns 0, or -1 with a message in err. */
int wq_informat_check(const wq_recfmt *f, wq_buf *err);

/* The framing of f in a few words for the journal's header: "newline",
 * "nul", "delimiter 2c0a", "paragraph", "csv header", "newline chunk 64"... */
#define WQ_INFORMAT_NAME (2 * WQ_DELIM_MAX + 32)
void wq_informat_name(const wq_recfmt *f, char *name, size_t size);

/* A result format, as -f names it. */
typedef struct wq_outformat {
    const char *name;           /* what -f takes */
    enum wq_layout layout;      /* how list results are framed */
    enum wq_format encoding;    /* how a value is encoded */
    const char *journal;        /* the journal header's word for it, which
                                   journals already written hold: it stays
                                   if -f's name changes */
} wq_outformat;

/* The row named name, or NULL when there is none; name NULL gives the
 * default, json. */
const wq_outformat *wq_outformat_find(const char *name);

/* Appends the names -f takes, as "a, b or c", with mark after the
 * default's. Returns 0, or -1 when out cannot grow. */
int wq_outformat_list(wq_buf *out, const char *mark);

#endif
