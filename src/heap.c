/* heap.c - the memory of one lua_State; see heap.h. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_BYTES (64u << 10)

/* A slab starts with the link to the previous one, padded to the grain. */
struct slab {
    struct slab *prev;
    char pad[WQ_HEAP_GRAIN - sizeof(struct slab *)];
};

static size_t size_class(size_t n) { return (n + WQ_HEAP_GRAIN - 1) / WQ_HEAP_GRAIN; }

/* A block of class c (c * WQ_HEAP_GRAIN bytes): the last freed one, or the
 * next of the current slab, or the first of a new slab (the old slab's
 * rest, shorter than a block, stays unused). */
static void *take(wq_heap *h, size_t c)
{
    void *p = h->free[c];
    if (p) {
        h->free[c] = *(void **)p;
        return p;
    }
    size_t n = c * WQ_HEAP_GRAIN;
    if ((size_t)(h->end - h->next) < n) {
        struct slab *s = malloc(SLAB_BYTES);
        if (!s)
            return NULL;
        s->prev = h->slabs;
        h->slabs = s;
        h->next = (char *)(s + 1);
        h->end = (char *)s + SLAB_BYTES;
    }
    p = h->next;
    h->next += n;
    return p;
}

static void give(wq_heap *h, void *p, size_t c)
{
    *(void **)p = h->free[c];
    h->free[c] = p;
}

/* Moves a block to a new one of another kind (small or large). */
static void *move(wq_heap *h, void *ptr, size_t osize, size_t nsize)
{
    void *p = nsize <= WQ_HEAP_SMALL ? take(h, size_class(nsize)) : malloc(nsize);
    if (!p)
        return NULL;
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    if (osize <= WQ_HEAP_SMALL)
        give(h, ptr, size_class(osize));
    else
        free(ptr);
    return p;
}

void *wq_heap_resize(wq_heap *h, void *ptr, size_t osize, size_t nsize)
{
    int small_old = ptr && osize <= WQ_HEAP_SMALL;
    if (nsize == 0) {
        if (small_old)
            give(h, ptr, size_class(osize));
        else
            free(ptr);
        return NULL;
    }
    if (!ptr)
        return nsize <= WQ_HEAP_SMALL ? take(h, size_class(nsize)) : malloc(nsize);
    if (nsize <= WQ_HEAP_SMALL && small_old) {
        if (size_class(nsize) == size_class(osize))
            return ptr;
    } else if (!small_old && nsize > WQ_HEAP_SMALL) {
        return realloc(ptr, nsize);
    }
    return move(h, ptr, osize, nsize);
}

void wq_heap_close(wq_heap *h)
{
    struct slab *s = h->slabs;
    while (s) {
        struct slab *prev = s->prev;
        free(s);
        s = prev;
    }
    *h = (wq_heap)WQ_HEAP_INIT;
}
