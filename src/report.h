/*
 * report.h - whole lines on standard error.
 *
 * Every line luaworkq or a script writes to stderr (luaworkq.log, failure
 * reports, the summary) goes through here, under one process-wide lock, so
 * lines from different threads never interleave.
 */
#ifndef WQ_REPORT_H
#define WQ_REPORT_H

#include <stddef.h>

/* Writes s[0..len) and a newline unless s already ends with one. */
void wq_report(const char *s, size_t len);
/* Shows line as the self-updating status line (NULL erases it). */
void wq_report_status(const char *line);
/* Whether standard output is the terminal standard error is on: then
 * every write to standard output goes between the two calls below. */
int wq_report_shares_terminal(void);
/* Takes the lock and erases the status line: what follows starts where
 * it was. */
void wq_report_stdout_begin(void);
/* last: the last byte written since begin, -1 if none. Draws the status line again, on a line
 * of its own below an unfinished one, and releases the lock. */
void wq_report_stdout_end(int last);
/* printf-style, prefixed with "luaworkq: ". Each cause is reported once
 * where it arises (an output or journal that failed is not written to
 * again), not filtered here. */
void wq_reportf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
