/*
 * decompress.h - reading a file descriptor, decompressed when its first
 * bytes are the gzip, xz or zstd magic.
 *
 * The input's first bytes decide: they are read before anything is handed
 * out, only as many as it takes to tell (a pipe that sends "a\n" is not
 * waited on for more). Concatenated streams (gzip members, xz streams, zstd
 * frames) are read as one. The descriptor is borrowed: wq_decomp_free does
 * not close it. No threads, no Lua.
 */
#ifndef WQ_DECOMPRESS_H
#define WQ_DECOMPRESS_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

typedef struct wq_decomp wq_decomp;

/* name is for messages ("cannot read NAME: ..."), borrowed. NULL when out
 * of memory. */
wq_decomp *wq_decomp_new(int fd, const char *name);
void wq_decomp_free(wq_decomp *d);

/* Reads up to cap bytes of the decompressed input, reading the descriptor
 * at most once. Returns the bytes read, 0 at the end, -1 on error (message
 * in err: unreadable, corrupt or truncated data), -2 when a signal
 * interrupted a read before any byte was produced: call again to go on,
 * or -3 when no byte came of what was held or read: call again when the
 * descriptor is readable, or at once to wait for it. So a caller that
 * reads only when wq_decomp_ready or a poll says so never waits. */
ssize_t wq_decomp_read(wq_decomp *d, char *out, size_t cap, wq_buf *err);

/* Whether bytes may come without reading the descriptor (decompressed
 * data still held), so that a poll of the descriptor alone would mislead. */
int wq_decomp_ready(const wq_decomp *d);

#endif
