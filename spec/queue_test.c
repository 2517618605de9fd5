/*
 * queue_test.c - the work queue and the reorder window under real threads.
 *
 * Producers push numbered tokens through a small queue to consumers that
 * hand them back to the window in a scrambled finishing order; the writer
 * must see every token exactly once, in sequence order (or all of them,
 * unordered), with never more than `window` tokens alive at once, plus the
 * one the writer holds between taking and freeing it. Then the window's
 * bounds: by weight, and (unordered) not by a batch that never finishes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
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

static atomic_int takes, reserving;

static void *reserve_one(void *arg)
{
    uint64_t seq;
    int *seen = arg;
    atomic_store(&reserving, 1);
    if (wq_order_reserve(o, &seq) == 0)
        *seen = atomic_load(&takes);
    return NULL;
}

/* Starts a reservation on another thread, which stores in *seen how many
 * takes the test had counted when it got through, and returns once it is
 * under way. It gives a broken window the time to let the reservation
 * through before room is made; a correct one makes it wait however long
 * this is. */
static pthread_t reserve_behind(int *seen)
{
    pthread_t t;
    *seen = -1;
    atomic_store(&takes, 0);
    atomic_store(&reserving, 0);
    pthread_create(&t, NULL, reserve_one, seen);
    while (!atomic_load(&reserving))
        ;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    return t;
}

/* A window whose batches weigh the budget has no room until one is taken;
 * an empty window has room for a batch of any weight. */
static void by_weight(void)
{
    o = wq_order_new(8, 100, 0, 0);
    uint64_t a;
    CHECK(wq_order_reserve(o, &a) == 0, "an empty window has room");
    wq_order_weigh(o, a, 150);
    int seen;
    pthread_t t = reserve_behind(&seen);
    int x = 1;
    wq_order_done(o, a, &x, 150);
    atomic_store(&takes, 1);        /* before the take makes room */
    CHECK(wq_order_take(o) == &x, "the heavy batch is taken");
    pthread_join(t, NULL);
    CHECK(seen == 1, "the next reservation waited for room (saw %d)", seen);
    wq_order_close(o);
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
    for (int i = 0; i < 4 && wq_order_reserve(o, &seq) == 0; i++, passed++)
        wq_order_done(o, seq, &x, 1);
    CHECK(passed == 4, "4 batches done behind the slow one (%d)", passed);
    wq_order_done(o, slow, &x, 1);      /* now all 5 are ready */
    int seen;
    pthread_t t = reserve_behind(&seen);
    for (int k = 1; k <= 5; k++) {
        atomic_store(&takes, k);    /* before the take that makes room */
        CHECK(wq_order_take(o) == &x, "take %d", k);
    }
    pthread_join(t, NULL);
    /* Room comes with take 4; the thread may read the count after take 5. */
    CHECK(seen >= 4, "the reservation waited until 1 was ready (saw %d)", seen);
    wq_order_close(o);
    wq_order_done(o, seq + 1, &x, 1);
    CHECK(wq_order_take(o) == &x && wq_order_take(o) == NULL, "then the last, then the end");
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
    unordered_passing();
    printf("queue: %d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
