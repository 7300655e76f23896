/* Running the OCI runtime (crun) for the compute side and the monitor.
 * Its log is in text form, one message a line, so reading it needs no JSON
 * parser (the monitor links libc only). */
#include "linux/common/common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* In a process group of its own: a step the monitor cuts short (a stuck
 * start) is killed with whatever it started. */
int cmn_crun_start(const char *const *args, int in, int out, int err, cmn_crun_job *job,
                   char **errmsg) {
  static atomic_uint counter;
  const char *argv[32];
  char *rootarg, *logarg = NULL;
  int n = 0, rc = -ENOMEM;
  cmn_cmd c = CMN_CMD_INIT;
  memset(job, 0, sizeof *job);
  job->child.pid = -1;
  job->child.pidfd = -1;
  job->verb = args[0];
  if (errmsg) *errmsg = NULL;
  rootarg = cmn_printf("--root=%s/crun", cmn_runtime_root());
  job->log = cmn_printf("%s/crun-%d-%u.log", cmn_runtime_root(), (int)getpid(),
                        atomic_fetch_add(&counter, 1));
  if (job->log) logarg = cmn_printf("--log=%s", job->log);
  if (rootarg && logarg) {
    argv[n++] = cmn_crun();
    argv[n++] = rootarg;
    argv[n++] = logarg;
    argv[n++] = "--log-format=text";
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    c.prog = argv[0];
    c.argv = argv;
    c.fds[0] = in;
    c.fds[1] = out;
    c.fds[2] = err;
    c.pgroup = 1;
    rc = cmn_spawn(&c, &job->child);
  }
  if (rc < 0 && errmsg) *errmsg = cmn_printf("cannot run `%s`: %s", cmn_crun(), strerror(-rc));
  free(rootarg);
  free(logarg);
  if (rc < 0) {
    if (job->log) unlink(job->log);
    free(job->log);
    job->log = NULL;
  }
  return rc;
}

int cmn_crun_end(cmn_crun_job *job, int status, char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (status == -ETIMEDOUT && errmsg)
    *errmsg = cmn_printf("crun %s did not end in time and was killed", job->verb);
  else if (status < 0 && errmsg)
    *errmsg = cmn_printf("cannot wait for crun %s: %s", job->verb, strerror(-status));
  else if (status != 0 && errmsg) {
    *errmsg = job->log ? cmn_log_tail(job->log, 1) : NULL; /* crun's last message */
    if (!*errmsg) *errmsg = cmn_printf("crun %s failed (status %d)", job->verb, status);
  }
  if (job->log) unlink(job->log);
  free(job->log);
  job->log = NULL;
  return status;
}

int cmn_crun_run(const char *const *args, int64_t deadline, char **errmsg) {
  cmn_crun_job job;
  int rc = cmn_crun_start(args, -1, -1, -1, &job, errmsg);
  if (rc < 0) return rc;
  return cmn_crun_end(&job, cmn_child_wait_until(&job.child, deadline), errmsg);
}
