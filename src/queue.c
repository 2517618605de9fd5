/*
 * queue.c - the work queue and the reorder window.
 *
 * Producer: the reader thread, which reserves a slot in the window, fills a
 * batch and pushes it on the work queue. Consumers: the worker threads, which
 * pop batches and hand them back to the window when done. The writer (the
 * main thread) takes them from the window in sequence order, so output order
 * is input order however the workers interleave.
 *
 * The window is bounded by what its batches weigh (the bytes of their items
 * and results), not by their number: a slow batch at its head does not stop
 * the free workers until the batches done after it weigh the whole budget. Shutdown: the reader closes
 * both at end of input or on a stop; workers drain the queue and exit on
 * NULL; the writer ends when every reserved batch has been taken.
 *
 * Locking rule: each structure has one mutex guarding all its fields and one
 * or two condition variables; every wait is a `while (!condition) wait` loop;
 * nothing else runs with the lock held.
 */
#include "queue.h"

#include <pthread.h>
#include <stdlib.h>

struct wq_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t cap, head, len;
    int closed;
};

static void init_sync(pthread_mutex_t *mu, pthread_cond_t *a, pthread_cond_t *b)
{
    if (pthread_mutex_init(mu, NULL) || pthread_cond_init(a, NULL) ||
        pthread_cond_init(b, NULL))
        abort();  /* cannot fail with default attributes on Linux */
}

wq_queue *wq_queue_new(size_t capacity)
{
    wq_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->ring = calloc(capacity, sizeof *q->ring))) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    init_sync(&q->mu, &q->not_empty, &q->not_full);
    return q;
}

void wq_queue_free(wq_queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q);
}

int wq_queue_push(wq_queue *q, void *p)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    int rc = -1;
    if (!q->closed) {
        q->ring[(q->head + q->len++) % q->cap] = p;
        pthread_cond_signal(&q->not_empty);
        rc = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void *wq_queue_pop_or(wq_queue *q, atomic_int *wake, int *closed)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed && !atomic_load(wake))
        pthread_cond_wait(&q->not_empty, &q->mu);
    void *p = NULL;
    if (q->len) {
        p = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    }
    *closed = !p && q->closed && !atomic_load(wake);
    pthread_mutex_unlock(&q->mu);
    return p;
}

void *wq_queue_pop(wq_queue *q)
{
    static atomic_int never;
    int closed;
    return wq_queue_pop_or(q, &never, &closed);
}

