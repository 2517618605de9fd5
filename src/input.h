/*
 * input.h - items from files or standard input, as a stream.
 *
 * The files are read in order as one stream of items separated by '\n' (a
 * '\r' before it is removed too) or by NUL. Empty items are items; a last
 * item without a separator is an item. Memory is one read buffer that grows
 * only to hold the longest item. No threads, no Lua.
 */
#ifndef WQ_INPUT_H
#define WQ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef struct wq_input wq_input;

/* Checks that every path ("-" is standard input) can be opened for reading
 * and is not a directory. Returns 0, or -1 with a message in err. */
int wq_input_check(char *const *paths, int n, wq_buf *err);

/* paths are borrowed and must outlive the reader; n == 0 means stdin. */
wq_input *wq_input_new(char *const *paths, int n, char sep);
void wq_input_free(wq_input *in);

/* What wq_input_next returns. */
enum wq_input_rc {
    WQ_INPUT_ITEM = 1,          /* *item and *len are set (valid until the
                                   next call) */
    WQ_INPUT_END = 0,           /* the end of the last file */
    WQ_INPUT_ERROR = -1,        /* a read error; the message is in err */
    WQ_INPUT_INTERRUPTED = -2,  /* a signal interrupted a read */
    WQ_INPUT_LATER = -3         /* without wait: the item is not there yet
                                   (a pipe); call again to go on */
};

/* Reads the next item. */
enum wq_input_rc wq_input_next(wq_input *in, const char **item, size_t *len,
                               int wait, wq_buf *err);

/* Where the last item came from: the file's number (0-based), its name
 * ("stdin" for standard input) and its line (record) number there. */
int wq_input_file(const wq_input *in);
const char *wq_input_name(const wq_input *in, int file);
int64_t wq_input_line(const wq_input *in);

/* Whether what is left to read is regular files only, so that counting the
 * rest cannot block. */
int wq_input_rest_is_regular(const wq_input *in);

#endif
