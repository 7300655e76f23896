/* Compute-system calls of vmcompute.dll (HCS v1) and the notification
 * callback trampoline.  Strings cross as UTF-16; every callee-allocated
 * string is converted and freed with CoTaskMemFree exactly once. */
#include <stdlib.h>
#include <string.h>

#include "win32/w32.h"

typedef HRESULT(WINAPI *str_str_res_fn)(LPCWSTR, PWSTR *, PWSTR *);
typedef HRESULT(WINAPI *create_fn)(LPCWSTR, LPCWSTR, HANDLE, HANDLE *, PWSTR *);
typedef HRESULT(WINAPI *open_fn)(LPCWSTR, HANDLE *, PWSTR *);
typedef HRESULT(WINAPI *close_fn)(HANDLE);
typedef HRESULT(WINAPI *op_fn)(HANDLE, LPCWSTR, PWSTR *);
typedef HRESULT(WINAPI *props_fn)(HANDLE, LPCWSTR, PWSTR *, PWSTR *);
typedef HRESULT(WINAPI *str_res_fn)(LPCWSTR, PWSTR *);
typedef void(CALLBACK *hcs_cb_fn)(DWORD, void *, HRESULT, PCWSTR);
typedef HRESULT(WINAPI *register_fn)(HANDLE, hcs_cb_fn, void *, HANDLE *);
typedef HRESULT(WINAPI *unregister_fn)(HANDLE);

static void init_out(char **a, char **b) {
  if (a) *a = NULL;
  if (b) *b = NULL;
}

/* Converts the callee's result (and optional second out-string). */
static plat_hresult finish(HRESULT hr, PWSTR out, char **out8, PWSTR res, char **res8) {
  if (out8) *out8 = w32_take(out);
  else w32_cotask_free(out);
  if (res8) *res8 = w32_take(res);
  else w32_cotask_free(res);
  return (plat_hresult)hr;
}

plat_hresult plat_HcsEnumerateComputeSystems(const char *query, char **systems, char **result) {
  plat_hresult hr;
  WCHAR *wq;
  PWSTR out = NULL, res = NULL;
  init_out(systems, result);
  {
    W32_BIND(W32_VMCOMPUTE, str_str_res_fn, fn, "HcsEnumerateComputeSystems", result);
    if (!(wq = w32_wide(query, "query", &hr))) return w32_arg_fail(hr, result);
    hr = fn(wq, &out, &res);
  }
  free(wq);
  return finish(hr, out, systems, res, result);
}

plat_hresult plat_HcsGetServiceProperties(const char *query, char **properties, char **result) {
  plat_hresult hr;
  WCHAR *wq;
  PWSTR out = NULL, res = NULL;
  init_out(properties, result);
  {
    W32_BIND(W32_VMCOMPUTE, str_str_res_fn, fn, "HcsGetServiceProperties", result);
    if (!(wq = w32_wide(query, "property query", &hr))) return w32_arg_fail(hr, result);
    hr = fn(wq, &out, &res);
  }
  free(wq);
  return finish(hr, out, properties, res, result);
}

plat_hresult plat_HcsModifyServiceSettings(const char *settings, char **result) {
  plat_hresult hr;
  WCHAR *ws;
  PWSTR res = NULL;
  init_out(result, NULL);
  {
    W32_BIND(W32_VMCOMPUTE, str_res_fn, fn, "HcsModifyServiceSettings", result);
    if (!(ws = w32_wide(settings, "settings", &hr))) return w32_arg_fail(hr, result);
    hr = fn(ws, &res);
  }
  free(ws);
  return finish(hr, NULL, NULL, res, result);
}

plat_hresult plat_HcsCreateComputeSystem(const char *id, const char *configuration,
                                         plat_system *system, char **result) {
  plat_hresult hr;
  WCHAR *wid, *wcfg;
  HANDLE h = NULL;
  PWSTR res = NULL;
  init_out(result, NULL);
  *system = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, create_fn, fn, "HcsCreateComputeSystem", result);
    if (!(wid = w32_wide(id, "compute system id", &hr))) return w32_arg_fail(hr, result);
    if (!(wcfg = w32_wide(configuration, "configuration", &hr))) {
      free(wid);
      return w32_arg_fail(hr, result);
    }
    hr = fn(wid, wcfg, NULL, &h, &res);
  }
  free(wid);
  free(wcfg);
  *system = h;
  return finish(hr, NULL, NULL, res, result);
}

