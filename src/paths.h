/*
 * paths.h - where a run's outputs lead: to files distinct from the run's
 * other files, and never through a link another user planted.
 *
 * A run writes its outputs (-o, --journal, --errors) and reads its job
 * script and inputs. Two of these that are one file, where at least one is
 * written, would clobber it: `--journal x -o x` overwrites the journal,
 * `--errors job.lua` truncates the job. wq_paths_check is called once,
 * before anything is opened for writing, and refuses such a run.
 *
 * Files are compared by device and inode, so that two names of one file
 * (./x and x, a hard link, a symbolic link) are seen; a file that does not
 * exist yet is named by its folder's canonical path and its own name (after
 * the links that lead to it).
 * Character devices (/dev/null) are never in conflict: writing one twice, or
 * reading and writing it, clobbers nothing.
 *
 * Every output is reached through wq_paths_target (or wq_paths_open, which
 * uses it), so that none follows a symbolic link the kernel's
 * protected_symlinks rule would refuse, whatever the sysctl says: a link
 * that is the last component of a path, in a sticky world-writable folder
 * (/tmp), owned neither by the effective user nor by the folder's owner.
 * Such a link may have been planted by another user to make this run write
 * (or create) a file of the link owner's choosing. Links the rule allows
 * (the user's own, or those outside such folders) are followed to the file
 * they name, and the output writes that file. A block device is never
 * written through a link. Only last components are looked at: a folder of
 * the path is taken as the user gave it. No threads, no Lua.
 */
#ifndef WQ_PATHS_H
#define WQ_PATHS_H

#include <sys/stat.h>
#include "buf.h"

typedef struct wq_path {
    const char *path;        /* NULL or "-" (standard input/output): skipped */
    const char *role;        /* for messages: "-o", "--journal", "the job script" */
    int written;             /* an output */
} wq_path;

/* Returns 0 if no file written is also another of the n paths, else -1
 * with a message naming both ("-o x and --journal x are the same file");
 * -1 too, with wq_paths_target's message, for an output that leads through
 * a link wq_paths_target refuses. */
int wq_paths_check(const wq_path *paths, int n, wq_buf *err);

/* Returns 0 unless standard output is a regular file that is also one of
 * the n paths (`luaworkq job.lua x > x`, or >> x), else -1 with a message
 * naming it, as cat's "input file is output file". Called with the same
 * paths as wq_paths_check, before anything is read or written. */
int wq_paths_check_stdout(const wq_path *paths, int n, wq_buf *err);

/* Where an output path leads: the path itself when it is no symbolic link
 * (or is missing), else the file at the end of its links. */
typedef struct wq_target {
    char *path;              /* malloc'd */
    int linked;              /* path was a symbolic link */
    int exists;              /* path names a file now; st is its lstat */
    struct stat st;
} wq_target;

/* Follows path's last component while it is a symbolic link, refusing one
 * the rule above forbids and a link to a block device. Each link is
 * checked and read through one descriptor (O_PATH | O_NOFOLLOW), so what is
 * checked is what is followed. A path that cannot be looked at (a missing
 * folder, no permission) is its own target: opening it will say why.
 * role names the path in messages ("-o"), or NULL. Returns 0, or -1 with a
 * message in err naming the path and why; free t with wq_paths_target_free
 * in both cases. */
int wq_paths_target(const char *path, const char *role, wq_target *t, wq_buf *err);
void wq_paths_target_free(wq_target *t);

/* Opens an output that is written in place (not through a temporary
 * file), as open(path, flags | O_CLOEXEC, 0666) would, but through
 * wq_paths_target and with O_NOFOLLOW on the target, so a link planted
 * after the check is not followed either: the open fails (ELOOP). On
 * success *target, if target is not NULL, is the file opened (malloc'd).
 * Returns the descriptor, or -1 with a message in err. */
int wq_paths_open(const char *path, const char *role, int flags, char **target,
                  wq_buf *err);

#endif
