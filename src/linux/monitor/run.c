/* What the monitor runs: crun, the compute helper, and the graceful
 * shutdown's TERM rounds. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mon_crun(const char *a0, const char *a1, const char *a2, const char *a3, char **err) {
  const char *args[6] = {a0, a1, a2, a3, NULL, NULL};
  return cmn_crun_run(args, cmn_now_ms() + CMN_CMD_MAX_MS, err);
}

int mon_helper(const char *const *args, char **out) {
  const char *argv[12];
  int n = 0;
  cmn_cmd c = CMN_CMD_INIT;
  argv[n++] = M.helper;
  for (int i = 0; args[i] && n < 11; i++) argv[n++] = args[i];
  argv[n] = NULL;
  c.prog = M.helper;
  c.argv = argv;
  c.out = out;
  c.fds[2] = 2; /* its complaints go to monitor.log */
  c.deadline = cmn_now_ms() + MON_HELPER_MS;
  return cmn_run(&c);
}

/* CNI DEL, crun delete, the namespace, cgroups and (unless keep_layer,
 * when the creator undoes it) the layer mount: the compute helper's job. */
void mon_teardown(int keep_layer) {
  const char *args[] = {"teardown", M.id, keep_layer ? "--keep-layer" : NULL, NULL};
  int st = mon_helper(args, NULL);
  if (st != 0) mon_log("teardown helper failed (status %d)", st);
}

int mon_cgroup_signal(int sig) {
  /* on either cgroup layout: read from a v1 path on v2 (no such file),
   * this took the system for empty and TERMed the init at once, whose
   * exit SIGKILLs the namespace before a trapping process's handler ran */
  char *procs = cmn_cgroup_read("memory", M.cgpath, "cgroup.procs");
  /* TERM then CONT, as systemd does: a stopped process that handles TERM
   * runs its handler instead of holding the shutdown until a timeout */
  int n = procs ? cmn_signal_listed(procs, sig, sig == SIGTERM ? SIGCONT : 0, M.init) : 0;
  free(procs);
  return n;
}


/* A pid namespace's init only receives the signals it handles, and
 * catatonit sets its handling up only after exec: a TERM sent in that
 * window is lost and the shutdown would never finish.  So a start settles
 * until the init blocks or catches SIGTERM (catatonit uses a signalfd, so
 * the signal shows in SigBlk), or is gone (its exit is reported the
 * normal way). */
int mon_init_ready(void) {
  char path[64], *st, *blk, *cgt;
  unsigned long long mask = 1ULL << (SIGTERM - 1);
  int ready;
  snprintf(path, sizeof path, "/proc/%d/status", (int)M.init);
  if (!(st = cmn_read_file(path, NULL))) return 1;
  blk = strstr(st, "\nSigBlk:");
  cgt = strstr(st, "\nSigCgt:");
  ready = (blk && (strtoull(blk + 8, NULL, 16) & mask)) ||
          (cgt && (strtoull(cgt + 8, NULL, 16) & mask));
  free(st);
  return ready;
}

/* Graceful shutdown: the init (catatonit, which exits 0 on TERM and takes
 * the namespace down) gets TERM only when the rest is gone, so a process
 * that traps TERM finishes its handler. */
void mon_drain_check(void) {
  if (!M.draining || M.state == MON_STOPPED) return;
  /* a shutdown that cut a start's settling short: the TERM waits for the
   * init to take it (a TERM sent before is lost), as long as the start
   * would have */
  if (M.init_ready_by && cmn_now_ms() < M.init_ready_by && !mon_init_ready()) return;
  if (mon_cgroup_signal(0) == 0) {
    M.draining = 0;
    kill(M.init, SIGTERM);
    kill(M.init, SIGCONT);
  }
}
