/* The one spawn-and-capture helper (see common.h for the why of clone3
 * and pidfds). */
#include "linux/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char **child_env;

static void env_build(void) {
  size_t n = 2, k = 0;
  const char *path = getenv("PATH");
  for (char **e = environ; *e; e++) n++;
  child_env = calloc(n, sizeof *child_env);
  if (!child_env) return;
  child_env[k++] = cmn_printf("PATH=%s", path && *path ? path : CMN_DEFAULT_PATH);
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "HCSSHIM_", 8) == 0 || strncmp(*e, "ASAN_OPTIONS=", 13) == 0 ||
        strncmp(*e, "UBSAN_OPTIONS=", 14) == 0)
      child_env[k++] = strdup(*e);
}

/* The copy lives as long as the library: freed when it is unloaded (a
 * Lua state closing dlcloses the core), not left for a leak checker to
 * find with its last pointer gone with the library. */
__attribute__((destructor)) static void env_free(void) {
  for (char **e = child_env; e && *e; e++) free(*e);
  free(child_env);
  child_env = NULL;
}

char *const *cmn_child_env(void) {
  static char *empty[] = {NULL};
  pthread_once(&env_once, env_build);
  return child_env ? child_env : empty;
}

/* A name without '/' is looked up in the child's PATH, here in the
 * parent: after clone only async-signal-safe calls may run. */
static char *resolve(const char *prog, char *const *envp) {
  const char *path = CMN_DEFAULT_PATH;
  char buf[PATH_MAX];
  if (strchr(prog, '/')) return strdup(prog);
  for (char *const *e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  while (*path) {
    size_t n = strcspn(path, ":");
    if (n && snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog) < (int)sizeof buf &&
        access(buf, X_OK) == 0)
      return strdup(buf);
    path += n + (path[n] == ':');
  }
  errno = ENOENT;
  return NULL;
}

void cmn_reset_signals(void) {
  struct sigaction dfl;
  sigset_t none;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

void cmn_close_from(int fd) {
  if (syscall(SYS_close_range, (unsigned)fd, ~0U, 0U) < 0)
    for (; fd < 65536; fd++) close(fd);
}

/* A job dies with the process that runs it (its parent here): a runtime
 * step of a monitor killed mid-create would otherwise go on and make a
 * container after its teardown.  Not so a program with only a deadline:
 * a teardown or a CNI DEL cut in the middle by its caller's death leaves
 * more behind than one that finishes (the bridge plugin learns the
 * addresses whose masquerade rules it removes from the link it deletes
 * first).  The check catches a parent that died before the prctl. */
static int is_job(const cmn_cmd *c) { return c->pgroup || c->deadline; }

static void tie_to(const cmn_cmd *c, pid_t parent) {
  if (!c->pgroup) return;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(126);
}

/* The program's process: only async-signal-safe calls until execve. */
static void child(const char *exe, const cmn_cmd *c, const int io[3], char *const *envp,
                  pid_t parent) {
  int hi[3], keep = -1;
  tie_to(c, parent);
  /* out of the way first, so that no dup2 clobbers another source (the
   * copies close at exec: only 0-2 and the kept fd 3 reach the program) */
  for (int i = 0; i < 3; i++) {
    int fd = io[i] >= 0 ? io[i] : open("/dev/null", i ? O_WRONLY : O_RDONLY);
    hi[i] = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 10) : -1;
    if (hi[i] < 0) _exit(126);
  }
  if (c->keep_fd >= 0 && (keep = fcntl(c->keep_fd, F_DUPFD_CLOEXEC, 10)) < 0) _exit(126);
  for (int i = 0; i < 3; i++)
    if (dup2(hi[i], i) < 0) _exit(126);
  if (keep >= 0 && dup2(keep, 3) < 0) _exit(126);
  if (c->cwd && chdir(c->cwd) < 0) _exit(125);
  execve(exe, (char *const *)(uintptr_t)c->argv, envp);
  _exit(127);
}

/* The intermediate process: it never execs, so it keeps exit signal 0;
 * with default dispositions it can wait for the program and passes its
 * status on (a signal by dying of the same signal, without a core). */
static void intermediate(const char *exe, const cmn_cmd *c, const int io[3], char *const *envp,
                         pid_t parent) {
  struct rlimit none = {0, 0};
  pid_t pid, self = getpid();
  int st = 0;
  cmn_reset_signals();
  if (is_job(c)) setpgid(0, 0);
  tie_to(c, parent);
  /* the raw system call: glibc's fork() would run atfork handlers and take
   * locks that other threads of the caller may have held at the clone */
  pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) child(exe, c, io, envp, self);
  if (pid < 0) _exit(126);
  /* hold no descriptor of the caller's: a pipe end kept open here would
   * keep the program's stdin from ever reaching EOF */
  cmn_close_from(0);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) _exit(126);
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
  setrlimit(RLIMIT_CORE, &none);
  kill(getpid(), WTERMSIG(st));
  _exit(128 + WTERMSIG(st));
}

