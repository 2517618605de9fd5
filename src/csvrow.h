/*
 * csvrow.h - one row of CSV or TSV from a Lua value, against a list of
 * columns.
 *
 * A row is a table of column name -> value, or an array of values in
 * column order. A missing value or luaworkq.null is an empty field;
 * integers, floats and booleans are written as the JSON output writes them
 * (numtext.h); a string is written as its bytes. CSV quotes a field that
 * holds a comma, a quote, CR or LF (RFC 4180, quotes doubled), and the one
 * field of a one-column row when it is empty (as Python's csv does: an
 * empty line would read back as no record). TSV never escapes: a field
 * holding a tab, CR or LF is an error.
 *
 * Errors name the key from the root the caller gives: "result.tags: a
 * table cannot be a CSV field", "result.x: not a column (the columns are
 * a, b)", "result[4]: past the last column (3 columns)".
 *
 * This module knows nothing of runs, threads or headers in files: -f csv
 * and -f tsv lists (csvout.h) and a keyed reduce call it per row. Like the
 * codec, it reads tables with lua_next and lua_raw* (no metamethod runs)
 * and never raises a Lua error; the one step that allocates in Lua (the
 * column names as Lua strings, once per state and columns) runs under a
 * lua_pcall of its own.
 */
#ifndef WQ_CSVROW_H
#define WQ_CSVROW_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "codec.h"

/* A list of columns and its header line; immutable once made, so threads
 * may share it. */
typedef struct wq_csvcols wq_csvcols;

/* Makes the columns of n names (copied), for TSV when tsv, else CSV.
 * Returns NULL with a message in err when there are none, a name is given
 * twice, or (TSV) a name holds a tab, CR or LF; what names them is root
 * ("columns" gives "columns[2]: ..."). */
wq_csvcols *wq_csvcols_new(int tsv, const char *const *names, const size_t *lens,
                           size_t n, const char *root, char err[WQ_ERRLEN]);
void wq_csvcols_free(wq_csvcols *c);
size_t wq_csvcols_count(const wq_csvcols *c);
int wq_csvcols_tsv(const wq_csvcols *c);
/* The header line: the names as fields, then '\n'. */
const char *wq_csvcols_header(const wq_csvcols *c, size_t *len);

/* What one lua_State keeps to write rows: the column names as Lua strings
 * (in its registry), made at the first row of each columns. Used by the
 * state's thread alone; zero it with WQ_CSVROW_INIT. */
typedef struct wq_csvrow {
    uint64_t id;             /* of the columns whose names ref holds */
    int ref;                 /* LUA_NOREF, or the names' table */
} wq_csvrow;

#define WQ_CSVROW_INIT {0, -2 /* LUA_NOREF */}

/* Appends the fields of columns from .. n-1 (counted from 0) taken from
 * the value at idx: a table keyed by those columns' names, or an array
 * whose first element is column `from`. Each field whose column is not the
 * first is preceded by the separator; the caller ends the line. A keyed
 * reduce writes its key with wq_csvrow_field, then its value's columns with
 * from = 1. Returns WQ_CODEC_OK, or WQ_CODEC_ERR with the message in err
 * and out holding a partial row for the caller to discard. */
int wq_csvrow_put(wq_csvrow *r, lua_State *L, const wq_csvcols *c, int idx,
                  size_t from, const char *root, wq_buf *out, char err[WQ_ERRLEN]);

/* Appends the scalar at idx as one field of c's rows (no separator), as
 * wq_csvrow_put writes a field; alone: it is the row's only field. */
int wq_csvrow_field(const wq_csvcols *c, lua_State *L, int idx, int alone,
                    const char *root, wq_buf *out, char err[WQ_ERRLEN]);

/* Appends the separator of c's rows (before a field that is not the
 * first), or, with pad, the empty fields of columns from .. n-1 each with
 * its separator: what a keyed reduce writes after a scalar value in the
 * second column (from = 2). Returns 0, or -1 when out cannot grow. */
int wq_csvrow_sep(const wq_csvcols *c, wq_buf *out);
int wq_csvrow_pad(const wq_csvcols *c, size_t from, wq_buf *out);

/* Makes the columns of the keys of the table at idx, sorted bytewise: the
 * columns of a list whose first row names them; of an array of n values,
 * "1" to "n" in order (as Miller names the fields of a file without a
 * header). Returns NULL with a message in err when a key is neither a
 * string nor a position of an array. */
wq_csvcols *wq_csvcols_of_keys(lua_State *L, int idx, int tsv, const char *root,
                               char err[WQ_ERRLEN]);

/* Makes the columns of the list at idx (the job's global `columns`):
 * an array of strings. Returns NULL with a message in err. */
wq_csvcols *wq_csvcols_of_list(lua_State *L, int idx, int tsv, const char *root,
                               char err[WQ_ERRLEN]);

#endif