void wq_queue_wake(wq_queue *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

void wq_queue_close(wq_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

/* A window slot is free, reserved (batch being built or processed), or done
 * (holding the finished batch until the writer takes it). */
enum { FREE, RESERVED, DONE };

struct wq_order {
    pthread_mutex_t mu;
    pthread_cond_t has_room, has_done;
    struct slot { int state; void *p; size_t bytes; } *slots;
    size_t nslots;
    size_t budget;       /* bytes the held batches may weigh */
    size_t bytes;        /* what they weigh now */
    size_t held;         /* slots not free */
    size_t ahead;        /* reservations wait while this many batches are
                            ready for the writer (0: no such bound) */
    size_t ready;        /* ordered: done batches from next_take on, in a
                            row: what the writer could take now */
    uint64_t next_seq;   /* next sequence number to reserve */
    uint64_t next_take;  /* ordered: next sequence number to hand out */
    uint64_t taken;      /* batches handed to the writer */
    size_t *ring;        /* unordered: free slots, then done slots */
    size_t nfree;        /* free slots: ring[0 .. nfree) */
    size_t done_head, ndone;  /* done slots, in the order they were done:
                                 ring[nslots + (done_head + i) % nslots] */
    int unordered, closed;
};

wq_order *wq_order_new(size_t slots, size_t budget, size_t ahead, int unordered)
{
    wq_order *o = calloc(1, sizeof *o);
    if (!o || !(o->slots = calloc(slots, sizeof *o->slots)) ||
        !(o->ring = calloc(2 * slots, sizeof *o->ring))) {
        if (o)
            free(o->slots);
        free(o);
        return NULL;
    }
    o->nslots = slots;
    o->budget = budget;
    o->ahead = ahead;
    o->unordered = unordered;
    for (size_t i = 0; i < slots; i++)
        o->ring[i] = slots - 1 - i;  /* slot 0 is popped first */
    o->nfree = slots;
    init_sync(&o->mu, &o->has_room, &o->has_done);
    return o;
}

void wq_order_free(wq_order *o)
{
    if (!o)
        return;
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->has_room);
    pthread_cond_destroy(&o->has_done);
    free(o->slots);
    free(o->ring);
    free(o);
}

/* The slot the next reservation gets, or NULL while there is no room: no
 * free slot (in sequence, when ordered), the held batches weigh more than
 * the budget, or the writer is `ahead` batches behind. An empty window
 * always has room, whatever a batch weighs. Called with the lock held. */
static struct slot *room(wq_order *o)
{
    if (o->held > 0 && o->bytes >= o->budget)
        return NULL;
    if (o->ahead && (o->unordered ? o->ndone : o->ready) >= o->ahead)
        return NULL;
    if (o->unordered)
        return o->nfree ? &o->slots[o->ring[o->nfree - 1]] : NULL;
    struct slot *s = &o->slots[o->next_seq % o->nslots];
    return s->state == FREE ? s : NULL;
}

/* Takes the slot s for the next sequence number. Called with the lock
 * held. */
static void claim(wq_order *o, struct slot *s, uint64_t *seq)
{
    s->state = RESERVED;
    s->bytes = 0;
    o->held++;
    if (o->unordered)
        o->nfree--;
    *seq = o->unordered ? (uint64_t)(s - o->slots) : o->next_seq;
    o->next_seq++;
}

int wq_order_reserve(wq_order *o, uint64_t *seq)
{
    pthread_mutex_lock(&o->mu);
    struct slot *s;
    while (!(s = room(o)) && !o->closed)
        pthread_cond_wait(&o->has_room, &o->mu);
    int rc = o->closed ? -1 : 0;
    if (rc == 0)
        claim(o, s, seq);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int wq_order_try_reserve(wq_order *o, uint64_t *seq)
{
    pthread_mutex_lock(&o->mu);
    struct slot *s = o->closed ? NULL : room(o);
    int rc = o->closed ? -1 : s ? 0 : 1;
    if (s)
        claim(o, s, seq);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static struct slot *slot_of(wq_order *o, uint64_t seq)
{
    return &o->slots[o->unordered ? seq : seq % o->nslots];
}

/* Called with the lock held. */
static void weigh(wq_order *o, struct slot *s, size_t bytes)
{
    o->bytes += bytes - s->bytes;
    s->bytes = bytes;
}

void wq_order_weigh(wq_order *o, uint64_t seq, size_t bytes)
{
    pthread_mutex_lock(&o->mu);
    weigh(o, slot_of(o, seq), bytes);
    pthread_mutex_unlock(&o->mu);
}

void wq_order_done(wq_order *o, uint64_t seq, void *p, size_t bytes)
{
    pthread_mutex_lock(&o->mu);
    struct slot *s = slot_of(o, seq);
    weigh(o, s, bytes);
    s->state = DONE;
    s->p = p;
    if (o->unordered)
        o->ring[o->nslots + (o->done_head + o->ndone++) % o->nslots] = (size_t)seq;
    else
        while (o->next_take + o->ready < o->next_seq &&
               slot_of(o, o->next_take + o->ready)->state == DONE)
            o->ready++;
    pthread_cond_broadcast(&o->has_done);
    pthread_mutex_unlock(&o->mu);
}

void wq_order_wait_before(wq_order *o, uint64_t seq)
{
    pthread_mutex_lock(&o->mu);
    while (o->next_take + o->ready < seq)
        pthread_cond_wait(&o->has_done, &o->mu);
    pthread_mutex_unlock(&o->mu);
}

/* The slot the writer may take now, or NULL. Called with the lock held. */
static struct slot *ready_slot(wq_order *o)
{
    if (o->unordered)
        return o->ndone ? &o->slots[o->ring[o->nslots + o->done_head]] : NULL;
    struct slot *s = &o->slots[o->next_take % o->nslots];
    return o->next_take < o->next_seq && s->state == DONE ? s : NULL;
}

void *wq_order_take(wq_order *o)
{
    pthread_mutex_lock(&o->mu);
    struct slot *s;
    while (!(s = ready_slot(o)) && !(o->closed && o->taken == o->next_seq))
        pthread_cond_wait(&o->has_done, &o->mu);
    void *p = NULL;
    if (s) {
        p = s->p;
        s->p = NULL;
        s->state = FREE;
        weigh(o, s, 0);
        o->held--;
        o->taken++;
        o->next_take++;
        if (!o->unordered) {
            o->ready--;
        } else {
            o->done_head = (o->done_head + 1) % o->nslots;
            o->ndone--;
            o->ring[o->nfree++] = (size_t)(s - o->slots);
        }
        pthread_cond_signal(&o->has_room);
    }
    pthread_mutex_unlock(&o->mu);
    return p;
}

void wq_order_close(wq_order *o)
{
    pthread_mutex_lock(&o->mu);
    o->closed = 1;
    pthread_cond_broadcast(&o->has_room);
    pthread_cond_broadcast(&o->has_done);
    pthread_mutex_unlock(&o->mu);
}
