/*
 * item.h - an item as the Lua value process() receives: its bytes as a
 * string; a CSV or TSV record as the array of its fields, or with a header
 * as a table keyed by the header's names; with --ndjson-in, the Lua value
 * of its JSON text (codec.h).
 *
 * Building the value runs out of memory as an error, never a panic: the
 * item's bytes are measured against the state's cap first, and the tables
 * of a record are built under a lua_pcall of their own.
 */
#ifndef WQ_ITEM_H
#define WQ_ITEM_H

#include <stddef.h>
#include "buf.h"
#include "glue.h"

/* On lw's thread, outside any call: pushes the value of item[0..len), the
 * next item from where wq_lua_at says. Returns 0, or -1 with nothing
 * pushed and err (empty on entry) saying why: the item is not JSON, or
 * there is not enough memory. */
int wq_item_push(wq_lua *lw, const char *item, size_t len, wq_buf *err);

#endif
