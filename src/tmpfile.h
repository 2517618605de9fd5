/*
 * tmpfile.h - the temporary file an output is written under, and the
 * removal of those a killed run left behind.
 *
 * An output FILE is written as FILE.luaworkq-XXXXXX and renamed into place
 * at the end, so FILE is never half-written; a run killed with SIGKILL
 * leaves its temporary file behind. Each temporary file is locked (flock)
 * by the run writing it for as long as it exists under that name, so a
 * later run can tell the leftovers of dead runs (no lock) from the file of
 * a run still going (locked), and removes only the former.
 *
 * Races: a sweep removes a file only while it holds the lock, and only if
 * the name still leads to the file it locked; a run that creates a file
 * takes the lock, then checks that its file was not removed in between (by
 * a sweep that saw it unlocked) and creates another if it was. No threads,
 * no Lua.
 */
#ifndef WQ_TMPFILE_H
#define WQ_TMPFILE_H

#include <sys/stat.h>
#include "buf.h"

/* Creates and locks path.luaworkq-XXXXXX (mode 0600). path is the file
 * the temporary file will be renamed onto: the end of the user's links
 * (wq_paths_target), so that a link stays a link and its target gets the
 * new content.
 * Returns the descriptor to write, with the name in *name (malloc'd) and in
 * *hold a second descriptor that keeps the lock: close it only after the
 * file is renamed or removed, so the lock outlives closing the first one.
 * Returns -1 with a message in err. */
int wq_tmpfile_create(const char *path, char **name, int *hold, wq_buf *err);

/* Puts the temporary file name, open as fd (the hold descriptor will do),
 * in place of path. If path is still the regular file was (its lstat when
 * the output was opened; NULL: it did not exist), the temporary file first
 * gets its mode, and its owner and group as far as the process may give
 * them (all of them as root; a group the user is in otherwise), so that
 * the rename changes the content alone, as writing the file in place
 * would; a new file, or one that replaced was meanwhile (another user's,
 * perhaps), gets 0666 less the umask and this user's owner. Returns 0, or -1 with a
 * message in err (the temporary file is left to the caller). */
int wq_tmpfile_commit(int fd, const char *name, const char *path, const struct stat *was,
                      wq_buf *err);

/* Removes the temporary files of path (beside the end of its links, where
 * wq_tmpfile_create makes them) that no run holds locked. Quiet: what
 * cannot be removed is left, and a path wq_paths_target refuses is not
 * looked at. */
void wq_tmpfile_sweep(const char *path);

#endif
