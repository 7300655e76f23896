/* Process handles (HCS_PROCESS) as userdata "hcsshim.process".  Raw methods
 * start with an underscore; lua/hcsshim/process.lua adds the public ones. */
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "modules.h"
#include "process.h"

#define PROCESS_MT "hcsshim.process"

typedef struct hprocess {
  hhandle b; /* b.sysid is the id of the process's compute system */
  uint32_t pid;
} hprocess;

static plat_hresult reg(void *h, plat_notification_cb cb, void *ctx, plat_callback *out) {
  return plat_HcsRegisterProcessCallback(h, cb, ctx, out);
}
static plat_hresult unreg(plat_callback cb) { return plat_HcsUnregisterProcessCallback(cb); }
static plat_hresult close_h(void *h) { return plat_HcsCloseProcess(h); }
static const handle_ops process_ops = {"process", reg, unreg, close_h};

static hprocess *check_process(lua_State *L, int idx) {
  return (hprocess *)handle_check(L, idx, PROCESS_MT);
}

static hprocess *new_process(lua_State *L) {
  return (hprocess *)handle_new(L, sizeof(hprocess), PROCESS_MT, &process_ops);
}

static plat_hresult attach(lua_State *L, hprocess *p, plat_process h, const char *sysid,
                           uint32_t pid) {
  p->pid = pid;
  return handle_attach(L, &p->b, h, sysid);
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

int process_create(lua_State *L, plat_system sys, const char *sysid, const char *params,
                   int timeout_idx) {
  hprocess *p = new_process(L);
  plat_process h = NULL;
  plat_process_info info = {0, PLAT_NO_HANDLE, PLAT_NO_HANDLE, PLAT_NO_HANDLE};
  char *result = NULL;
  plat_hresult hr;
  bind_set_timeout(L, timeout_idx);
  hr = plat_HcsCreateProcess(sys, params, &info, &h, &result);
  /* a process made but not handed over is killed below: never on the
   * caller's expired budget */
  plat_set_timeout(-1);
  if (hr < 0) {
    if (h) plat_HcsCloseProcess(h);
    close_info(&info);
    return bind_fail(L, hr, result);
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
    return bind_fail(L, hr, NULL);
  }
  push_stdio(L, &info);
  return 4;
}

int process_open(lua_State *L, plat_system sys, const char *sysid, uint32_t pid) {
  hprocess *p = new_process(L);
  plat_process h = NULL;
  char *result = NULL;
  plat_hresult hr = plat_HcsOpenProcess(sys, pid, &h, &result);
  if (hr < 0) return bind_fail(L, hr, result);
  plat_free(result);
  hr = attach(L, p, h, sysid, pid);
  if (hr < 0) return bind_fail(L, hr, NULL);
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
  lua_pushstring(L, p->b.sysid);
  return 1;
}

/* p:_terminate() -> true | nil, hr, result */
static int m_terminate(lua_State *L) {
  hprocess *p = check_process(L, 1);
  char *result = NULL;
  plat_hresult hr = plat_HcsTerminateProcess(p->b.h, &result);
  return bind_ok_result(L, hr, result);
}

/* p:_signal(options_json) -> true | nil, hr, result */
static int m_signal(lua_State *L) {
  hprocess *p = check_process(L, 1);
  const char *options = bind_check_plain(L, 2);
  char *result = NULL;
  plat_hresult hr = plat_HcsSignalProcess(p->b.h, options, &result);
  return bind_ok_result(L, hr, result);
}

/* p:_stdio() -> stdin, stdout, stderr (fresh handles, HcsGetProcessInfo) */
static int m_stdio(lua_State *L) {
  hprocess *p = check_process(L, 1);
  plat_process_info info = {0, PLAT_NO_HANDLE, PLAT_NO_HANDLE, PLAT_NO_HANDLE};
  char *result = NULL;
  plat_hresult hr = plat_HcsGetProcessInfo(p->b.h, &info, &result);
  if (hr < 0) {
    close_info(&info);
    return bind_fail(L, hr, result);
  }
  plat_free(result);
  push_stdio(L, &info);
  return 3;
}

/* p:_properties() -> json | nil, hr, result */
static int m_properties(lua_State *L) {
  hprocess *p = check_process(L, 1);
  char *props = NULL, *result = NULL;
  plat_hresult hr = plat_HcsGetProcessProperties(p->b.h, &props, &result);
  return bind_json_result(L, hr, props, result);
}

/* p:_modify(json) -> true | nil, hr, result */
static int m_modify(lua_State *L) {
  hprocess *p = check_process(L, 1);
  const char *settings = bind_check_plain(L, 2);
  char *result = NULL;
  plat_hresult hr = plat_HcsModifyProcess(p->b.h, settings, &result);
  return bind_ok_result(L, hr, result);
}

static int m_tostring(lua_State *L) {
  hprocess *p = (hprocess *)luaL_checkudata(L, 1, PROCESS_MT);
  if (p->b.open) lua_pushfstring(L, "hcsshim.process (%d in %s)", (int)p->pid, p->b.sysid);
  else lua_pushliteral(L, "hcsshim.process (closed)");
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
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__tostring", m_tostring},
    {NULL, NULL},
};

void core_open_process(lua_State *L) {
  luaL_newmetatable(L, PROCESS_MT);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_pushvalue(L, -2);
  handle_register_common(L, PROCESS_MT);
  lua_pop(L, 1);
  lua_setfield(L, -3, "process_methods");
  lua_pop(L, 1);
}
