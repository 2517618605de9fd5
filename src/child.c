/*
 * child.c - child processes of jobs; see child.h.
 *
 * A child is started with posix_spawn (vfork-like, cheap in a large
 * process) into a new process group, with a clear signal mask (luaworkq's
 * threads block SIGINT and SIGTERM, which a child would inherit) and SIGINT,
 * SIGTERM and SIGPIPE at their defaults. Its exit is watched through a pidfd
 * where the kernel has them, otherwise by looking every WQ_PROC_POLL_MS.
 *
 * The wait closes the race between "is there an interrupt?" and blocking:
 * every signal is blocked while it looks, and ppoll unblocks them
 * atomically, so an interrupt that arrives after the look ends the ppoll.
 * The interrupt signal's handler is installed without SA_RESTART
 * (worker.c), so it ends a blocking read or write of a popen handle too.
 *
 * Every child is in the register (proctree.h) from its spawn until it is
 * reaped, which is how the processes luaworkq adopts are told from its
 * own; ending a child takes its descendants with it (proctree.c says how
 * they are found).
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"
#include "proctree.h"
#include "report.h"

extern char **environ;

#define CHUNK (64 << 10)    /* bytes moved per read or write */
#define KIDS "luaworkq.children"
#define RUN_MT "luaworkq.exec"

/* Where exec found a program on PATH, kept for the next exec of the same
 * name, as a shell hashes commands: every directory of PATH before the
 * program's is a failed execve in the child while the worker waits (nine
 * of them on a PATH of twelve). */
struct found {
    uint64_t env;            /* the hash of PATH when it was found */
    char name[64];           /* "": nothing kept */
    char path[512];
};

/* A state's record: what it asks before it goes on waiting. */
struct wq_children {
    wq_child_interrupt interrupt;
    uint64_t started;        /* children started: the last one's seq */
    int closing;             /* the state closes: no popen handle opens */
    struct found found;      /* exec's last program found on PATH */
};

struct popen;

/* A child: its entry in the register first, so that an entry is its
 * child (child_of). */
struct child {
    wq_proc p;               /* pid (0 once reaped), owner, seq */
    int pidfd;               /* readable once the child exits, or -1 */
    int status;              /* waitpid's, once reaped */
    struct popen *handle;    /* the popen handle it runs under, or NULL */
    const char *cmd;         /* a popen handle's command (its user value) */
};

static struct child *child_of(wq_proc *p)
{
    return (struct child *)p;
}

static const struct wq_children *owner_of(const struct child *c)
{
    return c->p.owner;
}

/* Fds of standard streams for spawn: a stream is inherited when its entry
 * is its own number, read from or written to /dev/null when NULLDEV, else
 * the fd given. */
#define NULLDEV (-1)

/* Records that c was reaped with status and takes it off the register. */
static void reaped(struct child *c, int status)
{
    wq_proc_unlist(&c->p);
    c->status = status;
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
}

static void set_attrs(posix_spawnattr_t *at)
{
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                     POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(at, 0);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &dfl);
}

/* Starts path (looked up on PATH when search) with argv, its standard
 * streams as fds[0..2] say, in a group of its own, and registers it. Returns
 * 0, or -1 with errno set. */
static int spawn(struct child *c, struct wq_children *owner, const char *path,
                 char *const argv[], int search, const int fds[3])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    set_attrs(&at);
    for (int i = 0; i < 3; i++) {
        if (fds[i] == NULLDEV)
            posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
                                             i ? O_WRONLY : O_RDONLY, 0);
        else if (fds[i] != i)
            posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    }
    wq_proc_spawning();  /* until enlisted: a child the reaper must not take */
    int rc = search ? posix_spawnp(&c->p.pid, path, &fa, &at, argv, environ)
                    : posix_spawn(&c->p.pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        c->p.pid = 0;
        wq_proc_enlist(&c->p);
        errno = rc;
        return -1;
    }
    c->p.owner = owner;
    c->p.seq = ++owner->started;
    c->pidfd = (int)syscall(SYS_pidfd_open, c->p.pid, 0);  /* close-on-exec */
    wq_proc_enlist(&c->p);
    return 0;
}

