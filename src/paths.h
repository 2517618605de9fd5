/*
 * paths.h - the files of one run must be distinct where one is written.
 *
 * A run writes its outputs (-o, --journal, --errors) and reads its job
 * script and inputs. Two of these that are one file, where at least one is
 * written, would clobber it: `--journal x -o x` overwrites the journal,
 * `--errors job.lua` truncates the job. wq_paths_check is called once,
 * before anything is opened for writing, and refuses such a run.
 *
 * Files are compared by device and inode, so that two names of one file
 * (./x and x, a hard link, a symbolic link) are seen; a file that does not
 * exist yet is named by its folder's canonical path and its own name.
 * Character devices (/dev/null) are never in conflict: writing one twice, or
 * reading and writing it, clobbers nothing. No threads, no Lua.
 */
#ifndef WQ_PATHS_H
#define WQ_PATHS_H

#include "buf.h"

typedef struct wq_path {
    const char *path;        /* NULL or "-" (standard input/output): skipped */
    const char *role;        /* for messages: "-o", "--journal", "the job script" */
    int written;             /* an output */
} wq_path;

/* Returns 0 if no file written is also another of the n paths, else -1
 * with a message naming both ("-o x and --journal x are the same file"). */
int wq_paths_check(const wq_path *paths, int n, wq_buf *err);

#endif
