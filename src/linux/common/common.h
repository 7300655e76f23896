/* The common room (prefix cmn_): files, paths, ids, spawning children,
 * socket framing.  libc only (the monitor links it), and it knows nothing
 * of containers, networks or layers.
 *
 * Error convention of this room: functions returning int give 0 (or a
 * count) on success and a negative errno value on failure; functions
 * returning a pointer give NULL with errno set. */
#ifndef HCSSHIM_LINUX_COMMON_H
#define HCSSHIM_LINUX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CMN_MAX_MSG (1024 * 1024)
#define CMN_MAX_FDS 4
#define CMN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- strings and paths (paths.c) ---- */
char *cmn_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *cmn_path(const char *dir, const char *name); /* dir/name */
const char *cmn_runtime_root(void);                /* process-wide, read once, never NULL */
const char *cmn_cgroup_parent(void);
const char *cmn_crun(void);
/* 1 once the settings above were read (environment changes no longer count) */
int cmn_settings_frozen(void);
int cmn_ensure_root(char **errmsg); /* mkdir -p R, R/crun, R/systems (0700) */
char *cmn_systems_dir(void);        /* R/systems */
char *cmn_sysdir(const char *id);   /* R/systems/<id> */
/* R/systems/<id>/etc: a small tmpfs of the system's own for the files it
 * gets bind-mounted read-write (hostname, hosts, resolv.conf) */
#define CMN_SYS_FILES "etc"
/* R/systems/<id>/step.pid: the process group of the runtime step the
 * monitor is running, while it runs */
#define CMN_SYS_STEP "step.pid"
/* Ids of systems: 1..128 of [A-Za-z0-9_.-], not starting with '.'; 0 or
 * -EINVAL with the reason in why. */
int cmn_valid_id(const char *what, const char *id, char *why, size_t whylen);
/* n bytes from getrandom(2); 0 or -errno. */
int cmn_random(void *buf, size_t n);
void cmn_rfc3339(char *buf, size_t n, int64_t sec, long nsec);
/* A program of this package: $env if set, else `name` next to the shared
 * object or executable holding this code (build/hcsshim/ or LuaRocks'
 * lib/lua/5.4/hcsshim/).  Absolute where it can be, as callers chdir
 * before they exec it. */
char *cmn_program_path(const char *name, const char *env);

/* ---- files (files.c, tree.c) ---- */
/* EINTR- and partial-transfer-safe; read_all stops at EOF or max bytes
 * (-EFBIG beyond), NUL-terminates and sets *len if len. */
int cmn_write_all(int fd, const void *buf, size_t len);
char *cmn_read_all(int fd, size_t max, size_t *len);
/* Regular files only (EINVAL otherwise; a FIFO never blocks the open),
 * at most 16 MiB, resp. max bytes (EFBIG beyond); the last component is
 * never followed by cmn_read_file.  cmn_read_fileat resolves path inside
 * the root dirfd (RESOLVE_IN_ROOT): the files the host reads from a
 * container's root or a layer.  cmn_read_why(errno) says why in words. */
char *cmn_read_file(const char *path, size_t *len);
char *cmn_read_fileat(int dirfd, const char *path, size_t max, size_t *len);
#define CMN_ROOT_FILE_MAX (4u << 20) /* /etc/passwd, /etc/group, resolv.conf of an image */
const char *cmn_read_why(int e);
/* The last lines (at most 8) of a log, joined by "; ", at most 1 KiB. */
char *cmn_log_tail(const char *path, int lines);
int cmn_open_in_root(int root, const char *path, int flags); /* RESOLVE_IN_ROOT */
/* Replaces path atomically: temp file in the same directory, fsync,
 * rename; after a crash the file is either old or complete. */
int cmn_write_file(const char *path, const char *data, size_t len, mode_t mode);
/* mkdir -p: missing parents get 0755, the last component gets mode. */
int cmn_mkdir_p(const char *path, mode_t mode);
/* 1 when path (not followed) is the file open at fd: a lock taken on a
 * file that was renamed or replaced meanwhile is no lock on path. */
int cmn_same_file(int fd, const char *path);
/* rm -rf without following symlinks or crossing into other mounts. */
int cmn_remove_tree(const char *path);
int cmn_is_mountpoint(const char *path);   /* 1, 0 or -errno */
int cmn_has_mounts_under(const char *dir); /* 1, 0 or -errno */

/* ---- children (spawn.c) ----
 * Every child (crun, CNI plugins, ip, our programs) starts with the
 * environment given (cmn_child_env() unless stated: PATH, HCSSHIM_* and the
 * sanitizers' options, so that a checked build reports from every program;
 * never the caller's NOTIFY_SOCKET, LISTEN_* and the like), default signal
 * dispositions and an empty signal mask.
 * Exit statuses: an exec resets a process's exit signal to SIGCHLD, so a
 * program started directly is auto-reaped when the host process ignores
 * SIGCHLD, and the host's waitpid(-1) can take its status.  So the program
 * runs below an intermediate process made by clone3 with exit signal 0
 * that never execs: the kernel never auto-reaps it, waitpid(-1) without
 * __WALL never sees it, and we wait for it through a pidfd; it waits for
 * the program (its own SIGCHLD at default) and exits the same way.  Kernels
 * without clone3 (and valgrind) fall back to fork and waitpid. */
