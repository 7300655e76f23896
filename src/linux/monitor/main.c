/* The per-compute-system monitor (like conmon): the single source of truth
 * for a system's state and for the exit statuses of its init and exec'd
 * processes, so both outlive the process that created them.  It links
 * libc only: one runs per container.  Work that needs the service's
 * libraries (teardown, endpoints) runs in the compute helper program.
 *
 * usage: monitor <runtime-root> <id> <report-fd> <lock-fd> <helper>
 *                <cgroups-path> <terminate-on-last-handle 0|1> <netns|"">
 *   cwd, stdio and the lock are set up by the spawner (compute/spawn.c).
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

mon_state_t M;
const char *const mon_state_names[] = {"Created", "Running", "Paused", "Stopped"};

void mon_log(const char *fmt, ...) {
  va_list ap;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fprintf(stderr, "%lld.%03ld monitor[%s]: ", (long long)ts.tv_sec, ts.tv_nsec / 1000000, M.id);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

static int send_rep(int fd, mon_rep *r, const char *text, const int *fds, int nfds, int flags) {
  size_t len = text ? strlen(text) : 0;
  char *buf = malloc(sizeof *r + len);
  int rc;
  if (!buf) return -ENOMEM;
  r->len = (uint32_t)len;
  memcpy(buf, r, sizeof *r);
  if (len) memcpy(buf + sizeof *r, text, len);
  rc = cmn_sendmsg(fd, buf, sizeof *r + len, fds, nfds, flags);
  free(buf);
  return rc;
}

int mon_reply_err(int fd, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  mon_rep r;
  int rc;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  memset(&r, 0, sizeof r);
  r.kind = MON_REPLY;
  r.hr = hr < 0 ? hr : PLAT_E_FAIL;
  rc = send_rep(fd, &r, msg ? msg : "error", NULL, 0, 0);
  free(msg);
  return rc;
}

int mon_reply_ok(int fd, const mon_rep *extra, const int *fds, int nfds) {
  mon_rep r;
  if (extra) r = *extra;
  else memset(&r, 0, sizeof r);
  r.kind = MON_REPLY;
  r.hr = 0;
  return send_rep(fd, &r, NULL, fds, nfds, 0);
}

void mon_send_event(mon_conn *c, pid_t pid, int status) {
  mon_rep r;
  memset(&r, 0, sizeof r);
  r.kind = MON_EVENT;
  r.pid = (int32_t)pid;
  r.status = status;
  /* never block the monitor on a subscriber that does not read */
  if (send_rep(c->fd, &r, NULL, NULL, 0, MSG_DONTWAIT) < 0) mon_log("event to subscriber lost: %s", strerror(errno));
}

static void notify(pid_t pid, int status) {
  for (mon_conn *c = M.conns; c; c = c->next)
    if (c->sub && c->subpid == pid) mon_send_event(c, pid, status);
}

mon_proc *mon_find_proc(pid_t pid) {
  for (mon_proc *p = M.procs; p; p = p->next)
    if (p->pid == pid) return p;
  return NULL;
}

int mon_crun(const char *a0, const char *a1, const char *a2, const char *a3, char **err) {
  const char *args[6] = {a0, a1, a2, a3, NULL, NULL};
  return cmn_crun_run(args, -1, -1, -1, err);
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
  return cmn_run(&c);
}

/* CNI DEL, crun delete, the namespace, cgroups and (unless keep_layer,
 * when the creator undoes it) the layer mount: the compute helper's job. */
void mon_teardown(int keep_layer) {
  const char *args[] = {"teardown", M.id, keep_layer ? "--keep-layer" : NULL, NULL};
  int st = mon_helper(args, NULL);
  if (st != 0) mon_log("teardown helper failed (status %d)", st);
}

