/*
 * reader.h - the reader stage: input to batches, on a thread of its own.
 *
 * The reader reads items (input.h; with --chunk, N records make one item,
 * chunk.h), groups consecutive items of one file
 * into batches sized to about a fixed amount of work, and pushes them on the
 * work queue under a sequence number reserved in the reorder window. With a
 * journal it looks every item up there as it reads it: an item the journal
 * has a result for is carried over in its batch instead of being run again.
 * A dry run (--dry-run) reads the same way and lists the items instead.
 * A record longer than the format's bound (--max-record) fails here, in a
 * batch of its own that goes to the window finished, never to a worker; it
 * is not journaled, so a rerun with a larger bound runs it.
 *
 * It ends at the end of the input or at a stop (it is entered in the stop's
 * registry, so a stop ends a blocking read); either way it then closes the
 * window and the queue, which is how the workers and the writer learn that
 * no more batches come.
 */
#ifndef WQ_READER_H
#define WQ_READER_H

#include <stdatomic.h>
#include <stdint.h>
#include "batch.h"
#include "input.h"
#include "journal.h"
#include "queue.h"
#include "shards.h"
#include "record.h"
#include "stop.h"

typedef struct wq_reader wq_reader;

/* What the batches in the reorder window may weigh together, their items
 * and results: past it, the reader waits for the writer. */
#define WQ_WINDOW_BYTES (64u << 20)
/* How many batches it may hold: enough that a batch which takes long does
 * not stop the others before the weight does. */
#define WQ_WINDOW_SLOTS 4096

typedef struct wq_readconf {
    const wq_inputs *inputs;    /* the files, and their names for messages */
    const wq_recfmt *fmt;       /* the record format */
    int shard_k, shard_n;       /* --shard K/N; 1/1 without */
    int fold;                   /* results are folded: longer batches */
    int workers, cpus;          /* more workers than CPUs share them */
    int window;                 /* batches usually in flight: each may weigh
                                   WQ_WINDOW_BYTES / window */
    wq_journal *journal;        /* --journal, or NULL */
    const char *journal_path;   /* for messages */
    wq_stop *stop;
    int slot;                   /* the reader's slot in the stop's registry */
    wq_queue *queue;            /* where batches go */
    wq_order *order;            /* where sequence numbers come from */
    wq_spares *spares;          /* where batches come from */
    _Atomic int64_t *item_ns;   /* the recent cost of an item (worker.h) */
    wq_shardset *shards;        /* --merge of a keyed reduce: the items come
                                   from these journals (shards.h), not from
                                   inputs */
    int keep_going;             /* -k: a record longer than fmt->max fails
                                   as its item and the run goes on; without
                                   it the run stops there */
} wq_readconf;

/* What the reader did, once it ended. */
typedef struct wq_readtally {
    int64_t read;               /* items read (in and out of the shard) */
    int64_t rest;               /* items of this run left unread at a stop */
    int rest_unknown;           /* more may have followed (a pipe, or an
                                   input that could not be read on) */
    int complete;               /* the whole input was read */
    uint64_t digest;            /* of every item read, when journaling */
    int64_t rerun;              /* items the journal recorded as failed,
                                   handed out to run again */
} wq_readtally;

/* conf is borrowed. Returns NULL when out of memory. */
wq_reader *wq_reader_new(const wq_readconf *conf);
void wq_reader_free(wq_reader *r);
/* Starts the thread. Returns 0, or -1 with a message in err (the window
 * and the queue are closed then). */
int wq_reader_start(wq_reader *r, wq_buf *err);
/* Joins the thread. */
void wq_reader_join(wq_reader *r);
/* Counts, without a thread, what a stop before the first item left unread. */
void wq_reader_skip(wq_reader *r);
/* After the join (or skip). */
const wq_readtally *wq_reader_tally(const wq_reader *r);
/* The error that stopped the reader, if any (empty otherwise). */
const wq_buf *wq_reader_error(const wq_reader *r);

/* --dry-run, instead of wq_reader_start: reads the input on the calling
 * thread exactly as the reader thread would (the record format, the
 * shard, the journal's results carried) and writes each item that would
 * run to fd as a line "SOURCE:LINE<TAB>item", the item escaped as the job
 * log writes it (joblog.h). The queue, the window and the spares are not
 * used. Returns 0, or -1 with the message in wq_reader_error (a read
 * error, an input that differs from the journal's, a write error). */
int wq_reader_dry_run(wq_reader *r, int fd);

#endif
