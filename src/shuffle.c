/*
 * shuffle.c - a keyed reduce's parts and sorted runs; see shuffle.h.
 *
 * Locking rule: one mutex guards every field; the writer waits on
 * `writer`, owner k on o[k].cv, each in a `while (!condition) wait` loop.
 * No Lua runs here and nothing blocks with the lock held but those waits.
 */
#include "shuffle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "keyfold.h"

#define CHUNKS_AHEAD 4          /* chunks an owner may have waiting */
#define OUT_FLUSH (1u << 20)    /* the writer writes this much at a time */

struct chunk {
    struct chunk *next;
    wq_buf b;
};

struct owner {
    pthread_cond_t cv;
    wq_batch **ring;            /* the inbox: batches whose part is waiting */
    size_t cap, head, len;
    atomic_int flag;            /* len > 0, read by wq_queue_pop_or */
    int gone, ready, ok, ended, end_ok;
    struct chunk *first, *last; /* its sorted run, chunk by chunk */
    int nchunks;
};

struct wq_shuffle {
    pthread_mutex_t mu;
    pthread_cond_t writer;
    int n;
    size_t budget, parked;      /* the bytes of batches not yet folded */
    int closed, write, go;      /* go: 0 undecided, 1 write, -1 do not */
    int abandoned;              /* the writer wants no more chunks */
    int nready;
    wq_queue *queue;
    wq_spares *spares;
    struct owner o[];
};

wq_shuffle *wq_shuffle_new(int n, size_t budget, wq_queue *queue, wq_spares *spares)
{
    wq_shuffle *s = calloc(1, sizeof *s + (size_t)n * sizeof(struct owner));
    if (!s)
        return NULL;
    s->n = n;
    s->budget = budget;
    s->queue = queue;
    s->spares = spares;
    if (pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->writer, NULL))
        abort();  /* cannot fail with default attributes on Linux */
    for (int k = 0; k < n; k++)
        if (pthread_cond_init(&s->o[k].cv, NULL))
            abort();
    return s;
}

static void free_chunks(struct owner *o)
{
    for (struct chunk *c = o->first, *next; c; c = next) {
        next = c->next;
        wq_buf_free(&c->b);
        free(c);
    }
    o->first = o->last = NULL;
    o->nchunks = 0;
}

void wq_shuffle_free(wq_shuffle *s)
{
    if (!s)
        return;
    for (int k = 0; k < s->n; k++) {
        struct owner *o = &s->o[k];
        for (size_t i = 0; i < o->len; i++)
            wq_spares_give(s->spares, o->ring[(o->head + i) % o->cap]);
        free(o->ring);
        free_chunks(o);
        pthread_cond_destroy(&o->cv);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->writer);
    free(s);
}

int wq_shuffle_owners(const wq_shuffle *s) { return s->n; }

atomic_int *wq_shuffle_flag(wq_shuffle *s, int k) { return &s->o[k].flag; }

/* Owner k's part of b. */
static void part_of(const wq_batch *b, int k, const char **p, size_t *len)
{
    size_t from = k ? b->part_end[k - 1] : 0;
    *p = b->out.data + from;
    *len = b->part_end[k] - from;
}

/* Appends b to o's inbox. Called with the lock held. */
static int push(struct owner *o, wq_batch *b)
{
    if (o->len == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        wq_batch **ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t i = 0; i < o->len; i++)
            ring[i] = o->ring[(o->head + i) % o->cap];
        free(o->ring);
        o->ring = ring;
        o->cap = cap;
        o->head = 0;
    }
    o->ring[(o->head + o->len++) % o->cap] = b;
    atomic_store(&o->flag, 1);
    pthread_cond_signal(&o->cv);
    return 0;
}

