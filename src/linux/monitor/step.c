/* Runtime steps (crun start, pause, resume, exec) as jobs: a step runs as
 * a child in a process group of its own that the request loop polls
 * through its pidfd, so a step that hangs never keeps the monitor from
 * serving the system's other requests.  One step runs at a time (crun
 * serialises on the container's state anyway); the requests behind it
 * wait in order.  A step that ended may settle before its outcome goes
 * out (a start until the init takes SIGTERM, an exec until its process
 * runs its own image), still without blocking the loop.  A shutdown or
 * terminate cuts the running step short by killing its group, sends a
 * settling one's outcome as it stands, and fails the queued ones. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const verbs[] = {[MON_START] = "start",
                                    [MON_PAUSE] = "pause",
                                    [MON_RESUME] = "resume",
                                    [MON_EXEC] = "exec",
                                    [MON_CREATE] = "create"};

static int fd_of(const mon_job *j) { return j->conn ? j->conn->fd : -1; }

static void job_free(mon_job *j) {
  for (int i = 0; i < j->nfds; i++) close(j->fds[i]);
  free(j->err);
  free(j->text);
  free(j);
}

void mon_job_add(mon_conn *c, const mon_req *q, const char *text, int *fds, int *nfds) {
  mon_job *j = calloc(1, sizeof *j), **tail = &M.jobs;
  if (!j || !(j->text = strdup(text))) {
    free(j);
    mon_reply_err(c->fd, PLAT_E_OUTOFMEMORY, "out of memory");
    return;
  }
  j->conn = c;
  j->q = *q;
  j->csock = -1;
  memcpy(j->fds, fds, sizeof(int) * (size_t)*nfds);
  j->nfds = *nfds;
  *nfds = 0; /* the job's now */
  while (*tail) tail = &(*tail)->next;
  *tail = j;
}

void mon_job_create(void) {
  mon_job *j = calloc(1, sizeof *j);
  if (!j) {
    mon_create_end(-ENOMEM, "out of memory");
    return;
  }
  j->q.op = MON_CREATE;
  j->csock = -1;
  j->next = M.jobs;
  M.jobs = j;
  mon_jobs_next();
}

static int need_state(mon_job *j, enum mon_state want, const char *what) {
  if (M.state == want) return 1;
  M.rseq = j->q.seq;
  mon_reply_err(fd_of(j), PLAT_HCS_E_INVALID_STATE,
                "compute system %s is %s, not %s: it cannot be %s", M.id, mon_state_names[M.state],
                mon_state_names[want], what);
  return 0;
}

/* 0: the step runs; -1: it was answered (refused or failed to start) */
static int job_begin(mon_job *j) {
  static const enum mon_state need[] = {
      [MON_START] = MON_CREATED, [MON_PAUSE] = MON_RUNNING, [MON_RESUME] = MON_PAUSED};
  static const char *const done[] = {
      [MON_START] = "started", [MON_PAUSE] = "paused", [MON_RESUME] = "resumed"};
  const char *args[] = {NULL, M.id, NULL};
  char *err = NULL;
  int rc;
  if (j->q.op == MON_EXEC) return mon_exec_begin(j);
  if (j->q.op == MON_CREATE) return mon_create_begin(j);
  if (!need_state(j, need[j->q.op], done[j->q.op])) return -1;
  args[0] = verbs[j->q.op];
  rc = cmn_crun_start(args, -1, -1, -1, &j->run, &err);
  if (rc < 0) {
    M.rseq = j->q.seq;
    mon_reply_err(fd_of(j), PLAT_E_FAIL, "%s of compute system %s failed: %s", verbs[j->q.op], M.id,
                  err ? err : "crun failed");
  }
  free(err);
  return rc < 0 ? -1 : 0;
}

/* The step's outcome, sent. */
static void job_end(mon_job *j) {
  M.rseq = j->q.seq;
  if (j->q.op == MON_CREATE) {
    mon_create_end(j->rc, j->err);
  } else if (j->q.op == MON_EXEC) {
    mon_exec_end(j);
  } else if (j->rc != 0) {
    mon_reply_err(fd_of(j), PLAT_E_FAIL, "%s of compute system %s failed: %s", verbs[j->q.op], M.id,
                  j->err ? j->err : "crun failed");
  } else {
    if (j->q.op == MON_START) {
      M.state = MON_RUNNING;
      clock_gettime(CLOCK_REALTIME, &M.started);
    } else {
      M.state = j->q.op == MON_PAUSE ? MON_PAUSED : MON_RUNNING;
    }
    mon_reply_ok(fd_of(j), NULL, NULL, 0);
  }
}

static int settled(const mon_job *j) {
  return j->q.op == MON_START ? mon_init_ready() : j->gone || mon_exec_settled(j->pid);
}

/* 1 when the ended step j waits to settle: a start until its init takes
 * SIGTERM (at most 1 s), an exec until its process runs its own image
 * (at most 5 s).  The loop goes on serving meanwhile: a terminate or a
 * state query never waits for it. */
