/* Process handles (HCS_PROCESS) as userdata "hcsshim.process".  Raw methods
 * start with an underscore; lua/hcsshim/process.lua adds the public ones. */
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "process.h"

#define PROCESS_MT "hcsshim.process"

typedef struct hprocess {
  plat_process h;
  plat_callback cb;
  nqueue *q;
  uint32_t pid;
  char *sysid;
  int open;
} hprocess;

static hprocess *check_process(lua_State *L, int idx) {
  hprocess *p = (hprocess *)luaL_checkudata(L, idx, PROCESS_MT);
  if (!p->open) handle_raise_closed(L, "process");
  return p;
}

static void release(hprocess *p) {
  if (!p->open) return;
  p->open = 0;
  if (p->q) nq_close(p->q);
  if (p->cb) plat_HcsUnregisterProcessCallback(p->cb);
  p->cb = NULL;
  if (p->q) nq_free(p->q);
  p->q = NULL;
  if (p->h) plat_HcsCloseProcess(p->h);
  p->h = NULL;
  free(p->sysid);
  p->sysid = NULL;
}

static hprocess *new_process(lua_State *L) {
  hprocess *p = (hprocess *)lua_newuserdatauv(L, sizeof *p, 1);
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, PROCESS_MT);
  return p;
}

static plat_hresult attach(lua_State *L, hprocess *p, plat_process h, const char *sysid, uint32_t pid) {
  plat_hresult hr;
  p->h = h;
  p->open = 1;
  p->pid = pid;
  p->sysid = strdup(sysid);
  p->q = nq_new();
  if (!p->sysid || !p->q) {
    release(p);
    luaL_error(L, "not enough memory");
  }
  hr = plat_HcsRegisterProcessCallback(h, nq_callback, (void *)p->q->id, &p->cb);
  if (hr < 0) {
    p->cb = NULL;
    release(p);
  }
  return hr;
}

static void close_info(plat_process_info *info) {
  plat_handle_close(info->StdInput);
  plat_handle_close(info->StdOutput);
  plat_handle_close(info->StdError);
}

/* The info's handles pass to Lua files; the info keeps none of them. */
static void push_stdio(lua_State *L, plat_process_info *info) {
  plat_handle in = info->StdInput, out = info->StdOutput, err = info->StdError;
  info->StdInput = info->StdOutput = info->StdError = PLAT_NO_HANDLE;
  handle_push_files(L, in, out, err);
}

int process_create(lua_State *L, plat_system sys, const char *sysid, const char *params) {
  hprocess *p = new_process(L);
  plat_process h = NULL;
  plat_process_info info = {0, PLAT_NO_HANDLE, PLAT_NO_HANDLE, PLAT_NO_HANDLE};
  char *result = NULL;
  plat_hresult hr = plat_HcsCreateProcess(sys, params, &info, &h, &result);
  if (hr < 0) {
    if (h) plat_HcsCloseProcess(h);
    close_info(&info);
    return core_fail(L, hr, result);
  }
  plat_free(result);
  hr = attach(L, p, h, sysid, info.ProcessId);
  if (hr < 0) {
    /* attach released h; kill the process through a fresh handle rather
     * than leave it running with no handle */
    plat_process h2 = NULL;
    char *r2 = NULL;
    if (plat_HcsOpenProcess(sys, info.ProcessId, &h2, &r2) >= 0) {
      plat_free(r2);
      r2 = NULL;
      plat_HcsTerminateProcess(h2, &r2);
      plat_HcsCloseProcess(h2);
    }
    plat_free(r2);
    close_info(&info);
    return core_fail(L, hr, NULL);
  }
  push_stdio(L, &info);
  return 4;
}

int process_open(lua_State *L, plat_system sys, const char *sysid, uint32_t pid) {
  hprocess *p = new_process(L);
  plat_process h = NULL;
  char *result = NULL;
  plat_hresult hr = plat_HcsOpenProcess(sys, pid, &h, &result);
  if (hr < 0) return core_fail(L, hr, result);
  plat_free(result);
  hr = attach(L, p, h, sysid, pid);
  if (hr < 0) return core_fail(L, hr, NULL);
  return 1;
}

/***
 * The process id (HCS ProcessId; the host pid on Linux, as with Windows
 * process isolation).
 * @function process:pid
 * @treturn integer
 */
static int m_pid(lua_State *L) {
  hprocess *p = check_process(L, 1);
  lua_pushinteger(L, p->pid);
  return 1;
}

/***
 * The id of the compute system the process runs in.
 * @function process:system_id
 * @treturn string
 */