plat_hresult plat_HcsOpenComputeSystem(const char *id, plat_system *system, char **result) {
  plat_hresult hr;
  WCHAR *wid;
  HANDLE h = NULL;
  PWSTR res = NULL;
  init_out(result, NULL);
  *system = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, open_fn, fn, "HcsOpenComputeSystem", result);
    if (!(wid = w32_wide(id, "compute system id", &hr))) return w32_arg_fail(hr, result);
    hr = fn(wid, &h, &res);
  }
  free(wid);
  *system = h;
  return finish(hr, NULL, NULL, res, result);
}

plat_hresult plat_HcsCloseComputeSystem(plat_system system) {
  W32_BIND(W32_VMCOMPUTE, close_fn, fn, "HcsCloseComputeSystem", NULL);
  return (plat_hresult)fn((HANDLE)system);
}

static plat_hresult op(const char *name, plat_system system, const char *options, char **result) {
  plat_hresult hr;
  WCHAR *wo;
  PWSTR res = NULL;
  init_out(result, NULL);
  {
    W32_BIND(W32_VMCOMPUTE, op_fn, fn, name, result);
    /* options are always L"" (never NULL) in every hcsshim version */
    if (!(wo = w32_wide(options ? options : "", "options", &hr))) return w32_arg_fail(hr, result);
    hr = fn((HANDLE)system, wo, &res);
  }
  free(wo);
  return finish(hr, NULL, NULL, res, result);
}

plat_hresult plat_HcsStartComputeSystem(plat_system s, const char *o, char **r) {
  return op("HcsStartComputeSystem", s, o, r);
}
plat_hresult plat_HcsShutdownComputeSystem(plat_system s, const char *o, char **r) {
  return op("HcsShutdownComputeSystem", s, o, r);
}
plat_hresult plat_HcsTerminateComputeSystem(plat_system s, const char *o, char **r) {
  return op("HcsTerminateComputeSystem", s, o, r);
}
plat_hresult plat_HcsPauseComputeSystem(plat_system s, const char *o, char **r) {
  return op("HcsPauseComputeSystem", s, o, r);
}
plat_hresult plat_HcsResumeComputeSystem(plat_system s, const char *o, char **r) {
  return op("HcsResumeComputeSystem", s, o, r);
}
plat_hresult plat_HcsModifyComputeSystem(plat_system s, const char *c, char **r) {
  return op("HcsModifyComputeSystem", s, c, r);
}

plat_hresult plat_HcsGetComputeSystemProperties(plat_system system, const char *query,
                                                char **properties, char **result) {
  plat_hresult hr;
  WCHAR *wq;
  PWSTR out = NULL, res = NULL;
  init_out(properties, result);
  {
    W32_BIND(W32_VMCOMPUTE, props_fn, fn, "HcsGetComputeSystemProperties", result);
    if (!(wq = w32_wide(query, "property query", &hr))) return w32_arg_fail(hr, result);
    hr = fn((HANDLE)system, wq, &out, &res);
  }
  free(wq);
  return finish(hr, out, properties, res, result);
}

/* ---- notifications ---- */

/* The context vmcompute holds is an integer key, never a pointer (as
 * hcsshim's callbackNumber): the trampoline looks the key up under a lock
 * that lives as long as the process, so a late callback (after a failed
 * unregister, or after lua_close released the module) finds nothing and
 * is dropped.  The DLL is pinned at the first registration, so that the
 * trampoline's code is still there for such a call. */
typedef struct w32_reg {
  uintptr_t key; /* 0 = free slot */
  plat_notification_cb cb;
  void *context;
  HANDLE hcs;
} w32_reg;

static SRWLOCK reg_lock = SRWLOCK_INIT;
static w32_reg *regs;
static size_t nregs;
static uintptr_t next_key = 1;

/* Called with reg_lock held. */
static w32_reg *reg_find(uintptr_t key) {
  size_t i;
  for (i = 0; i < nregs; i++)
    if (regs[i].key == key) return &regs[i];
  return NULL;
}

