/*
 * itemval.h - an item as the Lua value process() receives: its bytes as a
 * string; a CSV or TSV record as the array of its fields, or with a header
 * as a table keyed by the header's names; with --ndjson-in, the Lua value
 * of its JSON text (codec.h); with --chunk, the array of its records'
 * values (chunk.h).
 *
 * Building the value runs out of memory as an error, never a panic: the
 * tables of a record are built under a lua_pcall of their own, the JSON
 * decoder protects itself (codec.h). Measuring the item's bytes against a
 * state's memory cap is the caller's (glue.c).
 */
#ifndef WQ_ITEMVAL_H
#define WQ_ITEMVAL_H

#include <lua.h>
#include <stddef.h>
#include "buf.h"
#include "record.h"

/* What one state keeps between its items. Used by the state's thread. */
typedef struct wq_itemval {
    const wq_recfmt *rec;  /* the record format: its decoding says whether
                              an item is a string, a table of its fields or
                              a JSON value */
    int names_file;        /* the file whose header names are cached */
    int names_ref;         /* those names in the registry, or LUA_NOREF */
    int nfields;           /* of the last record, to size the next */
    wq_buf field;          /* an unquoted CSV field */
} wq_itemval;

enum wq_itemval_rc {
    WQ_ITEMVAL_OK = 0,
    WQ_ITEMVAL_NOT_JSON = -1,  /* err says where */
    WQ_ITEMVAL_NOMEM = -2      /* Lua ran out of memory; err is untouched */
};

void wq_itemval_init(wq_itemval *v, const wq_recfmt *rec);
/* Frees what v holds outside the state (the state's registry entry goes
 * with the state). */
void wq_itemval_free(wq_itemval *v);

/* Pushes a new array of the names in the header of the input file number
 * file, or nil when it has none (yet). Raises a Lua error when out of
 * memory: call it from a Lua function (luaworkq.header). */
int wq_itemval_header(lua_State *L, wq_itemval *v, int file);

/* Pushes the value of item[0..len), which comes from the input file
 * number file (its header names the fields), or pushes nothing and
 * returns the error. */
enum wq_itemval_rc wq_itemval_push(lua_State *L, wq_itemval *v, int file,
                                   const char *item, size_t len, wq_buf *err);

#endif
