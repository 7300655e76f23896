/* Process calls of vmcompute.dll.  Stdio handles come back in
 * HCS_PROCESS_INFORMATION; the caller owns them (PLAT_NO_HANDLE if absent). */
#include <stdlib.h>

#include "win32/w32.h"

typedef HRESULT(WINAPI *create_fn)(HANDLE, LPCWSTR, w32_process_information *, HANDLE *, PWSTR *);
typedef HRESULT(WINAPI *open_fn)(HANDLE, DWORD, HANDLE *, PWSTR *);
typedef HRESULT(WINAPI *close_fn)(HANDLE);
typedef HRESULT(WINAPI *res_fn)(HANDLE, PWSTR *);
typedef HRESULT(WINAPI *str_res_fn)(HANDLE, LPCWSTR, PWSTR *);
typedef HRESULT(WINAPI *info_fn)(HANDLE, w32_process_information *, PWSTR *);
typedef HRESULT(WINAPI *props_fn)(HANDLE, PWSTR *, PWSTR *);

static plat_handle wrap(HANDLE h) { return h ? (plat_handle)h : PLAT_NO_HANDLE; }

static void copy_info(const w32_process_information *w, plat_process_info *info) {
  info->ProcessId = w->ProcessId;
  info->StdInput = wrap(w->StdInput);
  info->StdOutput = wrap(w->StdOutput);
  info->StdError = wrap(w->StdError);
}

static void clear_info(plat_process_info *info) {
  info->ProcessId = 0;
  info->StdInput = info->StdOutput = info->StdError = PLAT_NO_HANDLE;
}

plat_hresult plat_HcsCreateProcess(plat_system system, const char *parameters,
                                   plat_process_info *info, plat_process *process, char **result) {
  plat_hresult hr;
  WCHAR *wp;
  HANDLE h = NULL;
  PWSTR res = NULL;
  w32_process_information wi = {0, 0, NULL, NULL, NULL};
  *result = NULL;
  *process = NULL;
  clear_info(info);
  {
    W32_BIND(W32_VMCOMPUTE, create_fn, fn, "HcsCreateProcess", result);
    if (!(wp = w32_wide(parameters, "process parameters", &hr))) return w32_arg_fail(hr, result);
    hr = fn((HANDLE)system, wp, &wi, &h, &res);
  }
  free(wp);
  *result = w32_take(res);
  *process = h;
  copy_info(&wi, info); /* on failure the caller closes whatever came back */
  return hr;
}

plat_hresult plat_HcsOpenProcess(plat_system system, uint32_t pid, plat_process *process,
                                 char **result) {
  HRESULT hr;
  HANDLE h = NULL;
  PWSTR res = NULL;
  *result = NULL;
  *process = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, open_fn, fn, "HcsOpenProcess", result);
    hr = fn((HANDLE)system, (DWORD)pid, &h, &res);
  }
  *result = w32_take(res);
  *process = h;
  return (plat_hresult)hr;
}

plat_hresult plat_HcsCloseProcess(plat_process process) {
  W32_BIND(W32_VMCOMPUTE, close_fn, fn, "HcsCloseProcess", NULL);
  return (plat_hresult)fn((HANDLE)process);
}

plat_hresult plat_HcsTerminateProcess(plat_process process, char **result) {
  HRESULT hr;
  PWSTR res = NULL;
  *result = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, res_fn, fn, "HcsTerminateProcess", result);
    hr = fn((HANDLE)process, &res);
  }
  *result = w32_take(res);
  return (plat_hresult)hr;
}

static plat_hresult str_call(const char *name, plat_process process, const char *s,
                             const char *what, char **result) {
  plat_hresult hr;
  WCHAR *ws;
  PWSTR res = NULL;
  *result = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, str_res_fn, fn, name, result);
    if (!(ws = w32_wide(s, what, &hr))) return w32_arg_fail(hr, result);
    hr = fn((HANDLE)process, ws, &res);
  }
  free(ws);
  *result = w32_take(res);
  return hr;
}

plat_hresult plat_HcsSignalProcess(plat_process process, const char *options, char **result) {
  return str_call("HcsSignalProcess", process, options, "signal options", result);
}

plat_hresult plat_HcsModifyProcess(plat_process process, const char *settings, char **result) {
  return str_call("HcsModifyProcess", process, settings, "settings", result);
}

plat_hresult plat_HcsGetProcessInfo(plat_process process, plat_process_info *info, char **result) {
  HRESULT hr;
  PWSTR res = NULL;
  w32_process_information wi = {0, 0, NULL, NULL, NULL};
  *result = NULL;
  clear_info(info);
  {
    W32_BIND(W32_VMCOMPUTE, info_fn, fn, "HcsGetProcessInfo", result);
    hr = fn((HANDLE)process, &wi, &res);
  }
  *result = w32_take(res);
  copy_info(&wi, info);
  return (plat_hresult)hr;
}

plat_hresult plat_HcsGetProcessProperties(plat_process process, char **properties, char **result) {
  HRESULT hr;
  PWSTR out = NULL, res = NULL;
  *properties = NULL;
  *result = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, props_fn, fn, "HcsGetProcessProperties", result);
    hr = fn((HANDLE)process, &out, &res);
  }
  *properties = w32_take(out);
  *result = w32_take(res);
  return (plat_hresult)hr;
}

plat_hresult plat_HcsRegisterProcessCallback(plat_process process, plat_notification_cb cb,
                                             void *context, plat_callback *callback) {
  return w32_register("HcsRegisterProcessCallback", (HANDLE)process, cb, context, callback, 1);
}

plat_hresult plat_HcsUnregisterProcessCallback(plat_callback callback) {
  return w32_unregister("HcsUnregisterProcessCallback", callback);
}
