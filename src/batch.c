/* batch.c - a run of consecutive items; see batch.h. */
#include "batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_SPARES 64  /* more are freed: a stall made them, not the work */

struct wq_spares {
    pthread_mutex_t mu;
    wq_batch *first;          /* linked by next */
    int count;
};

wq_batch *wq_batch_new(void)
{
    return calloc(1, sizeof(wq_batch));
}

#define KEEP_BYTES (4u << 20)  /* a batch holding more is not reused */

static void free_failures(wq_batch *b)
{
    while (b->failures) {
        wq_failure *f = b->failures;
        b->failures = f->next;
        wq_buf_free(&f->item);
        wq_buf_free(&f->message);
        free(f);
    }
}

wq_batch *wq_batch_reset(wq_batch *b)
{
    if (b->items.cap + b->out.cap + b->jbuf.cap > KEEP_BYTES) {
        wq_batch_free(b);
        return NULL;
    }
    free_failures(b);
    wq_batch keep = *b;
    memset(b, 0, sizeof *b);
    b->items = keep.items;
    b->out = keep.out;
    b->jbuf = keep.jbuf;
    b->ends = keep.ends;
    b->lines = keep.lines;
    b->ends_cap = keep.ends_cap;
    b->j = keep.j;
    b->part_end = keep.part_end;
    b->part_cap = keep.part_cap;
    b->facts_mem = keep.facts_mem;
    b->facts_cap = keep.facts_cap;
    wq_buf_reset(&b->items);
    wq_buf_reset(&b->out);
    wq_buf_reset(&b->jbuf);
    return b;
}

void wq_batch_free(wq_batch *b)
{
    if (!b)
        return;
    free_failures(b);
    wq_buf_free(&b->items);
    wq_buf_free(&b->jbuf);
    free(b->j);
    free(b->facts_mem);
    wq_buf_free(&b->out);
    free(b->ends);
    free(b->lines);
    free(b->part_end);
    free(b);
}

int wq_batch_parts(wq_batch *b, int n)
{
    if (b->part_cap >= n)
        return 0;
    size_t *p = realloc(b->part_end, (size_t)n * sizeof *p);
    if (!p)
        return -1;
    b->part_end = p;
    b->part_cap = n;
    return 0;
}

int wq_batch_add(wq_batch *b, const char *item, size_t len, int64_t line,
                 int journaling)
{
    if (b->count == b->ends_cap) {
        size_t cap = b->ends_cap ? b->ends_cap * 2 : 64;
        size_t *ends = realloc(b->ends, cap * sizeof *ends);
        if (!ends)
            return -1;
        b->ends = ends;
        int64_t *lines = realloc(b->lines, cap * sizeof *lines);
        if (!lines)
            return -1;
        b->lines = lines;
        if (journaling) {
            wq_jitem *j = realloc(b->j, cap * sizeof *j);
            if (!j)
                return -1;
            b->j = j;
        }
        b->ends_cap = cap;
    }
    if (journaling)
        memset(&b->j[b->count], 0, sizeof *b->j);
    if (wq_buf_add(&b->items, item, len) < 0)
        return -1;
    b->lines[b->count] = line;
    b->ends[b->count++] = b->items.len;
    return 0;
}

size_t wq_batch_weight(const wq_batch *b)
{
    return b->items.len + b->out.len + b->jbuf.len + b->count * sizeof *b->ends;
}

const char *wq_batch_item(const wq_batch *b, uint32_t i, size_t *len)
{
    size_t start = i ? b->ends[i - 1] : 0;
    *len = b->ends[i] - start;
    return b->items.data ? b->items.data + start : "";
}

void wq_batch_fail(wq_batch *b, uint32_t i, const wq_buf *msg)
{
    wq_failure *f = calloc(1, sizeof *f), **tail = &b->failures;
    if (!f)
        return;  /* the count still says it failed */
    f->index = b->first + i * b->stride;
    f->line = b->lines[i];
    f->attempts = b->facts ? b->facts[i].attempts : 1;
    size_t len;
    const char *item = wq_batch_item(b, i, &len);
    wq_buf_add(&f->item, item, len);
    wq_buf_add(&f->message, msg->data, msg->len);
    while (*tail)
        tail = &(*tail)->next;
    *tail = f;
}

int wq_batch_facts(wq_batch *b)
{
    if (b->count > b->facts_cap) {
        wq_itemfacts *f = realloc(b->facts_mem, b->count * sizeof *f);
        if (!f)
            return -1;
        b->facts_mem = f;
        b->facts_cap = b->count;
    }
    b->facts = b->facts_mem;
    if (b->count)
        memset(b->facts, 0, b->count * sizeof *b->facts);
    return 0;
}

wq_spares *wq_spares_new(void)
{
    wq_spares *s = calloc(1, sizeof *s);
    if (s && pthread_mutex_init(&s->mu, NULL))
        abort();
    return s;
}

void wq_spares_free(wq_spares *s)
{
    if (!s)
        return;
    while (s->first) {
        wq_batch *b = s->first;
        s->first = b->next;
        wq_batch_free(b);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

wq_batch *wq_spares_take(wq_spares *s)
{
    pthread_mutex_lock(&s->mu);
    wq_batch *b = s->first;
    if (b) {
        s->first = b->next;
        s->count--;
    }
    pthread_mutex_unlock(&s->mu);
    return b ? b : wq_batch_new();
}

void wq_spares_give(wq_spares *s, wq_batch *b)
{
    if (!(b = wq_batch_reset(b)))
        return;
    pthread_mutex_lock(&s->mu);
    int keep = s->count < KEEP_SPARES;
    if (keep) {
        b->next = s->first;
        s->first = b;
        s->count++;
    }
    pthread_mutex_unlock(&s->mu);
    if (!keep)
        wq_batch_free(b);
}