/* Reaps c (flags: WNOHANG, if it has exited). Returns 1 when it is reaped. */
static int reap(struct child *c, int flags)
{
    int status;
    pid_t r;
    while ((r = waitpid(c->p.pid, &status, flags)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return 0;
    reaped(c, r < 0 ? -1 : status);
    return 1;
}

static int try_reap(struct child *c) { return reap(c, WNOHANG); }

/* Waits until end (wq_now_ns) for c to exit, without reaping it: a zombie
 * keeps its process group's id from being reused. Returns 1 if it did. */
static int await_exit(struct child *c, int64_t end)
{
    for (int64_t left; (left = end - wq_now_ns()) > 0;) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)c->p.pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
            errno != EINTR)
            return 1;
        if (si.si_pid == c->p.pid)
            return 1;
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, (int)(left / 1000000) + 1);
        } else {
            wq_proc_tick();
        }
    }
    return 0;
}

/* Sends sig to c, its group and the descendants in tree, which it first
 * completes with those found now under c and under every process of tree
 * (after c or one of them has exited, its orphans are ours). */
static void signal_child(const wq_proc *c, wq_pids *tree, int sig)
{
    int earlier = tree->n;  /* found by an earlier call: walked again */
    wq_proc_descendants(c->pid, tree);
    for (int i = 0; i < earlier; i++)
        wq_proc_descendants(tree->v[i], tree);
    kill(-c->pid, sig);
    kill(c->pid, sig);  /* in case it left its group */
    wq_pids_signal(tree, sig);
}

/* Ends the children cs[0..n) with their groups and descendants: SIGTERM,
 * SIGKILL after the grace to what is left, then reaps them. */
static void end_children(wq_proc **cs, int n)
{
    wq_pids *trees = calloc((size_t)n, sizeof *trees);
    wq_pids spare = {0};
    for (int i = 0; i < n; i++)
        signal_child(cs[i], trees ? &trees[i] : &spare, SIGTERM);
    int64_t end = wq_proc_grace_end();
    for (int i = 0; i < n; i++)
        await_exit(child_of(cs[i]), end);
    for (int i = 0; i < n; i++) {
        signal_child(cs[i], trees ? &trees[i] : &spare, SIGKILL);
        reap(child_of(cs[i]), 0);
    }
    end = wq_proc_grace_end();
    for (int i = 0; i < n && trees; i++) {
        wq_proc_reap_all(&trees[i], end);
        wq_pids_free(&trees[i]);
    }
    wq_proc_reap_all(&spare, end);
    wq_pids_free(&spare);
    free(trees);
}

static void end_child(struct child *c)
{
    wq_proc *p = &c->p;
    if (p->pid)
        end_children(&p, 1);
}

/* exec's files (-1 once closed): the parent's end of the pipe to the
 * child's stdin, and the memory files its stdout and stderr are, read once
 * it has exited (a pipe would wake the waiting worker at every write: a
 * line a file for sha256sum). */
struct io {
    int in, out, err;
    const char *data;
    size_t len, off;
    wq_buf obuf, ebuf;
};

/* Reads the whole memory file fd into b. Returns 0, or -1 (errno). */
static int slurp(int fd, wq_buf *b)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (wq_buf_grow(b, (size_t)st.st_size) < 0) {
        errno = ENOMEM;
        return -1;
    }
    for (off_t at = 0; at < st.st_size;) {
        ssize_t n = pread(fd, b->data + b->len, (size_t)(st.st_size - at), at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;  /* shrunk meanwhile: what there is */
        b->len += (size_t)n;
        at += n;
    }
    return 0;
}

/* Writes the next part of the data to the child's stdin; closes it at the
 * end, or when the child closed its end. */
static void feed(struct io *io)
{
    size_t n = io->len - io->off < CHUNK ? io->len - io->off : CHUNK;
    ssize_t w = n ? write(io->in, io->data + io->off, n) : 0;
    if (w > 0)
        io->off += (size_t)w;
    if (io->off == io->len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
        close(io->in);
        io->in = -1;
    }
}

/* Fills p with what the wait watches; returns the count. */
static int watch_list(const struct child *c, const struct io *io,
                      struct pollfd p[4])
{
    int n = 0;
    if (io && io->in >= 0)
        p[n++] = (struct pollfd){io->in, POLLOUT, 0};
    if (n == 0 && c->pidfd >= 0)
        p[n++] = (struct pollfd){c->pidfd, POLLIN, 0};
    return n;
}

/* Feeds io's stdin pipe (if any) until it is closed and waits for c to
 * exit, then reaps it. Returns 0 once it is reaped, or the interrupt's
 * message when one concerning L came first (c still runs). */
