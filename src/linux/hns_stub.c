/* HNS placeholder until the CNI-backed HNS lands (delete this file then). */
#include "hcs_internal.h"

plat_hresult plat_HNSCall(const char *method, const char *path, const char *request, char **response) {
  (void)method;
  (void)path;
  (void)request;
  return hl_fail(response, PLAT_E_NOTIMPL, "HNS is not implemented on Linux yet");
}
