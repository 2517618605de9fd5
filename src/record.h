/*
 * record.h - record formats: where one item ends in a stream of bytes, what
 * process is given of its bytes, and the fields of a CSV or TSV record.
 *
 * The reader (input.c) and the progress line's counter find records with
 * wq_record_end; a worker splits a CSV/TSV record's bytes into fields with
 * wq_fields_next. A record crosses threads as its raw bytes (quotes and all,
 * without its terminator), so journals hash and --errors show what the input
 * held. No threads, no Lua.
 */
#ifndef WQ_RECORD_H
#define WQ_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum wq_rec_kind {
    WQ_REC_LINES,      /* '\n' ends an item, a '\r' before it is removed */
    WQ_REC_DELIM,      /* -0, -d STR: the delimiter's bytes end an item */
    WQ_REC_PARAGRAPH,  /* blocks of lines separated by blank lines */
    WQ_REC_CSV,        /* RFC 4180 records; "\r\n", "\n" or a bare "\r"
                          outside quotes ends one, as in Python's csv */
    WQ_REC_TSV,        /* lines split on tabs, ended as CSV records are */
    WQ_REC_WHOLE       /* --whole-files: each file is one record, all of
                          its bytes (an empty file too) */
};

/* What process is given of a record's bytes. */
enum wq_rec_decode {
    WQ_DECODE_STRING,  /* the bytes, as a string */
    WQ_DECODE_FIELDS,  /* CSV, TSV: a table of the record's fields */
    WQ_DECODE_JSON     /* --ndjson-in: the value of the JSON text */
};

#define WQ_DELIM_MAX 64

typedef struct wq_headers wq_headers;

typedef struct wq_recfmt {
    enum wq_rec_kind kind;
    char delim[WQ_DELIM_MAX];  /* WQ_REC_DELIM */
    size_t delim_len;
    int header;                /* csv/tsv: each file's first record names
                                  the fields; it is no item */
    enum wq_rec_decode decode; /* JSON: blank records and a BOM at the
                                  start of a file are skipped */
    wq_headers *headers;       /* with header: where the reader keeps them;
                                  NULL: they are dropped (counting) */
    int zstd_window_log;       /* --zstd-long=N: compressed input's zstd
                                  windows may be up to 2^N bytes; 0: zstd's
                                  default limit (decompress.h) */
    size_t max;                /* --max-record: the longest record kept;
                                  0 for no bound (input.h) */
    uint32_t chunk;            /* --chunk N: up to N records make one item,
                                  an array of their values (chunk.h); 0:
                                  each record is an item */
} wq_recfmt;

/* Sets f to -d STR: escapes \n \t \r \0 \\ \xHH. Returns 0, or -1 with a
 * message in err. */
int wq_record_delimiter(wq_recfmt *f, const char *s, wq_buf *err);

/* The state of a search for a record's end, kept while more bytes are read:
 * zero it (WQ_SCAN_INIT) at the start of each record. */
typedef struct wq_scan {
    size_t pos;                /* bytes known not to end the record */
    int state;                 /* CSV quoting */
    int64_t nl;                /* newlines that *lines counts and the bytes
                                  given no longer show (CSV: all of those
                                  inside quotes before pos) */
    size_t dropped;            /* bytes of the record wq_record_drop took */
} wq_scan;

#define WQ_SCAN_INIT {0, 0, 0, 0}

/* Whether a UTF-8 BOM at the start of each file is no data: CSV, TSV and
 * JSON records. */
int wq_record_skips_bom(const wq_recfmt *f);

/* The bound of --max-record in words for messages: "1 MiB", "3 GiB",
 * "1000 bytes". */
#define WQ_SIZE_NAME 48
void wq_record_size_name(size_t size, char *name, size_t bufsize);

/* Bytes at the start of p (n bytes) that belong to no record: the blank
 * lines before a paragraph. Returns how many; all n may be. It applies
 * before the scan of a record starts (s->pos and s->dropped are 0). */
size_t wq_record_lead(const wq_recfmt *f, const char *p, size_t n);

/* What wq_record_end returns. */
enum wq_record_rc {
    WQ_RECORD_FOUND = 1,  /* *len, *skip and *lines are set */
    WQ_RECORD_MORE = 0,   /* the end may lie past the bytes given */
    WQ_RECORD_NONE = -1   /* at eof: no record is left */
};

/* Finds the end of the record that starts at p, of which n bytes are
 * buffered (and no more follow when eof). Found: *len (the item's bytes),
 * *skip (its terminator's) and *lines (what LINE advances by) are set.
 * More: call again with the same start and more bytes. A whole file
 * (WQ_REC_WHOLE) is found only at eof, even when empty: the caller asks
 * once per file. */
enum wq_record_rc wq_record_end(const wq_recfmt *f, wq_scan *s, const char *p,
                                size_t n, int eof, size_t *len, size_t *skip,
                                int64_t *lines);

/* After wq_record_end returned WQ_RECORD_MORE for the record at p: the bytes at its
 * start that the search no longer needs, which the caller may discard (a
 * record too long to keep is skipped so, in bounded memory). Returns how
 * many; the next call to wq_record_end takes p + that many as the record's
 * start, and its *lines still counts the newlines they held. *len is then
 * what remained in view, not the record's length. */
size_t wq_record_drop(const wq_recfmt *f, wq_scan *s, const char *p);

/* Whether a line holds only blanks (skipped with --ndjson-in). */
int wq_record_blank(const char *p, size_t n);

/* The fields of one CSV or TSV record, in order. An empty record has none. */
typedef struct wq_fields {
    const char *p, *end;
    int more, csv;
} wq_fields;

void wq_fields_init(wq_fields *it, const wq_recfmt *f, const char *rec,
                    size_t len);
/* Returns 1 with the next field in *field and *len (pointing into the
 * record, or into tmp when unquoting changed it: valid until the next
 * call), or 0 after the last. */
int wq_fields_next(wq_fields *it, wq_buf *tmp, const char **field, size_t *len);

/* Header records, one per input file, kept by the reader for the workers.
 * The reader sets a file's header before it hands out any item of that
 * file; a worker reads it after taking a batch of that file from the queue,
 * whose lock orders the two. Each is set once. */
wq_headers *wq_headers_new(int nfiles);
void wq_headers_free(wq_headers *h);
int wq_headers_set(wq_headers *h, int file, const char *rec, size_t len);
/* The header record of file, or NULL when it has none. */
const char *wq_headers_get(const wq_headers *h, int file, size_t *len);
/* The number of files h keeps headers for (0 for NULL). */
int wq_headers_count(const wq_headers *h);

#endif
