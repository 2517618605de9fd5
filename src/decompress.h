/*
 * decompress.h - reading a file descriptor, decompressed when its first
 * bytes are the gzip, xz or zstd magic.
 *
 * The input's first bytes decide: they are read before anything is handed
 * out, only as many as it takes to tell (a pipe that sends "a\n" is not
 * waited on for more). Concatenated streams (gzip members, xz streams, zstd
 * frames) are read as one, and what the reference tools skip is skipped:
 * zero bytes after the last gzip member, xz stream padding, zstd skippable
 * frames anywhere (first too: a zstd input may start with one). The
 * descriptor is borrowed: wq_decomp_free does not close it. No threads, no
 * Lua.
 */
#ifndef WQ_DECOMPRESS_H
#define WQ_DECOMPRESS_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

typedef struct wq_decomp wq_decomp;

/* The range of zstd_window_log, as zstd -d --long=N takes it. */
#define WQ_ZSTD_LONG_MIN 10
#define WQ_ZSTD_LONG_MAX 31

/* name is for messages ("cannot read NAME: ..."), borrowed. A zstd frame
 * whose window is over 2^zstd_window_log bytes (0: zstd's default limit,
 * 2^27) is an error whose message gives the window and the --zstd-long=N
 * that would read it. NULL when out of memory. */
wq_decomp *wq_decomp_new(int fd, const char *name, int zstd_window_log);
void wq_decomp_free(wq_decomp *d);

/* What wq_decomp_read returns when it produced no byte. */
enum wq_decomp_rc {
    WQ_DECOMP_END = 0,           /* the end of the input */
    WQ_DECOMP_ERROR = -1,        /* unreadable, corrupt or truncated data, a
                                    zstd window over the limit: the message
                                    is in err */
    WQ_DECOMP_INTERRUPTED = -2,  /* a signal interrupted a read before any
                                    byte was produced: call again to go on */
    WQ_DECOMP_LATER = -3         /* no byte came of what was held or read:
                                    call again when the descriptor is
                                    readable, or at once to wait for it */
};

/* Reads up to cap bytes of the decompressed input, reading the descriptor
 * at most once. Returns the bytes read, or a wq_decomp_rc. So a caller
 * that reads only when wq_decomp_ready or a poll says so never waits. */
ssize_t wq_decomp_read(wq_decomp *d, char *out, size_t cap, wq_buf *err);

/* Whether bytes may come without reading the descriptor (decompressed
 * data still held), so that a poll of the descriptor alone would mislead. */
int wq_decomp_ready(const wq_decomp *d);

#endif
