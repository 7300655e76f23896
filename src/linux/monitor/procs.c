/* Ends of the system's processes as the request loop reaps them, and the
 * exits that come before their exec step has reported the pid. */
#include "linux/monitor/monitor.h"

#include <string.h>
#include <unistd.h>

void mon_proc_ended(mon_proc *p, int status) {
  mon_proc_exited(p, status);
  if (p->oom) mon_log("process %d was killed by the OOM killer", (int)p->pid);
  if (p->pty >= 0) {
    close(p->pty);
    p->pty = -1;
  }
  mon_notify(p->pid, p->start, status);
}

void mon_early_exit(pid_t pid, int status) {
  int n = (int)(sizeof M.early / sizeof M.early[0]);
  if (M.nearly == n) { /* the oldest go: crun's own helpers, most likely */
    memmove(M.early, M.early + 1, sizeof M.early[0] * (size_t)(n - 1));
    M.nearly--;
  }
  M.early[M.nearly].pid = pid;
  M.early[M.nearly++].status = status;
}

int mon_early_take(pid_t pid, int *status) {
  for (int i = 0; i < M.nearly; i++) {
    if (M.early[i].pid != pid) continue;
    *status = M.early[i].status;
    M.early[i] = M.early[--M.nearly];
    return 1;
  }
  return 0;
}