void wq_shuffle_deliver(wq_shuffle *s, wq_batch *b)
{
    pthread_mutex_lock(&s->mu);
    while (s->parked > s->budget)
        pthread_cond_wait(&s->writer, &s->mu);
    b->refs = 0;
    for (int k = 0; k < s->n && b->nparts == s->n; k++) {
        const char *p;
        size_t len;
        part_of(b, k, &p, &len);
        if (len && !s->o[k].gone && push(&s->o[k], b) == 0)
            b->refs++;
    }
    int handed = b->refs;  /* b is the owners' once the lock is let go */
    if (handed)
        s->parked += b->out.len;
    pthread_mutex_unlock(&s->mu);
    if (handed)
        wq_queue_wake(s->queue);
    else
        wq_spares_give(s->spares, b);
}

/* Takes the head of k's inbox. Called with the lock held. */
static wq_batch *pop(wq_shuffle *s, int k, const char **p, size_t *len)
{
    struct owner *o = &s->o[k];
    if (!o->len) {
        atomic_store(&o->flag, 0);
        return NULL;
    }
    wq_batch *b = o->ring[o->head];
    o->head = (o->head + 1) % o->cap;
    if (!--o->len)
        atomic_store(&o->flag, 0);
    part_of(b, k, p, len);
    return b;
}

wq_batch *wq_shuffle_next(wq_shuffle *s, int k, const char **p, size_t *len)
{
    if (!atomic_load(&s->o[k].flag))
        return NULL;
    pthread_mutex_lock(&s->mu);
    wq_batch *b = pop(s, k, p, len);
    pthread_mutex_unlock(&s->mu);
    return b;
}

wq_batch *wq_shuffle_wait(wq_shuffle *s, int k, const char **p, size_t *len)
{
    pthread_mutex_lock(&s->mu);
    while (!s->o[k].len && !s->closed)
        pthread_cond_wait(&s->o[k].cv, &s->mu);
    wq_batch *b = pop(s, k, p, len);
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* Called with the lock held; returns b when it is to go back now. */
static wq_batch *unref(wq_shuffle *s, wq_batch *b)
{
    if (--b->refs > 0)
        return NULL;
    s->parked -= b->out.len;
    pthread_cond_signal(&s->writer);
    return b;
}

void wq_shuffle_release(wq_shuffle *s, wq_batch *b)
{
    pthread_mutex_lock(&s->mu);
    b = unref(s, b);
    pthread_mutex_unlock(&s->mu);
    if (b)
        wq_spares_give(s->spares, b);
}

/* Marks k ready; called with the lock held. */
static void set_ready(wq_shuffle *s, int k, int ok)
{
    s->o[k].ready = 1;
    s->o[k].ok = ok;
    s->nready++;
    pthread_cond_signal(&s->writer);
}

void wq_shuffle_gone(wq_shuffle *s, int k)
{
    const char *p;
    size_t len;
    wq_batch *b;
    pthread_mutex_lock(&s->mu);
    s->o[k].gone = 1;
    while ((b = pop(s, k, &p, &len)))
        if ((b = unref(s, b)))
            wq_spares_give(s->spares, b);  /* takes only the spares' lock */
    set_ready(s, k, 0);
    s->o[k].ended = 1;
    pthread_mutex_unlock(&s->mu);
}

void wq_shuffle_close(wq_shuffle *s, int write)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    s->write = write;
    for (int k = 0; k < s->n; k++)
        pthread_cond_signal(&s->o[k].cv);
    pthread_mutex_unlock(&s->mu);
}

int wq_shuffle_writes(wq_shuffle *s)
{
    pthread_mutex_lock(&s->mu);
    int write = s->write;
    pthread_mutex_unlock(&s->mu);
    return write;
}

int wq_shuffle_ready(wq_shuffle *s, int k, int ok)
{
    pthread_mutex_lock(&s->mu);
    set_ready(s, k, ok);
    while (s->go == 0)
        pthread_cond_wait(&s->o[k].cv, &s->mu);
    int go = s->go == 1;
    pthread_mutex_unlock(&s->mu);
    return go;
}

