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

#define CHUNK (1u << 20)        /* an owner hands its range over in chunks
                                   of this many bytes */

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
    const wq_keyent *ents;      /* its keys' entries, sorted */
    size_t n;
    size_t *cut;                /* its entries of range j: cut[j] ..
                                   cut[j + 1] */
    struct chunk *first, *last; /* its range's text, chunk by chunk */
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
    for (int k = 0; k < n; k++) {
        if (pthread_cond_init(&s->o[k].cv, NULL))
            abort();
        if (!(s->o[k].cut = calloc((size_t)n + 1, sizeof *s->o[k].cut))) {
            s->n = k + 1;
            wq_shuffle_free(s);
            return NULL;
        }
    }
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
        free(o->cut);
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

/* ---- The end: ranges of keys cut across the owners' sorted entries ----- */

/* Where entries go at the end: the sample of keys cut_ranges takes from
 * each owner's entries to choose where the ranges start. */
#define SAMPLE 64

static int cmp_sampled(const void *a, const void *b)
{
    return wq_keyent_cmp(*(const wq_keyent *const *)a, *(const wq_keyent *const *)b);
}

/* The first of v[0..n) not before e. */
static size_t lower_bound(const wq_keyent *v, size_t n, const wq_keyent *e)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (wq_keyent_cmp(&v[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Cuts the keys into n ranges of about the same size, ends chosen from a
 * sample of each owner's sorted entries: owner i's entries of range j are
 * o[i].cut[j] .. o[i].cut[j + 1]. Without memory for the sample, range 0
 * has them all. Called with the lock held, once every owner is ready. */
static void cut_ranges(wq_shuffle *s)
{
    const wq_keyent **sample = malloc((size_t)s->n * SAMPLE * sizeof *sample);
    size_t m = 0;
    for (int i = 0; sample && i < s->n; i++)
        for (size_t t = 0, n = s->o[i].n; t < SAMPLE && t < n; t++)
            sample[m++] = &s->o[i].ents[n <= SAMPLE ? t : n * t / SAMPLE];
    if (sample)
        qsort(sample, m, sizeof *sample, cmp_sampled);
    for (int i = 0; i < s->n; i++) {
        struct owner *o = &s->o[i];
        o->cut[0] = 0;
        for (int j = 1; j <= s->n; j++)
            o->cut[j] = j == s->n || !sample || !m
                            ? o->n : lower_bound(o->ents, o->n, sample[m * (size_t)j / (size_t)s->n]);
    }
    free(sample);
}

int wq_shuffle_ready(wq_shuffle *s, int k, int ok, const wq_keyent *ents, size_t n)
{
    pthread_mutex_lock(&s->mu);
    s->o[k].ents = ents;
    s->o[k].n = ok ? n : 0;
    set_ready(s, k, ok);
    while (s->go == 0)
        pthread_cond_wait(&s->o[k].cv, &s->mu);
    int go = s->go == 1;
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* Hands a chunk of owner k's range to the writer, taking its bytes.
 * Returns 0, or -1 when the writer wants no more. */
static int put(wq_shuffle *s, int k, wq_buf *chunk)
{
    struct owner *o = &s->o[k];
    struct chunk *c = malloc(sizeof *c);
    pthread_mutex_lock(&s->mu);
    int rc = s->abandoned || !c ? -1 : 0;
    if (rc == 0) {
        *c = (struct chunk){NULL, *chunk};
        *chunk = (wq_buf)WQ_BUF_INIT;
        if (o->last)
            o->last->next = c;
        else
            o->first = c;
        o->last = c;
        pthread_cond_signal(&s->writer);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        free(c);
    return rc;
}

/* The merge of range k: where it is in each owner's entries. */
struct cursor {
    const wq_keyent *at, *end;
};

static int before(const struct cursor *c, int a, int b)
{
    return wq_keyent_cmp(c[a].at, c[b].at) < 0;
}

static void sift(const struct cursor *c, int *h, int n, int i)
{
    for (int m; (m = 2 * i + 1) < n; i = m) {
        if (m + 1 < n && before(c, h[m + 1], h[m]))
            m++;
        if (!before(c, h[m], h[i]))
            return;
        int t = h[i];
        h[i] = h[m];
        h[m] = t;
    }
}

/* Appends the entries of range k, in order, to chunks for the writer. */
static int merge_range(wq_shuffle *s, int k, enum wq_layout layout,
                       struct cursor *cur, int *heap)
{
    int n = 0, rc = 0;
    wq_buf chunk = WQ_BUF_INIT;
    for (int i = 0; i < s->n; i++) {
        const struct owner *o = &s->o[i];
        cur[i] = (struct cursor){o->ents + o->cut[k], o->ents + o->cut[k + 1]};
        if (cur[i].at < cur[i].end)
            heap[n++] = i;
    }
    for (int i = n / 2; i-- > 0;)
        sift(cur, heap, n, i);
    while (n && rc == 0) {
        struct cursor *c = &cur[heap[0]];
        rc = wq_keyent_frame(c->at++, layout, &chunk);
        if (c->at == c->end)
            heap[0] = heap[--n];
        sift(cur, heap, n, 0);
        if (rc == 0 && (chunk.len >= CHUNK || !n) && chunk.len)
            rc = put(s, k, &chunk);
    }
    wq_buf_free(&chunk);
    return rc;
}

int wq_shuffle_write_range(wq_shuffle *s, int k, enum wq_layout layout)
{
    struct cursor *cur = malloc((size_t)s->n * sizeof *cur);
    int *heap = malloc((size_t)s->n * sizeof *heap);
    int rc = cur && heap ? merge_range(s, k, layout, cur, heap) : -1;
    free(cur);
    free(heap);
    return rc;
}

void wq_shuffle_end(wq_shuffle *s, int k, int ok)
{
    pthread_mutex_lock(&s->mu);
    s->o[k].ended = 1;
    s->o[k].end_ok = ok;
    pthread_cond_signal(&s->writer);
    while (!s->abandoned)  /* the others may still read k's entries */
        pthread_cond_wait(&s->o[k].cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

/* ---- The writer: the ranges one after the other -------------------------- */

/* Waits for every owner to be ready; says whether they write, and if so
 * cuts the ranges first. */
static int decide(wq_shuffle *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->nready < s->n)
        pthread_cond_wait(&s->writer, &s->mu);
    int go = s->write;
    for (int k = 0; k < s->n; k++)
        go = go && s->o[k].ok;
    if (go)
        cut_ranges(s);
    s->go = go ? 1 : -1;
    for (int k = 0; k < s->n; k++)
        pthread_cond_signal(&s->o[k].cv);
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* Owner k's next chunk, waiting for it; NULL at the end of its range
 * (*failed when it ended without its last chunk). */
static struct chunk *next_chunk(wq_shuffle *s, int k, int *failed, int64_t *waited)
{
    struct owner *o = &s->o[k];
    int64_t t0 = wq_now_ns();
    pthread_mutex_lock(&s->mu);
    while (!o->first && !o->ended)
        pthread_cond_wait(&s->writer, &s->mu);
    struct chunk *c = o->first;
    if (c && !(o->first = c->next))
        o->last = NULL;
    if (!c && !o->end_ok)
        *failed = 1;
    pthread_mutex_unlock(&s->mu);
    *waited += wq_now_ns() - t0;
    return c;
}

/* How the ranges' text is written: the first byte dropped while skip is
 * set (the ',' before the first JSON entry), the header line of -f
 * csv/tsv before the first row (none without rows, as for a list). */
struct writing {
    wq_out *out;
    int skip;
    const wq_buf *head;
};

static int write_text(struct writing *wr, const char *p, size_t len, wq_buf *err)
{
    if (wr->skip && len) {
        p++;
        len--;
        wr->skip = 0;
    }
    int rc = WQ_OUT_OK;
    if (len && wr->head && wr->head->len)
        rc = wq_out_value(wr->out, wr->head->data, wr->head->len, 1, err);
    if (len)
        wr->head = NULL;
    return len && rc == WQ_OUT_OK ? wq_out_value(wr->out, p, len, 1, err) : rc;
}

/* The writer is done: the owners' chunks go, and the owners may let go
 * of their entries. */
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

enum wq_shuffle_rc wq_shuffle_write(wq_shuffle *s, enum wq_layout layout, const wq_buf *head,
                                    wq_out *out, int64_t *busy_ns, wq_buf *err)
{
    if (!decide(s))
        return WQ_SHUFFLE_SKIPPED;
    int64_t t0 = wq_now_ns(), waited = 0;
    int json = layout == WQ_LAYOUT_JSON, failed = 0;
    struct writing wr = {out, json, head};
    int rc = json ? wq_out_value(out, "{", 1, 1, err) : WQ_OUT_OK;
    for (int k = 0; k < s->n && rc == WQ_OUT_OK && !failed; k++) {
        struct chunk *c;
        while (rc == WQ_OUT_OK && (c = next_chunk(s, k, &failed, &waited))) {
            rc = write_text(&wr, c->b.data, c->b.len, err);
            wq_buf_free(&c->b);
            free(c);
        }
    }
    if (rc == WQ_OUT_OK && !failed && json)
        rc = wq_out_value(out, "}\n", 2, 1, err);
    abandon(s);
    *busy_ns += wq_now_ns() - t0 - waited;
    if (rc != WQ_OUT_OK)
        return WQ_SHUFFLE_OUTPUT;
    return failed ? WQ_SHUFFLE_FAILED : WQ_SHUFFLE_WRITTEN;
}
