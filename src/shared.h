/*
 * shared.h - setup's value held once for the whole run, and the read-only
 * views of it that every state gets.
 *
 * wq_shared_build copies a Lua value that could cross as a result (no
 * function, userdata other than luaworkq.null, or cycle) into one immutable
 * C structure: a table becomes an array part and a hash table of its other
 * keys, every distinct string is stored once. From then on nothing writes
 * to it until wq_shared_free, so any number of threads read it at once
 * without a lock.
 *
 * A state sees it through views (wq_shared_push): a table is a small
 * userdata whose metamethods read the structure (indexing, #, pairs, and
 * ipairs, which goes through __index); an assignment raises an error that
 * names the key path ("shared.k[1]: shared data is read-only"). Views of
 * the same table compare equal (__eq), and two reads of it in a row give
 * the very same view: a small cache per state keeps the views made lately
 * (a weak table of every view made the join of scripts/bench about 6%
 * slower: items look up random keys, and it grew and was swept). A view of
 * a table of more than 64 keys keeps the keys read lately in a Lua table of
 * its own, found without a C call (shared.c, Hot keys). Strings,
 * numbers and booleans come out as Lua values. A state's views are a few
 * dozen bytes each: the data itself is outside every Lua heap, so a memory
 * cap does not count it.
 *
 * Ownership: the caller of wq_shared_build owns the structure and frees it
 * after every state that holds a view of it is closed.
 */
#ifndef WQ_SHARED_H
#define WQ_SHARED_H

#include <stddef.h>
#include <lua.h>

typedef struct wq_shared wq_shared;

enum { WQ_SHARED_REFUSED = -1, WQ_SHARED_NOMEM = -2 };

/* Builds the structure from the value at idx (nil gives a structure whose
 * value is nil) into *out. Reads the value raw, without running Lua code
 * or allocating in L. Returns 0, WQ_SHARED_REFUSED for a value that cannot
 * cross as a result cannot (codec.h: the codec's wq_codec_check says why),
 * or WQ_SHARED_NOMEM. */
int wq_shared_build(lua_State *L, int idx, wq_shared **out);
void wq_shared_free(wq_shared *s);

/* Pushes the value of s as L sees it: a view of a table, or the value
 * itself. Allocates: call under lua_pcall. */
void wq_shared_push(lua_State *L, const wq_shared *s);

/* Whether the value at idx is a view. Does not allocate. */
int wq_shared_is_view(lua_State *L, int idx);

/* Pushes a deep copy of the view at idx as plain Lua tables (a table
 * marked by luaworkq.array keeps its mark). Raises a memory error when L
 * cannot hold it: call it from Lua or under lua_pcall. */
void wq_shared_push_copy(lua_State *L, int idx);

#endif
