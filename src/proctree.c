/*
 * proctree.c - luaworkq's processes and their descendants; see proctree.h.
 *
 * A program's process group holds what it starts, but not what leaves the
 * group (setsid, a daemon's double fork). So luaworkq is the child
 * subreaper (PR_SET_CHILD_SUBREAPER, set when the first state opens): a
 * process whose parent exits is re-parented to luaworkq instead of init,
 * and stays within reach. Processes are found through the kernel's parent
 * links (/proc/PID/task/TID/children, or every /proc/PID/stat's PPid where
 * that file is missing):
 * - a program that is ended (child.c: a timeout, a signal, a handle left
 *   open) takes with it its group and every descendant found under it
 *   before the SIGTERM, and again before the SIGKILL (by then its orphans
 *   are ours);
 * - the processes luaworkq adopted are "adopted children": children of
 *   luaworkq's threads that are not in the register. They are reaped as
 *   they exit (wq_proc_reap_adopted, on SIGCHLD) and ended, with their
 *   descendants, at the end of the run (wq_proc_end_adopted) and by
 *   wq_proc_kill_all.
 * Reaping never steals an exit status that exec, os.execute or a popen
 * handle waits for: each registered child is waited for by its pid alone,
 * and an adopted child is reaped by its own pid only after the register
 * was checked under reg_mu with no spawn under way.
 */
#define _GNU_SOURCE
#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"
#include "report.h"

/* Every program started and not yet reaped, under reg_mu, and how many are
 * being spawned (children of ours not registered yet). */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static wq_proc *reg;
static int spawning;

/* ------------------------------------------------------------------------
 * Processes through /proc: a list of pids, the children of a process, its
 * descendants.
 */

void wq_pids_add(wq_pids *p, pid_t pid)
{
    for (int i = 0; i < p->n; i++)
        if (p->v[i] == pid)
            return;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        pid_t *v = realloc(p->v, (size_t)cap * sizeof *v);
        if (!v)
            return;  /* out of memory: the process is not followed */
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = pid;
}

void wq_pids_free(wq_pids *p)
{
    free(p->v);
    *p = (wq_pids){0};
}

/* Adds the pids written in the file at path (space-separated). Returns -1
 * if it cannot be opened. */
static int read_pids(const char *path, wq_pids *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1)
        wq_pids_add(out, (pid_t)pid);
    fclose(f);
    return 0;
}

/* The parent of pid, from /proc/PID/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')');  /* the name may hold anything */
    int ppid;
    if (!close || sscanf(close + 1, " %*c %d", &ppid) != 1)
        return -1;
    return (pid_t)ppid;
}

/* Where a kernel has no children files: every process whose PPid is pid. */
static void scan_children(pid_t pid, wq_pids *out)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        long p = strtol(e->d_name, &end, 10);
        if (*end == '\0' && p > 0 && parent_of((pid_t)p) == pid)
            wq_pids_add(out, (pid_t)p);
    }
    if (d)
        closedir(d);
}

/* Adds the children of pid (of each of its threads). */
static void children_of(pid_t pid, wq_pids *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[320];
        snprintf(file, sizeof file, "/proc/%d/task/%.255s/children", (int)pid,
                 e->d_name);
        if (read_pids(file, out) < 0 && errno == ENOENT) {
            scan_children(pid, out);  /* no children files in this kernel */
            break;
        }
    }
    if (d)
        closedir(d);
}

/* Adds every descendant of pid (not pid itself). */
void wq_proc_descendants(pid_t pid, wq_pids *out)
{
    int from = out->n;
    children_of(pid, out);
    for (int i = from; i < out->n; i++)  /* grows as it goes: breadth first */
        children_of(out->v[i], out);
}

void wq_pids_signal(const wq_pids *p, int sig)
{
    for (int i = 0; i < p->n; i++)
        kill(p->v[i], sig);
}

void wq_proc_tick(void)
{
    struct timespec t = {0, WQ_PROC_POLL_MS * 1000000};
    nanosleep(&t, NULL);
}

