/* What compute-system and process handles share: the notification queue,
 * the wait protocol exposed to Lua, the closed-handle error, stdio files. */
#ifndef HCSSHIM_HANDLE_H
#define HCSSHIM_HANDLE_H

#include "core.h"
#include "queue.h"

/* Raises the "attempt to use a closed <what>" error (an hcsshim.error when
 * the Lua layer installed its factory, a string otherwise). */
int handle_raise_closed(lua_State *L, const char *what);
/* h:_wait(type, timeout) -> true, status | false, reason, status
 * reason: "timeout" | "exited" | "disconnected" | "closed" */
int handle_wait(lua_State *L, nqueue *q, int type_idx, int timeout_idx);
/* h:_has(type) -> bool, status */
int handle_has(lua_State *L, nqueue *q, int type_idx);
/* Pushes stdin (write), stdout and stderr (read) as Lua file objects that
 * own the handles (nil for PLAT_NO_HANDLE).  On any failure it closes
 * every handle not yet owned by a file, then raises. */
void handle_push_files(lua_State *L, plat_handle in, plat_handle out, plat_handle err);
/* Reads an optional timeout in seconds: nil -> dflt, math.huge -> -1. */
double handle_opt_timeout(lua_State *L, int idx, double dflt);

#endif