typedef struct cmn_cmd {
  const char *prog; /* a path, or a name looked up in PATH */
  const char *const *argv;
  char *const *envp; /* NULL: cmn_child_env() */
  const char *cwd;   /* NULL: ours */
  int fds[3];        /* stdio when not piped; -1: /dev/null */
  const char *input; /* non-NULL: written to a stdin pipe */
  char **out, **err; /* non-NULL: stdout / stderr captured */
  size_t *out_len;   /* non-NULL: the byte count of *out */
  /* non-NULL (with out): called with all of stdout so far after each read;
   * nonzero cancels: every pipe to the program is closed, so its next
   * write ends it (SIGPIPE), and cmn_run waits for it as usual */
  int (*on_out)(void *ctx, const char *buf, size_t len);
  void *out_ctx;
  /* 1: a job of the caller: in a process group of its own (cmn_child_kill),
   * and SIGKILLed should the caller die first (PR_SET_PDEATHSIG) */
  int pgroup;
  /* cmn_run only; 0: none.  Past it (cmn_now_ms) the program and its
   * group (a deadline gives it a group of its own, but it outlives a
   * caller that dies) are SIGKILLed, its output so far kept, and cmn_run
   * returns -ETIMEDOUT: no helper program, runtime or plugin that hangs
   * can hold its caller for ever. */
  int64_t deadline;
  /* >= 0: handed to the program as its fd 3, so that a lock on it (an
   * OFD or flock lock) is held for as long as the program runs, even
   * past its caller's death */
  int keep_fd;
} cmn_cmd;
/* What a runtime, plugin or helper program may take at most (their
 * callers' deadlines): each normally ends in milliseconds. */
#define CMN_CMD_MAX_MS (60 * 1000)
#define CMN_CMD_INIT \
  { NULL, NULL, NULL, NULL, {-1, -1, -1}, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, -1 }
/* Default dispositions for every signal and an empty mask: for a child
 * between fork and exec (async-signal-safe). */
void cmn_reset_signals(void);
/* Closes every descriptor from fd up, for a child between fork and exec
 * (async-signal-safe): close_range, or one by one where the kernel (before
 * 5.9) or a seccomp filter refuses it. */
void cmn_close_from(int fd);
/* Runs fn(arg) in a child process (a copy of this one, default signal
 * dispositions) that exits with fn's result; returns its wait status or
 * -errno.  Made and waited for as cmn_run's intermediate, so the status is
 * ours whatever the host does with SIGCHLD.  fn runs in a child of a
 * possibly threaded process: async-signal-safe calls only. */
int cmn_run_fn(int (*fn)(void *), void *arg);
/* Runs the command to its end; returns its wait status or -errno. */
int cmn_run(const cmn_cmd *c);
/* A command started without waiting, for a caller that polls (the
 * monitor runs its runtime steps so, and keeps serving requests).  No
 * capture: input, out and err must be NULL (EINVAL).  pidfd is readable
 * once it ended (-1 on kernels without clone3: then the caller's SIGCHLD
 * tells, and waitpid(-1) reaps pid itself). */
typedef struct cmn_child {
  pid_t pid;
  int pidfd, group;
} cmn_child;
int cmn_spawn(const cmn_cmd *c, cmn_child *ch);
/* Its wait status (blocks until it ended) or -errno. */
int cmn_child_wait(cmn_child *ch);
/* The same, but past deadline (CMN_NO_DEADLINE: none) it and its group
 * are SIGKILLed and reaped: -ETIMEDOUT. */
int cmn_child_wait_until(cmn_child *ch, int64_t deadline);
/* SIGKILL to it and, if it has one, its whole process group: what it
 * started (a runtime and its helpers) goes with it. */
void cmn_child_kill(const cmn_child *ch);
/* PATH (the caller's or CMN_DEFAULT_PATH) and every HCSSHIM_* variable;
 * one static copy, built on first use. */
char *const *cmn_child_env(void);

/* ---- processes (proc.c) ---- */
/* What the service reads of /proc/<pid>/stat (times in clock ticks). */
typedef struct cmn_proc_stat_t {
  char comm[64];
  char state; /* R, S, D, Z, X, ... */
  int pgrp;
  unsigned long long utime, stime, starttime;
} cmn_proc_stat_t;
/* 0, or -1 when the process is gone (or its stat does not parse). */
int cmn_proc_stat(int pid, cmn_proc_stat_t *st);

/* ---- pending folders (pending.c) ---- */
/* A folder being made (a layer's staging folder, a system's folder) is
 * made under a pending name and renamed into place once locked, so a
 * public folder is never unlocked while its maker lives; one being
 * removed is renamed to a pending name first, so it never shows without
 * its lock either.  A pending name says who made it:
 * ".new-<pid ns>.<time ns>.<pid>.<start time>-<label>-XXXXXX". */