int wq_shuffle_put(wq_shuffle *s, int k, wq_buf *chunk)
{
    struct owner *o = &s->o[k];
    struct chunk *c = malloc(sizeof *c);
    pthread_mutex_lock(&s->mu);
    while (o->nchunks >= CHUNKS_AHEAD && !s->abandoned)
        pthread_cond_wait(&o->cv, &s->mu);
    int rc = s->abandoned || !c ? -1 : 0;
    if (rc == 0) {
        *c = (struct chunk){NULL, *chunk};
        *chunk = (wq_buf)WQ_BUF_INIT;
        if (o->last)
            o->last->next = c;
        else
            o->first = c;
        o->last = c;
        o->nchunks++;
        pthread_cond_signal(&s->writer);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        free(c);
    return rc;
}

void wq_shuffle_end(wq_shuffle *s, int k, int ok)
{
    pthread_mutex_lock(&s->mu);
    s->o[k].ended = 1;
    s->o[k].end_ok = ok;
    pthread_cond_signal(&s->writer);
    pthread_mutex_unlock(&s->mu);
}

/* ---- The writer's merge of the owners' sorted runs ---------------------- */

/* Where the writer is in owner k's run: its chunk, the record there. */
struct cursor {
    struct chunk *c;
    size_t at;
    const char *key, *text;
    uint32_t klen, tlen;
};

struct merge {
    wq_shuffle *s;
    struct cursor *cur;
    int *heap, nheap;
    int failed;                 /* an owner ended without its last chunk */
    int64_t waited;             /* ns spent waiting for owners' chunks */
};

/* Owner k's next chunk, waiting for it; NULL at the end of its run. */
static struct chunk *next_chunk(struct merge *m, int k)
{
    wq_shuffle *s = m->s;
    struct owner *o = &s->o[k];
    int64_t t0 = wq_now_ns();
    pthread_mutex_lock(&s->mu);
    while (!o->first && !o->ended)
        pthread_cond_wait(&s->writer, &s->mu);
    struct chunk *c = o->first;
    if (c) {
        if (!(o->first = c->next))
            o->last = NULL;
        o->nchunks--;
        pthread_cond_signal(&o->cv);
    } else if (!o->end_ok) {
        m->failed = 1;
    }
    pthread_mutex_unlock(&s->mu);
    m->waited += wq_now_ns() - t0;
    return c;
}

/* Moves owner k's cursor to its next record. Returns 0 at its run's end. */
static int advance(struct merge *m, int k)
{
    struct cursor *u = &m->cur[k];
    while (!u->c || u->at >= u->c->b.len) {
        if (u->c) {
            wq_buf_free(&u->c->b);
            free(u->c);
        }
        u->at = 0;
        if (!(u->c = next_chunk(m, k)))
            return 0;
    }
    const char *p = u->c->b.data + u->at;
    u->klen = wq_keyfold_u32(p);
    u->key = p + 4;
    u->tlen = wq_keyfold_u32(u->key + u->klen);
    u->text = u->key + u->klen + 4;
    u->at += 8 + (size_t)u->klen + u->tlen;
    return 1;
}

static int before(const struct merge *m, int a, int b)
{
    const struct cursor *x = &m->cur[a], *y = &m->cur[b];
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c < 0 : x->klen < y->klen;
}

static void sift(struct merge *m, int i)
{
    int *h = m->heap, n = m->nheap;
    for (int c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && before(m, h[c + 1], h[c]))
            c++;
        if (!before(m, h[c], h[i]))
            return;
        int t = h[i];
        h[i] = h[c];
        h[c] = t;
    }
}

/* Appends the text of a record to buf, framed for layout. */
static int frame(enum wq_layout layout, const char *text, size_t len, wq_buf *buf,
                 int *first)
{
    if (layout == WQ_LAYOUT_JSON && !*first && wq_buf_addc(buf, ',') < 0)
        return -1;
    *first = 0;
    return wq_buf_add(buf, text, len);
}

int wq_shuffle_frame(enum wq_layout layout, const wq_buf *chunk, wq_buf *out, int *first)
{
    for (size_t at = 0; at < chunk->len;) {
        const char *key = chunk->data + at + 4;
        uint32_t klen = wq_keyfold_u32(chunk->data + at);
        uint32_t tlen = wq_keyfold_u32(key + klen);
        if (frame(layout, key + klen + 4, tlen, out, first) < 0)
            return -1;
        at += 8 + (size_t)klen + tlen;
    }
    return 0;
}