static const char *wait_child(lua_State *L, struct child *c, struct io *io)
{
    const char *why = NULL;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (c->p.pid && !(why = owner_of(c)->interrupt(L))) {
        struct pollfd p[4];
        int n = watch_list(c, io, p);
        int piped = io && io->in >= 0;
        if (!piped && try_reap(c))
            break;
        struct timespec tick = {0, WQ_PROC_POLL_MS * 1000000};
        int r = ppoll(p, (nfds_t)n, n ? NULL : &tick, &old);
        if (r > 0 && piped && p[0].revents)
            feed(io);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return why;
}

static struct wq_children *kids_of(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, KIDS);
    struct wq_children *k = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return k;
}

/* The code exec returns: the exit status, or 128 + the signal. */
static int code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* ------------------------------------------------------------------------
 * luaworkq.exec: its resources live in a userdata whose finalizer releases
 * them, so that an error anywhere (memory, an interrupt) leaks nothing.
 */

struct run {
    struct child c;
    struct io io;
};

static void run_release(struct run *r)
{
    int *fds[] = {&r->io.in, &r->io.out, &r->io.err};
    for (int i = 0; i < 3; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    end_child(&r->c);
    wq_buf_free(&r->io.obuf);
    wq_buf_free(&r->io.ebuf);
}

static int run_gc(lua_State *L)
{
    run_release(luaL_checkudata(L, 1, RUN_MT));
    return 0;
}

static struct run *new_run(lua_State *L)
{
    struct run *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    r->c.pidfd = r->io.in = r->io.out = r->io.err = -1;
    luaL_setmetatable(L, RUN_MT);
    return r;
}

/* The argv table as a NULL-terminated array (in a userdata on the stack;
 * the strings stay anchored in the table). */
static char **check_argv(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n >= 1, 1, "argv must hold the program's name");
    char **argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *argv, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        size_t len;
        if (lua_rawgeti(L, 1, i) != LUA_TSTRING)
            luaL_error(L, "bad argument #1 to 'exec' (argv[%d] is a %s, not a string)",
                       (int)i, luaL_typename(L, -1));
        argv[i - 1] = (char *)lua_tolstring(L, -1, &len);
        if (strlen(argv[i - 1]) != len)
            luaL_error(L, "bad argument #1 to 'exec' (argv[%d] holds a NUL byte)", (int)i);
        lua_pop(L, 1);
    }
    argv[n] = NULL;
    return argv;
}

/* opts.stdin, or NULL. */
static const char *check_stdin(lua_State *L, size_t *len)
{
    *len = 0;
    if (lua_isnoneornil(L, 2))
        return NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    int t = lua_getfield(L, 2, "stdin");
    if (t != LUA_TNIL && t != LUA_TSTRING)
        luaL_error(L, "bad argument #2 to 'exec' (stdin is a %s, not a string)",
                   lua_typename(L, t));
    const char *s = lua_tolstring(L, -1, len);
    lua_pop(L, 1);  /* still anchored in opts */
    return s;
}

/* Makes a pipe; the parent's end (end_ is 0 for the read end) is
 * non-blocking. Both are close-on-exec: the child gets a copy by dup2. */
static int make_pipe(int fd[2], int end_)
{
    if (pipe2(fd, O_CLOEXEC) < 0)
        return -1;
    fcntl(fd[end_], F_SETFL, fcntl(fd[end_], F_GETFL) | O_NONBLOCK);
    return 0;
}