/* Makes one in parent; out gets its path (len bytes).  0, or -errno. */
int cmn_pending_dir(const char *parent, const char *label, char *out, size_t len);
/* Renames path to a pending name in its folder, then removes it (a
 * removal killed half-way is swept as a dead maker's pending folder).
 * 0, or -errno (-ENOENT: nothing there). */
int cmn_pending_remove(const char *path);
/* Renames `from` to "<dir>/<prefix>XXXXXX" (random, never replacing), out
 * getting the new path (len bytes).  0, or -errno. */
int cmn_rename_fresh(const char *from, const char *dir, const char *prefix, char *out, size_t len);
/* 1 when pending folder `name` (in parent) is nobody's: its maker is gone
 * or a zombie (it shares our pid and time namespaces and /proc, and no
 * live process has its pid and start time), or it is older than
 * CMN_PENDING_GRACE seconds when the maker cannot be told from here, or
 * older than CMN_PENDING_OLD (a live maker's leftover).  The caller still
 * checks the folder's lock. */
#define CMN_PENDING_GRACE 2
#define CMN_PENDING_OLD 600
int cmn_pending_stale(const char *parent, const char *name);

/* ---- cgroups (cgroup.c) ---- */
/* sig (0: none) and then `then` (0: none) to every pid a cgroup.procs
 * text lists, but skip (0: none); returns how many it lists (skip not
 * counted).  procs is cut up on the way (strsep). */
int cmn_signal_listed(char *procs, int sig, int then, pid_t skip);
/* 1 when /sys/fs/cgroup is the unified (v2) hierarchy, 0 for v1/hybrid. */
int cmn_cgroup_v2(void);
/* The file `file` of cgroup `cg` (a path below the hierarchy's root): on
 * v1/hybrid in the tree of controller `ctl`, on v2 in the one tree. */
char *cmn_cgroup_path(const char *ctl, const char *cg, const char *file);
/* Its text (cmn_read_file), or NULL with errno set. */
char *cmn_cgroup_read(const char *ctl, const char *cg, const char *file);
/* How many processes of the cgroup (a path below the hierarchies, as in
 * an OCI cgroupsPath) the OOM killer killed: memory.oom_control on v1,
 * memory.events on v2; -1 where the kernel does not count them. */
int64_t cmn_cgroup_oom_kills(const char *cgpath);
/* The value of the "key value" line of text (memory.stat, memory.events
 * and the like), or -1 when there is none. */
int64_t cmn_keyed_value(const char *text, const char *key);

/* ---- the OCI runtime (crun.c) ---- */
/* crun --root <runtime root>/crun <args>, stdio on /dev/null; returns the
 * wait status (0 ok) or -errno, -ETIMEDOUT once deadline (cmn_now_ms)
 * passed (crun killed); on failure *errmsg (if errmsg) is crun's own last
 * message. */
int cmn_crun_run(const char *const *args, int64_t deadline, char **errmsg);
/* The same in two halves, for a caller that polls job->child.pidfd:
 * start (0 or -errno, *errmsg then set) and, with the wait status, end
 * (frees the job; *errmsg as above on failure). */
typedef struct cmn_crun_job {
  cmn_child child;
  char *log;
  const char *verb;
} cmn_crun_job;
int cmn_crun_start(const char *const *args, int in, int out, int err, cmn_crun_job *job,
                   char **errmsg);
int cmn_crun_end(cmn_crun_job *job, int status, char **errmsg);

/* ---- sockets (socket.c) ---- */
/* Deadlines: CLOCK_MONOTONIC milliseconds; CMN_NO_DEADLINE = none. */
#define CMN_NO_DEADLINE INT64_MAX
int64_t cmn_now_ms(void);
/* poll(2)'s timeout until deadline: -1 for none, 0 once it passed. */
int cmn_poll_ms(int64_t deadline);
/* Waits until fd has events (poll) or the deadline passed: 0, -ETIMEDOUT
 * or -errno.  What is there already counts, even past the deadline (an
 * answer that came must not be taken for none). */
int cmn_wait_fd(int fd, short events, int64_t deadline);
/* fd or -errno (-ETIMEDOUT when the listener's backlog stayed full). */
int cmn_seqpacket_connect(const char *path, int64_t deadline);
/* A listening SOCK_SEQPACKET socket (non-blocking, close-on-exec) bound
 * as dir/name, whatever dir's length: fd or -errno. */
int cmn_seqpacket_listen(const char *dir, const char *name, int backlog);
void cmn_bigbuf(int fd);
/* One datagram with up to CMN_MAX_FDS fds (SCM_RIGHTS). */
int cmn_sendmsg(int fd, const void *buf, size_t len, const int *fds, int nfds, int flags);
/* Returns the byte count (0 on EOF) or -errno; *data malloc'd. */
ssize_t cmn_recvmsg(int fd, void **data, int *fds, int *nfds);

#endif
