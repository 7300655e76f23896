/* Starting a system's monitor (monitor/): detached, with the child
 * environment of common (PATH, HCSSHIM_*), default signal dispositions and
 * an empty mask, and with the arguments it needs so that it reads no JSON. */
#include "linux/compute/monclient.h"
#include "linux/common/monwire.h"

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

/* The monitor's side of the double fork: its report pipe, lock and
 * listening socket as MON_FD_REPORT.. (monwire.h), stdio on /dev/null
 * and its log, and no other descriptor of ours. */
static _Noreturn void exec_monitor(const char *const *argv, char *const *env, const int fds[3],
                                   const char *log, const char *sysdir) {
  /* only async-signal-safe calls until execve */
  int hi[3], lf, nul;
  cmn_reset_signals();
  setsid();
  if (fork() != 0) _exit(0);
  for (int i = 0; i < 3; i++)
    if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, MON_FD_END)) < 0) _exit(127);
  nul = open("/dev/null", O_RDWR);
  lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (nul < 0 || lf < 0 || chdir(sysdir) < 0) _exit(127);
  dup2(nul, 0);
  dup2(lf, 1);
  dup2(lf, 2);
  for (int i = 0; i < 3; i++) dup2(hi[i], MON_FD_REPORT + i); /* inherited: dup2 clears CLOEXEC */
  cmn_close_from(MON_FD_END);
  execve(argv[0], (char *const *)(uintptr_t)argv, env);
  _exit(127);
}

/* The create report on rp (read end), by the deadline; past it the create
 * is cut short (*cut: the cut's own deadline), and then its report.  The
 * terminate waits in the socket's backlog for a monitor still starting;
 * one that cannot be sent found no monitor, whose report pipe is closed. */
static json_t *await_report(int rp, const char *sysdir, int64_t deadline, int64_t *cut) {
  size_t n = 0;
  char *buf = NULL;
  json_t *rep;
  int w = cmn_wait_fd(rp, POLLIN, deadline);
  if (w == -ETIMEDOUT) { /* a crun create that hangs */
    *cut = cmn_now_ms() + HL_CUT_SHORT_MS;
    hl_mon_cut_short(sysdir, *cut);
    w = cmn_wait_fd(rp, POLLIN, *cut);
  }
  if (w == 0) buf = cmn_read_all(rp, 65536, &n); /* until the monitor closes it */
  rep = buf && n ? hl_mon_decode(buf, n, -1) : NULL;
  free(buf);
  return rep;
}

/* The message of a monitor that never reported: its log's last lines (the
 * log goes with the system directory when creation rolls back). */
static char *no_report(const char *mon, const char *log) {
  char *tail = cmn_log_tail(log, 4);
  char *why = cmn_printf("the monitor `%s` exited without reporting%s%s", mon, tail ? ": " : "",
                         tail ? tail : " (its log is empty)");
  free(tail);
  return why;
}

/* Starts the monitor fully detached (setsid + double fork: it is never
 * our child, so the caller's waitpid(-1) or SIGCHLD handling never sees
 * it) and returns its create report.  Its socket listens before the fork,
 * because from then on the monitor-to-be holds the system's lock: if the
 * creator dies before the monitor runs (a start slowed by load), an open
 * or a prune from elsewhere must still reach the system (its connection
 * waits in the backlog), not meet a held lock with no socket and take the
 * system for one still being created. */
json_t *hl_spawn_monitor(const char *id, const char *sysdir, int lockfd, json_t *meta, char **why,
                         int64_t *cut) {
  char *mon = cmn_program_path("monitor", "HCSSHIM_MONITOR");
  char *log = cmn_path(sysdir, "monitor.log");
  char *helper = cmn_program_path("helper", "HCSSHIM_HELPER");
  const char *cg = cmn_str(meta, "CgroupsPath"), *ns = cmn_str(meta, "NetNs");
  const char *tolhc = json_is_true(cmn_get(meta, "TerminateOnLastHandleClosed")) ? "1" : "0";
  int rp[2] = {-1, -1}, lsn = cmn_seqpacket_listen(sysdir, "monitor.sock", 64);
  pid_t pid = -1;
  json_t *rep = NULL;
  double secs;
  int64_t deadline = hl_deadline(&secs);
  *cut = 0;
  if (lsn < 0) *why = cmn_printf("cannot listen on `%s/monitor.sock`: %s", sysdir, strerror(-lsn));
  else if (!mon || !log || !helper || pipe2(rp, O_CLOEXEC) < 0)
    *why = cmn_printf("cannot start the monitor: %s", strerror(errno));
  else {
    const char *const argv0[] = {mon,   cmn_runtime_root(), id,  helper, cg ? cg : "",
                                 tolhc, ns ? ns : "",       NULL};
    const char *sbuf[SCOPE_ARGS + sizeof argv0 / sizeof *argv0];
    char unit[200];
    const int fds[3] = {rp[1], lockfd, lsn};
    const char *const *argv = scope_argv(sbuf, unit, sizeof unit, id, argv0);
    char *const *env = cmn_child_env(); /* never the caller's NOTIFY_SOCKET etc. */
    pid = fork();
    if (pid == 0) exec_monitor(argv, env, fds, log, sysdir);
    *why = pid < 0 ? cmn_printf("cannot start the monitor: fork: %s", strerror(errno)) : NULL;
    close(rp[1]);
  }
  if (lsn >= 0) close(lsn);
  if (pid > 0) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    if (!(rep = await_report(rp[0], sysdir, deadline, cut))) *why = no_report(mon, log);
  }
  if (rp[0] >= 0) close(rp[0]);
  free(mon);
  free(helper);
  free(log);
  return rep;
}