static void system_stopped(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    mon_proc *pr = mon_find_proc(p);
    if (pr && !pr->exited) { pr->exited = 1; pr->status = st; notify(p, st); }
  }
  mon_teardown(0);
  for (mon_proc *pr = M.procs; pr; pr = pr->next) {
    if (pr->pty >= 0) { close(pr->pty); pr->pty = -1; }
  }
  M.state = MON_STOPPED;
  M.exit_hr = M.requested ? PLAT_S_OK : PLAT_HCS_E_UNEXPECTED_EXIT;
  mon_log("system stopped (init status 0x%x, reported 0x%08x)", (unsigned)M.init_status, (unsigned)M.exit_hr);
  notify(0, M.exit_hr);
}

void mon_reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    mon_proc *pr = mon_find_proc(p);
    if (p == M.init) {
      M.init_status = st;
      if (pr) { pr->exited = 1; pr->status = st; }
      system_stopped();
    } else if (pr && !pr->exited) {
      pr->exited = 1;
      pr->status = st;
      if (pr->pty >= 0) { close(pr->pty); pr->pty = -1; }
      notify(p, st);
    }
  }
}

/* The pids of the system's cgroup other than the init: counted, or (term)
 * sent SIGTERM. */
static int others(int term) {
  char path[4200], *procs;
  int n = 0;
  snprintf(path, sizeof path, "/sys/fs/cgroup/memory/%s/cgroup.procs", M.cgpath[0] == '/' ? M.cgpath + 1 : M.cgpath);
  procs = cmn_read_file(path, NULL);
  if (!procs) return 0;
  for (char *s = procs, *tok; (tok = strsep(&s, "\n"));) {
    pid_t p = (pid_t)atoi(tok);
    if (p <= 0 || p == M.init) continue;
    n++;
    if (term) kill(p, SIGTERM);
  }
  free(procs);
  return n;
}

void mon_term_others(void) { others(1); }

/* Graceful shutdown: the init (catatonit, which exits 0 on TERM and takes
 * the namespace down) gets TERM only when the rest is gone, so a process
 * that traps TERM finishes its handler. */
void mon_drain_check(void) {
  if (!M.draining || M.state == MON_STOPPED) return;
  if (others(0) == 0) {
    M.draining = 0;
    kill(M.init, SIGTERM);
  }
}

static void report(int fd, plat_hresult hr, const char *msg) {
  mon_rep r;
  memset(&r, 0, sizeof r);
  r.kind = MON_REPLY;
  r.hr = hr;
  r.init_pid = (int32_t)M.init;
  r.len = (uint32_t)(msg ? strlen(msg) : 0);
  /* the creator may be gone: nothing to do about a failed write */
  if (cmn_write_all(fd, &r, sizeof r) == 0 && msg) cmn_write_all(fd, msg, r.len);
  close(fd);
}

static void finish(void) {
  char *d = cmn_sysdir(M.id);
  unlink("monitor.sock");
  if (chdir("/") < 0) { /* the removal uses absolute paths */ }
  if (d) cmn_remove_tree(d);
  free(d);
  mon_log("exiting");
  exit(0);
}

/* Our own fds stay ours: never inherited by crun or the container, or a
 * creator would wait forever and a dead monitor's lock would outlive it. */
