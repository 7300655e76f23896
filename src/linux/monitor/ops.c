/* The monitor's requests: state transitions, exec, processes, network
 * (see common/monwire.h for the protocol). */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* A stop cuts a runtime step short first: a stuck step would otherwise
 * hold the system, and killed mid-way a pause or resume may leave the
 * freezer frozen, which a SIGKILL does not get through (cgroup v1). */
int mon_stop(int term, char **err) {
  int rc, cut = mon_jobs_cancel(term ? "terminate" : "shutdown");
  if (cut == MON_CREATE) return 0; /* its failure took the system down */
  if (!M.requested || term) M.requested = term ? 2 : 1;
  if (term || M.state == MON_CREATED) {
    /* a created system has no catatonit yet, only crun's helper waiting
     * to exec it: nothing graceful to do */
    M.draining = 0;
    rc = mon_crun("kill", "--all", M.id, "9", err);
    if (rc != 0) {
      free(*err);
      *err = NULL;
      rc = M.init > 0 && kill(M.init, SIGKILL) == 0 ? 0 : -1;
    }
  } else {
    /* TERM everything but the init; the init when the rest is gone */
    mon_cgroup_signal(SIGTERM);
    M.draining = 1;
    rc = 0;
  }
  if (M.state == MON_PAUSED || cut == MON_PAUSE || cut == MON_RESUME) {
    char *e2 = NULL;
    if (mon_crun("resume", M.id, NULL, NULL, &e2) == 0 && M.state == MON_PAUSED)
      M.state = MON_RUNNING;
    free(e2);
  }
  return rc;
}

static void op_stop_request(mon_conn *c, int op) {
  char *err = NULL;
  int rc;
  if (M.state == MON_STOPPED) {
    mon_reply_err(c->fd, PLAT_HCS_E_SYSTEM_ALREADY_STOPPED, "compute system %s has already stopped",
                  M.id);
    return;
  }
  rc = mon_stop(op == MON_TERMINATE, &err);
  if (rc == 0) mon_drain_check();
  if (rc != 0)
    mon_reply_err(c->fd, PLAT_E_FAIL, "%s of compute system %s failed: %s",
                  op == MON_TERMINATE ? "terminate" : "shutdown", M.id, err ? err : "crun failed");
  else mon_reply_ok(c->fd, NULL, NULL, 0);
  free(err);
}

static int state_reply(mon_conn *c) {
  mon_rep r;
  memset(&r, 0, sizeof r);
  r.state = (int32_t)M.state;
  r.init_pid = (int32_t)M.init;
  r.created_sec = M.created.tv_sec;
  r.created_nsec = M.created.tv_nsec;
  r.started_sec = M.started.tv_sec;
  r.started_nsec = M.started.tv_nsec;
  r.exit_hr = M.exit_hr;
  r.oom_kills = mon_oom_kills();
  r.exit_type = M.requested == 2   ? MON_EXIT_TERMINATED
                : M.requested == 1 ? MON_EXIT_SHUTDOWN
                                   : MON_EXIT_UNEXPECTED;
  return mon_reply_ok(c->fd, &r, NULL, 0);
}

static int stale_reply(mon_conn *c, pid_t pid) {
  return mon_reply_err(c->fd, PLAT_E_NOT_FOUND,
                       "process %d of compute system %s is gone and its pid now belongs to "
                       "another process: the handle is stale",
                       (int)pid, M.id);
}

