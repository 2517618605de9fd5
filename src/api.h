/*
 * api.h - what a job sees of luaworkq in its state: the luaworkq module
 * (worker, workers, version, args, log, json, array, null, copy, and exec,
 * where and header, which the caller gives; its Lua side is
 * lua/luaworkq.lua), the
 * modules compiled in from lua/ on package.preload, the job's folder first
 * on package.path and package.cpath, and os.exit refused.
 *
 * The module's functions keep nothing between calls: what they know of the
 * run is wq_api_conf, copied into the state when it opens.
 */
#ifndef WQ_API_H
#define WQ_API_H

#include <lua.h>

/* What a job learns of its run through the module. */
typedef struct wq_api_conf {
    const char *job;      /* the script as the user named it: its folder
                             goes first on the package paths */
    int worker;           /* luaworkq.worker: 1..N, 0 for the host */
    int workers;          /* luaworkq.workers */
    char **sets;          /* "KEY=VALUE" from --set: luaworkq.args */
    int nsets;
    lua_CFunction header; /* luaworkq.header */
} wq_api_conf;

/* Sets the API up in L, whose standard libraries are open. exec is the
 * stack index of luaworkq.exec (child.h: wq_child_open), which stays on
 * the stack; where is luaworkq.where. Call under the protected call that
 * opens the state: it allocates, and runs lua/luaworkq.lua. */
void wq_api_open(lua_State *L, const wq_api_conf *c, int exec,
                 lua_CFunction where);

#endif