/* Appends to buf the records of every run, in key order, framed for
 * layout; writes buf out as it fills. Returns WQ_OUT_OK or an error. */
static int merge_runs(struct merge *m, enum wq_layout layout, wq_out *out,
                      wq_buf *buf, wq_buf *err)
{
    int rc = WQ_OUT_OK, first = 1;
    for (int k = 0; k < m->s->n; k++)
        if (advance(m, k))
            m->heap[m->nheap++] = k;
    for (int i = m->nheap / 2; i-- > 0;)
        sift(m, i);
    while (m->nheap && rc == WQ_OUT_OK && !m->failed) {
        struct cursor *u = &m->cur[m->heap[0]];
        if (frame(layout, u->text, u->tlen, buf, &first) < 0)
            rc = WQ_OUT_ERROR;
        if (!advance(m, m->heap[0]))
            m->heap[0] = m->heap[--m->nheap];
        sift(m, 0);
        if (buf->len >= OUT_FLUSH && rc == WQ_OUT_OK) {
            rc = wq_out_value(out, buf->data, buf->len, 1, err);
            wq_buf_reset(buf);
        }
    }
    return rc;
}

/* Waits for every owner to be ready and says whether they write. */
static int decide(wq_shuffle *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->nready < s->n)
        pthread_cond_wait(&s->writer, &s->mu);
    int go = s->write;
    for (int k = 0; k < s->n; k++)
        go = go && s->o[k].ok;
    s->go = go ? 1 : -1;
    for (int k = 0; k < s->n; k++)
        pthread_cond_signal(&s->o[k].cv);
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void abandon(wq_shuffle *s)
{
    pthread_mutex_lock(&s->mu);
    s->abandoned = 1;
    for (int k = 0; k < s->n; k++) {
        free_chunks(&s->o[k]);
        pthread_cond_signal(&s->o[k].cv);
    }
    pthread_mutex_unlock(&s->mu);
}

enum wq_shuffle_rc wq_shuffle_write(wq_shuffle *s, enum wq_layout layout,
                                    wq_out *out, int64_t *busy_ns, wq_buf *err)
{
    if (!decide(s))
        return WQ_SHUFFLE_SKIPPED;
    int64_t t0 = wq_now_ns();
    struct merge m = {.s = s, .cur = calloc((size_t)s->n, sizeof *m.cur),
                      .heap = calloc((size_t)s->n, sizeof *m.heap)};
    wq_buf buf = WQ_BUF_INIT;
    int rc = m.cur && m.heap ? WQ_OUT_OK : WQ_OUT_ERROR;
    if (rc != WQ_OUT_OK)
        wq_buf_adds(err, "out of memory");
    if (rc == WQ_OUT_OK && layout == WQ_LAYOUT_JSON)
        wq_buf_addc(&buf, '{');
    if (rc == WQ_OUT_OK)
        rc = merge_runs(&m, layout, out, &buf, err);
    if (rc == WQ_OUT_OK && !m.failed && layout == WQ_LAYOUT_JSON)
        wq_buf_add(&buf, "}\n", 2);
    if (rc == WQ_OUT_OK && !m.failed && buf.len)
        rc = wq_out_value(out, buf.data, buf.len, 1, err);
    abandon(s);
    for (int k = 0; m.cur && k < s->n; k++)
        if (m.cur[k].c) {
            wq_buf_free(&m.cur[k].c->b);
            free(m.cur[k].c);
        }
    free(m.cur);
    free(m.heap);
    wq_buf_free(&buf);
    *busy_ns += wq_now_ns() - t0 - m.waited;
    if (rc != WQ_OUT_OK)
        return WQ_SHUFFLE_OUTPUT;
    return m.failed ? WQ_SHUFFLE_FAILED : WQ_SHUFFLE_WRITTEN;
}