int64_t wq_proc_grace_end(void)
{
    return wq_now_ns() + (int64_t)WQ_PROC_GRACE_MS * 1000000;
}

/* Whether pid is a registered child; under reg_mu. */
static int registered(pid_t pid)
{
    for (wq_proc *c = reg; c; c = c->next)
        if (c->pid == pid)
            return 1;
    return 0;
}

/* Reaps pid if it is a child of ours that has exited and is not
 * registered (the pid of a killed descendant may already be a new
 * program's). Returns 1 if it was reaped or is gone, 0 if it still runs
 * (as ours or not), -1 if it cannot be looked at now (a spawn is under
 * way). */
static int reap_pid(pid_t pid)
{
    siginfo_t si = {0};
    int rc;
    pthread_mutex_lock(&reg_mu);
    if (spawning)
        rc = -1;
    else if (registered(pid))
        rc = 0;
    else if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) == 0)
        rc = si.si_pid == pid;
    else
        rc = errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH;
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

void wq_proc_reap_all(const wq_pids *p, int64_t end)
{
    for (int i = 0; i < p->n; i++)
        while (reap_pid(p->v[i]) != 1 && wq_now_ns() < end)
            wq_proc_tick();
}

/* luaworkq's children that are not registered: the processes it adopted.
 * Returns WQ_PROC_BUSY (and lists none) while a spawn is under way. */
static enum wq_proc_rc adopted(wq_pids *out)
{
    wq_pids all = {0};
    children_of(getpid(), &all);
    pthread_mutex_lock(&reg_mu);
    enum wq_proc_rc rc = spawning ? WQ_PROC_BUSY : WQ_PROC_OK;
    for (int i = 0; i < all.n && rc == WQ_PROC_OK; i++)
        if (!registered(all.v[i]))
            wq_pids_add(out, all.v[i]);
    pthread_mutex_unlock(&reg_mu);
    wq_pids_free(&all);
    return rc;
}

/* ------------------------------------------------------------------------
 * The register.
 */

void wq_proc_spawning(void)
{
    pthread_mutex_lock(&reg_mu);
    spawning++;  /* until enlist: a child of ours the reaper must not take */
    pthread_mutex_unlock(&reg_mu);
}

void wq_proc_enlist(wq_proc *p)
{
    pthread_mutex_lock(&reg_mu);
    spawning--;
    if (!p->pid) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    p->prev = NULL;
    p->next = reg;
    if (reg)
        reg->prev = p;
    reg = p;
    pthread_mutex_unlock(&reg_mu);
}

void wq_proc_unlist(wq_proc *p)
{
    pthread_mutex_lock(&reg_mu);
    if (p->prev)
        p->prev->next = p->next;
    else
        reg = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->pid = 0;
    pthread_mutex_unlock(&reg_mu);
}

wq_proc *wq_proc_next_of(const void *owner, uint64_t mark)
{
    pthread_mutex_lock(&reg_mu);
    wq_proc *p = reg;
    while (p && (p->owner != owner || p->seq <= mark))
        p = p->next;
    pthread_mutex_unlock(&reg_mu);
    return p;
}

wq_proc **wq_proc_running_of(const void *owner, int *n)
{
    *n = 0;
    pthread_mutex_lock(&reg_mu);
    for (wq_proc *p = reg; p; p = p->next)
        *n += p->owner == owner;
    wq_proc **ps = *n ? malloc((size_t)*n * sizeof *ps) : NULL;
    int i = 0;
    for (wq_proc *p = reg; p && ps; p = p->next)
        if (p->owner == owner)
            ps[i++] = p;
    pthread_mutex_unlock(&reg_mu);
    if (!ps)
        *n = 0;
    return ps;
}

/* ------------------------------------------------------------------------
 * The subreaper and the processes it adopts.
 */

static void become_subreaper(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void wq_proc_subreap(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, become_subreaper);
}

