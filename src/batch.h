/*
 * batch.h - a run of consecutive items and what became of them.
 *
 * The reader fills the first part (all items of a batch come from one file),
 * one worker fills the second, the writer reads both and frees the batch.
 * Only one thread holds a batch at a time; queue.h hands it over.
 */
#ifndef WQ_BATCH_H
#define WQ_BATCH_H

#include <stdint.h>
#include "buf.h"

typedef struct wq_failure {
    struct wq_failure *next;
    int64_t index;              /* the item's position in the whole input */
    int64_t line;               /* its line in the batch's file */
    uint32_t attempts;          /* runs of process it took (0: never run) */
    wq_buf item;                /* its bytes */
    wq_buf message;             /* error message and traceback */
} wq_failure;

/* What became of an item, for the journal. */
enum wq_slot_status {
    WQ_SLOT_NONE = 0,           /* not run */
    WQ_SLOT_RESULT,             /* payload: the result (framed for a list) */
    WQ_SLOT_NIL,                /* no result */
    WQ_SLOT_FAILED              /* payload: the error's first line */
};

/* Per item, when the run keeps a journal. */
typedef struct wq_jitem {
    uint64_t hash;              /* of the item's bytes */
    size_t start, end;          /* its journal payload in jbuf */
    char status;                /* enum wq_slot_status */
    char carried;               /* the journal had it: not run again */
} wq_jitem;

/* What a worker records of each item it ran, when the run logs items
 * (--joblog), counts attempts (--retries) or may stop at a failure in
 * input order (--max-failures): wq_batch_facts. */
enum wq_fact_status {
    WQ_FACT_NONE = 0,           /* not run here: carried, interrupted, not
                                   reached */
    WQ_FACT_DONE,               /* with a result */
    WQ_FACT_NIL,                /* done, without a result */
    WQ_FACT_FAILED
};

typedef struct wq_itemfacts {
    int64_t start_ns;           /* the last attempt's start (wq_now_ns);
                                   0 without --joblog */
    int64_t run_ns;             /* how long that attempt ran (--joblog) */
    uint64_t result;            /* bytes of the encoded result, 0 if none
                                   (a folded one is measured only with
                                   --joblog) */
    size_t out_end;             /* where the batch's output ended after
                                   the item (a list's results) */
    uint32_t attempts;          /* runs of process, retries included */
    uint16_t worker;            /* 1..N */
    uint8_t status;             /* enum wq_fact_status */
} wq_itemfacts;

typedef struct wq_batch {
    uint64_t seq;               /* position in the reorder window */
    int64_t first;              /* index of the first item */
    int64_t stride;             /* between items' indexes: 1, or
                                   N for --shard K/N */
    int64_t jfirst, jstride;    /* the journal's numbers of the items: as
                                   first and stride, but with --chunk they
                                   count chunks, not records */
    int file;                   /* the file's number on the command line */
    uint32_t count;
    wq_buf items;               /* the items' bytes, back to back */
    size_t *ends;               /* ends[i]: where item i ends in items */
    int64_t *lines;             /* lines[i]: item i's LINE in the file */
    size_t ends_cap;

    wq_buf out;                 /* results: framed list output, one
                                   merged value (WQ_BINARY), or a keyed
                                   reduce's parts (shuffle.h) */
    size_t *part_end;           /* with reduce: part k ends at part_end[k] */
    int part_cap;               /* part_end's room */
    int nparts;                 /* parts in out: 0, or every owner's */
    int refs;                   /* with reduce: owners yet to fold a part */
    uint32_t done, failed, unrun;
    uint32_t carried;           /* of done: results the journal had */
    uint32_t nil;               /* of done: no result */
    wq_failure *failures;       /* in item order */

    wq_jitem *j;                /* NULL unless journaling */
    wq_buf jbuf;                /* journal payloads: results, messages */
    wq_itemfacts *facts;        /* facts[i] of item i, once a worker asked
                                   for them (wq_batch_facts); else NULL */
    uint32_t retried;           /* items run more than once */
    uint32_t attempts;          /* the attempts of those items */
    wq_itemfacts *facts_mem;    /* where facts are kept between uses */
    size_t facts_cap;
    struct wq_batch *next;      /* in the list of spare batches */
} wq_batch;

/* Batches the writer is done with go back to the reader through a list of
 * spares, so their buffers stop growing after the first rounds instead of
 * being allocated anew for every batch. Any thread may take or give. */
typedef struct wq_spares wq_spares;

wq_batch *wq_batch_new(void);
void wq_batch_free(wq_batch *b);
/* Empties b for reuse, keeping its buffers. Returns b, or NULL when it grew
 * too big to keep (it is freed then). */
wq_batch *wq_batch_reset(wq_batch *b);
/* Appends an item that starts at LINE line of the batch's file (with its
 * journal entry when journaling). Returns 0 or -1 (out of memory). */
int wq_batch_add(wq_batch *b, const char *item, size_t len, int64_t line,
                 int journaling);
/* What the batch weighs in the reorder window: the bytes of its items and
 * results. */
size_t wq_batch_weight(const wq_batch *b);
/* Item i's bytes. */
const char *wq_batch_item(const wq_batch *b, uint32_t i, size_t *len);
/* Item i's LINE: records may span lines, so it is kept per item. */
static inline int64_t wq_batch_line(const wq_batch *b, uint32_t i)
{
    return b->lines[i];
}
/* Makes room for n parts in part_end. Returns 0 or -1. */
int wq_batch_parts(wq_batch *b, int n);
/* Records the failure of item i, taking a copy of msg; its attempts are
 * those of facts[i] if the batch has facts. */
void wq_batch_fail(wq_batch *b, uint32_t i, const wq_buf *msg);
/* Makes b->facts an array of b->count facts, all zero (a worker calls it
 * before it runs the batch). Returns 0, or -1 when out of memory (b->facts
 * stays NULL: the run goes on without them). */
int wq_batch_facts(wq_batch *b);

wq_spares *wq_spares_new(void);
/* Frees the list and every batch on it. */
void wq_spares_free(wq_spares *s);
/* A spare batch, or a new one; NULL when out of memory. */
wq_batch *wq_spares_take(wq_spares *s);
/* Empties b and keeps it for reuse (or frees it: wq_batch_reset). */
void wq_spares_give(wq_spares *s, wq_batch *b);

#endif
