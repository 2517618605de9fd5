/*
 * proctree.h - luaworkq's processes and their descendants: the register of
 * the programs it started, the processes it adopted, and trees of
 * processes found through /proc and ended.
 *
 * The register holds every program started (child.h) from its spawn until
 * it is reaped, with what started it; a spawn under way is counted, since
 * a child just spawned is a child before it is registered. The register
 * is what tells the processes luaworkq adopted from those it started.
 *
 * luaworkq is the child subreaper of its process (from the first
 * wq_proc_subreap on): an orphan of a program is re-parented to it, and is
 * ended at the latest at the end of the run (proctree.c says how). Reaping
 * an adopted process never steals an exit status that a wait on a
 * registered program expects.
 *
 * Every function here may be called from any thread; those that end or
 * reap adopted processes, wq_proc_kill_all and wq_proc_exit touch only
 * processes that are not registered, or send signals. An entry of the
 * register is written only by the thread that started its program.
 */
#ifndef WQ_PROCTREE_H
#define WQ_PROCTREE_H

#include <stdint.h>
#include <sys/types.h>

/* How long an ended process has between SIGTERM and SIGKILL, and how often
 * a wait without a pidfd looks. */
#define WQ_PROC_GRACE_MS 500
#define WQ_PROC_POLL_MS 10

/* A list of pids, each once; {0} is empty. Out of memory, a pid is not
 * added (the process is not followed). */
typedef struct wq_pids {
    pid_t *v;
    int n, cap;
} wq_pids;

void wq_pids_add(wq_pids *p, pid_t pid);
void wq_pids_free(wq_pids *p);
/* Sends sig to every process of p. */
void wq_pids_signal(const wq_pids *p, int sig);

/* Adds every descendant of pid (not pid itself), breadth first. */
void wq_proc_descendants(pid_t pid, wq_pids *out);

/* Waits until end (wq_now_ns) for the processes of p, killed, to be gone,
 * reaping them as they become luaworkq's: in p's order, parents first,
 * each becomes ours when its parent exits. */
void wq_proc_reap_all(const wq_pids *p, int64_t end);

/* The end of a grace period that begins now; one poll's sleep. */
int64_t wq_proc_grace_end(void);
void wq_proc_tick(void);

/* An entry of the register. The starter fills owner and seq; pid is 0
 * once the program is reaped (or its spawn failed). */
typedef struct wq_proc {
    pid_t pid;
    const void *owner;         /* what started it (child.c: a state's) */
    uint64_t seq;              /* its number among its owner's programs */
    struct wq_proc *prev, *next;
} wq_proc;

/* Before a spawn: counts it as under way. */
void wq_proc_spawning(void);
/* After it: ends the count and registers p, unless p->pid is 0. */
void wq_proc_enlist(wq_proc *p);
/* Once p is reaped: takes it off the register and sets p->pid to 0. */
void wq_proc_unlist(wq_proc *p);
/* The first registered program of owner started after mark, or NULL. */
wq_proc *wq_proc_next_of(const void *owner, uint64_t mark);
/* owner's registered programs, in an array the caller frees (NULL when
 * none, or out of memory); *n is the count. */
wq_proc **wq_proc_running_of(const void *owner, int *n);

/* Makes luaworkq the child subreaper, once; later calls do nothing. */
void wq_proc_subreap(void);

/* What wq_proc_reap_adopted returns. */
enum wq_proc_rc {
    WQ_PROC_OK = 0,
    WQ_PROC_BUSY = -1          /* a spawn was under way and nothing was
                                  looked at: call it again a little later */
};

/* Reaps the adopted processes that have exited (call it on SIGCHLD).
 * Returns WQ_PROC_OK or WQ_PROC_BUSY. */
enum wq_proc_rc wq_proc_reap_adopted(void);

/* At the end of the run, once no state runs: ends (SIGTERM, SIGKILL after
 * the grace) every adopted process still running, with its descendants,
 * and reaps them; with warn, one line names them first. */
void wq_proc_end_adopted(int warn);

/* SIGKILL to every registered program's group, and to every descendant
 * and adopted process. Not from a signal handler. */
void wq_proc_kill_all(void);

/* Ends the process at once with code. The caller has called
 * wq_proc_kill_all; a program registered since is killed here, under the
 * lock that keeps any other from starting, so none outlives the run. Not
 * from a signal handler. */
_Noreturn void wq_proc_exit(int code);

#endif
