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

#include "buf.h"

/* Creates and locks path.luaworkq-XXXXXX (mode 0666 less the umask).
 * Returns the descriptor to write, with the name in *name (malloc'd) and in
 * *hold a second descriptor that keeps the lock: close it only after the
 * file is renamed or removed, so the lock outlives closing the first one.
 * Returns -1 with a message in err. */
int wq_tmpfile_create(const char *path, char **name, int *hold, wq_buf *err);

/* Removes the temporary files of path that no run holds locked. Quiet:
 * what cannot be removed is left. */
void wq_tmpfile_sweep(const char *path);

#endif
