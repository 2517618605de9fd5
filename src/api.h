/*
 * api.h - what a job sees of luaworkq in its state: the luaworkq module
 * (worker, workers, version, args, log, where, exec, json, array, null; its
 * Lua side is lua/luaworkq.lua), the modules compiled in from lua/ on
 * package.preload, the job's folder first on package.path and
 * package.cpath, and os.exit refused.
 *
 * The module's functions run on the state's thread, inside the calls of
 * glue.c; they read the state (glue_state.h) and never write it.
 */
#ifndef WQ_API_H
#define WQ_API_H

#include <lua.h>
#include "glue.h"

/* Sets the API up in lw's state, whose standard libraries are open, with
 * luaworkq.exec (child.h: wq_child_open) on the top of the stack, which it
 * pops. Call under the protected call that opens the state (it allocates
 * and may raise an error). */
void wq_api_open(lua_State *L, const wq_lua *lw);

#endif
