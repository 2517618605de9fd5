/*
 * queue_test.c - the work queue and the reorder window under real threads.
 *
 * Producers push numbered tokens through a small queue to consumers that
 * hand them back to the window in a scrambled finishing order; the writer
 * must see every token exactly once, in sequence order (or all of them,
 * unordered), with never more than `window` tokens alive at once, plus the
 * one the writer holds between taking and freeing it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "queue.h"

#define TOKENS 200000
#define WINDOW 8
#define CONSUMERS 4

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static wq_queue *q;
static wq_order *o;
static atomic_int alive, max_alive;

static void *producer(void *arg)
{
    (void)arg;
    uint64_t seq;
    for (int i = 0; i < TOKENS && wq_order_reserve(o, &seq) == 0; i++) {
        uint64_t *t = malloc(sizeof *t);
        *t = seq;
        int now = atomic_fetch_add(&alive, 1) + 1, max = atomic_load(&max_alive);
        while (now > max && !atomic_compare_exchange_weak(&max_alive, &max, now))
            ;
        wq_queue_push(q, t);
    }
    wq_order_close(o);
    wq_queue_close(q);
    return NULL;
}

static void *consumer(void *arg)
{
    unsigned spin = (unsigned)(uintptr_t)arg;
    uint64_t *t;
    while ((t = wq_queue_pop(q))) {
        spin = spin * 1103515245u + 12345u;  /* uneven work: finish out of order */
        for (volatile unsigned k = 0; k < (spin >> 20) % 2000; k++)
            ;
        wq_order_done(o, *t, t);
    }
    return NULL;
}

static void run(int unordered)
{
    q = wq_queue_new(WINDOW);
    o = wq_order_new(WINDOW, unordered);
    atomic_store(&alive, 0);
    atomic_store(&max_alive, 0);
    pthread_t p, c[CONSUMERS];
    pthread_create(&p, NULL, producer, NULL);
    for (uintptr_t i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, (void *)(i + 1));
    char *seen = calloc(TOKENS, 1);
    uint64_t next = 0, *t;
    int in_order = 1, count = 0;
    while ((t = wq_order_take(o))) {
        in_order &= *t == next++;
        if (*t < TOKENS)
            seen[*t]++;
        count++;
        atomic_fetch_sub(&alive, 1);
        free(t);
    }
    pthread_join(p, NULL);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(c[i], NULL);
    int once = 1;
    for (int i = 0; i < TOKENS; i++)
        once &= seen[i] == 1;
    CHECK(count == TOKENS, "%s: took %d of %d", unordered ? "unordered" : "ordered", count, TOKENS);
    CHECK(once, "every token exactly once");
    if (!unordered)
        CHECK(in_order, "tokens taken in sequence order");
    CHECK(atomic_load(&max_alive) <= WINDOW + 1, "at most %d alive, saw %d",
          WINDOW + 1, atomic_load(&max_alive));
    free(seen);
    wq_queue_free(q);
    wq_order_free(o);
}

/* Closing early: reservations end, what was reserved still comes out. */
static void close_early(void)
{
    o = wq_order_new(4, 0);
    uint64_t a, b, c;
    CHECK(wq_order_reserve(o, &a) == 0 && wq_order_reserve(o, &b) == 0, "reserve");
    wq_order_close(o);
    CHECK(wq_order_reserve(o, &c) == -1, "no reservation after close");
    int x = 1, y = 2;
    wq_order_done(o, b, &y);
    wq_order_done(o, a, &x);
    CHECK(wq_order_take(o) == &x && wq_order_take(o) == &y, "reserved batches still taken in order");
    CHECK(wq_order_take(o) == NULL, "then the end");
    wq_order_free(o);

    q = wq_queue_new(2);
    CHECK(wq_queue_push(q, &x) == 0, "push");
    wq_queue_close(q);
    CHECK(wq_queue_push(q, &y) == -1, "no push after close");
    CHECK(wq_queue_pop(q) == &x && wq_queue_pop(q) == NULL, "drained, then NULL");
    wq_queue_free(q);
}

int main(void)
{
    run(0);
    run(1);
    close_early();
    printf("queue: %d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
