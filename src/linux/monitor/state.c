/* The monitor's state: the system, its processes and connections. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

mon_state_t M;
const char *const mon_state_names[] = {"Created", "Running", "Paused", "Stopped"};

mon_proc *mon_find_proc(pid_t pid) {
  for (mon_proc *p = M.procs; p; p = p->next)
    if (p->pid == pid) return p;
  return NULL;
}

mon_proc *mon_find_ident(pid_t pid, uint64_t start, int *stale) {
  int other = 0;
  *stale = 0;
  for (mon_proc *p = M.procs; p; p = p->next) {
    if (p->pid != pid) continue;
    if (!start || p->start == start) return p;
    other = 1;
  }
  *stale = other;
  return NULL;
}

uint64_t mon_start_time(pid_t pid) {
  cmn_proc_stat_t st;
  return cmn_proc_stat((int)pid, &st) == 0 ? st.starttime : 0;
}

/* Exit records are kept so that a late open_process, even from another
 * process after the creator died, still reads the exit code; beyond this
 * many the oldest go, unless a connection is waiting on that pid. */
#define MAX_EXITED 4096

static int watched(pid_t pid) {
  for (mon_conn *c = M.conns; c; c = c->next)
    if (c->subpid == pid) return 1;
  return 0;
}

int64_t mon_oom_kills(void) {
  int64_t n = M.state == MON_STOPPED ? -1 : cmn_cgroup_oom_kills(M.cgpath);
  if (n > M.oom_kills) M.oom_kills = n;
  return M.oom_kills;
}

/* A death by SIGKILL that the cgroup's OOM counter accounts for (the
 * count grew since the last reap) was the OOM killer's, unless we sent
 * the SIGKILL ourselves.  The count is read at every reap, so an OOM kill
 * of an untracked child is never pinned on a later process. */
void mon_proc_exited(mon_proc *p, int status) {
  int64_t before = M.oom_kills, now = mon_oom_kills();
  p->exited = 1;
  p->status = status;
  p->oom = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && now > before && !p->killed &&
           M.requested != 2;
}

void mon_trim_procs(void) {
  int n = 0;
  for (mon_proc **pp = &M.procs; *pp;) {
    mon_proc *p = *pp;
    if (p->exited && ++n > MAX_EXITED && !watched(p->pid)) {
      *pp = p->next;
      if (p->pty >= 0) close(p->pty);
      free(p);
      continue;
    }
    pp = &p->next;
  }
}
