/*
 * heap_test.c - the memory of a lua_State, under Lua's realloc contract.
 *
 * A random walk of allocations, resizes and frees across the small and the
 * large sizes (and the boundary between them) must keep every live block's
 * bytes, aligned to the grain, never overlapping another live block; a real
 * lua_State on the heap must run code that churns through memory; closing
 * releases the slabs (the ASan build checks for leaks).
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "heap.h"

#define BLOCKS 512
#define STEPS 200000

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

struct block {
    unsigned char *p;
    size_t size;
    unsigned char fill;  /* every byte of the block holds it */
};

static uint64_t seed = 0x9E3779B97F4A7C15u;
static size_t rnd(size_t n)
{
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (size_t)(seed >> 33) % n;
}

/* Sizes around the boundary as often as small and large ones. */
static size_t any_size(void)
{
    switch (rnd(3)) {
    case 0: return 1 + rnd(WQ_HEAP_SMALL);
    case 1: return WQ_HEAP_SMALL - 32 + rnd(64);
    default: return 1 + rnd(4 * WQ_HEAP_SMALL);
    }
}

static int intact(const struct block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b->p[i] != b->fill)
            return 0;
    return 1;
}

static void step(wq_heap *h, struct block *b)
{
    size_t nsize = rnd(4) == 0 ? 0 : any_size();
    size_t keep = b->size < nsize ? b->size : nsize;
    if (b->p)
        CHECK(intact(b, b->size), "block of %zu bytes changed", b->size);
    unsigned char *p = wq_heap_realloc(h, b->p, b->size, nsize);
    if (nsize == 0) {
        CHECK(p == NULL, "a free returns NULL");
        *b = (struct block){0};
        return;
    }
    CHECK(p != NULL, "an allocation of %zu bytes failed", nsize);
    CHECK((uintptr_t)p % WQ_HEAP_GRAIN == 0, "block at %p not aligned", (void *)p);
    b->p = p;
    CHECK(intact(b, keep), "resize %zu -> %zu lost bytes", b->size, nsize);
    b->size = nsize;
    b->fill = (unsigned char)(1 + rnd(255));
    memset(p, b->fill, nsize);  /* overwrites a neighbour if blocks overlap */
}

static void random_walk(void)
{
    static struct block blocks[BLOCKS];
    wq_heap h = WQ_HEAP_INIT;
    for (int i = 0; i < STEPS; i++)
        step(&h, &blocks[rnd(BLOCKS)]);
    for (int i = 0; i < BLOCKS; i++) {
        if (blocks[i].p)
            CHECK(intact(&blocks[i], blocks[i].size), "block %d changed", i);
        wq_heap_realloc(&h, blocks[i].p, blocks[i].size, 0);
    }
    wq_heap_close(&h);
}

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    return wq_heap_realloc(ud, ptr, ptr ? osize : 0, nsize);
}

static void lua_state(void)
{
    wq_heap h = WQ_HEAP_INIT;
    lua_State *L = lua_newstate(lua_alloc, &h);
    CHECK(L != NULL, "lua_newstate on the heap");
    if (!L)
        return;
    luaL_openlibs(L);
    const char *code =
        "local t, s = {}, 0\n"
        "for i = 1, 100000 do t[i % 1000 + 1] = {i, tostring(i), string.rep('x', i % 700)} end\n"
        "for _, v in ipairs(t) do s = s + v[1] + #v[2] + #v[3] end\n"
        "return s";
    int rc = luaL_dostring(L, code);
    CHECK(rc == LUA_OK, "the code runs: %s", rc ? lua_tostring(L, -1) : "");
    lua_Integer s = lua_tointeger(L, -1), want = 0;
    for (int i = 99001; i <= 100000; i++) {
        char n[16];
        want += i + snprintf(n, sizeof n, "%d", i) + i % 700;
    }
    CHECK(s == want, "sum %lld, expected %lld", (long long)s, (long long)want);
    lua_close(L);
    wq_heap_close(&h);
}

int main(void)
{
    random_walk();
    lua_state();
    printf("heap: %d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
