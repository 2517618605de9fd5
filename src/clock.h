/* clock.h - the monotonic clock in nanoseconds, for timeouts and stats. */
#ifndef WQ_CLOCK_H
#define WQ_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t wq_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
