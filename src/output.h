/*
 * output.h - an output file: list brackets, the file put in place, a closed
 * pipe.
 *
 * List outputs arrive as chunks framed as frame.h says; a merged value
 * arrives whole. With a path, the output goes to a temporary file
 * beside it that wq_out_close renames into place, so the file is never seen
 * half-written, with the mode and owner of the file it replaces (tmpfile.h).
 * A path that is a symbolic link is followed to its target, which gets the
 * new content, unless paths.h refuses the link (another user's, planted in
 * a sticky world-writable folder; a block device). The writer knows
 * nothing of Lua; one lock lets a process that ends at once close what it
 * wrote (wq_out_abort_all).
 */
#ifndef WQ_OUTPUT_H
#define WQ_OUTPUT_H

#include <stddef.h>
#include "buf.h"
#include "frame.h"

typedef struct wq_out wq_out;

enum { WQ_OUT_OK = 0, WQ_OUT_ERROR = -1, WQ_OUT_PIPE = -2 };

/* path NULL or "-" is standard output. list: results are a list (json adds
 * the brackets). Returns NULL with a message in err. */
wq_out *wq_out_open(const char *path, enum wq_layout layout, int list, wq_buf *err);
/* Writes a chunk of framed list results. */
int wq_out_list(wq_out *o, const char *p, size_t len, wq_buf *err);
/* Writes the merged value; raw: as it is, without the closing newline. */
int wq_out_value(wq_out *o, const char *p, size_t len, int raw, wq_buf *err);
/* Closes the list, flushes and puts the file in place; frees o. After a
 * closed pipe it only frees. Without keep, a file is not put in place (the
 * run was refused: what was there stays); standard output is still closed
 * well-formed. */
int wq_out_close(wq_out *o, int keep, wq_buf *err);

/* For a process about to end at once (a second signal), from any thread:
 * waits (a second at most) for a write under way to end, then closes the
 * list of every open output written as it goes (standard output, a FIFO)
 * after the last whole chunk, and removes the temporary file of every
 * other: such a file is left as it was. No write begins after it. */
void wq_out_abort_all(void);

#endif
