/*
 * cpuwait.h - what the kernel says of a thread's time: how long it has
 * waited for a CPU, how long it has run on one, whether it can run now.
 *
 * Linux counts for every thread the time it spent runnable on a run queue
 * while others had the CPU (the second field of /proc/self/task/TID/
 * schedstat, in ns). A per-item timeout subtracts that wait from the wall
 * time, so that an item is not charged for the time other threads ran.
 * The kernel adds a wait to the count only when it ends (the thread gets
 * a CPU): a thread waiting now has a wait that is not counted yet, which
 * is why a reading also says whether the thread is runnable and how much
 * it has run. Where /proc or the counts are missing, a read fails and the
 * caller falls back to wall time. A read opens, reads and closes a file:
 * about 6 us. Any thread may read any thread of the process.
 */
#ifndef WQ_CPUWAIT_H
#define WQ_CPUWAIT_H

#include <stdint.h>

typedef struct wq_cpuwait {
    int64_t wait_ns;  /* time spent runnable, waiting for a CPU, up to the
                         last time the thread got one */
    int64_t run_ns;   /* time on a CPU, as of its last tick or switch */
    int64_t runs;     /* how many times it got a CPU */
    int runnable;     /* running or waiting for a CPU now (not blocked);
                         read only by wq_cpuwait_read_all */
} wq_cpuwait;

/* The calling thread's id, for the reads. */
int wq_cpuwait_self(void);
/* Reads thread tid's counts (not runnable). Returns 0 or -1. */
int wq_cpuwait_read(int tid, wq_cpuwait *c);
/* Reads thread tid's state and then its counts. Returns 0 or -1. */
int wq_cpuwait_read_all(int tid, wq_cpuwait *c);

#endif
