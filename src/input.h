/*
 * input.h - items from files or standard input, as a stream.
 *
 * The files are read in order as one stream of records in the format of a
 * wq_recfmt (record.h): lines by default, NUL or -d STR delimited items,
 * paragraphs, CSV or TSV records. Empty items are items; a last item
 * without a terminator is an item. A file (or standard input) that starts
 * with a gzip, xz or zstd magic number is decompressed as it is read. Each
 * file is opened once, when its turn comes, so pipes and FIFOs lose
 * nothing. Memory is one read buffer that grows only to hold the longest
 * record, and a record longer than fmt->max (when not 0) is never held: it
 * is handed out without its bytes (wq_input_too_long) and the rest of it is
 * read and dropped. A UTF-8 BOM at the start of a file is dropped where the
 * format says so (wq_record_skips_bom). No threads, no Lua.
 */
#ifndef WQ_INPUT_H
#define WQ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "record.h"

typedef struct wq_input wq_input;

/* The input files, named once by the run (run.c) for every module that
 * speaks of one: paths[i] as given ("-" is standard input) and names[i] as
 * messages and where() give it ("stdin" for standard input). n == 0 means
 * standard input alone, named names[0]. */
typedef struct wq_inputs {
    char *const *paths;
    const char *const *names;
    int n;
} wq_inputs;

/* Checks that every path ("-" is standard input) exists, is readable and
 * is not a directory, without opening it (opening a FIFO would take its
 * writer's data). Returns 0, or -1 with a message in err. */
int wq_input_check(char *const *paths, int n, wq_buf *err);

/* files and fmt are borrowed and must outlive the reader. With
 * fmt->header, each file's header record goes to fmt->headers (when not
 * NULL) before any item of that file is returned. */
wq_input *wq_input_new(const wq_inputs *files, const wq_recfmt *fmt);
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

/* Where the last item came from: the file's number (0-based; its name is
 * files->names[file]) and its LINE there: the line it starts on, or its
 * number for -0 and a -d STR without a newline. */
int wq_input_file(const wq_input *in);
int64_t wq_input_line(const wq_input *in);

/* Whether the last item was a record longer than fmt->max: its *len was 0
 * and its bytes are not there. Its LINE is right, and so are those of the
 * items after it. */
int wq_input_too_long(const wq_input *in);

/* The bound --max-record has by default: WQ_MAX_RECORD, or a quarter of the
 * memory available (MemAvailable in /proc/meminfo) if that is less, since
 * a record is held by the reader, in its batch and as the worker's string
 * at once. */
#define WQ_MAX_RECORD ((size_t)1 << 30)
size_t wq_input_max_default(void);

/* Whether what is left to read is regular files only, so that counting the
 * rest cannot block. */
int wq_input_rest_is_regular(const wq_input *in);

#endif
