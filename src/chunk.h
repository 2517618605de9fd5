/*
 * chunk.h - --chunk N: up to N consecutive records handed to process as one
 * item, an array of their values.
 *
 * A chunk travels through the batch, the queue, the journal and the worker
 * as one item whose bytes are its records back to back, each written as its
 * length in decimal, a colon and its bytes ("3:foo2:ab"), so that the rest
 * of the pipeline sees items as it always does and the worker (itemval.c)
 * splits them back. Which records make a chunk is decided here, for the
 * reader and for the progress line's count alike: a chunk ends after N
 * records, at the end of an input file (not with --whole-files, where a
 * file is a record), and around a record longer than --max-record, which
 * is a chunk alone (it fails as its item). No threads,
 * no Lua.
 */
#ifndef WQ_CHUNK_H
#define WQ_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "record.h"

/* The largest N --chunk takes. */
#define WQ_CHUNK_MAX 1000000

/* The chunk being built, as a count: zero it with wq_chunker_init. */
typedef struct wq_chunker {
    uint32_t size;              /* N */
    uint32_t n;                 /* records in the chunk being built */
    int file;                   /* their file */
    int alone;                  /* it is a record too long to keep */
    int cross;                  /* a chunk may hold records of several files */
} wq_chunker;

/* Chunks of f->chunk records in the format f. */
void wq_chunker_init(wq_chunker *c, const wq_recfmt *f);
/* Whether a record of file (too_long: longer than --max-record) would join
 * the chunk being built; else it starts the next one. */
int wq_chunker_joins(const wq_chunker *c, int file, int too_long);
/* Counts such a record in. Returns 1 when it starts a chunk, 0 when it
 * joins the one being built. */
int wq_chunker_add(wq_chunker *c, int file, int too_long);
/* Whether no record can join the chunk being built any more. */
int wq_chunker_full(const wq_chunker *c);

/* Appends a record to a chunk's bytes. Returns 0, or -1 when out of
 * memory. */
int wq_chunk_add(wq_buf *chunk, const char *rec, size_t len);
/* Takes the next record from *p (the chunk's bytes run to end): sets *rec
 * and *len and moves *p past it. Returns 1, or 0 after the last (or at
 * bytes that are no chunk's). */
int wq_chunk_next(const char **p, const char *end, const char **rec, size_t *len);

#endif
