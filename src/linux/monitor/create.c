/* The system's `crun create`: the monitor's first runtime step (step.c),
 * so that a create that hangs can be cut short by a terminate (the
 * creator sends one when its deadline passes), and its report to the
 * creator. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mon_creator_release(void) {
  if (!M.creator_held) return;
  M.creator_held = 0;
  M.handles--;
}

int mon_report(int fd, plat_hresult hr, const char *msg) {
  mon_rep r;
  int rc;
  if (fd < 0) return -EBADF;
  memset(&r, 0, sizeof r);
  r.kind = MON_REPLY;
  r.hr = hr;
  r.init_pid = (int32_t)M.init;
  r.len = (uint32_t)(msg ? strlen(msg) : 0);
  /* a failed write: the creator is gone (its caller sees the outcome) */
  rc = cmn_write_all(fd, &r, sizeof r);
  if (rc == 0 && msg) rc = cmn_write_all(fd, msg, r.len);
  close(fd);
  return rc;
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

/* Whether the creator no longer waits for the report (killed, or gave up):
 * the read end of its pipe is closed. */
static int creator_gone(void) {
  struct pollfd pf = {M.rfd, POLLOUT, 0};
  return M.rfd >= 0 && poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR);
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
  int gone;
  M.init = pidtxt ? (pid_t)atoi(pidtxt) : 0;
  free(pidtxt);
  if (rc == 0 && M.init > 0) {
    M.state = MON_CREATED;
    mon_log("created, init pid %d", (int)M.init);
    /* a creator gone before it heard: its handle closed with it */
    if (mon_report(M.rfd, PLAT_S_OK, NULL) < 0) {
      mon_log("the creator is gone: its handle is closed");
      mon_creator_release();
    }
    M.rfd = -1;
    return;
  }
  M.init = 0;
  msg = cmn_printf("crun create of compute system %s failed: %s", M.id, err ? err : "no init pid");
  mon_log("%s", msg ? msg : "create failed");
  if (rc == -ECANCELED) kill_leftovers();
  /* the layer mount is a live creator's to undo (its rollback removes the
   * folder too); for one that is gone the monitor does all, folder
   * included, or a reaper that looked while it exited saw a held lock and
   * left the folder behind.  (One gone only after this look leaves the
   * folder to the next reaper.) */
  gone = creator_gone();
  mon_teardown(!gone);
  mon_report(M.rfd, PLAT_E_FAIL, msg ? msg : "create failed");
  M.rfd = -1;
  M.create_failed = gone ? MON_CREATE_FAILED_ALONE : MON_CREATE_FAILED;
  free(msg);
}
