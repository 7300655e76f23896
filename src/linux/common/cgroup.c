/* Files of a cgroup on either layout of /sys/fs/cgroup: the unified v2
 * tree (one directory per cgroup) or v1/hybrid (one tree per controller).
 * The library (statistics, teardown) and the monitor (the shutdown's TERM
 * rounds, which process died of the OOM killer) both name a file by its v1
 * controller and let this decide.  Plain files, libc only. */
#include "linux/common/common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#define CGROUP2_MAGIC 0x63677270 /* linux/magic.h: CGROUP2_SUPER_MAGIC */

int cmn_cgroup_v2(void) {
  /* 0: not known yet, 1: v1 or hybrid, 2: unified; the layout cannot
   * change under a running system, so one look serves the process */
  static int layout;
  int l = __atomic_load_n(&layout, __ATOMIC_RELAXED);
  if (!l) {
    struct statfs sf;
    l = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_MAGIC ? 2 : 1;
    __atomic_store_n(&layout, l, __ATOMIC_RELAXED);
  }
  return l == 2;
}

char *cmn_cgroup_path(const char *ctl, const char *cg, const char *file) {
  const char *rel = cg[0] == '/' ? cg + 1 : cg;
  if (cmn_cgroup_v2()) return cmn_printf("/sys/fs/cgroup/%s/%s", rel, file);
  return cmn_printf("/sys/fs/cgroup/%s/%s/%s", ctl, rel, file);
}

char *cmn_cgroup_read(const char *ctl, const char *cg, const char *file) {
  char *p = cmn_cgroup_path(ctl, cg, file), *text;
  int e;
  if (!p) return NULL;
  text = cmn_read_file(p, NULL);
  e = errno;
  free(p);
  errno = e;
  return text;
}

int64_t cmn_keyed_value(const char *text, const char *key) {
  size_t kl = strlen(key);
  for (const char *l = text; l && *l;) {
    if (strncmp(l, key, kl) == 0 && l[kl] == ' ') return strtoll(l + kl + 1, NULL, 10);
    l = strchr(l, '\n');
    if (l) l++;
  }
  return -1;
}

int64_t cmn_cgroup_oom_kills(const char *cgpath) {
  /* v1: memory.oom_control (kernel 4.13+); v2: memory.events */
  char *text =
      cmn_cgroup_read("memory", cgpath, cmn_cgroup_v2() ? "memory.events" : "memory.oom_control");
  int64_t v = text ? cmn_keyed_value(text, "oom_kill") : -1;
  free(text);
  return v;
}

int cmn_signal_listed(char *procs, int sig, int then, pid_t skip) {
  int n = 0;
  for (char *s = procs, *tok; s && (tok = strsep(&s, "\n"));) {
    pid_t p = (pid_t)atoi(tok);
    if (p <= 0 || p == skip) continue;
    n++;
    if (sig) kill(p, sig);
    if (then) kill(p, then);
  }
  return n;
}