static void op_proc(mon_conn *c, const mon_req *q) {
  pid_t pid = (pid_t)q->pid;
  int stale;
  mon_proc *p = mon_find_ident(pid, q->start, &stale);
  mon_rep r;
  if (stale) {
    stale_reply(c, pid);
    return;
  }
  if (!p) {
    mon_reply_err(c->fd, PLAT_E_NOT_FOUND, "process %d not found in compute system %s", (int)pid,
                  M.id);
    return;
  }
  if (q->op == MON_PROC) {
    memset(&r, 0, sizeof r);
    r.pid = (int32_t)pid;
    r.exited = p->exited;
    r.status = p->status;
    r.oom = p->oom;
    r.start = p->start;
    mon_reply_ok(c->fd, &r, NULL, 0);
  } else if (q->op == MON_SIGNAL) {
    if (p->exited) {
      mon_reply_err(c->fd, PLAT_HCS_E_PROCESS_ALREADY_STOPPED,
                    "process %d in compute system %s has already exited", (int)pid, M.id);
      return;
    }
    /* a frozen process takes no signal until it is thawed (cgroup v1
     * freezer): a kill would be a success that did nothing, so a paused
     * system refuses it, as it refuses exec */
    if (M.state == MON_PAUSED) {
      mon_reply_err(c->fd, PLAT_HCS_E_INVALID_STATE,
                    "compute system %s is Paused: signal %d cannot reach process %d until it is "
                    "resumed",
                    M.id, q->signal, (int)pid);
      return;
    }
    /* not yet reaped, so the pid cannot have been reused */
    if (q->signal == SIGKILL) p->killed = 1;
    if (kill(pid, q->signal) < 0) {
      mon_reply_err(c->fd, errno == EINVAL ? PLAT_E_INVALIDARG : PLAT_E_FAIL,
                    "signal %d to process %d: %s", q->signal, (int)pid, strerror(errno));
      return;
    }
    mon_reply_ok(c->fd, NULL, NULL, 0);
  } else if (p->pty < 0) {
    if (q->op == MON_CLOSESTDIN || q->op == MON_GETPTY) {
      mon_reply_ok(c->fd, NULL, NULL, 0);
      return;
    }
    mon_reply_err(c->fd, p->exited ? PLAT_HCS_E_PROCESS_ALREADY_STOPPED : PLAT_E_INVALIDARG,
                  "process %d in compute system %s has no "
                  "console%s",
                  (int)pid, M.id, p->exited ? " (it has exited)" : "");
  } else if (q->op == MON_RESIZE) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = (unsigned short)q->rows;
    ws.ws_col = (unsigned short)q->cols;
    if (ioctl(p->pty, TIOCSWINSZ, &ws) < 0) {
      mon_reply_err(c->fd, PLAT_E_FAIL, "resize console of process %d: %s", (int)pid,
                    strerror(errno));
      return;
    }
    mon_reply_ok(c->fd, NULL, NULL, 0);
  } else if (q->op == MON_CLOSESTDIN) {
    struct termios t;
    char eof = 4;
    if (tcgetattr(p->pty, &t) == 0 && t.c_cc[VEOF]) eof = (char)t.c_cc[VEOF];
    if (write(p->pty, &eof, 1) != 1) {
      mon_reply_err(c->fd, PLAT_E_FAIL, "close stdin of process %d: %s", (int)pid, strerror(errno));
      return;
    }
    mon_reply_ok(c->fd, NULL, NULL, 0);
  } else {
    mon_reply_ok(c->fd, NULL, &p->pty, 1);
  }
}

/* Hot attach / detach of an HNS endpoint (HcsModifyComputeSystem Network
 * Add/Remove): here, so that it serialises with the exit teardown; the
 * work itself is the compute helper's (CNI, the HNS store). */
