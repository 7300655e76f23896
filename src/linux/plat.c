/* Small OS services the core needs from Linux: memory, randomness, stdio
 * handles and the lock/condition/eventfd trio behind notification queues. */
#include "platform.h"
#include "linux/common/common.h"
#include "linux/layers/layers.h"
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void plat_free(void *p) { free(p); }

plat_hresult plat_set_option(const char *name, const char *value) {
  static const char *const names[][2] = {{"RuntimeRoot", "HCSSHIM_RUNTIME_ROOT"},
                                         {"DataRoot", "HCSSHIM_DATA_ROOT"},
                                         {"CgroupParent", "HCSSHIM_CGROUP_PARENT"},
                                         {"SeccompProfile", "HCSSHIM_SECCOMP_PROFILE"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i][0]) != 0) continue;
    /* the profile is read at each create: it moves no state */
    if (cmn_settings_frozen() && i < 3) return PLAT_HCS_E_INVALID_STATE;
    if (!value || (value[0] != '/' && strcmp(value, "unconfined"))) return PLAT_E_INVALIDARG;
    return setenv(names[i][1], value, 1) == 0 ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
  }
  return PLAT_E_NOT_SUPPORTED;
}

void plat_shutdown(void) { hns_db_close(); }

const char *plat_last_error(void) {
  const char *m = lay_last_error();
  return (m && *m) ? m : NULL;
}

const char *plat_unavailable(const char *function) {
  (void)function;
  return NULL;
}

FILE *plat_handle_fdopen(plat_handle h, const char *mode) {
  FILE *f = fdopen((int)h, mode);
  if (f) setvbuf(f, NULL, _IOFBF, 65536);
  return f;
}

void plat_handle_close(plat_handle h) {
  if (h != PLAT_NO_HANDLE) close((int)h);
}

int plat_random(void *buf, size_t n) { return cmn_random(buf, n) < 0 ? -1 : 0; }

double plat_monotime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct plat_lock {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int efd;
};

plat_lock *plat_lock_new(void) {
  plat_lock *l = calloc(1, sizeof *l);
  pthread_condattr_t ca;
  if (!l) return NULL;
  l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->efd < 0) {
    free(l);
    return NULL;
  }
  pthread_mutex_init(&l->mu, NULL);
  /* waits measure their timeout on the monotonic clock, so a wall-clock
   * step never stretches or cuts a wait */
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&l->cv, &ca);
  pthread_condattr_destroy(&ca);
  return l;
}

void plat_lock_free(plat_lock *l) {
  if (!l) return;
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  close(l->efd);
  free(l);
}

void plat_lock_enter(plat_lock *l) { pthread_mutex_lock(&l->mu); }
void plat_lock_leave(plat_lock *l) { pthread_mutex_unlock(&l->mu); }

void plat_lock_signal(plat_lock *l) {
  uint64_t one = 1;
  pthread_cond_broadcast(&l->cv);
  if (write(l->efd, &one, sizeof one) < 0) { /* counter saturated: still readable */
  }
}

int plat_lock_wait(plat_lock *l, double timeout) {
  struct timespec ts;
  double deadline;
  if (timeout < 0) {
    pthread_cond_wait(&l->cv, &l->mu);
    return 0;
  }
  clock_gettime(CLOCK_MONOTONIC, &ts);
  deadline = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + timeout;
  ts.tv_sec = (time_t)deadline;
  ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT ? 1 : 0;
}

intptr_t plat_lock_pollfd(plat_lock *l) { return l->efd; }

void plat_lock_drain(plat_lock *l) {
  uint64_t v;
  if (read(l->efd, &v, sizeof v) < 0) { /* nothing pending */
  }
}
