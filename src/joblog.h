/*
 * joblog.h - --joblog FILE: one line per finished item, in GNU parallel's
 * --joblog columns, for the tools that read that log.
 *
 * The writer stage hands over every batch it takes, on the main thread;
 * the lines of the batch's finished items (done or failed) are formatted
 * from the facts its worker recorded (batch.h) and written to the file at
 * once, one write a batch: the log is never more than the batch being
 * written behind the run, and holds nothing in memory between batches.
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

/* Opens the log at path (through wq_paths_open: never a link another user
 * planted): started afresh, or appended to when append (a run resuming a
 * journal), with the header line written only into an empty file. Returns
 * NULL with a message in err. */
wq_joblog *wq_joblog_open(const char *path, int append, wq_buf *err);

/* Writes the lines of b's finished items, in item order: its failed items,
 * and its done ones unless cut (a stopped run's batches past its prefix,
 * which are not journaled either). names are the inputs' names
 * (input.h). Returns 0, or -1 with a message in err. */
int wq_joblog_batch(wq_joblog *l, const wq_batch *b, const char *const *names, int cut,
                    wq_buf *err);

/* Appends s as a Command (and a --dry-run line) shows an item: tab,
 * newline and backslash written \t \n \\. Returns 0, or -1 when out of
 * memory. */
int wq_joblog_escape(wq_buf *out, const char *s, size_t len);

/* Closes the file and frees l. Returns 0, or -1 with a message in err. */
int wq_joblog_close(wq_joblog *l, wq_buf *err);

#endif
