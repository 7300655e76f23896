/* Strings, the runtime root and the other process-wide settings, ids. */
#include "linux/common/common.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

char *cmn_printf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

char *cmn_path(const char *dir, const char *name) { return cmn_printf("%s/%s", dir, name); }

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

/* Read once: environment changes after the first call must not move the
 * state of live systems under our feet. */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char env_root[PATH_MAX], env_cg[PATH_MAX], env_crun[PATH_MAX];
static void env_init(void) {
  snprintf(env_root, sizeof env_root, "%s", env_or("HCSSHIM_RUNTIME_ROOT", "/run/hcsshim"));
  snprintf(env_cg, sizeof env_cg, "%s", env_or("HCSSHIM_CGROUP_PARENT", "/hcsshim"));
  snprintf(env_crun, sizeof env_crun, "%s", env_or("HCSSHIM_CRUN", "crun"));
}

static int env_read; /* set once env_init ran: settings are frozen then */
static void env_init_mark(void) {
  env_init();
  env_read = 1;
}

int cmn_settings_frozen(void) { return env_read; }

const char *cmn_runtime_root(void) {
  pthread_once(&env_once, env_init_mark);
  return env_root;
}
const char *cmn_cgroup_parent(void) {
  pthread_once(&env_once, env_init_mark);
  return env_cg;
}
const char *cmn_crun(void) {
  pthread_once(&env_once, env_init_mark);
  return env_crun;
}

char *cmn_systems_dir(void) { return cmn_path(cmn_runtime_root(), "systems"); }
char *cmn_sysdir(const char *id) { return cmn_printf("%s/systems/%s", cmn_runtime_root(), id); }

int cmn_ensure_root(char **errmsg) {
  const char *r = cmn_runtime_root();
  char *a = cmn_path(r, "crun"), *b = cmn_systems_dir();
  int rc = !a || !b ? -ENOMEM : cmn_mkdir_p(r, 0700);
  if (rc == 0) rc = cmn_mkdir_p(a, 0700);
  if (rc == 0) rc = cmn_mkdir_p(b, 0700);
  if (rc < 0 && errmsg)
    *errmsg = cmn_printf("cannot create runtime root `%s`: %s", r, strerror(-rc));
  free(a);
  free(b);
  return rc;
}

int cmn_valid_id(const char *what, const char *id, char *why, size_t whylen) {
  size_t n;
  if (!id) {
    snprintf(why, whylen, "%s: missing", what);
    return -EINVAL;
  }
  n = strlen(id);
  if (n == 0 || n > 128) {
    snprintf(why, whylen, "%s `%s`: must be 1 to 128 characters", what, id);
    return -EINVAL;
  }
  if (id[0] == '.') {
    snprintf(why, whylen, "%s `%s`: must not start with '.'", what, id);
    return -EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '.' || ch == '-')) {
      snprintf(why, whylen, "%s `%s`: invalid character at offset %zu (allowed: A-Z a-z 0-9 _ . -)",
               what, id, i);
      return -EINVAL;
    }
  }
  return 0;
}

void cmn_rfc3339(char *buf, size_t n, int64_t sec, long nsec) {
  struct tm tm;
  time_t t = (time_t)sec;
  char base[40];
  gmtime_r(&t, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  /* 7 fractional digits: the 100 ns resolution HCS itself reports */
  snprintf(buf, n, "%s.%07ldZ", base, nsec / 100);
}

char *cmn_program_path(const char *name, const char *env) {
  const char *e = getenv(env);
  Dl_info info;
  char buf[PATH_MAX];
  if (e && *e) return realpath(e, buf) ? strdup(buf) : strdup(e);
  if (dladdr((void *)(uintptr_t)&cmn_program_path, &info) && info.dli_fname) {
    char out[PATH_MAX + 64];
    if (!realpath(info.dli_fname, buf)) snprintf(buf, sizeof buf, "%s", info.dli_fname);
    snprintf(out, sizeof out, "%s/%s", dirname(buf), name);
    return strdup(out);
  }
  return strdup(name);
}

int cmn_random(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}
