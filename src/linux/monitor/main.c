/* The per-compute-system monitor (like conmon): the single source of truth
 * for a system's state and for the exit statuses of its init and exec'd
 * processes, so both outlive the process that created them.
 *
 * usage: monitor <runtime-root> <id> <report-fd> <lock-fd>
 *   cwd, stdio and the lock are set up by the spawner (src/linux/system.c).
 *
 * Protocol: SOCK_SEQPACKET at <sysdir>/monitor.sock, one JSON object per
 * message, fds as SCM_RIGHTS.  Request {"op":..., ...}; reply {"ok":true,...}
 * or {"Error":hr,"ErrorMessage":...}.  After "subscribe" the connection
 * also receives {"Event":"exit","Pid":p,"Status":s} (Pid 0 = the system,
 * Status an HRESULT; else Status is the raw wait status). */
#include "linux/layer.h"
#include "../hcs_internal.h"
#include "../hns.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum state { S_CREATED, S_RUNNING, S_PAUSED, S_STOPPED };
static const char *const state_names[] = {"Created", "Running", "Paused", "Stopped"};

typedef struct proc {
  pid_t pid;
  int exited, status, pty;
  struct proc *next;
} proc;

typedef struct conn {
  int fd, handle, sub;
  pid_t subpid;
  struct conn *next;
} conn;