static int setup(char **argv, int *rfd) {
  sigset_t ss;
  int lockfd;
  char why[512];
  setenv("HCSSHIM_RUNTIME_ROOT", argv[1], 1);
  M.id = argv[2];
  *rfd = atoi(argv[3]);
  lockfd = atoi(argv[4]);
  M.helper = argv[5];
  M.cgpath = argv[6];
  M.tolhc = strcmp(argv[7], "1") == 0;
  M.netns = argv[8];
  fcntl(*rfd, F_SETFD, FD_CLOEXEC);
  fcntl(lockfd, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigprocmask(SIG_BLOCK, &ss, NULL);
  M.sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (cmn_valid_id("id", M.id, why, sizeof why) < 0) return -1;
  if (!*M.cgpath) {
    report(*rfd, PLAT_E_FAIL, "monitor: no cgroups path");
    return -1;
  }
  return 0;
}

/* the socket exists before the creator hears of success */
static int listen_socket(int rfd) {
  struct sockaddr_un sa;
  M.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  strcpy(sa.sun_path, "monitor.sock");
  if (M.lfd < 0 || bind(M.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(M.lfd, 64) < 0) {
    char *m = cmn_printf("monitor: cannot listen on monitor.sock: %s", strerror(errno));
    report(rfd, PLAT_E_FAIL, m ? m : "listen");
    free(m);
    return -1;
  }
  return 0;
}

static int create_system(int rfd) {
  const char *args[] = {"create", "--bundle", ".", "--pid-file", "init.pid", M.id, NULL};
  char *err = NULL, *pidtxt, *msg;
  int rc;
  clock_gettime(CLOCK_REALTIME, &M.created);
  rc = cmn_crun_run(args, -1, -1, -1, &err);
  pidtxt = rc == 0 ? cmn_read_file("init.pid", NULL) : NULL;
  M.init = pidtxt ? (pid_t)atoi(pidtxt) : 0;
  free(pidtxt);
  if (rc == 0 && M.init > 0) {
    free(err);
    M.state = MON_CREATED;
    mon_log("created, init pid %d", (int)M.init);
    report(rfd, PLAT_S_OK, NULL);
    return 0;
  }
  msg = cmn_printf("crun create of compute system %s failed: %s", M.id, err ? err : "no init pid");
  mon_log("%s", msg ? msg : "create failed");
  mon_teardown(1); /* the layer mount is the creator's to undo */
  report(rfd, PLAT_E_FAIL, msg ? msg : "create failed");
  free(msg);
  free(err);
  unlink("monitor.sock");
  return -1;
}

static void accept_all(void) {
  int fd;
  while ((fd = accept4(M.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
    mon_conn *c = calloc(1, sizeof *c);
    if (!c) { close(fd); continue; }
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
  if (!M.tolhc || !M.had_handle || M.handles || M.state == MON_STOPPED || M.requested == 2) return;
  mon_log("last handle closed: terminating");
  M.requested = 2;
  if (mon_crun("kill", "--all", M.id, "9", &e2) != 0) kill(M.init, SIGKILL);
  free(e2);
}

/* One round: poll the listener, the signalfd and every connection (sized
 * each round: every handle is a connection, and a fixed array would
 * silently stop serving the oldest ones). */
static void round_once(void) {
  struct pollfd *pf;
  mon_conn **cv;
  int n = 0, cap = 2, rc;
  for (mon_conn *c = M.conns; c; c = c->next) cap++;
  pf = calloc((size_t)cap, sizeof *pf);
  cv = calloc((size_t)cap, sizeof *cv);
  if (!pf || !cv) goto pause;
  pf[n].fd = M.lfd; pf[n].events = POLLIN; cv[n++] = NULL;
  pf[n].fd = M.sfd; pf[n].events = POLLIN; cv[n++] = NULL;
  for (mon_conn *c = M.conns; c && n < cap; c = c->next) { pf[n].fd = c->fd; pf[n].events = POLLIN; cv[n++] = c; }
  rc = poll(pf, (nfds_t)n, M.draining ? 20 : -1);
  if (rc < 0 && errno != EINTR) goto pause;
  if (pf[1].revents) {
    struct signalfd_siginfo si;
    while (read(M.sfd, &si, sizeof si) > 0) {}
    mon_reap();
  }
  if (pf[0].revents & POLLIN) accept_all();
  for (int i = 2; i < n; i++) {
    if (pf[i].revents & POLLIN) mon_handle_request(cv[i]);
    else if (pf[i].revents & (POLLHUP | POLLERR | POLLNVAL)) cv[i]->fd = -cv[i]->fd - 1;
  }
  drop_closed();
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
  int rfd;
  if (argc != 9) {
    fprintf(stderr, "usage: %s <runtime-root> <id> <report-fd> <lock-fd> <helper> <cgroups-path> <tolhc> <netns>\n",
            argv[0]);
    return 2;
  }
  if (setup(argv, &rfd) < 0 || listen_socket(rfd) < 0 || create_system(rfd) < 0) return 1;
  for (;;) {
    if (M.state == MON_STOPPED && !M.conns) finish();
    round_once();
  }
}
