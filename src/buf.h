/*
 * buf.h - a growable byte buffer.
 *
 * The buffer owns its storage. wq_buf_reset keeps the storage for reuse, so a
 * buffer that lives as long as its thread stops allocating once it has grown.
 * Growth failure is reported as -1 and leaves the contents untouched.
 */
#ifndef WQ_BUF_H
#define WQ_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef struct wq_buf {
    char *data;
    size_t len;
    size_t cap;
} wq_buf;

#define WQ_BUF_INIT {NULL, 0, 0}

int wq_buf_grow(wq_buf *b, size_t extra);   /* room for extra more bytes */
void wq_buf_free(wq_buf *b);
int wq_buf_printf(wq_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wq_buf_vprintf(wq_buf *b, const char *fmt, va_list ap);

static inline void wq_buf_reset(wq_buf *b) { b->len = 0; }

static inline int wq_buf_add(wq_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n && wq_buf_grow(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int wq_buf_addc(wq_buf *b, char c)
{
    if (b->len == b->cap && wq_buf_grow(b, 1) < 0)
        return -1;
    b->data[b->len++] = c;
    return 0;
}

static inline int wq_buf_adds(wq_buf *b, const char *s)
{
    return wq_buf_add(b, s, strlen(s));
}

#endif
