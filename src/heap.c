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

/* A block of class c (c * WQ_HEAP_GRAIN bytes): the last freed one, or the
 * next of the current slab, or the first of a new slab (the old slab's
 * rest, shorter than a block, stays unused). */
static void *take(wq_heap *h, size_t c)
{
    void *p = wq_heap_pop(h, c);
    if (p)
        return p;
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

/* Moves a block to a new one of another kind (small or large). */
static void *move(wq_heap *h, void *ptr, size_t osize, size_t nsize)
{
    void *p = nsize <= WQ_HEAP_SMALL ? take(h, wq_heap_class(nsize)) : malloc(nsize);
    if (!p)
        return NULL;
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    if (osize <= WQ_HEAP_SMALL)
        wq_heap_push(h, ptr, wq_heap_class(osize));
    else
        free(ptr);
    return p;
}

void *wq_heap_resize(wq_heap *h, void *ptr, size_t osize, size_t nsize)
{
    int small_old = ptr && osize <= WQ_HEAP_SMALL;
    if (nsize == 0) {
        if (small_old)
            wq_heap_push(h, ptr, wq_heap_class(osize));
        else
            free(ptr);
        return NULL;
    }
    if (!ptr)
        return nsize <= WQ_HEAP_SMALL ? take(h, wq_heap_class(nsize)) : malloc(nsize);
    if (nsize <= WQ_HEAP_SMALL && small_old) {
        if (wq_heap_class(nsize) == wq_heap_class(osize))
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
