/* The per-compute-system monitor (like conmon): the single source of truth
 * for a system's state and for the exit statuses of its init and exec'd
 * processes, so both outlive the process that created them.  It links
 * libc only: one runs per container.  Work that needs the service's
 * libraries (teardown, endpoints) runs in the compute helper program.
 *
 * usage: monitor <runtime-root> <id> <helper> <cgroups-path>
 *                <terminate-on-last-handle 0|1> <netns|"">
 *   cwd, stdio and the descriptors of common/monwire.h's enum mon_fd (the
 *   report pipe, the lock, the listening monitor.sock) are set up by the
 *   spawner (compute/spawn.c).
 * Protocol: see common/monwire.h. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void system_stopped(void) {
  int st;
  pid_t p;
  mon_jobs_cancel("the system stopped");
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    mon_proc *pr = mon_find_proc(p);
    if (pr && !pr->exited) mon_proc_ended(pr, st);
  }
  mon_teardown(0);
  for (mon_proc *pr = M.procs; pr; pr = pr->next) {
    if (pr->pty >= 0) {
      close(pr->pty);
      pr->pty = -1;
    }
  }
  M.state = MON_STOPPED;
  M.exit_hr = M.requested ? PLAT_S_OK : PLAT_HCS_E_UNEXPECTED_EXIT;
  mon_log("system stopped (init status 0x%x, reported 0x%08x)", (unsigned)M.init_status,
          (unsigned)M.exit_hr);
  mon_notify(0, 0, M.exit_hr);
}

void mon_reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    mon_proc *pr = mon_find_proc(p);
    if (mon_job_reaped(p, st)) continue;
    if (p == M.init) {
      M.init_status = st;
      if (pr) mon_proc_exited(pr, st);
      system_stopped();
    } else if (pr && !pr->exited) {
      mon_proc_ended(pr, st);
    } else if (!pr && (M.step_running || M.settling) && M.jobs->q.op == MON_EXEC) {
      mon_early_exit(p, st);
      if (M.settling && p == M.jobs->pid) M.jobs->gone = 1;
    }
  }
}

static void finish(void) {
  char *d = cmn_sysdir(M.id);
  unlink("monitor.sock");
  /* the files tmpfs, if the teardown helper could not unmount it */
  umount2(CMN_SYS_FILES, MNT_DETACH | UMOUNT_NOFOLLOW);
  if (chdir("/") < 0) { /* the removal uses absolute paths */
  }
  if (d) cmn_pending_remove(d);
  free(d);
  mon_log("exiting");
  exit(0);
}

/* What setup finds wrong, told to the creator (its report) and the log. */
static int setup_failed(const char *what, const char *why) {
  char *m = cmn_printf("monitor of compute system %s: %s%s%s", M.id, what, why ? ": " : "",
                       why ? why : "");
  mon_log("%s", m ? m : what);
  mon_report(M.rfd, PLAT_E_FAIL, m ? m : what);
  M.rfd = -1;
  free(m);
  return -1;
}

/* Our own fds stay ours: never inherited by crun or the container, or a
 * creator would wait forever and a dead monitor's lock would outlive it.
 * The listener is the creator's socket (compute/spawn.c): non-blocking
 * here, as accept_all takes connections until none is left. */
