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
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* On a systemd host, the monitor runs in a transient scope of its own
 * under hcsshim.slice (as podman puts conmon in a scope), never in the
 * creator's unit: stopping or killing that unit kills every process of
 * its cgroup, and the system must outlive its creator.  systemd-run
 * --scope asks systemd for the scope with its own pid and then execs the
 * monitor, fds and environment kept.  The container's own processes live
 * in the cgroup crun makes for them (HCSSHIM_CGROUP_PARENT/<id>).
 * Returns the argv to exec (argv[0] a path), mon_argv itself elsewhere. */
#define SCOPE_ARGS 7
static const char *const *scope_argv(const char **buf, char *unit, size_t unitlen, const char *id,
                                     const char *const *mon_argv) {
  static const char *const runs[] = {"/usr/bin/systemd-run", "/bin/systemd-run"};
  const char *run = NULL;
  uint32_t r = 0;
  int n = 0;
  if (access("/run/systemd/system", F_OK) != 0) return mon_argv; /* not booted with systemd */
  for (size_t i = 0; i < sizeof runs / sizeof *runs && !run; i++)
    if (access(runs[i], X_OK) == 0) run = runs[i];
  if (!run) return mon_argv;
  /* unique: the scope of an earlier system of this id may not be gone yet */
  cmn_random(&r, sizeof r);
  snprintf(unit, unitlen, "--unit=hcsshim-monitor-%s-%08x.scope", id, (unsigned)r);
  buf[n++] = run;
  buf[n++] = "--scope";
  buf[n++] = "--quiet";
  buf[n++] = "--collect";
  buf[n++] = "--slice=hcsshim.slice";
  buf[n++] = unit;
  buf[n++] = "--";
  for (int i = 0; mon_argv[i]; i++) buf[n++] = mon_argv[i];
  buf[n] = NULL;
  return buf;
}

/* Starts the monitor fully detached (setsid + double fork: it is never
 * our child, so the caller's waitpid(-1) or SIGCHLD handling never sees
 * it) and returns its create report. */
json_t *hl_spawn_monitor(const char *id, const char *sysdir, int lockfd, json_t *meta, char **why,
                         int64_t *cut) {
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
  double secs;
  int64_t deadline = hl_deadline(&secs);
  *why = NULL;
  *cut = 0;
  if (!mon || !log || !helper || pipe2(rp, O_CLOEXEC) < 0) {
    *why = cmn_printf("cannot start the monitor: %s", strerror(errno));
    free(mon);
    free(helper);
    free(log);
    return NULL;
  }
  const char *const mon_argv[] = {mon,    root,         id,    "3",          "4",
                                  helper, cg ? cg : "", tolhc, ns ? ns : "", NULL};
  const char *sbuf[SCOPE_ARGS + sizeof mon_argv / sizeof *mon_argv];
  char unit[200];
  const char *const *argv = scope_argv(sbuf, unit, sizeof unit, id, mon_argv);
  pid = fork();
  if (pid == 0) {
    /* only async-signal-safe calls until execve */
    int hi_r, hi_l, lf, nul;
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
    execve(argv[0], (char *const *)(uintptr_t)argv, env);
    _exit(127);
  }
  close(rp[1]);
  if (pid < 0) {
    *why = cmn_printf("cannot start the monitor: fork: %s", strerror(errno));
  } else {
    size_t n = 0;
    char *buf = NULL;
    int w;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    if ((w = cmn_wait_fd(rp[0], POLLIN, deadline)) == -ETIMEDOUT) {
      /* a crun create that hangs: cut short, and then its report.  A
       * monitor that does not listen yet is asked again until it does or
       * reports on its own. */
      int sent;
      *cut = cmn_now_ms() + HL_CUT_SHORT_MS;
      do {
        sent = hl_mon_cut_short(sysdir, *cut) == 0;
        w = cmn_wait_fd(rp[0], POLLIN, sent ? *cut : cmn_now_ms() + 10);
      } while (w == -ETIMEDOUT && !sent && cmn_now_ms() < *cut);
    }
    if (w == 0) buf = cmn_read_all(rp[0], 65536, &n); /* until the monitor closes it */
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
