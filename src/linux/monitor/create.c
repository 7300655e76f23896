/* The system's `crun create`: the monitor's first runtime step (step.c),
 * so that a create that hangs can be cut short by a terminate (the
 * creator sends one when its deadline passes), and its report to the
 * creator. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mon_report(int fd, plat_hresult hr, const char *msg) {
  mon_rep r;
  if (fd < 0) return;
  memset(&r, 0, sizeof r);
  r.kind = MON_REPLY;
  r.hr = hr;
  r.init_pid = (int32_t)M.init;
  r.len = (uint32_t)(msg ? strlen(msg) : 0);
  /* the creator may be gone: nothing to do about a failed write */
  if (cmn_write_all(fd, &r, sizeof r) == 0 && msg) cmn_write_all(fd, msg, r.len);
  close(fd);
}

int mon_create_begin(mon_job *j) {
  const char *args[] = {"create", "--bundle", ".", "--pid-file", "init.pid", M.id, NULL};
  char *err = NULL;
  clock_gettime(CLOCK_REALTIME, &M.created);
  if (cmn_crun_start(args, -1, -1, -1, &j->run, &err) == 0) return 0;
  mon_create_end(-1, err);
  free(err);
  return -1;
}

/* What a create cut short may have left running: its init (if crun wrote
 * the pid) and whatever already joined the cgroup.  Not reaped here: the
 * monitor exits, and init reaps them. */
static void kill_leftovers(void) {
  char *pidtxt = cmn_read_file("init.pid", NULL);
  if (pidtxt && atoi(pidtxt) > 0) kill((pid_t)atoi(pidtxt), SIGKILL);
  free(pidtxt);
  mon_cgroup_signal(SIGKILL); /* M.init is 0 here: every process of it */
}

void mon_create_end(int rc, const char *err) {
  char *pidtxt = rc == 0 ? cmn_read_file("init.pid", NULL) : NULL, *msg;
  M.init = pidtxt ? (pid_t)atoi(pidtxt) : 0;
  free(pidtxt);
  if (rc == 0 && M.init > 0) {
    M.state = MON_CREATED;
    mon_log("created, init pid %d", (int)M.init);
    mon_report(M.rfd, PLAT_S_OK, NULL);
    M.rfd = -1;
    return;
  }
  M.init = 0;
  msg = cmn_printf("crun create of compute system %s failed: %s", M.id, err ? err : "no init pid");
  mon_log("%s", msg ? msg : "create failed");
  if (rc == -ECANCELED) kill_leftovers();
  mon_teardown(1); /* the layer mount is the creator's to undo */
  mon_report(M.rfd, PLAT_E_FAIL, msg ? msg : "create failed");
  M.rfd = -1;
  M.create_failed = 1;
  free(msg);
}
