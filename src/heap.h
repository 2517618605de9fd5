/*
 * heap.h - the memory of one lua_State.
 *
 * A lua_State is used by one thread at a time (a worker's by its own thread
 * alone), so its memory needs no lock: small blocks (up to WQ_HEAP_SMALL
 * bytes) come from per-size free lists carved out of slabs the heap owns,
 * larger ones from malloc. Lua passes the size of every block it resizes or
 * frees, so blocks carry no header. A freed small block goes back to its
 * size's list for the state's next allocation, not to the system; the slabs
 * are released by wq_heap_close, after lua_close has freed every block.
 *
 * The heap counts no bytes and enforces no cap: the caller (the state's
 * lua_Alloc) does. Under AddressSanitizer it is plain malloc (see below).
 */
#ifndef WQ_HEAP_H
#define WQ_HEAP_H

#include <stddef.h>
#include <stdlib.h>

/* Under AddressSanitizer every block comes from malloc, so that an overflow
 * or a use after free in a Lua heap is caught where slabs would hide it. */
#ifdef __SANITIZE_ADDRESS__
#define WQ_HEAP_SYSTEM 1
#else
#define WQ_HEAP_SYSTEM 0
#endif

/* 1 KB: string.gmatch's state is a userdata of about 600 bytes, made and
 * dropped at every call, and the node array of a table of 16 to 32 keys
 * (a record, a line's word counts) is 512 to 1024 bytes. */
#define WQ_HEAP_SMALL 1024
#define WQ_HEAP_GRAIN 16  /* block sizes round up to this; it is their alignment */

typedef struct wq_heap {
    void *free[WQ_HEAP_SMALL / WQ_HEAP_GRAIN + 1];  /* by size / WQ_HEAP_GRAIN */
    char *next, *end;                               /* unused rest of a slab */
    void *slabs;                                    /* all slabs, linked */
} wq_heap;

#define WQ_HEAP_INIT {{0}, NULL, NULL, NULL}

/* wq_heap_realloc's general case: new slabs, large blocks, resizes. */
void *wq_heap_resize(wq_heap *h, void *ptr, size_t osize, size_t nsize);

/* Lua's realloc contract: a block of osize bytes at ptr (ptr NULL: none, and
 * osize 0) becomes one of nsize bytes holding the first min(osize, nsize)
 * bytes; nsize 0 frees it and returns NULL. Returns NULL when memory runs
 * out, leaving the old block as it was. Inline: taking a small block that
 * was freed before, and freeing one, are what Lua does most, a few
 * instructions each; the rest is wq_heap_resize. */
/* The free-list index of a small block of n bytes. */
static inline size_t wq_heap_class(size_t n)
{
    return (n + WQ_HEAP_GRAIN - 1) / WQ_HEAP_GRAIN;
}

/* The last freed block of class c, or NULL. */
static inline void *wq_heap_pop(wq_heap *h, size_t c)
{
    void *p = h->free[c];
    if (p)
        h->free[c] = *(void **)p;
    return p;
}

/* Frees a small block of class c: it waits in its list for the next use. */
static inline void wq_heap_push(wq_heap *h, void *p, size_t c)
{
    *(void **)p = h->free[c];
    h->free[c] = p;
}

static inline void *wq_heap_realloc(wq_heap *h, void *ptr, size_t osize, size_t nsize)
{
    if (WQ_HEAP_SYSTEM) {
        if (nsize == 0) {
            free(ptr);
            return NULL;
        }
        return realloc(ptr, nsize);
    }
    if (!ptr && nsize - 1 < WQ_HEAP_SMALL) {  /* 1..WQ_HEAP_SMALL */
        void *p = wq_heap_pop(h, wq_heap_class(nsize));
        if (p)
            return p;
    } else if (nsize == 0 && ptr && osize <= WQ_HEAP_SMALL) {
        wq_heap_push(h, ptr, wq_heap_class(osize));
        return NULL;
    }
    return wq_heap_resize(h, ptr, osize, nsize);
}

/* Releases the slabs. Every block must have been freed (or be abandoned). */
void wq_heap_close(wq_heap *h);

#endif
