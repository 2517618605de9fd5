/* report.c - whole lines on standard error; see report.h. */
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>
#include "buf.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void write_all(const char *s, size_t len)
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
    write_all(s, len);
    if (len == 0 || s[len - 1] != '\n')
        write_all("\n", 1);
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
