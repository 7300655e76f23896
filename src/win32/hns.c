/* HNS through vmcompute!HNSCall, and iphlpapi's network compartments. */
#include <stdlib.h>

#include "win32/w32.h"

typedef HRESULT(WINAPI *hns_fn)(LPCWSTR, LPCWSTR, LPCWSTR, PWSTR *);
typedef DWORD(WINAPI *compartment_fn)(ULONG);

plat_hresult plat_HNSCall(const char *method, const char *path, const char *request,
                          char **response) {
  WCHAR *wm = NULL, *wp = NULL, *wr = NULL;
  PWSTR out = NULL;
  plat_hresult hr;
  *response = NULL;
  {
    W32_BIND(W32_VMCOMPUTE, hns_fn, fn, "HNSCall", response);
    /* no body is L"", never NULL */
    if ((wm = w32_wide(method, "HNS method", &hr)) && (wp = w32_wide(path, "HNS path", &hr)) &&
        (wr = w32_wide(request ? request : "", "HNS request", &hr)))
      hr = (plat_hresult)fn(wm, wp, wr, &out);
  }
  free(wm);
  free(wp);
  free(wr);
  *response = w32_take(out);
  if (hr < 0 && !*response) {
    if (hr != PLAT_E_INVALIDARG || !plat_last_error()) w32_set_error_hr(hr);
    if (plat_last_error()) *response = w32_result_doc(hr, plat_last_error());
  }
  return hr;
}

/* Returns a Win32 status (NO_ERROR = 0); made an HRESULT here. */
plat_hresult plat_SetCurrentThreadCompartmentId(uint32_t compartment) {
  DWORD st;
  W32_BIND(W32_IPHLPAPI, compartment_fn, fn, "SetCurrentThreadCompartmentId", NULL);
  st = fn((ULONG)compartment);
  if (st == 0) return PLAT_S_OK;
  if ((int32_t)st < 0) return (plat_hresult)st;
  return (plat_hresult)HRESULT_FROM_WIN32(st);
}