static int settle_begin(mon_job *j) {
  int ms;
  if (j->rc != 0) return 0;
  if (j->q.op == MON_START) ms = 1000;
  else if (j->q.op == MON_EXEC && (j->pid = mon_exec_pid(j)) > 0) ms = 5000;
  else return 0;
  /* unreaped until the loop's next round: still the process crun made */
  if (j->q.op == MON_EXEC) j->start = mon_start_time(j->pid);
  if (settled(j)) return 0;
  j->until = cmn_now_ms() + ms;
  if (j->q.op == MON_START) M.init_ready_by = j->until;
  M.settling = 1;
  M.settle_ms = 1;
  return 1;
}

/* The head job's outcome goes out, and the job goes. */
static void job_finish(void) {
  mon_job *j = M.jobs;
  M.settling = 0;
  M.jobs = j->next;
  job_end(j);
  job_free(j);
  M.nearly = 0; /* what the step did not claim was not its */
}

int mon_settle_ms(void) {
  int ms = M.settling ? cmn_poll_ms(M.jobs->until) : -1;
  return ms > M.settle_ms ? M.settle_ms : ms;
}

void mon_settle_check(void) {
  mon_job *j = M.jobs;
  if (!M.settling) return;
  if (!settled(j)) {
    if (cmn_now_ms() < j->until) {
      if (M.settle_ms < 16) M.settle_ms *= 2;
      return;
    }
    mon_log(j->q.op == MON_START ? "init %d did not set up SIGTERM handling within 1 s"
                                 : "exec pid %d: still crun after 5 s",
            (int)(j->q.op == MON_START ? M.init : j->pid));
  }
  job_finish();
  mon_jobs_next();
}

/* The running step's process group, named in the system folder (cwd):
 * if this monitor is killed, the step dies with it (PR_SET_PDEATHSIG),
 * and whoever tears the system down waits for that before removing what
 * the step may still be making (hl_runtime_remove). */
static void step_running(int on) {
  char text[32];
  M.step_running = on;
  if (!on) {
    unlink(CMN_SYS_STEP);
    return;
  }
  snprintf(text, sizeof text, "%d\n", (int)M.jobs->run.child.pid);
  if (cmn_write_file(CMN_SYS_STEP, text, strlen(text), 0600) < 0) mon_log("cannot note the step");
}

void mon_jobs_next(void) {
  while (M.jobs && !M.step_running && !M.settling) {
    mon_job *j = M.jobs;
    if (job_begin(j) == 0) {
      step_running(1);
      M.step_reaped = 0;
      return;
    }
    M.jobs = j->next;
    job_free(j);
  }
}

int mon_job_pollfd(void) { return M.step_running ? M.jobs->run.child.pidfd : -1; }

/* The running step ended (its pidfd is readable, or mon_reap took it on a
 * kernel without pidfds). */
void mon_job_done(void) {
  mon_job *j = M.jobs;
  int st;
  if (!M.step_running) return;
  st = M.step_reaped ? M.step_status : cmn_child_wait(&j->run.child);
  step_running(0);
  j->rc = cmn_crun_end(&j->run, st, &j->err);
  if (settle_begin(j)) return;
  job_finish();
  mon_jobs_next();
}

int mon_job_reaped(pid_t pid, int status) {
  if (!M.step_running || M.jobs->run.child.pidfd >= 0 || pid != M.jobs->run.child.pid) return 0;
  M.step_reaped = 1;
  M.step_status = status;
  return 1;
}

int mon_jobs_cancel(const char *why) {
  uint32_t rseq = M.rseq; /* the stop request's own reply follows ours */
  int cut = 0;
  /* a settling step did its work: its outcome as it stands (a started
   * system is stopped as a running one, an exec'd process is reported) */
  if (M.settling) job_finish();
  if (M.step_running) {
    mon_job *j = M.jobs;
    cut = j->q.op;
    mon_log("%s: cutting the running %s short", why, verbs[cut]);
    cmn_child_kill(&j->run.child);
    if (!M.step_reaped) cmn_child_wait(&j->run.child);
    step_running(0);
    cmn_crun_end(&j->run, -ECANCELED, NULL);
    if (cut == MON_EXEC) mon_exec_abandon(j);
    if (cut == MON_CREATE) mon_create_end(-ECANCELED, "it did not finish and was cut short");
  }
  while (M.jobs) {
    mon_job *j = M.jobs;
    M.jobs = j->next;
    M.rseq = j->q.seq;
    mon_reply_err(fd_of(j), PLAT_HCS_E_TERMINATED,
                  "%s of compute system %s did not finish: the system is being stopped (%s)",
                  verbs[j->q.op], M.id, why);
    job_free(j);
  }
  M.rseq = rseq;
  return cut;
}

void mon_jobs_forget(const mon_conn *c) {
  for (mon_job **pp = &M.jobs; *pp;) {
    mon_job *j = *pp;
    if (j->conn != c) {
      pp = &j->next;
    } else if ((M.step_running || M.settling) && j == M.jobs) {
      j->conn = NULL; /* it runs on: its end is the system's state */
      pp = &j->next;
    } else {
      *pp = j->next;
      job_free(j);
    }
  }
}
