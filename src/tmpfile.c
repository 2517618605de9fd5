/* tmpfile.c - temporary output files and their leftovers; see tmpfile.h. */
#define _GNU_SOURCE  /* flock, mkostemp */
#include "tmpfile.h"
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".luaworkq-"
#define RANDOM "XXXXXX"

/* Whether the descriptor's file is still there under name. */
static int still_named(int fd, const char *name)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(name, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* mkstemp, then the lock. A sweep may remove the file between the two;
 * then it is made again. */
static int create_locked(char *name, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        memcpy(name + len - (sizeof RANDOM - 1), RANDOM, sizeof RANDOM - 1);
        int fd = mkostemp(name, O_CLOEXEC);  /* no child holds the lock */
        if (fd < 0)
            return -1;
        if (flock(fd, LOCK_EX) == 0 && still_named(fd, name))
            return fd;
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

/* The process's umask, read without setting it: umask(2) can only read it
 * by changing it, which would change it for the job's threads too. Linux
 * says it in /proc/self/status; 022 where that cannot be read. */
static mode_t current_umask(void)
{
    unsigned mask = 022;
    char line[64];
    FILE *f = fopen("/proc/self/status", "re");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &mask) == 1)
            break;
    if (f)
        fclose(f);
    return (mode_t)mask & 0777;
}

/* Gives the temporary file fd what the file at path has, if it is still
 * the file was: its owner and group (both, else the group alone, as
 * editors do; neither is an error), then its mode, set last because chown
 * clears the set-id bits. A set-id bit whose owner or group could not be
 * given is dropped: it would grant this user's rights instead. Else the
 * file gets 0666 less the umask. Until then it has mkstemp's 0600, so what
 * is written for a private file is never readable by others on its way. */
static void like(int fd, const char *path, const struct stat *was)
{
    struct stat st, now;
    if (was && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_dev == was->st_dev && st.st_ino == was->st_ino) {
        mode_t mode = st.st_mode & 07777;
        int rc = fchown(fd, st.st_uid, st.st_gid);
        if (rc != 0)
            rc = fchown(fd, (uid_t)-1, st.st_gid);
        (void)rc;  /* fstat says what was given */
        if (fstat(fd, &now) != 0)
            mode &= ~(mode_t)(S_ISUID | S_ISGID);
        else
            mode &= ~(mode_t)((now.st_uid != st.st_uid ? S_ISUID : 0) |
                              (now.st_gid != st.st_gid ? S_ISGID : 0));
        fchmod(fd, mode);
        return;
    }
    fchmod(fd, 0666 & ~current_umask());
}

int wq_tmpfile_create(const char *path, char **name, int *hold, wq_buf *err)
{
    size_t n = strlen(path), len = n + sizeof SUFFIX RANDOM - 1;
    char *tmp = malloc(len + 1);
    if (!tmp) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, SUFFIX RANDOM, sizeof SUFFIX RANDOM);
    int fd = create_locked(tmp, len);
    if (fd < 0 || (*hold = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        wq_buf_printf(err, "cannot create %s: %s", path, strerror(errno));
        if (fd >= 0) {
            unlink(tmp);
            close(fd);
        }
        free(tmp);
        return -1;
    }
    *name = tmp;
    return fd;
}

int wq_tmpfile_commit(int fd, const char *name, const char *path, const struct stat *was,
                      wq_buf *err)
{
    like(fd, path, was);
    if (rename(name, path) == 0)
        return 0;
    wq_buf_printf(err, "cannot rename %s to %s: %s", name, path, strerror(errno));
    return -1;
}

/* Whether entry is base + SUFFIX + six characters of mkstemp's. */
static int is_leftover(const char *entry, const char *base, size_t blen)
{
    if (strncmp(entry, base, blen) != 0 || strncmp(entry + blen, SUFFIX, sizeof SUFFIX - 1))
        return 0;
    const char *r = entry + blen + sizeof SUFFIX - 1;
    if (strlen(r) != sizeof RANDOM - 1)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') ||
              (*r >= '0' && *r <= '9')))
            return 0;
    return 1;
}

/* Removes name if no one holds its lock. */
static void remove_unlocked(const char *name)
{
    int fd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        flock(fd, LOCK_EX | LOCK_NB) == 0 && still_named(fd, name))
        unlink(name);
    close(fd);
}

/* Removes the leftovers beside path, the end of an output's links. */
static void sweep_beside(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0, blen = strlen(base);
    char *dirname = strndup(slash ? path : ".", slash ? dlen : 1);
    DIR *d = dirname ? opendir(dirname) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!is_leftover(e->d_name, base, blen))
            continue;
        char *name = malloc(dlen + strlen(e->d_name) + 1);
        if (!name)
            break;
        memcpy(name, path, dlen);
        strcpy(name + dlen, e->d_name);
        remove_unlocked(name);
        free(name);
    }
    if (d)
        closedir(d);
    free(dirname);
}

void wq_tmpfile_sweep(const char *given)
{
    wq_target t;
    wq_buf quiet = WQ_BUF_INIT;
    if (wq_paths_target(given, NULL, &t, &quiet) == 0)
        sweep_beside(t.path);
    wq_paths_target_free(&t);
    wq_buf_free(&quiet);
}