enum wq_proc_rc wq_proc_reap_adopted(void)
{
    wq_pids a = {0};
    enum wq_proc_rc rc = adopted(&a);
    for (int i = 0; i < a.n; i++)
        if (reap_pid(a.v[i]) < 0)
            rc = WQ_PROC_BUSY;
    wq_pids_free(&a);
    return rc;
}

/* Lists the adopted children, waiting out a spawn under way (another
 * thread's, or a program a state closing now runs). */
static void list_adopted(wq_pids *a)
{
    while (adopted(a) == WQ_PROC_BUSY)
        wq_proc_tick();
}

/* The line that names what the end of the run ended. */
static void warn_adopted(const wq_pids *a)
{
    wq_buf line = WQ_BUF_INIT;
    for (int i = 0; i < a->n && i < 5; i++) {
        char path[64], comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%d/comm", (int)a->v[i]);
        FILE *f = fopen(path, "re");
        if (f && fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        if (f)
            fclose(f);
        wq_buf_printf(&line, "%s%d (%s)", i ? ", " : "", (int)a->v[i], comm);
    }
    if (a->n > 5)
        wq_buf_adds(&line, ", ...");
    if (!line.data)
        return;  /* out of memory */
    if (a->n == 1)
        wq_reportf("ended a process that a program left running: %.*s",
                   (int)line.len, line.data);
    else
        wq_reportf("ended %d processes that programs left running: %.*s", a->n,
                   (int)line.len, line.data);
    wq_buf_free(&line);
}

void wq_proc_end_adopted(int warn)
{
    wq_pids all = {0}, a = {0}, tree = {0};
    list_adopted(&all);
    for (int i = 0; i < all.n; i++)
        if (reap_pid(all.v[i]) != 1)  /* running, not a zombie */
            wq_pids_add(&a, all.v[i]);
    wq_pids_free(&all);
    if (a.n == 0)
        return;
    if (warn)
        warn_adopted(&a);
    for (int i = 0; i < a.n; i++) {
        wq_pids_add(&tree, a.v[i]);
        wq_proc_descendants(a.v[i], &tree);
    }
    wq_pids_signal(&tree, SIGTERM);
    int64_t end = wq_proc_grace_end();
    for (int i = 0; i < a.n; i++) {  /* the adopted ones: ours to wait for */
        siginfo_t si = {0};
        while (wq_now_ns() < end &&
               waitid(P_PID, (id_t)a.v[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               si.si_pid == 0)
            wq_proc_tick();
    }
    /* What is left, with the orphans the first round made ours. */
    for (int i = 0, n = tree.n; i < n; i++)
        wq_proc_descendants(tree.v[i], &tree);
    list_adopted(&tree);
    wq_pids_signal(&tree, SIGKILL);
    wq_proc_reap_all(&tree, wq_proc_grace_end());
    wq_pids_free(&a);
    wq_pids_free(&tree);
}

void wq_proc_kill_all(void)
{
    wq_pids tree = {0};
    pthread_mutex_lock(&reg_mu);
    for (wq_proc *c = reg; c; c = c->next) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        wq_proc_descendants(c->pid, &tree);
    }
    pthread_mutex_unlock(&reg_mu);
    wq_pids a = {0};
    children_of(getpid(), &a);  /* the adopted ones, and the rest again */
    for (int i = 0, n = a.n; i < n; i++)
        wq_proc_descendants(a.v[i], &tree);
    wq_pids_signal(&a, SIGKILL);
    wq_pids_signal(&tree, SIGKILL);
    wq_pids_free(&a);
    wq_pids_free(&tree);
}

/* The exit is the system call itself, not _exit: under ThreadSanitizer,
 * _exit first waits a second and reports the threads that finished and
 * were not joined, which an exit at once leaves by design. */
_Noreturn void wq_proc_exit(int code)
{
    pthread_mutex_lock(&reg_mu);  /* kept: no child starts after this */
    for (wq_proc *c = reg; c; c = c->next) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
    }
    syscall(SYS_exit_group, code);
    _exit(code);
}
