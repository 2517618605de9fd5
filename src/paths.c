/* paths.c - distinct files for what a run writes; see paths.h. */
#define _XOPEN_SOURCE 700  /* realpath */
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What a path names: an existing file's device and inode, or for a path
 * that does not exist (yet), its canonical folder and its name. */
struct ident {
    int skip;                /* no path, standard input/output, a device */
    int exists;
    dev_t dev;
    ino_t ino;
    char *name;              /* malloc'd, when it does not exist */
};

/* The canonical name of a path that does not exist: realpath of its folder,
 * then its last component; the path itself when its folder is missing too
 * (opening it will fail anyway). */
static char *missing_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    char *dir = strndup(slash ? path : ".", dlen ? dlen : 1);  /* "/x": "/" */
    char *real = dir ? realpath(dir, NULL) : NULL;
    const char *base = slash ? slash + 1 : path;
    char *name = NULL;
    if (real && (name = malloc(strlen(real) + strlen(base) + 2)))
        strcat(strcat(strcpy(name, real), "/"), base);
    free(dir);
    free(real);
    return name ? name : strdup(path);
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
        id->name = missing_name(path);
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

int wq_paths_check(const wq_path *paths, int n, wq_buf *err)
{
    struct ident *ids = calloc((size_t)n + 1, sizeof *ids);
    int rc = 0;
    if (!ids) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
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