static uint64_t hash_of(const char *s)
{
    uint64_t h = 14695981039346656037u;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Where name is on PATH, as posix_spawnp would find it (a regular file we
 * may execute): from f when it was found there under the same PATH, else
 * searched and kept in f. NULL: spawn it with the search (a name with a
 * slash, a relative directory of PATH on the way, names or paths too long
 * to keep, or not found: posix_spawnp says what is wrong). */
static const char *find(struct found *f, const char *name)
{
    const char *env = getenv("PATH");
    size_t nlen = strlen(name);
    if (!env || !*name || strchr(name, '/') || nlen >= sizeof f->name)
        return NULL;
    uint64_t h = hash_of(env);
    if (f->env == h && strcmp(f->name, name) == 0)
        return f->path;
    for (const char *dir = env;; dir++) {
        size_t dlen = strcspn(dir, ":");
        if (dir[0] != '/' || dlen + 1 + nlen >= sizeof f->path)
            return NULL;
        memcpy(f->path, dir, dlen);
        f->path[dlen] = '/';
        memcpy(f->path + dlen + 1, name, nlen + 1);
        struct stat st;
        if (stat(f->path, &st) == 0 && S_ISREG(st.st_mode) && access(f->path, X_OK) == 0) {
            f->env = h;
            memcpy(f->name, name, nlen + 1);
            return f->path;
        }
        dir += dlen;
        if (!*dir)
            return NULL;
    }
}

/* Opens exec's stdin pipe and output files and starts the child. Returns
 * 0 or -1 (errno). */
static int start_run(lua_State *L, struct run *r, char **argv)
{
    int in[2] = {-1, -1}, rc = -1;
    if (r->io.data && make_pipe(in, 1) < 0)
        goto done;
    if ((r->io.out = memfd_create("luaworkq-exec-stdout", MFD_CLOEXEC)) < 0 ||
        (r->io.err = memfd_create("luaworkq-exec-stderr", MFD_CLOEXEC)) < 0)
        goto done;
    int fds[3] = {r->io.data ? in[0] : NULLDEV, r->io.out, r->io.err};
    struct wq_children *k = kids_of(L);
    const char *path = find(&k->found, argv[0]);
    rc = spawn(&r->c, k, path ? path : argv[0], argv, !path, fds);
    if (rc < 0 && path) {  /* gone since: search again, as posix_spawnp does */
        k->found.name[0] = '\0';
        rc = spawn(&r->c, k, argv[0], argv, 1, fds);
    }
done:;
    int saved = errno;
    if (in[0] >= 0)
        close(in[0]);
    r->io.in = in[1];
    errno = saved;
    return rc;
}

/* Ends the run's child and returns fail and the interrupt's message; the
 * state's hook raises the error as the function returns. */
static int interrupted(lua_State *L, struct run *r, const char *why)
{
    run_release(r);
    luaL_pushfail(L);
    lua_pushstring(L, why);
    return 2;
}

static int l_exec(lua_State *L)
{
    lua_settop(L, 2);
    char **argv = check_argv(L);
    size_t len;
    const char *data = check_stdin(L, &len);
    struct run *r = new_run(L);
    r->io.data = data;
    r->io.len = len;
    if (start_run(L, r, argv) < 0) {
        int e = errno;
        run_release(r);
        return luaL_error(L, "cannot run %s: %s", argv[0], strerror(e));
    }
    const char *why = wait_child(L, &r->c, &r->io);
    if (why)
        return interrupted(L, r, why);
    if (slurp(r->io.out, &r->io.obuf) < 0 || slurp(r->io.err, &r->io.ebuf) < 0) {
        int e = errno;
        run_release(r);
        return luaL_error(L, "cannot read the output of %s: %s", argv[0], strerror(e));
    }
    lua_pushinteger(L, code_of(r->c.status));
    lua_pushlstring(L, r->io.obuf.data ? r->io.obuf.data : "", r->io.obuf.len);
    lua_pushlstring(L, r->io.ebuf.data ? r->io.ebuf.data : "", r->io.ebuf.len);
    run_release(r);
    return 3;
}

/* os.execute(cmd): sh -c cmd, its stdout on stderr. Results as Lua's. */
static int l_execute(lua_State *L)
{
    const char *cmd = luaL_optstring(L, 1, NULL);
    if (!cmd) {
        lua_pushboolean(L, 1);  /* a shell is there */
        return 1;
    }
    struct run *r = new_run(L);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    int fds[3] = {NULLDEV, STDERR_FILENO, STDERR_FILENO};
    if (spawn(&r->c, kids_of(L), "/bin/sh", argv, 0, fds) < 0)
        return luaL_execresult(L, -1);
    const char *why = wait_child(L, &r->c, NULL);
    if (why)
        return interrupted(L, r, why);
    errno = 0;
    return luaL_execresult(L, r->c.status);
}

/* ------------------------------------------------------------------------
 * io.popen: a file handle of the io library (luaL_Stream first) whose close
 * waits for the child.
 */

struct popen {
    luaL_Stream s;
    struct child c;
};

static int popen_close(lua_State *L)
{
    struct popen *h = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    fclose(h->s.f);
    if (h->c.p.pid && wait_child(L, &h->c, NULL))
        end_child(&h->c);  /* interrupted: the hook raises the error */
    errno = 0;
    return luaL_execresult(L, h->c.status);
}

static int l_popen(lua_State *L)
{
    const char *cmd = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "r");
    luaL_argcheck(L, (mode[0] == 'r' || mode[0] == 'w') && mode[1] == '\0', 2,
                  "invalid mode");
    if (kids_of(L)->closing)  /* nothing would ever close it */
        return luaL_error(L, "io.popen is not available while the state closes");
    struct popen *h = lua_newuserdatauv(L, sizeof *h, 1);
    memset(h, 0, sizeof *h);
    h->c.pidfd = -1;
    h->c.handle = h;
    h->c.cmd = cmd;
    lua_pushvalue(L, 1);  /* cmd lives as long as the handle */
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, LUA_FILEHANDLE);  /* closef NULL: a closed file */
    int fd[2], rd = mode[0] == 'r';
    if (pipe2(fd, O_CLOEXEC) < 0)
        return luaL_fileresult(L, 0, cmd);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    int fds[3] = {rd ? NULLDEV : fd[0], rd ? fd[1] : STDERR_FILENO, STDERR_FILENO};
    int rc = spawn(&h->c, kids_of(L), "/bin/sh", argv, 0, fds);
    int saved = errno;
    close(rd ? fd[1] : fd[0]);
    if (rc == 0 && !(h->s.f = fdopen(rd ? fd[0] : fd[1], mode))) {
        saved = errno;
        end_child(&h->c);
        rc = -1;
    }
    if (rc < 0) {
        close(rd ? fd[0] : fd[1]);
        errno = saved;
        return luaL_fileresult(L, 0, cmd);
    }
    h->s.closef = popen_close;
    return 1;
}

