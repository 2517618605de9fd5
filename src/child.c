/*
 * child.c - child processes of jobs; see child.h.
 *
 * A child is started with posix_spawn (vfork-like, cheap in a large
 * process) into a new process group, with a clear signal mask (luaworkq's
 * threads block SIGINT and SIGTERM, which a child would inherit) and SIGINT,
 * SIGTERM and SIGPIPE at their defaults. Its exit is watched through a pidfd
 * where the kernel has them, otherwise by looking every POLL_MS.
 *
 * The wait closes the race between "is there an interrupt?" and blocking:
 * every signal is blocked while it looks, and ppoll unblocks them
 * atomically, so an interrupt that arrives after the look ends the ppoll.
 * The interrupt signal's handler is installed without SA_RESTART
 * (worker.c), so it ends a blocking read or write of a popen handle too.
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
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"

extern char **environ;

#define POLL_MS 10          /* without a pidfd: how often a wait looks */
#define CHUNK (64 << 10)    /* bytes moved per read or write */
#define KIDS "luaworkq.children"
#define RUN_MT "luaworkq.exec"

/* A state's record: what it asks before it goes on waiting. */
struct wq_children {
    wq_child_interrupt interrupt;
    uint64_t started;        /* children started: the last one's seq */
};

struct child {
    pid_t pid;               /* 0 once reaped */
    int pidfd;               /* readable once the child exits, or -1 */
    int status;              /* waitpid's, once reaped */
    const struct wq_children *owner;
    uint64_t seq;            /* its number among its owner's children */
    struct child *prev, *next;
};

/* Every child started and not yet reaped, under reg_mu. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct child *reg;

/* Fds of standard streams for spawn: a stream is inherited when its entry
 * is its own number, read from or written to /dev/null when NULLDEV, else
 * the fd given. */
#define NULLDEV (-1)

static void enlist(struct child *c)
{
    pthread_mutex_lock(&reg_mu);
    c->prev = NULL;
    c->next = reg;
    if (reg)
        reg->prev = c;
    reg = c;
    pthread_mutex_unlock(&reg_mu);
}

/* Records that c was reaped with status and takes it off the register. */
static void reaped(struct child *c, int status)
{
    pthread_mutex_lock(&reg_mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        reg = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->pid = 0;
    pthread_mutex_unlock(&reg_mu);
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
    int rc = search ? posix_spawnp(&c->pid, path, &fa, &at, argv, environ)
                    : posix_spawn(&c->pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        c->pid = 0;
        errno = rc;
        return -1;
    }
    c->owner = owner;
    c->seq = ++owner->started;
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);  /* close-on-exec */
    enlist(c);
    return 0;
}

/* Reaps c (flags: WNOHANG, if it has exited). Returns 1 when it is reaped. */
static int reap(struct child *c, int flags)
{
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, flags)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return 0;
    reaped(c, r < 0 ? -1 : status);
    return 1;
}

static int try_reap(struct child *c) { return reap(c, WNOHANG); }

/* Waits up to ms for c to exit, without reaping it: a zombie keeps its
 * process group's id from being reused. */
static void await_exit(struct child *c, int ms)
{
    int64_t end = wq_now_ns() + (int64_t)ms * 1000000;
    for (int64_t left; (left = end - wq_now_ns()) > 0;) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
            errno != EINTR)
            return;
        if (si.si_pid == c->pid)
            return;
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, (int)(left / 1000000) + 1);
        } else {
            struct timespec tick = {0, POLL_MS * 1000000};
            nanosleep(&tick, NULL);
        }
    }
}

/* Ends c and its group: SIGTERM, SIGKILL after the grace, then reaps it. */
static void end_child(struct child *c)
{
    if (!c->pid)
        return;
    kill(-c->pid, SIGTERM);
    kill(c->pid, SIGTERM);  /* in case it left its group */
    await_exit(c, WQ_CHILD_GRACE_MS);
    kill(-c->pid, SIGKILL);  /* what is left of the group, if anything */
    kill(c->pid, SIGKILL);
    reap(c, 0);
}

/* exec's pipes (the parent's ends, -1 once closed) and what goes through. */
struct io {
    int in, out, err;
    const char *data;
    size_t len, off;
    wq_buf obuf, ebuf;
};