static int m_system_id(lua_State *L) {
  hprocess *p = check_process(L, 1);
  lua_pushstring(L, p->sysid);
  return 1;
}

/* p:_terminate() -> true | nil, hr, result */
static int m_terminate(lua_State *L) {
  hprocess *p = check_process(L, 1);
  char *result = NULL;
  plat_hresult hr = plat_HcsTerminateProcess(p->h, &result);
  return core_ok_result(L, hr, result);
}

/* p:_signal(options_json) -> true | nil, hr, result */
static int m_signal(lua_State *L) {
  hprocess *p = check_process(L, 1);
  const char *options = luaL_checkstring(L, 2);
  char *result = NULL;
  plat_hresult hr = plat_HcsSignalProcess(p->h, options, &result);
  return core_ok_result(L, hr, result);
}

/* p:_stdio() -> stdin, stdout, stderr (fresh handles, HcsGetProcessInfo) */
static int m_stdio(lua_State *L) {
  hprocess *p = check_process(L, 1);
  plat_process_info info = {0, PLAT_NO_HANDLE, PLAT_NO_HANDLE, PLAT_NO_HANDLE};
  char *result = NULL;
  plat_hresult hr = plat_HcsGetProcessInfo(p->h, &info, &result);
  if (hr < 0) {
    close_info(&info);
    return core_fail(L, hr, result);
  }
  plat_free(result);
  push_stdio(L, &info);
  return 3;
}

/* p:_properties() -> json | nil, hr, result */
static int m_properties(lua_State *L) {
  hprocess *p = check_process(L, 1);
  char *props = NULL, *result = NULL;
  plat_hresult hr = plat_HcsGetProcessProperties(p->h, &props, &result);
  return core_json_result(L, hr, props, result);
}

/* p:_modify(json) -> true | nil, hr, result */
static int m_modify(lua_State *L) {
  hprocess *p = check_process(L, 1);
  const char *settings = luaL_checkstring(L, 2);
  char *result = NULL;
  plat_hresult hr = plat_HcsModifyProcess(p->h, settings, &result);
  return core_ok_result(L, hr, result);
}

static int m_wait(lua_State *L) {
  hprocess *p = check_process(L, 1);
  return handle_wait(L, p->q, 2, 3);
}

static int m_has(lua_State *L) {
  hprocess *p = check_process(L, 1);
  return handle_has(L, p->q, 2);
}

/***
 * A descriptor that becomes readable when the process's exit notification
 * arrives, for event loops.
 * @function process:pollfd
 * @treturn integer
 */
static int m_pollfd(lua_State *L) {
  hprocess *p = check_process(L, 1);
  lua_pushinteger(L, (lua_Integer)plat_lock_pollfd(p->q->lock));
  return 1;
}

/***
 * Whether the handle is still open (never raises).
 * @function process:is_open
 * @treturn boolean
 */
static int m_is_open(lua_State *L) {
  hprocess *p = (hprocess *)luaL_checkudata(L, 1, PROCESS_MT);
  lua_pushboolean(L, p->open);
  return 1;
}

/***
 * Close the handle (HcsUnregisterProcessCallback, HcsCloseProcess).  The
 * process keeps running.  Closing twice is harmless.  Also `__gc`/`__close`.
 * @function process:close
 */
static int m_close(lua_State *L) {
  hprocess *p = (hprocess *)luaL_checkudata(L, 1, PROCESS_MT);
  release(p);
  return 0;
}

static int m_tostring(lua_State *L) {
  hprocess *p = (hprocess *)luaL_checkudata(L, 1, PROCESS_MT);
  if (p->open)
    lua_pushfstring(L, "hcsshim.process (%d in %s)", (int)p->pid, p->sysid);
  else
    lua_pushliteral(L, "hcsshim.process (closed)");
  return 1;
}

static const luaL_Reg methods[] = {
  {"pid", m_pid},
  {"system_id", m_system_id},
  {"_terminate", m_terminate},
  {"_signal", m_signal},
  {"_stdio", m_stdio},
  {"_properties", m_properties},
  {"_modify", m_modify},
  {"_wait", m_wait},
  {"_has", m_has},
  {"pollfd", m_pollfd},
  {"is_open", m_is_open},
  {"close", m_close},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__gc", m_close},
  {"__close", m_close},
  {"__tostring", m_tostring},
  {NULL, NULL}
};

void core_open_process(lua_State *L) {
  luaL_newmetatable(L, PROCESS_MT);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_setfield(L, -3, "process_methods");
  lua_pop(L, 1);
}