/* An exec resets a process's exit signal to SIGCHLD, so a program started
 * directly could be auto-reaped (the caller ignores SIGCHLD) or taken by
 * the caller's waitpid(-1).  So the program runs below an intermediate
 * made by clone3 with exit signal 0, waited for through a pidfd. */
static pid_t start(const char *exe, const cmn_cmd *c, const int io[3], char *const *envp,
                   int *pidfd) {
  struct clone_args ca;
  pid_t pid, self = getpid();
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_PIDFD;
  ca.pidfd = (uint64_t)(uintptr_t)pidfd;
  ca.exit_signal = 0; /* never auto-reaped, never seen by waitpid(-1) */
  *pidfd = -1;
  pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0 && (errno == ENOSYS || errno == EPERM)) {
    *pidfd = -1;
    pid = fork(); /* kernels before 5.3, valgrind: the plain way */
    if (pid == 0) {
      cmn_reset_signals();
      if (is_job(c)) setpgid(0, 0);
      child(exe, c, io, envp, self);
    }
  } else if (pid == 0) {
    intermediate(exe, c, io, envp, self);
  }
  /* here too: a kill of the group right after we return must not miss a
   * child that has not run setpgid yet */
  if (pid > 0 && is_job(c)) setpgid(pid, pid);
  return pid;
}

static int wait_child(pid_t pid, int pidfd) {
  int st = 0;
  if (pidfd >= 0) {
    siginfo_t si;
    int r;
    memset(&si, 0, sizeof si);
    while ((r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL)) < 0 &&
           errno == EINTR) {}
    close(pidfd);
    if (r < 0) return -errno;
    if (si.si_code == CLD_EXITED) return (si.si_status & 0xff) << 8;
    return si.si_status & 0x7f; /* killed or dumped: the signal number */
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -errno;
  return st;
}

int cmn_spawn(const cmn_cmd *c, cmn_child *ch) {
  char *const *envp = c->envp ? c->envp : cmn_child_env();
  char *exe = resolve(c->prog, envp);
  int e;
  ch->pid = -1;
  ch->pidfd = -1;
  ch->group = is_job(c);
  if (!exe) return -errno;
  if (c->input || c->out || c->err) {
    free(exe);
    return -EINVAL; /* nobody would pump the pipes */
  }
  ch->pid = start(exe, c, c->fds, envp, &ch->pidfd);
  e = errno;
  free(exe);
  return ch->pid < 0 ? -e : 0;
}

int cmn_child_wait(cmn_child *ch) { return cmn_child_wait_until(ch, CMN_NO_DEADLINE); }

/* Without a pidfd (kernels before 5.3) the status is looked at every
 * 10 ms instead. */
static int ended_by(const cmn_child *ch, int64_t deadline) {
  siginfo_t si;
  if (ch->pidfd >= 0) return cmn_wait_fd(ch->pidfd, POLLIN, deadline) != -ETIMEDOUT;
  for (;;) {
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOWAIT | WNOHANG);
    /* an error (ECHILD: the host reaped it itself) ends the wait: its pid
     * may be anyone's by now, so no kill may follow */
    if ((r == 0 && si.si_pid) || (r < 0 && errno != EINTR)) return 1;
    if (cmn_now_ms() >= deadline) return 0;
    usleep(10 * 1000);
  }
}

int cmn_child_wait_until(cmn_child *ch, int64_t deadline) {
  int late = deadline != CMN_NO_DEADLINE && !ended_by(ch, deadline), st;
  if (late) cmn_child_kill(ch);
  st = wait_child(ch->pid, ch->pidfd);
  ch->pid = -1;
  ch->pidfd = -1;
  return late ? -ETIMEDOUT : st;
}

void cmn_child_kill(const cmn_child *ch) {
  if (ch->pid <= 0) return;
  if (!ch->group || kill(-ch->pid, SIGKILL) < 0) kill(ch->pid, SIGKILL);
}

int cmn_run_fn(int (*fn)(void *), void *arg) {
  struct clone_args ca;
  int pidfd = -1;
  pid_t pid;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_PIDFD;
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = 0; /* it never execs: never auto-reaped, never seen by waitpid(-1) */
  pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0 && (errno == ENOSYS || errno == EPERM)) {
    pidfd = -1;
    pid = fork(); /* kernels before 5.3, valgrind */
  }
  if (pid < 0) return -errno;
  if (pid == 0) {
    cmn_reset_signals();
    _exit(fn(arg));
  }
  return wait_child(pid, pidfd);
}

typedef struct pump {
  int fd;
  const char *in;
  size_t off, len;
  char *buf;
  size_t n, cap;
} pump;

