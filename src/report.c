/* report.c - whole lines on standard error; see report.h.
 *
 * The status line (progress) is the last line on the terminal, without a
 * newline; a report line first erases it, then draws it again below. */
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t once_lock = PTHREAD_MUTEX_INITIALIZER;  /* seen_before */
static char status[256];  /* the status line shown now, "" if none */

#define ERASE "\r\033[K"

static void put_stderr(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;  /* stderr is gone: nothing better to do */
        s += n;
        len -= (size_t)n;
    }
}

void wq_report(const char *s, size_t len)
{
    pthread_mutex_lock(&lock);
    if (status[0])
        put_stderr(ERASE, sizeof ERASE - 1);
    put_stderr(s, len);
    if (len == 0 || s[len - 1] != '\n')
        put_stderr("\n", 1);
    if (status[0])
        put_stderr(status, strlen(status));
    pthread_mutex_unlock(&lock);
}

void wq_report_status(const char *line)
{
    pthread_mutex_lock(&lock);
    if (status[0] || line)
        put_stderr(ERASE, sizeof ERASE - 1);
    snprintf(status, sizeof status, "%s", line ? line : "");
    put_stderr(status, strlen(status));
    pthread_mutex_unlock(&lock);
}

/* FNV-1a of a line, for telling repeats. */
static uint64_t line_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Whether this line was reported before; remembers it if not. The first
 * SEEN distinct lines are remembered, which is more than one run reports
 * of its own (its lines name causes, not items). */
#define SEEN 256
static int seen_before(const char *s, size_t len)
{
    static uint64_t seen[SEEN];
    static int nseen;
    uint64_t h = line_hash(s, len);
    for (int i = 0; i < nseen; i++)
        if (seen[i] == h)
            return 1;
    if (nseen < SEEN)
        seen[nseen++] = h;
    return 0;
}

void wq_reportf(const char *fmt, ...)
{
    wq_buf b = WQ_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    wq_buf_adds(&b, "luaworkq: ");
    wq_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&once_lock);
    int again = b.data && seen_before(b.data, b.len);
    pthread_mutex_unlock(&once_lock);
    if (b.data && !again)
        wq_report(b.data, b.len);
    wq_buf_free(&b);
}
