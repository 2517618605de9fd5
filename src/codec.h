/*
 * codec.h - Lua values to bytes and back.
 *
 * Results cross from a worker's lua_State to the host only as bytes. One walk
 * over a Lua value serves three encodings:
 *
 *   WQ_BINARY  exact transfer format: nil, booleans, integers (64 bits),
 *              floats (bit-exact), strings (any bytes), luaworkq.null, tables
 *              (with their luaworkq.array mark). Read back by wq_codec_decode.
 *   WQ_JSON    the output format: a table whose keys are exactly 1..n
 *              (n >= 1) is an array, any other an object with its keys as
 *              strings sorted bytewise by their text as written (after
 *              U+FFFD replacement), an empty table is {} unless marked by
 *              luaworkq.array; integers as integers, floats in the shortest
 *              form that reads back to the same double, written as Python's
 *              repr does (integral floats keep a ".0"), NaN and infinity are
 *              errors, invalid UTF-8 becomes U+FFFD. Two keys written the
 *              same (1 and "1") are an error: an object never holds a key
 *              twice.
 *   WQ_TEXT    the "lines" format: a string as it is, a number as Lua's
 *              tostring writes it; anything else is an error.
 *
 * A view of setup's shared data (shared.h) is encoded as the table it
 * shows. Functions, other userdata (but luaworkq.null), threads, cycles and nesting
 * deeper than WQ_MAX_DEPTH are errors. Error messages name the key path from
 * the root name given by the caller: "result.a.b: cannot transfer a function",
 * "result.list[3]: cannot transfer a cycle", "result.x: cannot encode NaN".
 *
 * None of these functions raises a Lua error or leaves anything on the stack;
 * on error they return WQ_CODEC_ERR with the message in err (always
 * NUL-terminated) and the output buffer holds a partial encoding that the
 * caller discards.
 *
 * Where Lua is called: the codec never runs Lua code and reads tables with
 * lua_next and lua_raw*, so no metamethod runs. Two of its functions call
 * lua_pcall, on C functions of their own, to turn a memory error in an
 * allocating step into a return code: wq_codec_decode and
 * wq_codec_json_decode (building strings and tables), and wq_codec_encode
 * and wq_codec_check for an object of more than 1024 keys (its array of
 * values, bigobject.c) and for a view of shared data (a plain copy of it,
 * dropped after). Besides those steps, only the first
 * wq_codec_push_array_mt in a state allocates in Lua.
 *
 * The codec's files, each with one job (codec_internal.h holds what they
 * share, and only they include it):
 *   numtext.c    UTF-8 checks, the text of integers and shortest doubles
 *   arraymark.c  the luaworkq.array metatable
 *   keypath.c    the encoder's error messages, naming the key path
 *   bigobject.c  the keys of an object with many keys, put in order
 *   encode.c     the walk over a value: JSON, lines, the transfer format
 *   decode.c     the transfer format and JSON text back to values
 */
#ifndef WQ_CODEC_H
#define WQ_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "buf.h"

#define WQ_MAX_DEPTH 200
#define WQ_ERRLEN 256

/* What the codec's functions return. */
enum wq_codec_status {
    WQ_CODEC_OK = 0,
    WQ_CODEC_ERR = -1,      /* refused or malformed; err says why */
    WQ_CODEC_NOMEM = -2     /* a decoder ran out of Lua memory; err says so */
};

/* WQ_CSV and WQ_TSV name -f csv and -f tsv: csvout.h writes them, never
 * the codec. */
enum wq_format { WQ_BINARY, WQ_JSON, WQ_TEXT, WQ_CSV, WQ_TSV };

/* Appends the encoding of the value at idx to out. Returns WQ_CODEC_OK or
 * WQ_CODEC_ERR (an encoder that runs out of memory says so in err). */
int wq_codec_encode(lua_State *L, int idx, enum wq_format fmt, const char *root,
              wq_buf *out, char err[WQ_ERRLEN]);

/* Whether wq_codec_encode would take the value at idx (in WQ_BINARY), without
 * encoding it: the cheap check of a result that is merged where it is
 * made. Returns WQ_CODEC_OK, or WQ_CODEC_ERR with the encoder's message in
 * err. */
int wq_codec_check(lua_State *L, int idx, const char *root, char err[WQ_ERRLEN]);

/* A WQ_BINARY table built pair by pair, for pairs that are not one Lua
 * table (a partition of one): wq_codec_table_begin appends its header and
 * returns where it is ((size_t)-1 when out cannot grow); each pair is then
 * two wq_codec_encode calls, key and value; wq_codec_table_end writes how
 * many pairs there are. Decoded, it is a table with those pairs. */
size_t wq_codec_table_begin(wq_buf *out);
void wq_codec_table_end(wq_buf *out, size_t at, uint32_t pairs);

/* Pushes the value encoded (WQ_BINARY) in p[0..len). Returns WQ_CODEC_OK,
 * WQ_CODEC_ERR on malformed input, or WQ_CODEC_NOMEM (nothing pushed,
 * message in err). */
int wq_codec_decode(lua_State *L, const char *p, size_t len, char err[WQ_ERRLEN]);

/* The pairs of the table encoded (WQ_BINARY) in p[0..len), one by one,
 * without making the table: for each, pushes the key and the value and
 * calls pair(L, ud), which pops both. Unlike the decoders above it is not
 * protected: it raises a Lua error on malformed input or when out of
 * memory, and pair may raise errors too, so call it inside lua_pcall.
 * Returns 0. */
int wq_codec_each_pair(lua_State *L, const char *p, size_t len,
                       void (*pair)(lua_State *L, void *ud), void *ud);

/* Pushes the value of one JSON text s[0..len) (surrounding white space
 * allowed): null is luaworkq.null, arrays come marked with luaworkq.array,
 * numbers without fraction or exponent that fit are integers. Returns
 * WQ_CODEC_OK, WQ_CODEC_ERR with a message naming the byte offset ("at byte
 * 7: expected ','"), or WQ_CODEC_NOMEM (nothing pushed). */
int wq_codec_json_decode(lua_State *L, const char *s, size_t len, char err[WQ_ERRLEN]);

/* Appends s[0..len) as a JSON string, by the rules of WQ_JSON. Returns
 * WQ_CODEC_OK, or WQ_CODEC_ERR when out cannot grow. */
int wq_codec_json_string(wq_buf *out, const char *s, size_t len);

/* Pushes the metatable that luaworkq.array sets (created on first use, kept
 * in the registry). The first call in a state allocates, so it may raise a
 * memory error: make it while the state is set up under lua_pcall. */
void wq_codec_push_array_mt(lua_State *L);

/* luaworkq.null is the light userdata NULL (the same value as cjson.null). */
#define wq_codec_pushnull(L) lua_pushlightuserdata((L), NULL)

#endif
