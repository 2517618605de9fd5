/* paths.c - where a run's outputs lead; see paths.h. */
#define _GNU_SOURCE  /* O_PATH, realpath */
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40  /* the kernel's MAXSYMLINKS */

/* What a path names: an existing file's device and inode, or for a path
 * that does not exist (yet), its canonical folder and its name. */
struct ident {
    int skip;                /* no path, standard input/output, a device */
    int exists;
    dev_t dev;
    ino_t ino;
    char *name;              /* malloc'd, when it does not exist */
};

/* The folder of path (malloc'd; "." when it has none, "/" for "/x"), and
 * in *base its last component. */
static char *folder_of(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* content (a link's, or a last component) read relative to folder. */
static char *joined(const char *folder, const char *content)
{
    if (content[0] == '/' || strcmp(folder, ".") == 0)
        return strdup(content);
    char *p = malloc(strlen(folder) + strlen(content) + 2);
    if (p)
        strcat(strcat(strcpy(p, folder), strcmp(folder, "/") ? "/" : ""), content);
    return p;
}

/* The canonical name of a path that does not exist: realpath of its folder,
 * then its last component; the path itself when its folder is missing too
 * (opening it will fail anyway). */
static char *missing_name(const char *path)
{
    const char *base;
    char *dir = folder_of(path, &base);
    char *real = dir ? realpath(dir, NULL) : NULL;
    char *name = real ? joined(real, base) : NULL;
    free(dir);
    free(real);
    return name ? name : strdup(path);
}

/* The canonical name of a missing file, seen through the links that lead
 * to it: `--journal link` and `-o target` are one file when link leads to
 * target. */
static char *missing_target(const char *path)
{
    wq_target t;
    wq_buf quiet = WQ_BUF_INIT;
    char *name = missing_name(wq_paths_target(path, NULL, &t, &quiet) == 0 ? t.path : path);
    wq_paths_target_free(&t);
    wq_buf_free(&quiet);
    return name;
}

static void identify(const char *path, struct ident *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (!path || strcmp(path, "-") == 0) {
        id->skip = 1;
    } else if (stat(path, &st) == 0) {
        id->skip = S_ISCHR(st.st_mode);
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    } else if (errno == ENOENT) {
        id->name = missing_target(path);
        id->skip = id->name == NULL;
    } else {
        id->skip = 1;        /* cannot be looked at: opening it will say why */
    }
}

static int same(const struct ident *a, const struct ident *b)
{
    if (a->skip || b->skip || a->exists != b->exists)
        return 0;
    if (a->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return strcmp(a->name, b->name) == 0;
}

static void conflict(const wq_path *a, const wq_path *b, wq_buf *err)
{
    const wq_path *w = a->written ? a : b, *other = a->written ? b : a;
    if (other->written)
        wq_buf_printf(err, "%s %s and %s %s are the same file: each output needs "
                      "its own", a->role, a->path, b->role, b->path);
    else
        wq_buf_printf(err, "%s %s is %s %s: writing it would destroy it",
                      w->role, w->path, other->role, other->path);
}

/* Whether the output p may be written where it leads. */
static int allowed(const wq_path *p, wq_buf *err)
{
    if (!p->path || strcmp(p->path, "-") == 0)
        return 0;
    wq_target t;
    int rc = wq_paths_target(p->path, p->role, &t, err);
    wq_paths_target_free(&t);
    return rc;
}

int wq_paths_check(const wq_path *paths, int n, wq_buf *err)
{
    struct ident *ids = calloc((size_t)n + 1, sizeof *ids);
    int rc = 0;
    if (!ids) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = paths[i].written ? allowed(&paths[i], err) : 0;
    for (int i = 0; i < n; i++)
        identify(paths[i].path, &ids[i]);
    for (int i = 0; i < n && rc == 0; i++)
        for (int j = i + 1; j < n && rc == 0; j++)
            if ((paths[i].written || paths[j].written) && same(&ids[i], &ids[j])) {
                conflict(&paths[i], &paths[j], err);
                rc = -1;
            }
    for (int i = 0; i < n; i++)
        free(ids[i].name);
    free(ids);
    return rc;
}

int wq_paths_check_stdout(const wq_path *paths, int n, wq_buf *err)
{
    struct stat out;
    struct ident id;
    int rc = 0;
    if (fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode))
        return 0;
    for (int i = 0; i < n && rc == 0; i++) {
        identify(paths[i].path, &id);
        if (!id.skip && id.exists && id.dev == out.st_dev && id.ino == out.st_ino) {
            wq_buf_printf(err, "standard output is %s %s: %s", paths[i].role,
                          paths[i].path, paths[i].written
                          ? "each output needs its own file"
                          : "input file is output file (a shell's > has already "
                            "emptied it); send the output to another file");
            rc = -1;
        }
        free(id.name);
    }
    return rc;
}

/* The kernel's protected_symlinks rule (may_follow_link in fs/namei.c):
 * in a sticky world-writable folder, a link is followed only by its owner
 * or when the folder's owner owns it. */
static int forbidden(const struct stat *folder, uid_t owner)
{
    return (folder->st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
           owner != geteuid() && owner != folder->st_uid;
}

/* "refusing -o PATH: " (or "refusing PATH: " without a role). */
static void refusing(const char *role, const char *path, wq_buf *err)
{
    wq_buf_printf(err, "refusing %s%s%s: ", role ? role : "", role ? " " : "", path);
}

/* One step along t->path: if it is a symbolic link that may be followed,
 * t->path becomes where the link leads and 1 is returned; if it is no link
 * (or cannot be looked at), t->exists and t->st say what it is and 0 is
 * returned; a link the rule forbids gives -1 and a message. The link is
 * checked and read through one O_PATH descriptor, so another user cannot
 * swap it between the two. */
static int step(wq_target *t, const char *role, const char *path, wq_buf *err)
{
    const char *base;
    char *folder = folder_of(t->path, &base), content[PATH_MAX];
    int dfd = folder ? open(folder, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    int lfd = dfd >= 0 ? openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
    struct stat dst, lst;
    /* "dir/" has no last component for openat: lstat looks at it whole. */
    int known = lfd >= 0 ? fstat(lfd, &lst) == 0 : lstat(t->path, &lst) == 0;
    int rc = 0;
    if (known && !S_ISLNK(lst.st_mode)) {
        t->exists = 1;
        t->st = lst;
    } else if (known && lfd >= 0 && fstat(dfd, &dst) == 0) {
        ssize_t n = readlinkat(lfd, "", content, sizeof content);
        if (forbidden(&dst, lst.st_uid)) {
            refusing(role, path, err);
            wq_buf_printf(err, "%s is a symbolic link of uid %u in the sticky "
                          "world-writable folder %s, owned neither by you nor by the "
                          "folder's owner: another user may have planted it, so it is "
                          "not followed (the kernel's protected_symlinks rule)",
                          strcmp(t->path, path) ? t->path : "it", (unsigned)lst.st_uid,
                          folder);
            rc = -1;
        } else if (n < 0 || (size_t)n == sizeof content) {
            refusing(role, path, err);
            wq_buf_printf(err, "cannot read the symbolic link %s: %s", t->path,
                          strerror(n < 0 ? errno : ENAMETOOLONG));
            rc = -1;
        } else {
            content[n] = '\0';
            char *next = joined(folder, content);
            rc = next ? 1 : -1;
            if (!next)
                wq_buf_adds(err, "out of memory");
            free(t->path);
            t->path = next;
        }
    }
    if (lfd >= 0)
        close(lfd);
    if (dfd >= 0)
        close(dfd);
    free(folder);
    return rc;
}

int wq_paths_target(const char *path, const char *role, wq_target *t, wq_buf *err)
{
    int rc = 1, links = 0;
    memset(t, 0, sizeof *t);
    if (!(t->path = strdup(path))) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    while (rc == 1 && links <= MAX_LINKS)
        if ((rc = step(t, role, path, err)) == 1)
            t->linked = ++links;
    if (rc == 1) {
        refusing(role, path, err);
        wq_buf_adds(err, "too many levels of symbolic links");
        rc = -1;
    } else if (rc == 0 && t->linked && t->exists && S_ISBLK(t->st.st_mode)) {
        refusing(role, path, err);
        wq_buf_printf(err, "it is a symbolic link to the block device %s, which is "
                      "never written through a link (name the device itself)", t->path);
        rc = -1;
    }
    return rc;
}

void wq_paths_target_free(wq_target *t)
{
    free(t->path);
    t->path = NULL;
}

int wq_paths_open(const char *path, const char *role, int flags, char **target,
                  wq_buf *err)
{
    wq_target t;
    struct stat st;
    int fd = -1;
    if (wq_paths_target(path, role, &t, err) == 0) {
        fd = open(t.path, flags | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno == ELOOP) {
            refusing(role, path, err);
            wq_buf_printf(err, "%s became a symbolic link after it was checked: it is "
                          "not followed", t.path);
        } else if (fd < 0) {
            wq_buf_printf(err, "cannot open %s%s%s: %s", role ? role : "", role ? " " : "",
                          path, strerror(errno));
        } else if (t.linked && fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
            refusing(role, path, err);
            wq_buf_printf(err, "%s became a block device after it was checked", t.path);
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0 && target) {
        *target = t.path;
        t.path = NULL;
    }
    wq_paths_target_free(&t);
    return fd;
}