static void CALLBACK trampoline(DWORD type, void *context, HRESULT status, PCWSTR data) {
  w32_reg *r;
  AcquireSRWLockShared(&reg_lock);
  /* held across the call: unregistering waits for it (exclusive) */
  r = reg_find((uintptr_t)context);
  if (r) {
    char *d = data ? w32_utf8(data) : NULL; /* data belongs to vmcompute */
    r->cb((uint32_t)type, r->context, (plat_hresult)status, d);
    free(d);
  }
  ReleaseSRWLockShared(&reg_lock);
}

static void pin_module(void) {
  static LONG pinned;
  HMODULE self;
  if (InterlockedCompareExchange(&pinned, 1, 0) != 0) return;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                     (LPCWSTR)(void *)&reg_lock, &self); /* any address in this DLL */
}

/* A new slot with a fresh key; 0 on memory failure. */
static uintptr_t reg_add(plat_notification_cb cb, void *context) {
  w32_reg *r;
  uintptr_t key = 0;
  AcquireSRWLockExclusive(&reg_lock);
  r = reg_find(0);
  if (!r) {
    size_t n = nregs ? nregs * 2 : 16;
    w32_reg *grown = realloc(regs, n * sizeof *grown);
    if (grown) {
      memset(grown + nregs, 0, (n - nregs) * sizeof *grown);
      regs = grown;
      r = &regs[nregs];
      nregs = n;
    }
  }
  if (r) {
    key = next_key++;
    r->key = key;
    r->cb = cb;
    r->context = context;
    r->hcs = NULL;
  }
  ReleaseSRWLockExclusive(&reg_lock);
  return key;
}

static void reg_remove(uintptr_t key) {
  w32_reg *r;
  AcquireSRWLockExclusive(&reg_lock);
  r = reg_find(key);
  if (r) memset(r, 0, sizeof *r);
  ReleaseSRWLockExclusive(&reg_lock);
}

plat_hresult w32_register(const char *name, HANDLE h, plat_notification_cb cb, void *context,
                          plat_callback *callback, int process) {
  uintptr_t key;
  HANDLE hcs = NULL;
  HRESULT hr;
  (void)process;
  *callback = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, register_fn, fn, name, NULL);
    if (!cb) return PLAT_E_INVALIDARG;
    pin_module();
    if ((key = reg_add(cb, context)) == 0) return PLAT_E_OUTOFMEMORY;
    hr = fn(h, trampoline, (void *)key, &hcs);
  }
  if (FAILED(hr)) {
    reg_remove(key);
    return (plat_hresult)hr;
  }
  AcquireSRWLockExclusive(&reg_lock);
  reg_find(key)->hcs = hcs;
  ReleaseSRWLockExclusive(&reg_lock);
  *callback = (plat_callback)key;
  return PLAT_S_OK;
}

plat_hresult w32_unregister(const char *name, plat_callback callback) {
  uintptr_t key = (uintptr_t)callback;
  w32_reg *r;
  HANDLE hcs;
  HRESULT hr;
  if (!key) return PLAT_E_INVALID_HANDLE;
  AcquireSRWLockShared(&reg_lock);
  r = reg_find(key);
  hcs = r ? r->hcs : NULL;
  ReleaseSRWLockShared(&reg_lock);
  if (!r) return PLAT_E_INVALID_HANDLE;
  {
    W32_BIND(W32_VMCOMPUTE, unregister_fn, fn, name, NULL);
    hr = fn(hcs); /* blocks until an in-flight callback has returned */
  }
  /* Forgotten whatever HCS answered: after a failed unregister HCS may still
   * call back with this key, which then finds nothing. */
  reg_remove(key);
  return (plat_hresult)hr;
}

plat_hresult plat_HcsRegisterComputeSystemCallback(plat_system system, plat_notification_cb cb,
                                                   void *context, plat_callback *callback) {
  return w32_register("HcsRegisterComputeSystemCallback", (HANDLE)system, cb, context, callback, 0);
}

plat_hresult plat_HcsUnregisterComputeSystemCallback(plat_callback callback) {
  return w32_unregister("HcsUnregisterComputeSystemCallback", callback);
}
