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
/* Pushes a Lua file object owning h (nil for PLAT_NO_HANDLE). */
void handle_push_file(lua_State *L, plat_handle h, const char *mode);
/* Reads an optional timeout in seconds: nil -> dflt, math.huge -> -1. */
double handle_opt_timeout(lua_State *L, int idx, double dflt);

#endif
