/*
 * run.h - one run of a job over its inputs, from options to outcome.
 *
 * The conductor: it loads the job in the host state, runs setup, wires the
 * stages (reader.h, worker.h, writer.h) with the queue and the window,
 * starts them under the stop's watch (stop.h), and ends every run, finished
 * or stopped, the same way: join, finish, close the outputs, report.
 */
#ifndef WQ_RUN_H
#define WQ_RUN_H

#include "format.h"
#include "glue.h"
#include "maxfail.h"
#include "stop.h"

typedef struct wq_opts {
    wq_jobconf job;
    char **inputs;          /* files; none means standard input */
    int ninputs;
    const char *output;     /* -o FILE, or NULL */
    const char *errors;     /* --errors FILE, or NULL */
    const char *journal;    /* --journal FILE, or NULL */
    const char *joblog;     /* --joblog FILE, or NULL */
    int retry_failed;       /* --retry-failed: the journal may be of
                               another version of the job script */
    int dry_run;            /* --dry-run: list the items that would run */
    int shard_k, shard_n;   /* --shard K/N; 1/1 without */
    int merge;              /* --merge: the inputs are shard journals */
    const wq_outformat *format;  /* -f */
    int unordered, keep_going, retries;
    int partial;            /* --partial: a stopped run writes its merged value */
    wq_maxfail max_failures; /* --max-failures, with -k */
    int quiet, stats, check;
    int progress;           /* the progress line: 1 on, 0 off */
    int cpus;               /* the CPUs this process may run on */
} wq_opts;

/* Runs the job; main.c maps the outcome to the exit code. */
enum wq_outcome wq_run(wq_opts *o);

#endif