/* Reads what fd has into b; closes it at its end. */
static void drain(int *fd, wq_buf *b)
{
    if (wq_buf_grow(b, CHUNK) < 0) {
        close(*fd);  /* out of memory: the child gets EPIPE */
        *fd = -1;
        return;
    }
    ssize_t n = read(*fd, b->data + b->len, b->cap - b->len);
    if (n > 0)
        b->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(*fd);
        *fd = -1;
    }
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
    if (io && io->out >= 0)
        p[n++] = (struct pollfd){io->out, POLLIN, 0};
    if (io && io->err >= 0)
        p[n++] = (struct pollfd){io->err, POLLIN, 0};
    if (n == 0 && c->pidfd >= 0)
        p[n++] = (struct pollfd){c->pidfd, POLLIN, 0};
    return n;
}

static void move_bytes(struct io *io, const struct pollfd *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (!p[i].revents)
            continue;
        if (p[i].fd == io->in)
            feed(io);
        else if (p[i].fd == io->out)
            drain(&io->out, &io->obuf);
        else if (p[i].fd == io->err)
            drain(&io->err, &io->ebuf);
    }
}

/* Moves bytes through io's pipes (if any) until they are closed and waits
 * for c to exit, then reaps it. Returns 0 once it is reaped, or the
 * interrupt's message when one concerning L came first (c still runs). */
static const char *wait_child(lua_State *L, struct child *c, struct io *io)
{
    const char *why = NULL;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (c->pid && !(why = c->owner->interrupt(L))) {
        struct pollfd p[4];
        int n = watch_list(c, io, p);
        int piped = io && (io->in >= 0 || io->out >= 0 || io->err >= 0);
        if (!piped && try_reap(c))
            break;
        struct timespec tick = {0, POLL_MS * 1000000};
        int r = ppoll(p, (nfds_t)n, n ? NULL : &tick, &old);
        if (r > 0 && piped)
            move_bytes(io, p, n);
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

/* Opens exec's pipes and starts the child. Returns 0 or -1 (errno). */
static int start_run(lua_State *L, struct run *r, char **argv)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = -1;
    if ((r->io.data && make_pipe(in, 1) < 0) || make_pipe(out, 0) < 0 ||
        make_pipe(err, 0) < 0)
        goto done;
    int fds[3] = {r->io.data ? in[0] : NULLDEV, out[1], err[1]};
    rc = spawn(&r->c, kids_of(L), argv[0], argv, 1, fds);
done:;
    int saved = errno;
    int *keep[] = {&in[1], &out[0], &err[0]}, *drop[] = {&in[0], &out[1], &err[1]};
    int *mine[] = {&r->io.in, &r->io.out, &r->io.err};
    for (int i = 0; i < 3; i++) {
        if (*drop[i] >= 0)
            close(*drop[i]);
        *mine[i] = *keep[i];
    }
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
    if (h->c.pid && wait_child(L, &h->c, NULL))
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
    struct popen *h = lua_newuserdatauv(L, sizeof *h, 0);
    memset(h, 0, sizeof *h);
    h->c.pidfd = -1;
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
    struct wq_children *k = lua_newuserdatauv(L, sizeof *k, 0);
    k->interrupt = interrupt;
    k->started = 0;
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

/* The next running child of k started after mark, or NULL. */
static struct child *next_of(const struct wq_children *k, uint64_t mark)
{
    pthread_mutex_lock(&reg_mu);
    struct child *c = reg;
    while (c && (c->owner != k || c->seq <= mark))
        c = c->next;
    pthread_mutex_unlock(&reg_mu);
    return c;
}

void wq_child_end_since(wq_children *k, uint64_t mark)
{
    struct child *c;
    while (k && (c = next_of(k, mark)))
        end_child(c);  /* takes it off the register */
}

/* The exit is the system call itself, not _exit: under ThreadSanitizer,
 * _exit first waits a second and reports the threads that finished and
 * were not joined, which an exit at once leaves by design. */
_Noreturn void wq_child_exit(int code)
{
    pthread_mutex_lock(&reg_mu);  /* kept: no child starts after this */
    for (struct child *c = reg; c; c = c->next) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
    }
    syscall(SYS_exit_group, code);
    _exit(code);
}