static void pump_read(pump *p) {
  ssize_t r;
  if (p->n + 1 >= p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 4096;
    char *nb = cap <= (64u << 20) ? realloc(p->buf, cap) : NULL;
    if (!nb) {
      close(p->fd);
      p->fd = -1;
      return;
    }
    p->buf = nb;
    p->cap = cap;
  }
  r = read(p->fd, p->buf + p->n, p->cap - p->n - 1);
  if (r < 0 && errno == EINTR) return;
  if (r <= 0) {
    close(p->fd);
    p->fd = -1;
    return;
  }
  p->n += (size_t)r;
}

/* SIGPIPE blocked on this thread only: a child that exits without
 * reading its stdin costs EPIPE, never the host process. */
static void pump_write(pump *p) {
  sigset_t pipe, old;
  ssize_t w;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  w = write(p->fd, p->in + p->off, p->len - p->off);
  if (w < 0 && errno == EPIPE) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (w < 0 && errno == EINTR) return;
  if (w > 0) p->off += (size_t)w;
  if (w <= 0 || p->off == p->len) {
    close(p->fd);
    p->fd = -1;
  }
}

static void pump_close(pump *pp) {
  for (int i = 0; i < 3; i++)
    if (pp[i].fd >= 0) {
      close(pp[i].fd);
      pp[i].fd = -1;
    }
}

/* cmn_cmd.deadline (0: none) as a deadline */
static int64_t until(const cmn_cmd *c) { return c->deadline ? c->deadline : CMN_NO_DEADLINE; }

static void pump_all(pump *pp, const cmn_cmd *c) {
  for (;;) {
    struct pollfd pf[3];
    int n = 0, idx[3];
    for (int i = 0; i < 3; i++) {
      if (pp[i].fd < 0) continue;
      pf[n].fd = pp[i].fd;
      pf[n].events = i == 0 ? POLLOUT : POLLIN;
      pf[n].revents = 0;
      idx[n++] = i;
    }
    if (n == 0) return;
    if (poll(pf, (nfds_t)n, cmn_poll_ms(until(c))) < 0 && errno != EINTR) return;
    if (c->deadline && cmn_now_ms() >= c->deadline) return;
    for (int k = 0; k < n; k++) {
      if (!pf[k].revents) continue;
      if (idx[k] == 0) pump_write(&pp[0]);
      else pump_read(&pp[idx[k]]);
      if (idx[k] == 1 && c->on_out && pp[1].n && c->on_out(c->out_ctx, pp[1].buf, pp[1].n)) {
        pump_close(pp);
        return;
      }
    }
  }
}

static void give(pump *p, char **to) {
  if (!to) return;
  if (!p->buf) p->buf = calloc(1, 1);
  else p->buf[p->n] = '\0';
  *to = p->buf;
  p->buf = NULL;
}

int cmn_run(const cmn_cmd *c) {
  int io[3], mine[3] = {-1, -1, -1}, pidfd = -1, rc, e;
  pump pp[3];
  char *const *envp = c->envp ? c->envp : cmn_child_env();
  char *exe = resolve(c->prog, envp);
  const int want[3] = {c->input != NULL, c->out != NULL, c->err != NULL};
  pid_t pid;
  if (c->out) *c->out = NULL;
  if (c->err) *c->err = NULL;
  if (!exe) return -errno;
  memset(pp, 0, sizeof pp);
  for (int i = 0; i < 3; i++) {
    int p[2];
    io[i] = c->fds[i];
    pp[i].fd = -1;
    if (!want[i]) continue;
    if (pipe2(p, O_CLOEXEC) < 0) {
      rc = -errno;
      goto fail;
    }
    io[i] = i == 0 ? p[0] : p[1];
    mine[i] = io[i];
    pp[i].fd = i == 0 ? p[1] : p[0];
  }
  pp[0].in = c->input;
  pp[0].len = c->input ? strlen(c->input) : 0;
  pid = start(exe, c, io, envp, &pidfd);
  e = errno;
  for (int i = 0; i < 3; i++)
    if (mine[i] >= 0) close(mine[i]);
  if (pid < 0) {
    rc = -e;
    for (int i = 0; i < 3; i++) mine[i] = -1;
    goto fail;
  }
  if (pp[0].fd >= 0 && pp[0].len == 0) {
    close(pp[0].fd);
    pp[0].fd = -1;
  }
  pump_all(pp, c);
  {
    cmn_child ch = {pid, pidfd, is_job(c)};
    pump_close(pp); /* past the deadline: pipes the program still holds */
    rc = cmn_child_wait_until(&ch, until(c));
  }
  if (c->out_len) *c->out_len = pp[1].n;
  give(&pp[1], c->out);
  give(&pp[2], c->err);
  free(pp[1].buf);
  free(pp[2].buf);
  free(exe);
  return rc;
fail:
  for (int i = 0; i < 3; i++) {
    if (mine[i] >= 0) close(mine[i]);
    if (pp[i].fd >= 0) close(pp[i].fd);
  }
  free(exe);
  return rc;
}
