/*
 * child.h - the programs a job starts: luaworkq.exec, os.execute, io.popen.
 *
 * Every child runs in a process group of its own, with its standard input
 * from /dev/null (or the pipe the caller asked for) and, unless it is
 * captured, its standard output on luaworkq's standard error: a child never
 * reads the items nor writes into the results. From its start until it is
 * reaped, each child is registered, process-wide, with the state that
 * started it (proctree.h).
 *
 * Waits are interruptible. While a state's thread waits on a child (exec,
 * os.execute, closing a popen handle), the interrupt signal of a stop or a
 * timeout wakes it; the wait asks the state's interrupt function whether the
 * interrupt concerns what runs now and, if so, ends the child and returns
 * fail and the message: the interrupt function has armed the state's hook,
 * which raises the error as the function returns (as it does for any C
 * function, so the traceback reads as usual). Ending a child means SIGTERM
 * to its group and to every descendant, also those that left the group
 * (setsid), SIGKILL to what is left after WQ_PROC_GRACE_MS if it has not
 * exited by then, and reaping it.
 *
 * luaworkq is the child subreaper of its process from the first
 * wq_child_open on: what becomes of the orphans of children, and how the
 * run ends them, is proctree.h's.
 *
 * A state's children are touched only by its own thread.
 */
#ifndef WQ_CHILD_H
#define WQ_CHILD_H

#include <lua.h>
#include <stdint.h>

/* On the state's thread: the message of an interrupt that concerns what L
 * runs now, with the hook that raises it armed, or NULL. */
typedef const char *(*wq_child_interrupt)(lua_State *L);

/* A state's children: they live as long as the state. */
typedef struct wq_children wq_children;

/* Replaces os.execute and io.popen in L and pushes luaworkq.exec; returns
 * L's children. Call while the state is set up, under a protected call (it
 * allocates). */
wq_children *wq_child_open(lua_State *L, wq_child_interrupt interrupt);

/* How many children k has started so far: a mark for wq_child_end_since. */
uint64_t wq_child_mark(const wq_children *k);

/* Ends every child k started after mark that is still running, such as
 * those of popen handles an interrupted item left open (mark 0: all of
 * them, those of init's popen handles too). k may be NULL. */
void wq_child_end_since(wq_children *k, uint64_t mark);

/* As the state of k closes (after shutdown, before lua_close): ends every
 * child k still has, the programs of popen handles the job left open.
 * Each handle is closed; a program that has not exited within the grace
 * is ended, with one warning line naming worker (0: the host) and its
 * command. From then on io.popen raises an error in that state (lua_close
 * would never close a handle opened by a finalizer). k may be NULL. */
void wq_child_end_left(wq_children *k, int worker);

#endif
