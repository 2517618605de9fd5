/*
 * streams.h - a job's standard streams: stdout is for results only.
 *
 * In a job's state, print, io.write and io.stdout write into a line buffer
 * of the state; every whole line goes to standard error through wq_report,
 * so that it is never torn by other threads' lines or the progress line.
 * io.stdin, io.read and io.lines() read nothing: the items' own input is
 * never taken by a job. io.stderr is left as it is.
 */
#ifndef WQ_STREAMS_H
#define WQ_STREAMS_H

#include <lua.h>

typedef struct wq_streams wq_streams;

/* Sets the streams up in L, after the standard libraries are open, and
 * returns them (they live as long as L). Call under a protected call (it
 * allocates). */
wq_streams *wq_streams_open(lua_State *L);

/* Writes what the state wrote after its last newline as a line of its own:
 * called at the end of every hook call, so that nothing waits in the
 * buffer. */
void wq_streams_flush(wq_streams *s);

#endif
