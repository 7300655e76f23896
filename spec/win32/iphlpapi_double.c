/* Test code only: an iphlpapi.dll double exporting the two network
 * compartment calls, because Wine's iphlpapi has no
 * SetCurrentThreadCompartmentId.  scripts/run-win32-tests.sh installs it in
 * the prefix's System32 and selects it for lua.exe alone (a per-application
 * DllOverride), so every other Wine process keeps the builtin iphlpapi.
 * Compartment 0 (NET_IF_COMPARTMENT_ID_UNSPECIFIED) and ids above 0xFFFF are
 * refused with ERROR_INVALID_PARAMETER, a Win32 status as the real call. */
#include <windows.h>

static ULONG current = 1;

__declspec(dllexport) DWORD WINAPI SetCurrentThreadCompartmentId(ULONG id);
__declspec(dllexport) ULONG WINAPI GetCurrentThreadCompartmentId(void);

DWORD WINAPI SetCurrentThreadCompartmentId(ULONG id) {
  if (id == 0 || id > 0xFFFF) return ERROR_INVALID_PARAMETER;
  current = id;
  return NO_ERROR;
}

ULONG WINAPI GetCurrentThreadCompartmentId(void) { return current; }
