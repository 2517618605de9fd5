/*
 * glue.h - one lua_State with the job loaded: the one place that runs a
 * job's hooks. The codec (codec.h) and an item's value (itemval.h) build
 * their tables under a lua_pcall of their own, so that running out of
 * memory there is an error, not a panic.
 *
 * A wq_lua is used by one thread at a time: the host's by the main thread, a
 * worker's by that worker. Every hook runs through one protected call whose
 * message handler appends a traceback; on error the message is copied into
 * the caller's err buffer and nothing is left on the Lua stack. Values leave
 * a state only as bytes (codec.h). What the job sees of luaworkq (the
 * luaworkq module, package paths, os.exit) is api.h's.
 *
 * Interrupts: wq_lua_kill may be called from any thread; it records what to
 * interrupt. wq_lua_arm, called on the state's own thread (typically from a
 * signal handler there), installs a hook that raises the error at the next
 * Lua instruction. No hook is installed otherwise. A wait on a child process
 * (child.h) asks for pending kills itself; after a call that a kill ended,
 * the children it left running are ended.
 *
 * A job's stdout is for results only: see streams.h.
 */
#ifndef WQ_GLUE_H
#define WQ_GLUE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "keyfold.h"
#include "csvout.h"
#include "record.h"
#include "shared.h"

typedef struct wq_lua wq_lua;

typedef struct wq_jobconf {
    const char *path;          /* the job script, as the user named it */
    const char *source;        /* its bytes, read once by the host */
    size_t source_len;
    char **sets;               /* "KEY=VALUE" from --set */
    int nsets;
    int workers;
    size_t memory_limit;       /* bytes per state; 0 for none */
    double timeout;            /* seconds per item; 0 for none */
    wq_recfmt rec;             /* the record format: CSV and TSV items are
                                  tables of their fields */
    const char *const *names;  /* the input files' names, for where() */
    wq_csvout *csv;            /* -f csv or tsv: each state writes its rows
                                  (csvout.h); NULL otherwise */
} wq_jobconf;

enum wq_hook { WQ_SETUP, WQ_INIT, WQ_PROCESS, WQ_MERGE, WQ_FINISH, WQ_REDUCE, WQ_SHUTDOWN };

/* What became of one item. */
enum wq_item {
    WQ_ITEM_OK,           /* a result was added to out */
    WQ_ITEM_NIL,          /* process returned nil: no result */
    WQ_ITEM_FAILED,       /* the item failed; err says why */
    WQ_ITEM_INTERRUPTED,  /* a stop interrupted it: not processed */
    WQ_ITEM_MERGE_FAILED  /* merge raised an error: the run fails */
};

/* What the calls of hooks return; on an error, err holds the message. */
enum wq_lua_rc {
    WQ_LUA_OK = 0,
    WQ_LUA_FAILED = -1,      /* the hook raised an error, or a value it
                                takes or gives cannot cross (codec.h) */
    WQ_LUA_UNENCODABLE = -2  /* wq_lua_finish: the final value cannot be
                                encoded in the output's format */
};

#define WQ_KILL_ALL INT64_MIN

/* Creates a state for worker number `worker` (0: the host), runs the job's
 * top level and checks its hooks. Returns NULL with a message in err. */
wq_lua *wq_lua_open(const wq_jobconf *conf, int worker, wq_buf *err);
/* Ends the programs the job left open (child.h: wq_child_end_left) and
 * closes the Lua state, running its finalizers. lw itself stays valid:
 * kills are still recorded, and end a finalizer's wait on a program (call
 * it while the thread is in the stop's registry); its hook is never armed
 * again. */
void wq_lua_end(wq_lua *lw);
/* wq_lua_end, if not done, then frees lw. */
void wq_lua_close(wq_lua *lw);
int wq_lua_has(const wq_lua *lw, enum wq_hook hook);

/* These three return WQ_LUA_OK or WQ_LUA_FAILED. */
/* setup() in the host. Its value, checked as a result is (codec.h), is
 * held once in *shared (shared.h; NULL without setup), which the caller
 * frees after every state is closed; the host's luaworkq.shared is its
 * view from then on. */
int wq_lua_setup(wq_lua *lw, wq_shared **shared, wq_buf *err);
/* Sets luaworkq.shared to the view of shared (nil if NULL), then runs
 * init(luaworkq.shared). */
int wq_lua_init(wq_lua *lw, const wq_shared *shared, wq_buf *err);
int wq_lua_shutdown(wq_lua *lw, wq_buf *err);

