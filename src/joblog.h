/*
 * joblog.h - --joblog FILE: one line per finished item, in GNU parallel's
 * --joblog columns, for the tools that read that log.
 *
 * The writer stage hands over every batch it takes, on the main thread;
 * the lines of the batch's finished items (done or failed) are formatted
 * from the facts its worker recorded (batch.h) and handed to the log's own
 * thread, which writes them as they come: a slow disk holds the run back
 * only once the log is WQ_JOBLOG_BOUND bytes behind it, and the lines of a
 * batch are written as soon as the disk takes them.
 * The columns, tab-separated after a header line:
 *
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *
 * the item's index, its worker, the Unix time its last attempt started and
 * the seconds that attempt ran (3 decimals), the bytes of the item and of
 * its encoded result, 0 done / 1 failed, 0, then SOURCE:LINE, a space and
 * the item with tab, newline and backslash written \t \n \\. No threads,
 * no Lua.
 */
#ifndef WQ_JOBLOG_H
#define WQ_JOBLOG_H

#include "batch.h"
#include "buf.h"

typedef struct wq_joblog wq_joblog;

/* How far (in bytes of lines) the log's writes may be behind the run. */
#define WQ_JOBLOG_BOUND (64u << 20)

/* Opens the log at path (through wq_paths_open: never a link another user
 * planted): started afresh, or appended to when append (a run resuming a
 * journal), with the header line written only into an empty file. Returns
 * NULL with a message in err. */
wq_joblog *wq_joblog_open(const char *path, int append, wq_buf *err);

/* Logs the lines of b's finished items, in item order: its failed items,
 * and its done ones unless cut (a stopped run's batches past its prefix,
 * which are not journaled either). names are the inputs' names
 * (input.h). Returns 0, or -1 with a message in err: out of memory, or a
 * write of earlier lines failed (said once: later calls return -1 with
 * nothing in err). */
int wq_joblog_batch(wq_joblog *l, const wq_batch *b, const char *const *names, int cut,
                    wq_buf *err);

/* Appends s as a Command (and a --dry-run line) shows an item: tab,
 * newline and backslash written \t \n \\. Returns 0, or -1 when out of
 * memory. */
int wq_joblog_escape(wq_buf *out, const char *s, size_t len);

/* Waits until every line handed over is written, closes the file and
 * frees l. Returns 0, or -1 with a message in err (a write error not said
 * by wq_joblog_batch). */
int wq_joblog_close(wq_joblog *l, wq_buf *err);

#endif
