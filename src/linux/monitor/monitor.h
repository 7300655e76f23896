/* The per-compute-system monitor (mon_): state shared by its files.
 * libc and the common room only. */
#ifndef HCSSHIM_LINUX_MONITOR_H
#define HCSSHIM_LINUX_MONITOR_H

#include <sys/types.h>
#include <time.h>

#include "linux/common/common.h"
#include "linux/common/monwire.h"
#include "platform.h"

/* What the compute helper may take (teardown, hot attach or detach): more
 * than all it may wait for inside (an endpoint's plumbing lock, 3 min; a
 * few plugins and crun, 1 min each), so that its own bounds answer first
 * and name what hung. */
#define MON_HELPER_MS (10 * 60 * 1000)

typedef struct mon_proc {
  pid_t pid;
  /* identity with the pid: /proc/<pid>/stat starttime (clock ticks since
   * boot), so a handle never acts on a process that reuses its pid */
  uint64_t start;
  int exited, status, pty;
  int oom;    /* killed by the OOM killer */
  int killed; /* we sent it SIGKILL (never an OOM kill then) */
  struct mon_proc *next;
} mon_proc;

typedef struct mon_conn {
  int fd, handle, sub;
  pid_t subpid;
  uint64_t substart;
  struct mon_conn *next;
} mon_conn;

/* A request that runs a runtime step (monitor/step.c): queued, then run. */
typedef struct mon_job {
  mon_conn *conn; /* NULL once its connection closed */
  mon_req q;
  char *text;
  int fds[CMN_MAX_FDS], nfds;
  cmn_crun_job run;
  unsigned n; /* exec: the number in its file names */
  int csock;  /* exec: the console socket */
  int rc;     /* once its step ended: cmn_crun_end's outcome, and why */
  char *err;
  pid_t pid;      /* exec: the process the step made */
  uint64_t start; /* its start time, read before it could be reaped */
  int gone;       /* it was reaped while the step settled */
  int64_t until;  /* settling (step.c): the latest end (cmn_now_ms) */
  struct mon_job *next;
} mon_job;

typedef struct mon_state_t {
  const char *id, *cgpath, *helper, *netns;
  enum mon_state state;
  pid_t init;
  int init_status; /* raw wait status */
  int exit_hr;     /* what SystemExited reports */
  int requested;   /* 0, 1 shutdown, 2 terminate */
  int draining;    /* shutdown: waiting for non-init processes to go */
  struct timespec created, started;
  mon_proc *procs;
  mon_conn *conns;
  int handles, tolhc; /* handles: the creator's (creator_held) counts from the start */
  int creator_held;   /* the creator's handle, held for it until it opens its own */
  int lfd, sfd;
  unsigned seq;
  int64_t oom_kills; /* the cgroup's OOM kill count when last read */
  mon_job *jobs;     /* the running or settling step first, then the queue */
  int step_running, step_reaped, step_status;
  int settling, settle_ms; /* the head job's step ended, its outcome waits */
  int64_t init_ready_by;   /* a start's settling: when the init should take TERM */
  uint32_t rseq;           /* the seq the replies being sent carry */
  struct {
    pid_t pid;
    int status;
  } early[8]; /* mon_early_exit */
  int nearly;
  int rfd;                        /* the creator's report pipe, until the create reported */
  int create_failed;              /* the monitor exits after this round: */
#define MON_CREATE_FAILED 1       /* its folder is the creator's to remove */
#define MON_CREATE_FAILED_ALONE 2 /* with no creator: it removes its folder */
} mon_state_t;

extern mon_state_t M;
extern const char *const mon_state_names[];

void mon_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mon_reply_err(int fd, plat_hresult hr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mon_reply_ok(int fd, const mon_rep *extra, const int *fds, int nfds);
void mon_send_event(mon_conn *c, pid_t pid, int status);
/* every subscriber of pid (start: the process's identity; 0 the system) */
void mon_notify(pid_t pid, uint64_t start, int status);
mon_proc *mon_find_proc(pid_t pid);
/* The record of pid with that start time (any, the newest, if start is
 * 0); NULL with *stale set when pid is known but as another process. */
mon_proc *mon_find_ident(pid_t pid, uint64_t start, int *stale);
uint64_t mon_start_time(pid_t pid); /* 0 if unknown */
void mon_handle_request(mon_conn *c);
void mon_reap(void);
/* A reaped process's end: recorded, its console closed, its subscribers
 * told. */
void mon_proc_ended(mon_proc *p, int status);
/* Exits of pids not known yet, while an exec step runs or settles: the exec'd
 * process can end, and come to us as a zombie when crun exec exits,
 * before the step has read its pid (then mon_early_take gives it). */
void mon_early_exit(pid_t pid, int status);
int mon_early_take(pid_t pid, int *status);
/* Records a reaped process's exit; tells whether the OOM killer did it. */
void mon_proc_exited(mon_proc *p, int status);
int64_t mon_oom_kills(void); /* the cgroup's count, or the last one read */
void mon_drain_check(void);
/* Sends sig to the processes of the system's cgroup other than its init
 * (0: none, they are only counted; SIGTERM is followed by SIGCONT);
 * returns how many there are. */
int mon_cgroup_signal(int sig);
/* A stop (term: terminate, else shutdown), a running step cut short
 * first (ops.c); 0 or -1 with *err. */
int mon_stop(int term, char **err);
void mon_trim_procs(void);
/* Runtime steps (step.c): queue a request (its fds become the job's),
 * start the next, the pidfd to poll (-1: none runs), its end; a pid that
 * mon_reap took was the step's (kernels without pidfds); cut everything
 * short (returns the op of the step it killed, 0 if none); a connection
 * that closes. */
void mon_job_add(mon_conn *c, const mon_req *q, const char *text, int *fds, int *nfds);
void mon_job_create(void); /* the system's crun create, the first step */
void mon_jobs_next(void);
int mon_job_pollfd(void);
void mon_job_done(void);
int mon_job_reaped(pid_t pid, int status);
int mon_jobs_cancel(const char *why);
/* A step that ended may wait, bounded, for what it made to settle before
 * its outcome is sent (step.c): the loop polls every mon_settle_ms() ms
 * (-1: nothing settles) and calls mon_settle_check() each round, serving
 * every other request meanwhile. */
int mon_settle_ms(void);
void mon_settle_check(void);
/* 1 when the init blocks or catches SIGTERM, or is gone. */
int mon_init_ready(void);
void mon_jobs_forget(const mon_conn *c);
/* The creator's handle: held from the monitor's start (a TerminateOnLast-
 * HandleClosed system is not ended by other handles that come and go
 * while it is created), released when the creator opens its own or is
 * gone before the create reported. */
void mon_creator_release(void);
/* crun create as a step (create.c); its end reports to the creator */
int mon_report(int fd, plat_hresult hr, const char *msg); /* 0 or -errno */
int mon_create_begin(mon_job *j);
void mon_create_end(int rc, const char *err);
/* exec as a step (exec.c) */
int mon_exec_begin(mon_job *j);
void mon_exec_end(mon_job *j);
/* The pid crun exec wrote (0: none), and whether it runs its own image
 * yet (1), not crun's pre-exec copy. */
pid_t mon_exec_pid(const mon_job *j);
int mon_exec_settled(pid_t pid);
void mon_exec_abandon(mon_job *j);
int mon_crun(const char *a0, const char *a1, const char *a2, const char *a3, char **err);
/* Runs the compute helper with args; *out its stdout (if out). */
int mon_helper(const char *const *args, char **out);
void mon_teardown(int keep_layer);

#endif