/* Runs process(item, index) and appends the result to out: in fmt without
 * fold; with fold in WQ_BINARY (out may be NULL: then the result is only
 * checked), and merged into the state's accumulator. */
enum wq_item wq_lua_process(wq_lua *lw, const char *item, size_t len,
                            int64_t index, enum wq_format fmt, int fold,
                            wq_buf *out, wq_buf *err);
/* Where the next item comes from (before wq_lua_process): its file's
 * number among conf->names and its LINE, for where() and, with a header,
 * the names of its fields. */
void wq_lua_at(wq_lua *lw, int file, int64_t line);
/* The state's -f csv/tsv context (csvout.h), or NULL. */
wq_csvout_ctx *wq_lua_csv(wq_lua *lw);
/* Appends the accumulator (WQ_BINARY) to out and clears it; the state
 * holds on to it until the next call (see glue.c). Returns 1 if there was
 * one, 0 if not, WQ_LUA_FAILED on error. */
int wq_lua_take_fold(wq_lua *lw, wq_buf *out, wq_buf *err);
/* Merges an encoded value (WQ_BINARY) into the state's accumulator.
 * Returns WQ_LUA_OK or WQ_LUA_FAILED. */
int wq_lua_merge_in(wq_lua *lw, const char *p, size_t len, wq_buf *err);
/* Host: runs finish (if any) on the accumulator and appends the value to
 * out: a string from finish as it is (*raw = 1), else encoded in fmt; in
 * WQ_CSV or WQ_TSV a list of rows, as a whole text (*raw = 1).
 * Returns WQ_LUA_OK, WQ_LUA_FAILED if finish raised an error, or
 * WQ_LUA_UNENCODABLE. */
enum wq_lua_rc wq_lua_finish(wq_lua *lw, enum wq_format fmt, wq_buf *out,
                             int *raw, wq_buf *err);

/* A keyed reduce (keyfold.h). With reduce, wq_lua_process with fold
 * checks that the result is a table of key -> value and folds it into the
 * batch's keys; wq_lua_merge_in folds an encoded result the same way. */
/* Readies a state of a job with reduce for folding keys (before its
 * first result). Returns WQ_LUA_OK or WQ_LUA_FAILED (out of memory). */
int wq_lua_keys_open(wq_lua *lw, wq_buf *err);
/* Encodes the batch's keys split into nparts parts appended to out (part
 * i ends at ends[i]) and empties them. Returns WQ_LUA_OK or WQ_LUA_FAILED. */
int wq_lua_split(wq_lua *lw, int nparts, wq_buf *out, size_t *ends, wq_buf *err);
/* Folds a part into the keys this state owns, with reduce. Returns
 * WQ_LUA_OK or WQ_LUA_FAILED (the message names the key). */
int wq_lua_fold_part(wq_lua *lw, const char *p, size_t len, wq_buf *err);
/* The end of the owned keys' fold: finish(key, value) on each, their
 * entries written in layout and put in order (the keys themselves are let
 * go). Returns WQ_LUA_OK or WQ_LUA_FAILED. */
int wq_lua_order_keys(wq_lua *lw, enum wq_layout layout, wq_buf *err);
/* -f csv/tsv with reduce: appends the header line of the rows (the job's
 * `columns`, else key,value). Returns WQ_LUA_OK, or WQ_LUA_FAILED (err). */
int wq_lua_key_header(wq_lua *lw, enum wq_layout layout, wq_buf *out, wq_buf *err);
/* The entries wq_lua_order_keys made, sorted (keyfold.h): n of them, kept
 * until the state closes. */
const wq_keyent *wq_lua_sorted_keys(wq_lua *lw, size_t *n);

/* Interrupts: see the file comment. item is an index (a timeout of that
 * item), WQ_KILL_ALL (a stop), or 0 (nothing). */
void wq_lua_kill(wq_lua *lw, int64_t item);
void wq_lua_arm(wq_lua *lw);

/* The grace period: a call that a kill concerns (the item timed out, or a
 * stop interrupts it) and that has not ended WQ_GRACE_NS after the kill does
 * not answer interrupts (a finalizer that loops, where Lua runs no hooks; a
 * C function that blocks). wq_lua_unanswered, from any thread, reports the
 * first such call of any open state ("item 7 (worker 2) did not stop
 * within 2 s of its timeout; ending the run") and returns 1, or returns 0. */
#define WQ_GRACE_NS 2000000000LL
int wq_lua_unanswered(void);

#endif
