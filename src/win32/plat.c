/* Small OS services the core needs from Windows: memory, randomness, stdio
 * handles, a monotonic clock and the SRWLOCK/CONDITION_VARIABLE pair behind
 * notification queues.
 *
 * Memory rule: every string the seam hands upwards is our own UTF-8 copy
 * made with malloc, so plat_free is free().  The callee-allocated UTF-16
 * originals are freed with CoTaskMemFree inside this backend, once, right
 * after conversion (w32_take). */
#include <stdlib.h>

#include "win32/w32.h"

#include <bcrypt.h>

void plat_free(void *p) { free(p); }

/* vmcompute.dll and friends stay loaded for the life of the process, as
 * hcsshim's lazy DLLs do. */
void plat_shutdown(void) {}

/* vmcompute returns HCS_E_OPERATION_PENDING and the wait has the timeout */
void plat_set_timeout(double seconds) { (void)seconds; }

void plat_handle_close(plat_handle h) {
  if (h != PLAT_NO_HANDLE && h != 0) CloseHandle((HANDLE)h);
}

int plat_random(void *buf, size_t n) {
  NTSTATUS st;
  if (n > 0xFFFFFFFFu) return -1;
  st = BCryptGenRandom(NULL, (PUCHAR)buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  return st >= 0 ? 0 : -1;
}

double plat_monotime(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (double)now.QuadPart / (double)freq.QuadPart;
}

struct plat_lock {
  SRWLOCK mu;
  CONDITION_VARIABLE cv;
};

plat_lock *plat_lock_new(void) {
  plat_lock *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  InitializeSRWLock(&l->mu);
  InitializeConditionVariable(&l->cv);
  return l;
}

void plat_lock_free(plat_lock *l) { free(l); }
void plat_lock_enter(plat_lock *l) { AcquireSRWLockExclusive(&l->mu); }
void plat_lock_leave(plat_lock *l) { ReleaseSRWLockExclusive(&l->mu); }
void plat_lock_signal(plat_lock *l) { WakeAllConditionVariable(&l->cv); }

int plat_lock_wait(plat_lock *l, double timeout) {
  DWORD ms;
  if (timeout < 0) {
    ms = INFINITE;
  } else {
    double m = timeout * 1000.0 + 0.999;
    ms = m >= 4294967294.0 ? 4294967294u : (DWORD)m;
  }
  if (SleepConditionVariableSRW(&l->cv, &l->mu, ms, 0)) return 0;
  return GetLastError() == ERROR_TIMEOUT ? 1 : 0;
}

/* No descriptor to poll on Windows: event loops call wait(0). */
intptr_t plat_lock_pollfd(plat_lock *l) {
  (void)l;
  return -1;
}

void plat_lock_drain(plat_lock *l) { (void)l; }

/* vmcompute has no service options (the Linux service's RuntimeRoot, ...). */
plat_hresult plat_set_option(const char *name, const char *value) {
  (void)name;
  (void)value;
  w32_set_error("service options are not supported on Windows (vmcompute has none)");
  return PLAT_E_NOT_SUPPORTED;
}
