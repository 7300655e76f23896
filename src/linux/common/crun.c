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

int cmn_crun_run(const char *const *args, int in, int out, int err, char **errmsg) {
  static atomic_uint counter;
  const char *argv[32];
  char *rootarg, *log, *logarg;
  int n = 0, status = -ENOMEM;
  cmn_cmd c = CMN_CMD_INIT;
  rootarg = cmn_printf("--root=%s/crun", cmn_runtime_root());
  log = cmn_printf("%s/crun-%d-%u.log", cmn_runtime_root(), (int)getpid(),
                   atomic_fetch_add(&counter, 1));
  logarg = cmn_printf("--log=%s", log ? log : "/dev/null");
  if (errmsg) *errmsg = NULL;
  if (!rootarg || !log || !logarg) goto out;
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
  status = cmn_run(&c);
  if (status < 0 && errmsg) *errmsg = cmn_printf("cannot run `%s`: %s", argv[0], strerror(-status));
  else if (status != 0 && errmsg) {
    *errmsg = cmn_log_tail(log, 1); /* crun's last message */
    if (!*errmsg) *errmsg = cmn_printf("crun %s failed (status %d)", args[0], status);
  }
out:
  if (log) unlink(log);
  free(rootarg);
  free(log);
  free(logarg);
  return status;
}
