/*
 * maxfail.h - --max-failures N or P%: when a run with -k has failed enough.
 *
 * With -k failing items are skipped; --max-failures bounds how many may
 * be: more than N items, or more than P% of the finished items once at
 * least 100 have finished (so that the first few items do not decide).
 * Past the bound the run stops as a failure without -k does. The writer
 * counts failures in input order, and an ordered list ends at the item
 * that passed the bound there (writer.c). A count N is also kept by the
 * workers as items end (wq_maxfail_note), so that the stop comes at once,
 * whatever the items cost: N+1 failures among the items that ended are
 * N+1 in input order among the items before the last of them, which the
 * workers still run after the stop (wq_maxfail_runs_on). A percentage of
 * the items that ended may be passed in the order items end and not in
 * input order, so it is the writer's alone. No threads of its own, no
 * Lua.
 */
#ifndef WQ_MAXFAIL_H
#define WQ_MAXFAIL_H

#include <pthread.h>
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
    _Atomic int64_t failed;
    /* With a count N: the indexes of the N+1 items that failed first in
     * input order of those that ended, a heap with the largest on top
     * (under lock), and that largest once there are N+1: where the stop
     * is in input order unless an item before it fails too. The workers
     * run the items before it after the stop (wq_maxfail_runs_on), so that
     * a batch left behind does not end the run early. */
    pthread_mutex_t lock;
    int64_t *least;
    size_t nleast, cap;               /* cap: least's room, grown as needed */
    int lost;                         /* least could not grow: no until */
    _Atomic int64_t until;            /* 0 until there are N+1 */
} wq_maxfail_count;

/* Starts c for bound (borrowed). Returns 0, or -1 (out of resources). */
int wq_maxfail_count_init(wq_maxfail_count *c, const wq_maxfail *bound);
void wq_maxfail_count_free(wq_maxfail_count *c);

/* From any worker, as the item of that index ends (failed or not):
 * whether a count N is now passed. c NULL or a percentage: never. */
int wq_maxfail_note(wq_maxfail_count *c, int failed, int64_t index);

/* After the bound was passed: whether the item of that index comes before
 * the failure that passed it in input order, so far as the items that
 * ended tell. c NULL: never. */
int wq_maxfail_runs_on(wq_maxfail_count *c, int64_t index);

/* The bound in words, for the summary: "more than 3 items failed",
 * "more than 1% of the items failed". */
void wq_maxfail_describe(const wq_maxfail *m, char *buf, size_t size);

#endif
