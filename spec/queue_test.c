/*
 * queue_test.c - the work queue and the reorder window under real threads.
 *
 * Producers push numbered tokens through a small queue to consumers that
 * hand them back to the window in a scrambled finishing order; the writer
 * must see every token exactly once, in sequence order (or all of them,
 * unordered), with never more than `window` tokens alive at once, plus the
 * one the writer holds between taking and freeing it. Then the window's
 * bounds, checked without waiting (wq_order_try_reserve says whether a
 * reservation would wait): by weight, by the batches ready for the writer,
 * with every slot held, and (unordered) not by a batch that never finishes.
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

struct token { uint64_t seq, n; };

static void *producer(void *arg)
{
    (void)arg;
    uint64_t seq;
    for (int i = 0; i < TOKENS && wq_order_reserve(o, &seq) == 0; i++) {
        struct token *t = malloc(sizeof *t);
        t->seq = seq;
        t->n = (uint64_t)i;
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
    struct token *t;
    while ((t = wq_queue_pop(q))) {
        spin = spin * 1103515245u + 12345u;  /* uneven work: finish out of order */
        for (volatile unsigned k = 0; k < (spin >> 20) % 2000; k++)
            ;
        wq_order_done(o, t->seq, t, 1);
    }
    return NULL;
}

static void run(int unordered)
{
    q = wq_queue_new(WINDOW);
    o = wq_order_new(WINDOW, SIZE_MAX, 0, unordered);
    atomic_store(&alive, 0);
    atomic_store(&max_alive, 0);
    pthread_t p, c[CONSUMERS];
    pthread_create(&p, NULL, producer, NULL);
    for (uintptr_t i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, (void *)(i + 1));
    char *seen = calloc(TOKENS, 1);
    uint64_t next = 0;
    struct token *t;
    int in_order = 1, count = 0;
    while ((t = wq_order_take(o))) {
        in_order &= t->n == next++;
        if (t->n < TOKENS)
            seen[t->n]++;
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
    o = wq_order_new(4, SIZE_MAX, 0, 0);
    uint64_t a, b, c;
    CHECK(wq_order_reserve(o, &a) == 0 && wq_order_reserve(o, &b) == 0, "reserve");
    wq_order_close(o);
    CHECK(wq_order_reserve(o, &c) == -1, "no reservation after close");
    int x = 1, y = 2;
    wq_order_done(o, b, &y, 0);
    wq_order_done(o, a, &x, 0);
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

/* A window whose batches weigh the budget has no room until one is taken;
 * one that weighs a byte less has; an empty window has room for a batch of
 * any weight. */
static void by_weight(void)
{
    o = wq_order_new(8, 100, 0, 0);
    uint64_t a, b, c;
    int x = 1;
    CHECK(wq_order_reserve(o, &a) == 0, "an empty window has room");
    wq_order_weigh(o, a, 150);
    CHECK(wq_order_try_reserve(o, &b) == 1, "no room past the budget");
    wq_order_done(o, a, &x, 99);
    CHECK(wq_order_try_reserve(o, &b) == 0, "room a byte under the budget");
    wq_order_weigh(o, b, 1);
    CHECK(wq_order_try_reserve(o, &c) == 1, "no room at the budget exactly");
    CHECK(wq_order_take(o) == &x, "the first batch is taken");
    CHECK(wq_order_try_reserve(o, &c) == 0, "room again once it is taken");
    wq_order_close(o);
    CHECK(wq_order_try_reserve(o, &c) == -1, "no reservation after close");
    wq_order_free(o);
}

/* Reservations wait while the writer has `ahead` batches ready to take;
 * batches done behind an unfinished one are not ready, so they never hold
 * the free workers up. */
static void writer_behind(void)
{
    o = wq_order_new(16, SIZE_MAX, 2, 0);
    uint64_t slow, seq;
    int x = 1, passed = 0;
    CHECK(wq_order_reserve(o, &slow) == 0, "reserve the slow one");
    for (int i = 0; i < 4 && wq_order_try_reserve(o, &seq) == 0; i++, passed++)
        wq_order_done(o, seq, &x, 1);
    CHECK(passed == 4, "4 batches done behind the slow one (%d)", passed);
    wq_order_done(o, slow, &x, 1);      /* now all 5 are ready */
    for (int k = 1; k <= 4; k++) {
        CHECK(wq_order_try_reserve(o, &seq) == 1, "no room with %d ready", 6 - k);
        CHECK(wq_order_take(o) == &x, "take %d", k);
    }
    CHECK(wq_order_try_reserve(o, &seq) == 0, "room with 1 ready");
    wq_order_close(o);
    CHECK(wq_order_take(o) == &x, "the fifth");
    wq_order_done(o, seq, &x, 1);
    CHECK(wq_order_take(o) == &x && wq_order_take(o) == NULL, "then the last, then the end");
    wq_order_free(o);
}

/* A window whose every slot is held: no room, whatever is done, until the
 * writer takes; finished out of order, the batches come out in order, and
 * once all are taken none counts as ready (ahead = 1 would say so). */
static void every_slot_held(void)
{
    enum { N = 64 };
    o = wq_order_new(N, SIZE_MAX, 1, 0);
    uint64_t seq[N], extra;
    int v[N], ok = 1;
    for (int i = 0; i < N; i++)
        ok &= wq_order_try_reserve(o, &seq[i]) == 0 && seq[i] == (uint64_t)i;
    CHECK(ok, "%d reservations in sequence", N);
    CHECK(wq_order_try_reserve(o, &extra) == 1, "no room with every slot held");
    for (int i = N - 1; i >= 0; i--) {  /* the last first, the first last */
        v[i] = i;
        wq_order_done(o, seq[i], &v[i], 1);
        ok &= wq_order_try_reserve(o, &extra) == 1;
    }
    CHECK(ok, "no room while every slot holds a batch");
    for (int i = 0; i < N; i++) {
        int *p = wq_order_take(o);
        ok &= p == &v[i];
        if (i < N - 1)
            ok &= wq_order_try_reserve(o, &extra) == 1;
    }
    CHECK(ok, "taken in order, no room while one is ready");
    CHECK(wq_order_try_reserve(o, &extra) == 0 && extra == N,
          "room for the next once all are taken");
    wq_order_close(o);
    wq_order_done(o, extra, &v[0], 1);
    CHECK(wq_order_take(o) == &v[0] && wq_order_take(o) == NULL, "then the end");
    wq_order_free(o);
}

/* Unordered, a batch that never finishes does not hold up the others,
 * however many pass it. */
static void unordered_passing(void)
{
    o = wq_order_new(4, SIZE_MAX, 0, 1);
    uint64_t slow, seq;
    int x = 1, passed = 0;
    CHECK(wq_order_reserve(o, &slow) == 0, "reserve the slow one");
    for (int i = 0; i < 100 && wq_order_reserve(o, &seq) == 0; i++) {
        wq_order_done(o, seq, &x, 1);
        passed += wq_order_take(o) == &x;
    }
    CHECK(passed == 100, "100 batches passed the slow one (%d)", passed);
    wq_order_close(o);
    wq_order_done(o, slow, &x, 1);
    CHECK(wq_order_take(o) == &x && wq_order_take(o) == NULL, "then the slow one, then the end");
    wq_order_free(o);
}

int main(void)
{
    run(0);
    run(1);
    close_early();
    by_weight();
    writer_behind();
    every_slot_held();
    unordered_passing();
    printf("queue: %d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
