/* embedded.h - the Lua modules of lua/, compiled in by cmake/embed.cmake. */
#ifndef WQ_EMBEDDED_H
#define WQ_EMBEDDED_H

#include <stddef.h>

typedef struct wq_embedded {
    const char *name;    /* module name, e.g. "luaworkq.testing" */
    const char *file;    /* path under lua/, for chunk names */
    const char *source;
    size_t size;
} wq_embedded;

/* Ends with an entry whose name is NULL. */
extern const wq_embedded wq_embedded_modules[];

#endif
