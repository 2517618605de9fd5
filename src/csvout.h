/*
 * csvout.h - -f csv and -f tsv: which columns a run writes, and the one
 * header line before its first row.
 *
 * The columns are the job's global `columns` if it defines one; else, with
 * --csv/--tsv --header input, the header of the first input file that has
 * one; else the keys of the first row, sorted bytewise (csvrow.h writes
 * the rows). Workers encode rows in their own threads, so the writer only
 * copies bytes: the header line travels in front of the first row written,
 * as part of that item's result. That puts it in the journal with the row,
 * so a resumed run and a --merge of shards write it once, at the same
 * place, by copying results (wq_csvout_carried, wq_csvout_header_len). A
 * run with no row writes nothing at all, header included, as Miller does.
 *
 * Which row is first: with the output in input order, the first row of
 * the run in input order. A worker with a row to write before the header
 * is taken waits until every batch before its own has been handed back
 * (queue.h: wq_order_wait_before); that happens only at the start of a run,
 * or while no item has given a row yet. With --unordered, the first row
 * encoded takes the header, and a batch with rows is handed back only
 * after the batch that holds the header (wq_csvout_handing).
 *
 * Threads: one wq_csvout per run, shared; one wq_csvout_ctx per Lua state,
 * used by its thread alone. The shared part is write-once (the columns,
 * published with release order before the header is marked taken) or
 * under one mutex (the --unordered hand-back).
 */
#ifndef WQ_CSVOUT_H
#define WQ_CSVOUT_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "codec.h"
#include "csvrow.h"
#include "queue.h"
#include "record.h"

typedef struct wq_csvout wq_csvout;
typedef struct wq_csvout_ctx wq_csvout_ctx;

typedef struct wq_csvout_conf {
    int tsv;                  /* -f tsv, else -f csv */
    int unordered;            /* list results written as they finish */
    const wq_recfmt *rec;     /* the input's format: with header, its
                                 headers name the columns */
    int shards;               /* --merge: the inputs are journals, whose
                                 headers are not read */
} wq_csvout_conf;

/* conf is copied; rec is borrowed. */
wq_csvout *wq_csvout_new(const wq_csvout_conf *conf);
/* The window whose order the list is written in, once it exists; without
 * one (a merged value) nothing waits. */
void wq_csvout_set_order(wq_csvout *o, wq_order *order);
void wq_csvout_free(wq_csvout *o);
/* Whether the run is -f tsv. */
int wq_csvout_tsv(const wq_csvout *o);

/* A state's context, reading the job's global `columns` in L (after the
 * job's top level ran). Returns NULL with a message in err: `columns` is
 * not a list of distinct strings ("columns[2]: a column's name is a
 * string"), or out of memory. Call under the state's protected setup. */
wq_csvout_ctx *wq_csvout_attach(wq_csvout *o, lua_State *L, char err[WQ_ERRLEN]);
/* Frees x; the state's registry entries go with the state. */
void wq_csvout_detach(wq_csvout_ctx *x);
/* The job's `columns` as that state read them, or NULL. */
const wq_csvcols *wq_csvout_columns(const wq_csvout_ctx *x);

/* The batch whose items come next: its place in the window and its input
 * file (whose header, and those of the files before it, the reader has
 * set). */
void wq_csvout_batch(wq_csvout_ctx *x, uint64_t seq, int file);

/* Appends the row of process's result at idx, with the header line in
 * front if it is the run's first row. Returns WQ_CODEC_OK, or
 * WQ_CODEC_ERR with the message in err (out as it was). */
int wq_csvout_result(wq_csvout_ctx *x, lua_State *L, int idx, wq_buf *out,
                     char err[WQ_ERRLEN]);

/* Appends a result the journal had, p[0..len) as it was written: the
 * header line in front is kept if it is the run's first row, dropped
 * otherwise, and put there if missing. Returns 0, or -1 with a message in
 * err: the journal's header names other columns than this run writes. */
int wq_csvout_carried(wq_csvout_ctx *x, const char *p, size_t len, wq_buf *out,
                      wq_buf *err);

/* Around handing the batch back to the window (wq_order_done): handing
 * waits, with --unordered, while the batch has rows and the one with the
 * header has not been handed back; handed says it has been. */
void wq_csvout_handing(wq_csvout_ctx *x);
void wq_csvout_handed(wq_csvout_ctx *x);

/* Appends the merged value at idx (nil: no rows) as a whole CSV/TSV text:
 * the header line, then a line per row; nothing when there is no row.
 * root names the value in messages ("finish value"). Returns WQ_CODEC_OK,
 * or WQ_CODEC_ERR with the message in err: the value is not a list of
 * rows, a row cannot be written, or with --merge the columns would come
 * from an input header that the shards' journals do not hold. */
int wq_csvout_value(wq_csvout_ctx *x, lua_State *L, int idx, const char *root,
                    wq_buf *out, char err[WQ_ERRLEN]);

/* The length of the header line in front of a list result p[0..len) of
 * -f csv (tsv) as workers write it (a header line and a row, or a row), or
 * 0 when it has none. */
size_t wq_csvout_header_len(int tsv, const char *p, size_t len);

#endif
