/*
 * summary.h - the line that ends a stopped run: what was done, why it
 * stopped, and what the user is left holding.
 *
 * A stopped run must never look complete: the line says "interrupted" for
 * a signal, "stopped" when items were left (a stop after the last item only
 * gives the counts and why), whether the merged value was withheld (or
 * written partial, with --partial), what -o FILE holds (the first N
 * results of a list) or that it was left as it was, and with a journal,
 * that running the same command again resumes. No threads, no Lua.
 */
#ifndef WQ_SUMMARY_H
#define WQ_SUMMARY_H

#include <stdint.h>
#include "buf.h"

typedef struct wq_summary {
    int signal;              /* stopped by SIGINT or SIGTERM */
    const char *why;         /* the cause in words, or NULL */
    int64_t done, failed, left;
    int left_unknown;        /* the rest of a pipe was not read: "N+" */
    int merge;               /* the job folds its results with merge */
    int value;               /* the merged value was written */
    const char *output;      /* -o FILE, or NULL */
    int output_kept;         /* it was put in place, a regular file */
    int64_t results;         /* list results written */
    const char *journal;     /* --journal FILE, or NULL */
} wq_summary;

/* Appends the summary of a stopped run (without "luaworkq: ") to line:
 * "interrupted: 3 done, 0 failed, 9 not processed; no merged value written
 * (--partial writes the items done); out.json left as it was; run the same
 * command again to resume", "stopped: 61 done, 1 failed, 138 not
 * processed; out.json holds the first 61 results", "200 done, 3 failed
 * (more than 2 items failed)". */
void wq_summary_line(const wq_summary *s, wq_buf *line);

#endif
