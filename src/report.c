/* report.c - whole lines on standard error; see report.h.
 *
 * The status line (progress) is the last line on the terminal, without a
 * newline; a report line first erases it, then draws it again below. When
 * standard output is the same terminal, results are written between an
 * erase and a redraw too, and a result left unfinished on its line (a json
 * list is one line) is never drawn over: the status line and the next
 * report line go to a line of their own below it. */
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char status[256];  /* the status line to show, "" if none */
static int shown;         /* status is on the terminal now */
static int midline;       /* standard output, sharing the terminal, left
                             the cursor after an unfinished line */

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

/* Under lock: the status line off the terminal, the cursor at the start
 * of the line it was on. */
static void erase(void)
{
    if (shown)
        put_stderr(ERASE, sizeof ERASE - 1);
    shown = 0;
}

/* Under lock: the cursor at the start of a line of its own. */
static void line_start(void)
{
    if (midline)
        put_stderr("\n", 1);
    midline = 0;
}

/* Under lock: the status line, if any, on a line of its own (over the
 * one shown). */
static void draw(void)
{
    if (!status[0])
        return;
    if (!shown)
        line_start();
    put_stderr(ERASE, sizeof ERASE - 1);
    put_stderr(status, strlen(status));
    shown = 1;
}

void wq_report(const char *s, size_t len)
{
    pthread_mutex_lock(&lock);
    erase();
    line_start();
    put_stderr(s, len);
    if (len == 0 || s[len - 1] != '\n')
        put_stderr("\n", 1);
    draw();
    pthread_mutex_unlock(&lock);
}

void wq_report_status(const char *line)
{
    pthread_mutex_lock(&lock);
    if (!line)
        erase();
    snprintf(status, sizeof status, "%s", line ? line : "");
    draw();
    pthread_mutex_unlock(&lock);
}

int wq_report_shares_terminal(void)
{
    struct stat out, err;
    return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) &&
           fstat(STDOUT_FILENO, &out) == 0 && fstat(STDERR_FILENO, &err) == 0 &&
           out.st_rdev == err.st_rdev;
}

void wq_report_stdout_begin(void)
{
    pthread_mutex_lock(&lock);
    erase();
}

void wq_report_stdout_end(int last)
{
    if (last >= 0)
        midline = last != '\n';
    draw();
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