/* ------------------------------------------------------------------------ */
wq_children *wq_child_open(lua_State *L, wq_child_interrupt interrupt)
{
    wq_proc_subreap();
    struct wq_children *k = lua_newuserdatauv(L, sizeof *k, 0);
    memset(k, 0, sizeof *k);
    k->interrupt = interrupt;
    lua_setfield(L, LUA_REGISTRYINDEX, KIDS);
    luaL_newmetatable(L, RUN_MT);
    lua_pushcfunction(L, run_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_getglobal(L, "os");
    lua_pushcfunction(L, l_execute);
    lua_setfield(L, -2, "execute");
    lua_getglobal(L, "io");
    lua_pushcfunction(L, l_popen);
    lua_setfield(L, -2, "popen");
    lua_pop(L, 2);
    lua_pushcfunction(L, l_exec);
    return k;
}

uint64_t wq_child_mark(const wq_children *k)
{
    return k ? k->started : 0;
}

void wq_child_end_since(wq_children *k, uint64_t mark)
{
    wq_proc *p;
    while (k && (p = wq_proc_next_of(k, mark)))
        end_child(child_of(p));  /* takes it off the register */
}

/* The warning for a program left open: one line, however long or
 * multi-line its command. */
static void warn_left_open(const struct child *c, int worker)
{
    char who[32] = "";
    const char *cmd = c->cmd ? c->cmd : "";
    int len = (int)strcspn(cmd, "\r\n");
    if (worker)
        snprintf(who, sizeof who, "worker %d: ", worker);
    wq_reportf("%sended a program the job left open (io.popen): %.*s%s", who,
               len > 200 ? 200 : len, cmd, len > 200 || cmd[len] ? " ..." : "");
}

/* Closes our end of each handle first: a program that reads its input to
 * the end (cat > file) or stops at its first write then exits by itself,
 * as it would when Lua closes the handle, and is reaped without a word. The
 * others are ended at the end of the grace, each with a warning. */
void wq_child_end_left(wq_children *k, int worker)
{
    if (!k)
        return;
    k->closing = 1;
    int n;
    wq_proc **cs = wq_proc_running_of(k, &n);
    for (int i = 0; i < n; i++) {
        struct popen *h = child_of(cs[i])->handle;
        if (h && h->s.closef) {
            fclose(h->s.f);
            h->s.closef = NULL;  /* a closed file to Lua: no finalizer waits */
        }
    }
    int64_t end = wq_proc_grace_end();
    int left = 0;
    for (int i = 0; i < n; i++) {
        if (await_exit(child_of(cs[i]), end))
            reap(child_of(cs[i]), 0);
        else
            cs[left++] = cs[i];
    }
    for (int i = 0; i < left; i++)
        warn_left_open(child_of(cs[i]), worker);
    if (left)
        end_children(cs, left);
    free(cs);
}
