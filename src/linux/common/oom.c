/* The OOM kill counter of a cgroup: the one reader of it, for the monitor
 * (which process died of it) and for statistics.  Plain files under
 * /sys/fs/cgroup, so the monitor can use it with libc only. */
#include "linux/common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  /* v1 (memory.oom_control, kernel 4.13+) and v2 (memory.events) */
  static const char *const files[][2] = {{"memory/", "memory.oom_control"}, {"", "memory.events"}};
  const char *cg = cgpath[0] == '/' ? cgpath + 1 : cgpath;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[4400], *text;
    int64_t v;
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s%s/%s", files[i][0], cg, files[i][1]);
    text = cmn_read_file(p, NULL);
    v = text ? cmn_keyed_value(text, "oom_kill") : -1;
    free(text);
    if (v >= 0) return v;
  }
  return -1;
}
