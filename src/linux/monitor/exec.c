/* exec: a process in the running system through `crun exec` (a step of
 * monitor/step.c), optionally with a console whose master crun hands back
 * over a socket. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_unix(const char *name) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", name);
  unlink(name);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* crun has exited: its connection and the master fd sit in the backlog */
static int take_console(int csock) {
  char b;
  struct iovec iov = {&b, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh;
  int fd = -1, a;
  fcntl(csock, F_SETFL, O_NONBLOCK);
  a = accept4(csock, NULL, NULL, SOCK_CLOEXEC);
  if (a < 0) return -1;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  if (recvmsg(a, &mh, MSG_CMSG_CLOEXEC) >= 0)
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
  close(a);
  return fd;
}

/* the binary crun runs from (cmn_crun() is a path or a name in PATH) */
static int crun_binary(struct stat *st) {
  const char *name = cmn_crun(), *path = getenv("PATH");
  char buf[4096];
  if (strchr(name, '/')) return stat(name, st);
  for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
    if (stat(buf, st) == 0) return 0;
    p += n + (p[n] == ':');
  }
  return -1;
}

/* `crun exec -d` returns once its child is about to execve, so the pid may
 * still be that pre-exec copy of crun.  HCS's CreateProcess returns with the
 * process running its image: the step settles (monitor/step.c) until
 * /proc/<pid>/exe is no longer crun's binary, or the process is gone (a
 * zombie has no exe; it is our child, so its pid cannot be reused before
 * the main loop reaps it). */
int mon_exec_settled(pid_t pid) {
  struct stat crun, now;
  char exe[64];
  if (crun_binary(&crun) < 0) return 1;
  snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
  return stat(exe, &now) < 0 || now.st_dev != crun.st_dev || now.st_ino != crun.st_ino;
}

/* start: read by settle_begin, before the process could be reaped */
static void add_proc(int fd, pid_t pid, uint64_t start, int master) {
  mon_proc *p = calloc(1, sizeof *p);
  mon_rep r;
  if (!p) {
    mon_reply_err(fd, PLAT_E_OUTOFMEMORY, "out of memory");
    kill(pid, SIGKILL);
    if (master >= 0) close(master);
    return;
  }
  p->pid = pid;
  p->start = start;
  p->pty = master;
  p->next = M.procs;
  M.procs = p;
  mon_trim_procs();
  mon_log("exec pid %d%s", (int)pid, master >= 0 ? " (console)" : "");
  memset(&r, 0, sizeof r);
  r.pid = (int32_t)pid;
  r.start = p->start;
  mon_reply_ok(fd, &r, master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
}

static void names(const mon_job *j, char *pjson, char *csock, char *pidf) {
  snprintf(pjson, 64, "exec-%u.json", j->n);
  snprintf(csock, 64, "console-%u.sock", j->n);
  snprintf(pidf, 64, "exec-%u.pid", j->n);
}

/* crun exec -d as a step (monitor/step.c): 0 when it runs, -1 when the
 * request was answered. */
int mon_exec_begin(mon_job *j) {
  int console = (j->q.flags & MON_F_CONSOLE) != 0, stdio[3] = {-1, -1, -1}, k = 0, na = 0, fd;
  char pjson[64], csockname[64], pidf[64], *err = NULL;
  const char *args[12];
  M.rseq = j->q.seq;
  fd = j->conn ? j->conn->fd : -1;
  for (int i = 0; i < 3; i++)
    if ((j->q.flags & (MON_F_IN << i)) && !console) stdio[i] = k < j->nfds ? j->fds[k++] : -1;
  if (M.state != MON_RUNNING) {
    mon_reply_err(fd, PLAT_HCS_E_INVALID_STATE,
                  "compute system %s is %s, not Running: cannot create a process", M.id,
                  mon_state_names[M.state]);
    return -1;
  }
  if (!*j->text) {
    mon_reply_err(fd, PLAT_E_INVALIDARG, "exec: missing Process");
    return -1;
  }
  j->n = ++M.seq;
  names(j, pjson, csockname, pidf);
  if (cmn_write_file(pjson, j->text, strlen(j->text), 0600) < 0) {
    mon_reply_err(fd, PLAT_E_FAIL, "cannot write the process spec: %s", strerror(errno));
    return -1;
  }
  if (console && (j->csock = listen_unix(csockname)) < 0) {
    mon_reply_err(fd, PLAT_E_FAIL, "cannot create the console socket: %s", strerror(errno));
    unlink(pjson);
    return -1;
  }
  args[na++] = "exec";
  args[na++] = "-d";
  args[na++] = "--pid-file";
  args[na++] = pidf;
  if (console) {
    args[na++] = "--console-socket";
    args[na++] = csockname;
  }
  args[na++] = "--process";
  args[na++] = pjson;
  args[na++] = M.id;
  args[na] = NULL;
  if (cmn_crun_start(args, stdio[0], stdio[1], stdio[2], &j->run, &err) == 0) return 0;
  mon_reply_err(fd, PLAT_E_FAIL, "cannot create a process in compute system %s: %s", M.id, err);
  free(err);
  mon_exec_abandon(j);
  return -1;
}

/* The files of a step that will not end normally. */
void mon_exec_abandon(mon_job *j) {
  char pjson[64], csockname[64], pidf[64];
  names(j, pjson, csockname, pidf);
  unlink(pjson);
  unlink(pidf);
  if (j->csock >= 0) {
    close(j->csock);
    unlink(csockname);
    j->csock = -1;
  }
}

pid_t mon_exec_pid(const mon_job *j) {
  char pjson[64], csockname[64], pidf[64], *ptxt;
  pid_t pid;
  names(j, pjson, csockname, pidf);
  ptxt = cmn_read_file(pidf, NULL);
  pid = ptxt ? (pid_t)atoi(ptxt) : 0;
  free(ptxt);
  return pid;
}

void mon_exec_end(mon_job *j) {
  int console = (j->q.flags & MON_F_CONSOLE) != 0, master = -1, fd = j->conn ? j->conn->fd : -1;
  const char *err = j->err;
  pid_t pid = j->rc == 0 ? j->pid : 0; /* read by settle_begin */
  if (console && pid > 0) master = take_console(j->csock);
  mon_exec_abandon(j);
  if (pid <= 0 || (console && master < 0)) {
    mon_reply_err(fd, PLAT_E_FAIL, "cannot create a process in compute system %s: %s", M.id,
                  err        ? err
                  : pid <= 0 ? "crun wrote no pid"
                             : "no console from crun");
    if (pid > 0) kill(pid, SIGKILL); /* reaped by the main loop */
    if (master >= 0) close(master);
  } else {
    mon_proc *p;
    int st;
    add_proc(fd, pid, j->start, master);
    if (mon_early_take(pid, &st) && (p = mon_find_proc(pid))) mon_proc_ended(p, st);
  }
}
