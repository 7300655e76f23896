/* What compute-system and process handles share: the notification queue,
 * the wait protocol exposed to Lua, the closed-handle error, stdio files. */
#ifndef HCSSHIM_HANDLE_H
#define HCSSHIM_HANDLE_H

#include "bind.h"
#include "queue.h"

/* What a system handle and a process handle have in common: the platform
 * handle, its callback registration, the notification queue and the id of
 * the compute system.  Each userdata starts with one. */
typedef struct handle_ops {
  const char *what; /* "compute system", "process": for error messages */
  plat_hresult (*reg)(void *h, plat_notification_cb cb, void *context, plat_callback *out);
  plat_hresult (*unreg)(plat_callback cb);
  plat_hresult (*close)(void *h);
} handle_ops;

typedef struct hhandle {
  void *h;
  plat_callback cb;
  nqueue *q;
  char *sysid;
  int open;
  const handle_ops *ops;
} hhandle;

/* New closed handle userdata of `size` bytes (an hhandle first) with the
 * metatable `mt`. */
hhandle *handle_new(lua_State *L, size_t size, const char *mt, const handle_ops *ops);
/* luaL_checkudata plus the closed check (raises ErrAlreadyClosed). */
hhandle *handle_check(lua_State *L, int idx, const char *mt);
/* Opens b on platform handle h: queue, callback, sysid copy.  Returns the
 * registration's HRESULT (b is released again on failure); raises on
 * memory exhaustion. */
plat_hresult handle_attach(lua_State *L, hhandle *b, void *h, const char *sysid);
/* The one non-raising release of close, __gc and __close. */
void handle_release(hhandle *b);
/* Registers the methods both handle kinds share (wait, has, pollfd,
 * is_open, close and the __gc/__close metamethods) into the metatable on
 * the stack top (methods go to its __index table, also on the stack,
 * below it). */
void handle_register_common(lua_State *L, const char *mt);

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
