/* Starting a system's monitor (monitor/): detached, with the child
 * environment of common (PATH, HCSSHIM_*), default signal dispositions and
 * an empty mask, and with the arguments it needs so that it reads no JSON. */
#include "linux/compute/monclient.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts the monitor fully detached (setsid + double fork: it is never
 * our child, so the caller's waitpid(-1) or SIGCHLD handling never sees
 * it) and returns its create report. */
json_t *hl_spawn_monitor(const char *id, const char *sysdir, int lockfd, json_t *meta, char **why) {
  char *mon = cmn_program_path("monitor", "HCSSHIM_MONITOR");
  char *log = cmn_path(sysdir, "monitor.log");
  char *helper = cmn_program_path("helper", "HCSSHIM_HELPER");
  const char *cg = cmn_str(meta, "CgroupsPath"), *ns = cmn_str(meta, "NetNs");
  const char *tolhc = json_is_true(cmn_get(meta, "TerminateOnLastHandleClosed")) ? "1" : "0";
  const char *root = cmn_runtime_root();
  char *const *env = cmn_child_env(); /* never the caller's NOTIFY_SOCKET etc. */
  int rp[2];
  pid_t pid;
  json_t *rep = NULL;
  *why = NULL;
  if (!mon || !log || !helper || pipe2(rp, O_CLOEXEC) < 0) {
    *why = cmn_printf("cannot start the monitor: %s", strerror(errno));
    free(mon);
    free(helper);
    free(log);
    return NULL;
  }
  pid = fork();
  if (pid == 0) {
    /* only async-signal-safe calls until execve */
    int hi_r, hi_l, lf, nul;
    char *const argv[] = {mon,
                          (char *)(uintptr_t)root,
                          (char *)(uintptr_t)id,
                          (char *)(uintptr_t) "3",
                          (char *)(uintptr_t) "4",
                          helper,
                          (char *)(uintptr_t)(cg ? cg : ""),
                          (char *)(uintptr_t)tolhc,
                          (char *)(uintptr_t)(ns ? ns : ""),
                          NULL};
    cmn_reset_signals();
    setsid();
    if (fork() != 0) _exit(0);
    hi_r = fcntl(rp[1], F_DUPFD, 100);
    hi_l = fcntl(lockfd, F_DUPFD, 100);
    nul = open("/dev/null", O_RDWR);
    lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (hi_r < 0 || hi_l < 0 || nul < 0 || lf < 0 || chdir(sysdir) < 0) _exit(127);
    dup2(nul, 0);
    dup2(lf, 1);
    dup2(lf, 2);
    dup2(hi_r, 3);
    dup2(hi_l, 4);
    syscall(SYS_close_range, 5U, ~0U, 0U);
    execve(mon, argv, env);
    _exit(127);
  }
  close(rp[1]);
  if (pid < 0) {
    *why = cmn_printf("cannot start the monitor: fork: %s", strerror(errno));
  } else {
    size_t n = 0;
    char *buf;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    buf = cmn_read_all(rp[0], 65536, &n); /* until the monitor closes it */
    rep = buf && n ? hl_mon_decode(buf, n, -1) : NULL;
    free(buf);
    /* the log goes with the system directory when creation rolls back:
     * the message carries its last lines, not its path */
    if (!rep) {
      char *tail = cmn_log_tail(log, 4);
      *why = cmn_printf("the monitor `%s` exited without reporting%s%s", mon, tail ? ": " : "",
                        tail ? tail : " (its log is empty)");
      free(tail);
    }
  }
  close(rp[0]);
  free(mon);
  free(helper);
  free(log);
  return rep;
}
