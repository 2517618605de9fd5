/*
 * run.h - one run of a job over its inputs, from options to exit code.
 *
 * The conductor: it loads the job in the host state, runs setup, starts the
 * pool, the reader thread and the signal thread, writes the results as the
 * main thread, and ends every run, finished or stopped, the same way: join,
 * finish, close the output, report.
 */
#ifndef WQ_RUN_H
#define WQ_RUN_H

#include "glue.h"
#include "maxfail.h"
#include "output.h"

typedef struct wq_opts {
    wq_jobconf job;
    char **inputs;          /* files; none means standard input */
    int ninputs;
    char sep;               /* '\n' or '\0' */
    const char *output;     /* -o FILE, or NULL */
    const char *errors;     /* --errors FILE, or NULL */
    const char *journal;    /* --journal FILE, or NULL */
    int shard_k, shard_n;   /* --shard K/N; 1/1 without */
    int merge;              /* --merge: the inputs are shard journals */
    enum wq_layout layout;
    int unordered, keep_going, retries;
    int partial;            /* --partial: a stopped run writes its merged value */
    wq_maxfail max_failures; /* --max-failures, with -k */
    int quiet, stats, check;
    int progress;           /* the progress line: 1 on, 0 off */
} wq_opts;

/* Exit codes: see the README and luaworkq(1). */
enum { WQ_EXIT_OK = 0, WQ_EXIT_FAILED = 1, WQ_EXIT_USAGE = 2 };

/* Runs the job and returns the process's exit code. */
int wq_run(wq_opts *o);

/* The header text of the run's journal: the job's hash and every option
 * that changes results, the shard last. */
void wq_run_header(const wq_opts *o, wq_buf *h);

#endif