static int setup(char **argv) {
  sigset_t ss;
  int listening = 0, sfd_err;
  socklen_t len = sizeof listening;
  char why[512];
  setenv("HCSSHIM_RUNTIME_ROOT", argv[1], 1);
  M.id = argv[2];
  M.helper = argv[3];
  M.cgpath = argv[4];
  M.tolhc = strcmp(argv[5], "1") == 0;
  M.netns = argv[6];
  M.rfd = MON_FD_REPORT;
  M.lfd = MON_FD_LISTEN;
  for (int fd = MON_FD_REPORT; fd < MON_FD_END; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  fcntl(M.lfd, F_SETFL, fcntl(M.lfd, F_GETFL) | O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigprocmask(SIG_BLOCK, &ss, NULL);
  M.sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  sfd_err = errno;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (cmn_valid_id("id", M.id, why, sizeof why) < 0) return setup_failed("bad id", why);
  if (!*M.cgpath) return setup_failed("no cgroups path", NULL);
  if (M.sfd < 0) return setup_failed("signalfd", strerror(sfd_err));
  if (getsockopt(M.lfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
    return setup_failed("no listening socket handed over", strerror(errno));
  if (!listening) return setup_failed("no listening socket handed over", NULL);
  return 0;
}

static void accept_all(void) {
  int fd;
  while ((fd = accept4(M.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
    mon_conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    cmn_bigbuf(fd);
    c->fd = fd;
    c->next = M.conns;
    M.conns = c;
  }
}

static void drop_closed(void) {
  for (mon_conn **pp = &M.conns; *pp;) {
    mon_conn *c = *pp;
    if (c->fd < 0) {
      mon_jobs_forget(c);
      close(-c->fd - 1);
      if (c->handle) M.handles--;
      *pp = c->next;
      free(c);
    } else {
      pp = &c->next;
    }
  }
}

static void last_handle_check(void) {
  char *e2 = NULL;
  if (!M.tolhc || M.handles || M.state == MON_STOPPED || M.requested == 2) return;
  mon_log("last handle closed: terminating");
  mon_stop(1, &e2);
  free(e2);
}

/* How long a round may wait: for ever, unless a shutdown drains (every
 * 20 ms) or a step settles (every few ms). */
static int poll_ms(void) {
  int s = mon_settle_ms(), d = M.draining ? 20 : -1;
  return s < 0 ? d : d < 0 || s < d ? s : d;
}

/* One round: poll the listener, the signalfd, the running step and every
 * connection (sized each round: every handle is a connection, and a fixed
 * array would silently stop serving the oldest ones). */
static void round_once(void) {
  struct pollfd *pf;
  mon_conn **cv;
  int n = 0, cap = 3, rc;
  for (mon_conn *c = M.conns; c; c = c->next) cap++;
  pf = calloc((size_t)cap, sizeof *pf);
  cv = calloc((size_t)cap, sizeof *cv);
  if (!pf || !cv) goto pause;
  pf[n].fd = M.lfd;
  pf[n].events = POLLIN;
  cv[n++] = NULL;
  pf[n].fd = M.sfd;
  pf[n].events = POLLIN;
  cv[n++] = NULL;
  pf[n].fd = mon_job_pollfd(); /* negative: ignored by poll */
  pf[n].events = POLLIN;
  cv[n++] = NULL;
  for (mon_conn *c = M.conns; c && n < cap; c = c->next) {
    pf[n].fd = c->fd;
    pf[n].events = POLLIN;
    cv[n++] = c;
  }
  rc = poll(pf, (nfds_t)n, poll_ms());
  if (rc < 0 && errno != EINTR) goto pause;
  if (pf[1].revents) {
    struct signalfd_siginfo si;
    while (read(M.sfd, &si, sizeof si) > 0) {}
    mon_reap();
  }
  if (pf[2].revents || M.step_reaped) mon_job_done();
  mon_settle_check();
  for (int i = 3; i < n; i++) {
    if (pf[i].revents & POLLIN) mon_handle_request(cv[i]);
    else if (pf[i].revents & (POLLHUP | POLLERR | POLLNVAL)) cv[i]->fd = -cv[i]->fd - 1;
  }
  drop_closed();
  /* A stopped system goes with its last handle, before new connections
   * are taken: a slow monitor (load, emulation) that saw the last close
   * and a new open in one round took the open first and stayed, and a
   * caller that closes and re-opens until the system is gone kept it
   * alive for ever.  The pending open hears "not found". */
  if (M.state == MON_STOPPED && !M.conns) {
    free(pf);
    free(cv);
    finish();
  }
  if (pf[0].revents & POLLIN) accept_all();
  last_handle_check();
  free(pf);
  free(cv);
  mon_drain_check();
  return;
pause:
  mon_log("poll round failed: %s", strerror(errno));
  free(pf);
  free(cv);
  sleep(1);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s <runtime-root> <id> <helper> <cgroups-path> <tolhc> <netns>\n",
            argv[0]);
    return 2;
  }
  if (setup(argv) < 0) return 1;
  M.creator_held = M.handles = 1;
  mon_job_create();
  for (;;) {
    if (M.create_failed) { /* after the round that answered a terminate */
      if (M.create_failed == MON_CREATE_FAILED_ALONE) finish();
      unlink("monitor.sock");
      return 1;
    }
    if (M.state == MON_STOPPED && !M.conns) finish();
    round_once();
  }
}
