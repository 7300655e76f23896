/* Process token privileges.  Layer import, export and destroy need
 * SeBackupPrivilege and SeRestorePrivilege, which an elevated token holds
 * but has switched off; go-winio's EnableProcessPrivileges switches them on
 * for the whole process, as hcsshim's wclayer tool does first. */
#include <stdlib.h>

#include "win32/w32.h"

plat_hresult plat_EnableProcessPrivileges(const char *const *names, size_t count) {
  HANDLE tok;
  TOKEN_PRIVILEGES *tp;
  plat_hresult hr = PLAT_S_OK;
  size_t i;
  if (count == 0) return PLAT_S_OK;
  if (count > 64) return PLAT_E_INVALIDARG;
  tp = calloc(1, sizeof *tp + count * sizeof tp->Privileges[0]);
  if (!tp) return PLAT_E_OUTOFMEMORY;
  tp->PrivilegeCount = (DWORD)count;
  for (i = 0; i < count && hr >= 0; i++) {
    WCHAR *w = w32_wide(names[i], "privilege name", &hr);
    if (!w) break;
    if (!LookupPrivilegeValueW(NULL, w, &tp->Privileges[i].Luid)) {
      hr = (plat_hresult)HRESULT_FROM_WIN32(GetLastError());
      w32_set_error_hr(hr);
    }
    tp->Privileges[i].Attributes = SE_PRIVILEGE_ENABLED;
    free(w);
  }
  if (hr >= 0 &&
      !OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok)) {
    hr = (plat_hresult)HRESULT_FROM_WIN32(GetLastError());
    w32_set_error_hr(hr);
  } else if (hr >= 0) {
    /* succeeds with ERROR_NOT_ALL_ASSIGNED when the token lacks one */
    if (!AdjustTokenPrivileges(tok, FALSE, tp, 0, NULL, NULL) ||
        GetLastError() == ERROR_NOT_ALL_ASSIGNED) {
      hr = (plat_hresult)HRESULT_FROM_WIN32(GetLastError());
      w32_set_error_hr(hr);
    } else {
      w32_set_error(NULL);
    }
    CloseHandle(tok);
  }
  free(tp);
  return hr;
}
