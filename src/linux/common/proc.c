/* Reading /proc/<pid>/stat, for the identity of processes (start time),
 * statistics (CPU times, name) and process groups (state, group). */
#include "linux/common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmn_proc_stat(int pid, cmn_proc_stat_t *st) {
  char path[64], *text, *lp, *rp;
  int n;
  memset(st, 0, sizeof *st);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (!(text = cmn_read_file(path, NULL))) return -1; /* gone */
  /* "pid (comm) state ...": comm may hold anything, ")" included */
  lp = strchr(text, '(');
  rp = strrchr(text, ')');
  if (lp && rp && rp > lp) snprintf(st->comm, sizeof st->comm, "%.*s", (int)(rp - lp - 1), lp + 1);
  /* after ") ": state(3) ppid pgrp(5) ... utime(14) stime(15) ... starttime(22) */
  n = rp ? sscanf(
               rp + 2,
               "%c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
               &st->state, &st->pgrp, &st->utime, &st->stime, &st->starttime)
         : 0;
  free(text);
  return n == 5 ? 0 : -1;
}