static struct {
  const char *id;
  json_t *meta;
  const char *cgpath;
  enum state state;
  pid_t init;
  int init_status;   /* raw wait status */
  int exit_hr;       /* what SystemExited reports */
  int requested;     /* 0, 1 shutdown, 2 terminate */
  int draining;      /* shutdown: waiting for non-init processes to go */
  struct timespec created, started;
  proc *procs;
  conn *conns;
  int handles, had_handle, tolhc;
  int lfd, sfd;
  unsigned seq;
} M;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...) {
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

static int reply_err(int fd, plat_hresult hr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reply_err(int fd, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  json_t *j;
  int rc;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  j = json_pack("{s:i,s:s}", "Error", (json_int_t)hr, "ErrorMessage", msg ? msg : "error");
  rc = hl_send(fd, j, NULL, 0);
  json_decref(j);
  free(msg);
  return rc;
}

static int reply_ok(int fd, json_t *extra, const int *fds, int nfds) {
  json_t *j = extra ? extra : json_object();
  int rc;
  json_object_set_new(j, "ok", json_true());
  rc = hl_send(fd, j, fds, nfds);
  json_decref(j);
  return rc;
}

/* Exit records are kept so that a late open_process, even from another
 * process after the creator died, still reads the exit code; beyond this
 * many the oldest go, unless a connection is waiting on that pid. */
#define MAX_EXITED 4096

static int watched(pid_t pid) {
  for (conn *c = M.conns; c; c = c->next)
    if (c->subpid == pid) return 1;
  return 0;
}

static void trim_procs(void) {
  int n = 0;
  for (proc **pp = &M.procs; *pp;) {
    proc *p = *pp;
    if (p->exited && ++n > MAX_EXITED && !watched(p->pid)) {
      *pp = p->next;
      if (p->pty >= 0) close(p->pty);
      free(p);
      continue;
    }
    pp = &p->next;
  }
}

static proc *find_proc(pid_t pid) {
  for (proc *p = M.procs; p; p = p->next)
    if (p->pid == pid) return p;
  return NULL;
}

static void send_event(conn *c, pid_t pid, int status) {
  json_t *ev = json_pack("{s:s,s:i,s:i}", "Event", "exit", "Pid", (int)pid, "Status", status);
  /* never block the monitor on a subscriber that does not read */
  char *s = json_dumps(ev, JSON_COMPACT);
  if (s) {
    if (send(c->fd, s, strlen(s), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) logmsg("event to subscriber lost: %s", strerror(errno));
    free(s);
  }
  json_decref(ev);
}

static void notify(pid_t pid, int status) {
  for (conn *c = M.conns; c; c = c->next)
    if (c->sub && c->subpid == pid) send_event(c, pid, status);
}

static int crun_simple(const char *a0, const char *a1, const char *a2, const char *a3, char **err) {
  const char *args[6] = {a0, a1, a2, a3, NULL, NULL};
  return hl_run_crun(M.id, args, -1, -1, -1, err);
}

static void system_stopped(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    proc *pr = find_proc(p);
    if (pr && !pr->exited) { pr->exited = 1; pr->status = st; notify(p, st); }
  }
  hl_teardown_system(M.id, M.meta);
  for (proc *pr = M.procs; pr; pr = pr->next) {
    if (pr->pty >= 0) { close(pr->pty); pr->pty = -1; }
  }
  M.state = S_STOPPED;
  M.exit_hr = M.requested ? PLAT_S_OK : PLAT_HCS_E_UNEXPECTED_EXIT;
  logmsg("system stopped (init status 0x%x, reported 0x%08x)", (unsigned)M.init_status, (unsigned)M.exit_hr);
  notify(0, M.exit_hr);
}

static void reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    proc *pr = find_proc(p);
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

/* Graceful shutdown: TERM everything but the init, and the init (catatonit,
 * which exits 0 on TERM and takes the namespace down) only when the rest is
 * gone, so a process that traps TERM finishes its handler. */
static int cgroup_others(void) {
  char path[4200], *procs;
  int n = 0;
  snprintf(path, sizeof path, "/sys/fs/cgroup/memory/%s/cgroup.procs", M.cgpath[0] == '/' ? M.cgpath + 1 : M.cgpath);
  procs = hl_read_file(path, NULL);
  if (!procs) return 0;
  for (char *s = procs, *tok; (tok = strsep(&s, "\n"));) {
    pid_t p = (pid_t)atoi(tok);
    if (p > 0 && p != M.init) n++;
  }
  free(procs);
  return n;
}

static void term_others(void) {
  char path[4200], *procs;
  snprintf(path, sizeof path, "/sys/fs/cgroup/memory/%s/cgroup.procs", M.cgpath[0] == '/' ? M.cgpath + 1 : M.cgpath);
  procs = hl_read_file(path, NULL);
  if (!procs) return;
  for (char *s = procs, *tok; (tok = strsep(&s, "\n"));) {
    pid_t p = (pid_t)atoi(tok);
    if (p > 0 && p != M.init) kill(p, SIGTERM);
  }
  free(procs);
}

static void drain_check(void) {
  if (!M.draining || M.state == S_STOPPED) return;
  if (cgroup_others() == 0) {
    M.draining = 0;
    kill(M.init, SIGTERM);
  }
}

/* A pid namespace's init only receives the signals it handles, and
 * catatonit sets its handling up only after exec: a TERM sent in that
 * window is lost and the shutdown would never finish.  So start reports
 * success only once the init blocks or catches SIGTERM (catatonit uses a
 * signalfd, so the signal shows in SigBlk). */
static void wait_init_ready(void) {
  char path[64];
  unsigned long long mask = 1ULL << (SIGTERM - 1);
  snprintf(path, sizeof path, "/proc/%d/status", (int)M.init);
  for (int i = 0; i < 2000; i++) {
    char *st = hl_read_file(path, NULL), *blk, *cgt;
    int ready = 0;
    if (!st) return; /* gone: the exit is reported the normal way */
    blk = strstr(st, "\nSigBlk:");
    cgt = strstr(st, "\nSigCgt:");
    if ((blk && (strtoull(blk + 8, NULL, 16) & mask)) || (cgt && (strtoull(cgt + 8, NULL, 16) & mask))) ready = 1;
    free(st);
    if (ready) return;
    usleep(500);
  }
  logmsg("init %d did not set up SIGTERM handling within 1 s", (int)M.init);
}

static void op_transition(conn *c, const char *op) {
  char *err = NULL;
  int rc;
  if (strcmp(op, "start") == 0) {
    if (M.state != S_CREATED) { reply_err(c->fd, PLAT_HCS_E_INVALID_STATE, "compute system %s is %s, not Created: it cannot be started", M.id, state_names[M.state]); return; }
    rc = crun_simple("start", M.id, NULL, NULL, &err);
    if (rc == 0) {
      wait_init_ready();
      M.state = S_RUNNING;
      clock_gettime(CLOCK_REALTIME, &M.started);
    }
  } else if (strcmp(op, "pause") == 0) {
    if (M.state != S_RUNNING) { reply_err(c->fd, PLAT_HCS_E_INVALID_STATE, "compute system %s is %s, not Running: it cannot be paused", M.id, state_names[M.state]); return; }
    rc = crun_simple("pause", M.id, NULL, NULL, &err);
    if (rc == 0) M.state = S_PAUSED;
  } else if (strcmp(op, "resume") == 0) {
    if (M.state != S_PAUSED) { reply_err(c->fd, PLAT_HCS_E_INVALID_STATE, "compute system %s is %s, not Paused: it cannot be resumed", M.id, state_names[M.state]); return; }
    rc = crun_simple("resume", M.id, NULL, NULL, &err);
    if (rc == 0) M.state = S_RUNNING;
  } else { /* shutdown, terminate */
    int term = strcmp(op, "terminate") == 0;
    if (M.state == S_STOPPED) { reply_err(c->fd, PLAT_HCS_E_SYSTEM_ALREADY_STOPPED, "compute system %s has already stopped", M.id); return; }
    if (!M.requested || term) M.requested = term ? 2 : 1;
    if (term || M.state == S_CREATED) {
      /* a created system has no catatonit yet, only crun's helper waiting
       * to exec it: nothing graceful to do */
      M.draining = 0;
      rc = crun_simple("kill", "--all", M.id, "9", &err);
      if (rc != 0) { free(err); err = NULL; rc = kill(M.init, SIGKILL) == 0 ? 0 : -1; }
    } else {
      term_others();
      M.draining = 1;
      rc = 0;
    }
    if (M.state == S_PAUSED) {
      char *e2 = NULL;
      if (crun_simple("resume", M.id, NULL, NULL, &e2) == 0) M.state = S_RUNNING;
      free(e2);
    }
    if (rc == 0) drain_check();
  }
  if (rc != 0) reply_err(c->fd, PLAT_E_FAIL, "%s of compute system %s failed: %s", op, M.id, err ? err : "crun failed");
  else reply_ok(c->fd, NULL, NULL, 0);
  free(err);
}

static json_t *state_json(void) {
  json_t *j = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I}", "State", state_names[M.state], "InitPid", (int)M.init,
                        "CreatedSec", (json_int_t)M.created.tv_sec, "CreatedNsec", (json_int_t)M.created.tv_nsec,
                        "StartedSec", (json_int_t)M.started.tv_sec, "StartedNsec", (json_int_t)M.started.tv_nsec);
  if (M.state == S_STOPPED) {
    json_object_set_new(j, "ExitStatus", json_integer(M.exit_hr));
    json_object_set_new(j, "ExitType", json_string(M.requested == 2 ? "Terminated" : M.requested == 1 ? "Shutdown" : "UnexpectedExit"));
  }
  return j;
}