static void op_network(mon_conn *c, const mon_req *q, const char *ep) {
  int add = (q->flags & MON_F_ADD) != 0, st;
  char *out = NULL, *msg;
  long hr;
  if (!ep || !*ep) {
    mon_reply_err(c->fd, PLAT_E_INVALIDARG, "network: missing endpoint id");
    return;
  }
  if (M.state == MON_STOPPED) {
    mon_reply_err(c->fd, PLAT_HCS_E_INVALID_STATE,
                  "compute system %s is Stopped: cannot %s endpoint %s", M.id,
                  add ? "attach" : "detach", ep);
    return;
  }
  if (!*M.netns) {
    mon_reply_err(
        c->fd, PLAT_E_NOT_SUPPORTED,
        "compute system %s shares the network namespace of another system: endpoints are attached "
        "there",
        M.id);
    return;
  }
  {
    const char *args[] = {"network", add ? "add" : "remove", M.id, ep, M.netns, NULL};
    st = mon_helper(args, &out);
  }
  hr = out ? strtol(out, &msg, 0) : 0;
  if (st != 0 || hr < 0) {
    while (msg && *msg == ' ') msg++;
    mon_reply_err(c->fd, hr < 0 ? (plat_hresult)hr : PLAT_E_FAIL, "%s",
                  out && msg && *msg ? msg : "network modify failed");
  } else {
    mon_log("endpoint %s %s", ep, add ? "attached" : "detached");
    mon_reply_ok(c->fd, NULL, NULL, 0);
  }
  free(out);
}

static void op_subscribe(mon_conn *c, const mon_req *q) {
  pid_t pid = (pid_t)q->pid;
  int stale = 0;
  mon_proc *p = pid ? mon_find_ident(pid, q->start, &stale) : NULL;
  if (stale) {
    stale_reply(c, pid);
    return;
  }
  if (pid && !p) {
    mon_reply_err(c->fd, PLAT_E_NOT_FOUND, "process %d not found in compute system %s", (int)pid,
                  M.id);
    return;
  }
  c->sub = 1;
  c->subpid = pid;
  c->substart = p ? p->start : 0;
  mon_reply_ok(c->fd, NULL, NULL, 0);
  if (!pid && M.state == MON_STOPPED) mon_send_event(c, 0, M.exit_hr);
  else if (p && p->exited) mon_send_event(c, pid, p->status);
}

void mon_handle_request(mon_conn *c) {
  int fds[CMN_MAX_FDS], nfds = 0;
  void *data = NULL;
  ssize_t n = cmn_recvmsg(c->fd, &data, fds, &nfds);
  mon_req q;
  char *text;
  if (n <= 0 || (size_t)n < sizeof q) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    free(data);
    c->fd = -c->fd - 1; /* mark closed; removed by the loop */
    return;
  }
  memcpy(&q, data, sizeof q);
  M.rseq = q.seq;
  text = (char *)data + sizeof q;
  if (q.len > (size_t)n - sizeof q) q.len = (uint32_t)((size_t)n - sizeof q);
  text[q.len] = '\0';
  switch (q.op) {
  case MON_OPEN:
    /* a handle once its open is answered: a caller that gave up while its
     * open waited in the backlog (a monitor still starting) never had one,
     * and its hang-up is no last handle closing */
    if (state_reply(c) == 0 && (q.flags & MON_F_HANDLE) && !c->handle) {
      c->handle = 1;
      M.handles++;
      if (q.flags & MON_F_CREATOR) mon_creator_release();
    }
    break;
  case MON_STATE: state_reply(c); break;
  case MON_START:
  case MON_PAUSE:
  case MON_RESUME:
  case MON_EXEC:
    mon_job_add(c, &q, text, fds, &nfds);
    mon_jobs_next();
    break;
  case MON_SHUTDOWN:
  case MON_TERMINATE: op_stop_request(c, q.op); break;
  case MON_SUBSCRIBE: op_subscribe(c, &q); break;
  case MON_NETWORK: op_network(c, &q, text); break;
  case MON_PROC:
  case MON_SIGNAL:
  case MON_RESIZE:
  case MON_CLOSESTDIN:
  case MON_GETPTY: op_proc(c, &q); break;
  default:
    mon_reply_err(c->fd, PLAT_HCS_E_UNKNOWN_MESSAGE, "unknown monitor request %d", (int)q.op);
  }
  for (int i = 0; i < nfds; i++) close(fds[i]);
  free(data);
}
