/* Lazy binding of vmcompute.dll, ole32.dll and iphlpapi.dll.  Each DLL is
 * loaded from System32 only (LoadLibraryExW + LOAD_LIBRARY_SEARCH_SYSTEM32),
 * on first use.  Each export is resolved once and cached; a missing export
 * is not an error at load: calling that function returns a not-supported
 * error naming it (older Windows builds lack some exports). */
#include <stdio.h>
#include <string.h>

#include "win32/w32.h"

static const WCHAR *const dll_names[W32_NDLLS] = {L"vmcompute.dll", L"ole32.dll", L"iphlpapi.dll"};
static const char *const dll_names_a[W32_NDLLS] = {"vmcompute.dll", "ole32.dll", "iphlpapi.dll"};

typedef struct entry {
  w32_dll dll;
  const char *name;
  int state; /* 0 unresolved, 1 bound, 2 missing */
  FARPROC proc;
  char why[200];
} entry;

#define V(n) \
  { W32_VMCOMPUTE, n, 0, NULL, "" }
static entry entries[] = {
    V("HcsEnumerateComputeSystems"),
    V("HcsCreateComputeSystem"),
    V("HcsOpenComputeSystem"),
    V("HcsCloseComputeSystem"),
    V("HcsStartComputeSystem"),
    V("HcsShutdownComputeSystem"),
    V("HcsTerminateComputeSystem"),
    V("HcsPauseComputeSystem"),
    V("HcsResumeComputeSystem"),
    V("HcsGetComputeSystemProperties"),
    V("HcsModifyComputeSystem"),
    V("HcsRegisterComputeSystemCallback"),
    V("HcsUnregisterComputeSystemCallback"),
    V("HcsCreateProcess"),
    V("HcsOpenProcess"),
    V("HcsCloseProcess"),
    V("HcsTerminateProcess"),
    V("HcsSignalProcess"),
    V("HcsGetProcessInfo"),
    V("HcsGetProcessProperties"),
    V("HcsModifyProcess"),
    V("HcsGetServiceProperties"),
    V("HcsRegisterProcessCallback"),
    V("HcsUnregisterProcessCallback"),
    V("HcsModifyServiceSettings"),
    V("HNSCall"),
    V("ActivateLayer"),
    V("CopyLayer"),
    V("CreateLayer"),
    V("CreateSandboxLayer"),
    V("ExpandSandboxSize"),
    V("DeactivateLayer"),
    V("DestroyLayer"),
    V("ExportLayer"),
    V("ImportLayer"),
    V("GetLayerMountPath"),
    V("GetBaseImages"),
    V("LayerExists"),
    V("NameToGuid"),
    V("PrepareLayer"),
    V("UnprepareLayer"),
    V("ProcessBaseImage"),
    V("ProcessUtilityImage"),
    {W32_OLE32, "CoTaskMemFree", 0, NULL, ""},
    {W32_IPHLPAPI, "SetCurrentThreadCompartmentId", 0, NULL, ""},
};
#undef V

static SRWLOCK lock = SRWLOCK_INIT;
static HMODULE modules[W32_NDLLS];
static DWORD module_error[W32_NDLLS]; /* 0 = not tried or loaded */

static entry *find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof entries / sizeof entries[0]; i++)
    if (strcmp(entries[i].name, name) == 0) return &entries[i];
  return NULL;
}

static void format_win32(DWORD code, char *out, size_t n) {
  WCHAR buf[256];
  DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             0, buf, (DWORD)(sizeof buf / sizeof buf[0]), NULL);
  while (len > 0 && (buf[len - 1] == L'\r' || buf[len - 1] == L'\n' || buf[len - 1] == L' ')) len--;
  buf[len] = 0;
  if (len == 0 || WideCharToMultiByte(CP_UTF8, 0, buf, -1, out, (int)n, NULL, NULL) == 0)
    snprintf(out, n, "Win32 error %lu", (unsigned long)code);
}

/* Called with the lock held exclusively. */
static void resolve(entry *e) {
  if (e->state != 0) return;
  if (!modules[e->dll] && module_error[e->dll] == 0) {
    modules[e->dll] = LoadLibraryExW(dll_names[e->dll], NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!modules[e->dll])
      module_error[e->dll] = GetLastError() ? GetLastError() : ERROR_MOD_NOT_FOUND;
  }
  if (!modules[e->dll]) {
    char why[160];
    format_win32(module_error[e->dll], why, sizeof why);
    snprintf(e->why, sizeof e->why, "%s is not supported on this system: %s cannot be loaded (%s)",
             e->name, dll_names_a[e->dll], why);
    e->state = 2;
    return;
  }
  e->proc = GetProcAddress(modules[e->dll], e->name);
  if (e->proc) {
    e->state = 1;
  } else {
    snprintf(e->why, sizeof e->why,
             "%s is not supported on this system: %s has no export %s (procedure not found)",
             e->name, dll_names_a[e->dll], e->name);
    e->state = 2;
  }
}

static entry *lookup(const char *name) {
  entry *e = find(name);
  int state;
  if (!e) return NULL;
  AcquireSRWLockShared(&lock);
  state = e->state;
  ReleaseSRWLockShared(&lock);
  if (state == 0) {
    AcquireSRWLockExclusive(&lock);
    resolve(e);
    ReleaseSRWLockExclusive(&lock);
  }
  return e;
}

FARPROC w32_proc(w32_dll dll, const char *name) {
  entry *e = lookup(name);
  (void)dll;
  if (!e || e->state != 1) return NULL;
  return e->proc;
}

const char *plat_unavailable(const char *function) {
  entry *e = lookup(function);
  if (!e) return "unknown function";
  return e->state == 1 ? NULL : e->why;
}

plat_hresult w32_missing(const char *name, char **result) {
  const char *why = plat_unavailable(name);
  if (!why) why = "not supported on this system";
  w32_set_error(why);
  if (result) *result = w32_result_doc(PLAT_E_PROC_NOT_FOUND, why);
  return PLAT_E_PROC_NOT_FOUND;
}

typedef void(WINAPI *cotaskmemfree_fn)(void *);

void w32_cotask_free(void *p) {
  cotaskmemfree_fn f;
  if (!p) return;
  f = (cotaskmemfree_fn)(void (*)(void))w32_proc(W32_OLE32, "CoTaskMemFree");
  if (f) f(p); /* without ole32 nothing could have allocated p */
}
