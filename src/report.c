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

void wq_reportf(const char *fmt, ...)
{
    wq_buf b = WQ_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    wq_buf_adds(&b, "luaworkq: ");
    wq_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.data)
        wq_report(b.data, b.len);
    wq_buf_free(&b);
}
