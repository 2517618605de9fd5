/*
 * maxfail.h - --max-failures N or P%: when a run with -k has failed enough.
 *
 * With -k failing items are skipped; --max-failures bounds how many may
 * be: more than N items, or more than P% of the finished items once at
 * least 100 have finished (so that the first few items do not decide).
 * Past the bound the run stops as a failure without -k does. The workers
 * count failures as items end (wq_maxfail_note), so that the stop comes at
 * once, whatever the items cost; the writer checks the bound again in
 * input order, for the summary. No threads of its own, no Lua.
 */
#ifndef WQ_MAXFAIL_H
#define WQ_MAXFAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wq_maxfail {
    int set;              /* --max-failures was given */
    int64_t count;        /* N, when percent < 0 */
    double percent;       /* P, or -1 */
} wq_maxfail;

/* Parses "N" (a whole number >= 0) or "P%" (0 <= P < 100). Returns 0 or -1. */
int wq_maxfail_parse(const char *s, wq_maxfail *m);

/* Whether failed items of finished (failed ones included) pass the bound. */
int wq_maxfail_exceeded(const wq_maxfail *m, int64_t failed, int64_t finished);

/* The items ended so far, shared by the workers. */
typedef struct wq_maxfail_count {
    const wq_maxfail *bound;          /* borrowed */
    _Atomic int64_t failed, finished;
} wq_maxfail_count;

/* From any worker, as an item ends (failed or not): whether the bound is
 * now passed. c NULL: never. */
int wq_maxfail_note(wq_maxfail_count *c, int failed);

/* The bound in words, for the summary: "more than 3 items failed",
 * "more than 1% of the items failed". */
void wq_maxfail_describe(const wq_maxfail *m, char *buf, size_t size);

#endif
