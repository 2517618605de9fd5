/*
 * writer.h - the writer stage: finished batches to the output, in order.
 *
 * The writer runs on the main thread, the host's. It takes finished batches
 * from the reorder window (in input order, or as they finish when
 * unordered), records them in the journal, reports their failures (and
 * writes them to --errors), logs their items (--joblog), and writes their
 * results: list results as they are, folded values merged into the host
 * state's accumulator, whose value is written at the end (wq_writer_value),
 * or, with reduce, parts handed to their owners (shuffle.h). A batch it is
 * done with goes back to the spares, or to the shuffle, which gives it back
 * when its parts are folded.
 */
#ifndef WQ_WRITER_H
#define WQ_WRITER_H

#include <stdint.h>
#include "batch.h"
#include "glue.h"
#include "joblog.h"
#include "journal.h"
#include "maxfail.h"
#include "output.h"
#include "progress.h"
#include "queue.h"
#include "shuffle.h"
#include "stop.h"

typedef struct wq_writer wq_writer;

typedef struct wq_writeconf {
    wq_out *out;                /* the results */
    wq_out *errors;             /* --errors FILE, or NULL */
    wq_journal *journal;        /* --journal, or NULL */
    wq_joblog *joblog;          /* --joblog, or NULL */
    int attempts;               /* --errors records say the attempts an
                                   item took (--retries) */
    wq_lua *host;               /* folds batches with its merge; NULL: the
                                   results are a list, or keys */
    wq_shuffle *shuffle;        /* with reduce: where the batches' parts go */
    const char *const *names;   /* each input's name, for reports (input.h) */
    wq_progress *progress;      /* or NULL */
    wq_stop *stop;
    const wq_maxfail *max_failures;  /* --max-failures with -k, or NULL */
    int prefix;                 /* an ordered list: after a stop, the output
                                   ends at the first item not processed */
} wq_writeconf;

/* What became of the items written, summed over the batches. */
typedef struct wq_writetally {
    int64_t done;               /* with or without a result */
    int64_t failed;
    int64_t unrun;              /* taken by a worker, not processed */
    int64_t carried;            /* of done: results the journal had */
    int64_t nil;                /* of done: no result */
    int64_t retried;            /* items run more than once (--retries) */
    int64_t attempts;           /* the attempts of those items */
    int64_t batches;            /* batches written */
    int64_t busy_ns;            /* time spent writing and merging them */
    int too_many;               /* --max-failures stopped the run */
} wq_writetally;

/* conf is borrowed. */
wq_writer *wq_writer_new(const wq_writeconf *conf);
void wq_writer_free(wq_writer *w);
/* Writes finished batches until the window is closed and drained. */
void wq_writer_drain(wq_writer *w, wq_order *order, wq_spares *spares);
const wq_writetally *wq_writer_tally(const wq_writer *w);
/* Counts ns of the main thread's work done elsewhere (a reduce's keys
 * written) in the writer's busy time. */
void wq_writer_add_busy(wq_writer *w, int64_t ns);

/* What wq_writer_value returns. */
enum wq_value_rc {
    WQ_VALUE_OK = 0,
    WQ_VALUE_FINISH_FAILED = -1,  /* finish raised an error */
    WQ_VALUE_UNENCODABLE = -2,    /* the value cannot be written in fmt */
    WQ_VALUE_WRITE_FAILED = -3    /* the output could not be written */
};

/* The end of a fold: runs the host's finish on its accumulator and writes
 * the value to out. The message of a failure is in err. */
enum wq_value_rc wq_writer_value(wq_lua *host, enum wq_format fmt, wq_out *out,
                                 wq_buf *err);

#endif