static int listen_unix(const char *name) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", name);
  unlink(name);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) { close(fd); return -1; }
  return fd;
}

static int recv_one_fd(int sock) {
  char b;
  struct iovec iov = {&b, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh;
  int fd = -1;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < 0) return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void op_exec(conn *c, json_t *req, int *fds, int nfds) {
  json_t *spec = hl_get(req, "Process");
  int want[3] = {json_is_true(hl_get(req, "In")), json_is_true(hl_get(req, "Out")), json_is_true(hl_get(req, "Err"))};
  int console = json_is_true(hl_get(req, "Console"));
  int stdio[3] = {-1, -1, -1}, k = 0, csock = -1, master = -1;
  unsigned n = ++M.seq;
  char pjson[64], pidf[64], csockname[64], *err = NULL, *text;
  const char *args[12];
  int na = 0, rc;
  pid_t pid = 0;
  for (int i = 0; i < 3; i++)
    if (want[i] && !console) stdio[i] = k < nfds ? fds[k++] : -1;
  if (M.state != S_RUNNING) {
    reply_err(c->fd, PLAT_HCS_E_INVALID_STATE, "compute system %s is %s, not Running: cannot create a process", M.id, state_names[M.state]);
    return;
  }
  if (!json_is_object(spec)) { reply_err(c->fd, PLAT_E_INVALIDARG, "exec: missing Process"); return; }
  snprintf(pjson, sizeof pjson, "exec-%u.json", n);
  snprintf(pidf, sizeof pidf, "exec-%u.pid", n);
  snprintf(csockname, sizeof csockname, "console-%u.sock", n);
  text = json_dumps(spec, JSON_COMPACT);
  if (!text || hl_write_file(pjson, text, strlen(text), 0600) < 0) {
    free(text);
    reply_err(c->fd, PLAT_E_FAIL, "cannot write the process spec: %s", strerror(errno));
    return;
  }
  free(text);
  args[na++] = "exec";
  args[na++] = "-d";
  args[na++] = "--pid-file";
  args[na++] = pidf;
  if (console) {
    csock = listen_unix(csockname);
    if (csock < 0) { reply_err(c->fd, PLAT_E_FAIL, "cannot create the console socket: %s", strerror(errno)); unlink(pjson); return; }
    args[na++] = "--console-socket";
    args[na++] = csockname;
  }
  args[na++] = "--process";
  args[na++] = pjson;
  args[na++] = M.id;
  args[na] = NULL;
  rc = hl_run_crun(M.id, args, stdio[0], stdio[1], stdio[2], &err);
  unlink(pjson);
  if (rc == 0) {
    char *ptxt = hl_read_file(pidf, NULL);
    pid = ptxt ? (pid_t)atoi(ptxt) : 0;
    free(ptxt);
  }
  unlink(pidf);
  if (console) {
    if (rc == 0) {
      int a;
      /* crun has exited: its connection and the fd sit in the backlog */
      fcntl(csock, F_SETFL, O_NONBLOCK);
      a = accept4(csock, NULL, NULL, SOCK_CLOEXEC);
      if (a >= 0) {
        master = recv_one_fd(a);
        close(a);
      }
    }
    close(csock);
    unlink(csockname);
  }
  if (rc != 0 || pid <= 0 || (console && master < 0)) {
    reply_err(c->fd, PLAT_E_FAIL, "cannot create a process in compute system %s: %s", M.id,
              err ? err : pid <= 0 ? "crun wrote no pid" : "no console from crun");
    if (pid > 0) kill(pid, SIGKILL); /* reaped by the main loop */
    if (master >= 0) close(master);
    free(err);
    return;
  }
  free(err);
  {
    proc *p = calloc(1, sizeof *p);
    if (!p) { reply_err(c->fd, PLAT_E_OUTOFMEMORY, "out of memory"); kill(pid, SIGKILL); if (master >= 0) close(master); return; }
    p->pid = pid;
    p->pty = master;
    p->next = M.procs;
    M.procs = p;
    trim_procs();
  }
  logmsg("exec pid %d%s", (int)pid, console ? " (console)" : "");
  reply_ok(c->fd, json_pack("{s:i}", "Pid", (int)pid), master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
}

static void op_proc(conn *c, const char *op, json_t *req) {
  pid_t pid = (pid_t)json_integer_value(hl_get(req, "Pid"));
  proc *p = find_proc(pid);
  if (!p) { reply_err(c->fd, PLAT_E_NOT_FOUND, "process %d not found in compute system %s", (int)pid, M.id); return; }
  if (strcmp(op, "proc") == 0) {
    json_t *j = json_pack("{s:i,s:b}", "Pid", (int)pid, "Exited", p->exited);
    if (p->exited) json_object_set_new(j, "Status", json_integer(p->status));
    reply_ok(c->fd, j, NULL, 0);
  } else if (strcmp(op, "signal") == 0) {
    int sig = (int)json_integer_value(hl_get(req, "Signal"));
    if (p->exited) { reply_err(c->fd, PLAT_HCS_E_PROCESS_ALREADY_STOPPED, "process %d in compute system %s has already exited", (int)pid, M.id); return; }
    /* not yet reaped, so the pid cannot have been reused */
    if (kill(pid, sig) < 0) { reply_err(c->fd, errno == EINVAL ? PLAT_E_INVALIDARG : PLAT_E_FAIL, "signal %d to process %d: %s", sig, (int)pid, strerror(errno)); return; }
    reply_ok(c->fd, NULL, NULL, 0);
  } else if (strcmp(op, "resize") == 0 || strcmp(op, "closestdin") == 0 || strcmp(op, "getpty") == 0) {
    if (p->pty < 0) {
      if (strcmp(op, "closestdin") == 0 || strcmp(op, "getpty") == 0) { reply_ok(c->fd, NULL, NULL, 0); return; }
      reply_err(c->fd, p->exited ? PLAT_HCS_E_PROCESS_ALREADY_STOPPED : PLAT_E_INVALIDARG, "process %d in compute system %s has no console%s", (int)pid, M.id, p->exited ? " (it has exited)" : "");
      return;
    }
    if (op[0] == 'r') {
      struct winsize ws;
      memset(&ws, 0, sizeof ws);
      ws.ws_row = (unsigned short)json_integer_value(hl_get(req, "Height"));
      ws.ws_col = (unsigned short)json_integer_value(hl_get(req, "Width"));
      if (ioctl(p->pty, TIOCSWINSZ, &ws) < 0) { reply_err(c->fd, PLAT_E_FAIL, "resize console of process %d: %s", (int)pid, strerror(errno)); return; }
      reply_ok(c->fd, NULL, NULL, 0);
    } else if (op[0] == 'c') {
      struct termios t;
      char eof = 4;
      if (tcgetattr(p->pty, &t) == 0 && t.c_cc[VEOF]) eof = (char)t.c_cc[VEOF];
      if (write(p->pty, &eof, 1) != 1) { reply_err(c->fd, PLAT_E_FAIL, "close stdin of process %d: %s", (int)pid, strerror(errno)); return; }
      reply_ok(c->fd, NULL, NULL, 0);
    } else {
      reply_ok(c->fd, NULL, &p->pty, 1);
    }
  }
}

/* Hot attach / detach of an HNS endpoint (HcsModifyComputeSystem Network
 * Add/Remove): here, so that it serialises with the exit teardown. */
static void op_network(conn *c, json_t *req) {
  const char *rt = hl_str(req, "RequestType"), *ep = hl_str(req, "Endpoint"), *netns = hl_str(M.meta, "NetNs");
  int add = rt && strcmp(rt, "Add") == 0;
  char *err = NULL, *text;
  plat_hresult hr;
  if (!ep) { reply_err(c->fd, PLAT_E_INVALIDARG, "network: missing endpoint id"); return; }
  if (M.state == S_STOPPED) {
    reply_err(c->fd, PLAT_HCS_E_INVALID_STATE, "compute system %s is Stopped: cannot %s endpoint %s", M.id, add ? "attach" : "detach", ep);
    return;
  }
  if (!netns) {
    reply_err(c->fd, PLAT_E_NOT_SUPPORTED, "compute system %s shares the network namespace of another system: endpoints are attached there", M.id);
    return;
  }
  hr = add ? hns_endpoint_attach(ep, M.id, netns, &err) : hns_endpoint_detach(ep, M.id, &err);
  if (hr < 0) {
    reply_err(c->fd, hr, "%s", err ? err : "network modify failed");
    free(err);
    return;
  }
  free(err);
  text = hns_resolv_conf(M.id, NULL);
  if (!text) {
    /* no endpoint with DNS settings left: back to the image's own */
    char *dir = hl_sysdir(M.id), *ip = dir ? hl_path(dir, "resolv.image") : NULL;
    text = ip ? hl_read_file(ip, NULL) : NULL;
    if (!text) text = strdup("");
    free(ip);
    free(dir);
  }
  if (text) hns_write_resolv(M.id, text);
  free(text);
  logmsg("endpoint %s %s", ep, add ? "attached" : "detached");
  reply_ok(c->fd, NULL, NULL, 0);
}

static void handle_request(conn *c) {
  int fds[HL_MAX_FDS], nfds = 0;
  json_t *req = hl_recv(c->fd, fds, &nfds);
  const char *op;
  if (!req) {
    c->fd = -c->fd - 1; /* mark closed; removed by the loop */
    return;
  }
  op = hl_str(req, "op");
  if (!op) op = "";
  if (strcmp(op, "open") == 0 || strcmp(op, "state") == 0) {
    if (op[0] == 'o' && json_is_true(hl_get(req, "Handle")) && !c->handle) {
      c->handle = 1;
      M.handles++;
      M.had_handle = 1;
    }
    reply_ok(c->fd, state_json(), NULL, 0);
  } else if (!strcmp(op, "start") || !strcmp(op, "pause") || !strcmp(op, "resume") || !strcmp(op, "shutdown") || !strcmp(op, "terminate")) {
    op_transition(c, op);
  } else if (strcmp(op, "exec") == 0) {
    op_exec(c, req, fds, nfds);
    for (int i = 0; i < nfds; i++) close(fds[i]);
    nfds = 0;
  } else if (strcmp(op, "subscribe") == 0) {
    pid_t pid = (pid_t)json_integer_value(hl_get(req, "Pid"));
    proc *p = pid ? find_proc(pid) : NULL;
    if (pid && !p) reply_err(c->fd, PLAT_E_NOT_FOUND, "process %d not found in compute system %s", (int)pid, M.id);
    else {
      c->sub = 1;
      c->subpid = pid;
      reply_ok(c->fd, NULL, NULL, 0);
      if (!pid && M.state == S_STOPPED) send_event(c, 0, M.exit_hr);
      else if (p && p->exited) send_event(c, pid, p->status);
    }
  } else if (strcmp(op, "network") == 0) {
    op_network(c, req);
  } else if (!strcmp(op, "proc") || !strcmp(op, "signal") || !strcmp(op, "resize") || !strcmp(op, "closestdin") || !strcmp(op, "getpty")) {
    op_proc(c, op, req);
  } else {
    reply_err(c->fd, PLAT_HCS_E_UNKNOWN_MESSAGE, "unknown monitor request `%s`", op);
  }
  for (int i = 0; i < nfds; i++) close(fds[i]);
  json_decref(req);
}

/* consumes j */
static void report(int fd, json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT);
  if (s) {
    if (write(fd, s, strlen(s)) < 0) { /* creator gone */ }
    free(s);
  }
  json_decref(j);
  close(fd);
}

static void finish(void) {
  unlink("monitor.sock");
  {
    char *d = hl_sysdir(M.id);
    if (chdir("/") < 0) { /* rm -rf uses absolute paths */ }
    if (d) hl_rm_rf(d);
    free(d);
  }
  logmsg("exiting");
  exit(0);
}

int main(int argc, char **argv) {
  int rfd, lockfd, rc;
  sigset_t ss;
  char *err = NULL, *meta_text;
  if (argc == 2 && strcmp(argv[1], "--extract") == 0) return hl_extract_main();
  if (argc != 5) {
    fprintf(stderr, "usage: %s <runtime-root> <id> <report-fd> <lock-fd>\n", argv[0]);
    return 2;
  }
  setenv("HCSSHIM_RUNTIME_ROOT", argv[1], 1);
  M.id = argv[2];
  rfd = atoi(argv[3]);
  lockfd = atoi(argv[4]);
  /* held (the lock too) until we exit; never inherited by crun or the
   * container, or a creator would wait forever and a dead monitor's lock
   * would outlive it */
  fcntl(rfd, F_SETFD, FD_CLOEXEC);
  fcntl(lockfd, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigprocmask(SIG_BLOCK, &ss, NULL);
  M.sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (hl_check_id("id", M.id, NULL) < 0) return 2;
  meta_text = hl_read_file("meta.json", NULL);
  M.meta = meta_text ? json_loads(meta_text, 0, NULL) : NULL;
  free(meta_text);
  M.cgpath = hl_str(M.meta, "CgroupsPath");
  M.tolhc = json_is_true(hl_get(M.meta, "TerminateOnLastHandleClosed"));
  if (!M.cgpath) {
    report(rfd, json_pack("{s:i,s:s}", "Error", (json_int_t)PLAT_E_FAIL, "ErrorMessage", "monitor: meta.json unreadable"));
    return 1;
  }
  {
    /* the socket exists before the creator hears of success */
    struct sockaddr_un sa;
    M.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, "monitor.sock");
    if (M.lfd < 0 || bind(M.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(M.lfd, 64) < 0) {
      char *m = hl_strdup_printf("monitor: cannot listen on monitor.sock: %s", strerror(errno));
      report(rfd, json_pack("{s:i,s:s}", "Error", (json_int_t)PLAT_E_FAIL, "ErrorMessage", m ? m : "listen"));
      free(m);
      return 1;
    }
  }
  clock_gettime(CLOCK_REALTIME, &M.created);
  {
    const char *args[] = {"create", "--bundle", ".", "--pid-file", "init.pid", M.id, NULL};
    char *pidtxt;
    rc = hl_run_crun(M.id, args, -1, -1, -1, &err);
    pidtxt = rc == 0 ? hl_read_file("init.pid", NULL) : NULL;
    M.init = pidtxt ? (pid_t)atoi(pidtxt) : 0;
    free(pidtxt);
  }
  if (rc != 0 || M.init <= 0) {
    json_t *m = json_pack("{s:s}", "CgroupsPath", M.cgpath);
    char *msg = hl_strdup_printf("crun create of compute system %s failed: %s", M.id, err ? err : "no init pid");
    logmsg("%s", msg ? msg : "create failed");
    hl_teardown_system(M.id, m); /* the layer mount is the creator's to undo */
    json_decref(m);
    report(rfd, json_pack("{s:i,s:s}", "Error", (json_int_t)PLAT_E_FAIL, "ErrorMessage", msg ? msg : "create failed"));
    free(msg);
    free(err);
    unlink("monitor.sock");
    return 1;
  }
  free(err);
  M.state = S_CREATED;
  logmsg("created, init pid %d", (int)M.init);
  report(rfd, json_pack("{s:b,s:i}", "ok", 1, "InitPid", (int)M.init));

  for (;;) {
    /* sized to the connections each round: every handle is a connection,
     * and a fixed array would silently stop serving the oldest ones */
    struct pollfd *pf;
    conn **cv;
    int n = 0, cap = 2;
    for (conn *c = M.conns; c; c = c->next) cap++;
    pf = calloc((size_t)cap, sizeof *pf);
    cv = calloc((size_t)cap, sizeof *cv);
    if (!pf || !cv) {
      free(pf);
      free(cv);
      logmsg("out of memory polling %d connections", cap);
      sleep(1);
      continue;
    }
    if (M.state == S_STOPPED && !M.conns) finish();
    pf[n].fd = M.lfd; pf[n].events = POLLIN; cv[n++] = NULL;
    pf[n].fd = M.sfd; pf[n].events = POLLIN; cv[n++] = NULL;
    for (conn *c = M.conns; c && n < cap; c = c->next) { pf[n].fd = c->fd; pf[n].events = POLLIN; cv[n++] = c; }
    rc = poll(pf, (nfds_t)n, M.draining ? 20 : -1);
    if (rc < 0 && errno != EINTR) {
      logmsg("poll: %s", strerror(errno));
      free(pf);
      free(cv);
      sleep(1);
      continue;
    }
    if (pf[1].revents) {
      struct signalfd_siginfo si;
      while (read(M.sfd, &si, sizeof si) > 0) {}
      reap();
    }
    if (pf[0].revents & POLLIN) {
      int fd;
      while ((fd = accept4(M.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        conn *c = calloc(1, sizeof *c);
        if (!c) { close(fd); continue; }
        hl_bigbuf(fd);
        c->fd = fd;
        c->next = M.conns;
        M.conns = c;
      }
    }
    for (int i = 2; i < n; i++) {
      if (pf[i].revents & POLLIN) handle_request(cv[i]);
      else if (pf[i].revents & (POLLHUP | POLLERR | POLLNVAL)) cv[i]->fd = -cv[i]->fd - 1;
    }
    for (conn **pp = &M.conns; *pp;) {
      conn *c = *pp;
      if (c->fd < 0) {
        close(-c->fd - 1);
        if (c->handle) M.handles--;
        *pp = c->next;
        free(c);
      } else {
        pp = &c->next;
      }
    }
    if (M.tolhc && M.had_handle && M.handles == 0 && M.state != S_STOPPED && M.requested != 2) {
      char *e2 = NULL;
      logmsg("last handle closed: terminating");
      M.requested = 2;
      if (crun_simple("kill", "--all", M.id, "9", &e2) != 0) kill(M.init, SIGKILL);
      free(e2);
    }
    free(pf);
    free(cv);
    drain_check();
  }
}
