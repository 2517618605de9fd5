/* cpuwait.c - a thread's wait for a CPU, from /proc; see cpuwait.h. */
#define _GNU_SOURCE  /* gettid */
#include "cpuwait.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int wq_cpuwait_self(void)
{
    return (int)gettid();
}

/* Reads the start of /proc/self/task/TID/NAME into buf as a string.
 * Returns 0 or -1. */
static int read_proc(int tid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

int wq_cpuwait_read(int tid, wq_cpuwait *c)
{
    char buf[96];
    if (read_proc(tid, "schedstat", buf, sizeof buf) < 0 ||
        sscanf(buf, "%" SCNd64 " %" SCNd64 " %" SCNd64,
               &c->run_ns, &c->wait_ns, &c->runs) != 3)
        return -1;
    c->runnable = 0;
    return 0;
}

/* The state follows the command name, which is in parentheses and may hold
 * any byte but is at most 15 of them: "TID (NAME) R ...". The state is
 * read before the counts: a thread seen blocked then had no wait going on,
 * and one that began after is at most the few microseconds between the
 * reads. Read the other way round, a thread could end a long wait between
 * the reads, run and block, and its wait would be missed. */
int wq_cpuwait_read_all(int tid, wq_cpuwait *c)
{
    char buf[128];
    if (read_proc(tid, "stat", buf, sizeof buf) < 0)
        return -1;
    const char *end = strrchr(buf, ')');
    if (!end || end[1] != ' ' || !end[2] || wq_cpuwait_read(tid, c) < 0)
        return -1;
    c->runnable = end[2] == 'R';
    return 0;
}
