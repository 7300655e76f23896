/* Client side of the monitor protocol (see monitor/main.c), and the
 * clean-up of systems whose monitor died. */
#include "linux/compute/monclient.h"

#include "linux/common/monwire.h"

#include <poll.h>
#include <stddef.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The deadline of this thread's monitor exchanges (plat_set_timeout):
 * 0 = none set, each exchange gets HL_DEFAULT_TIMEOUT_MS. */
static _Thread_local int64_t call_deadline;
static _Thread_local double call_seconds;

void hl_set_timeout(double seconds) {
  if (seconds < 0 || isnan(seconds)) {
    call_deadline = 0;
  } else if (isinf(seconds) || seconds > 1e12) {
    call_deadline = CMN_NO_DEADLINE;
  } else {
    call_deadline = cmn_now_ms() + (int64_t)(seconds * 1000 + 0.5);
    call_seconds = seconds;
  }
}

int64_t hl_deadline(double *seconds) {
  if (call_deadline) {
    *seconds = call_seconds;
    return call_deadline;
  }
  *seconds = HL_DEFAULT_TIMEOUT_MS / 1000.0;
  return cmn_now_ms() + HL_DEFAULT_TIMEOUT_MS;
}

/* Seconds since st was last modified (the clock the file system stamps). */
static double age_of(const struct stat *st) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (double)(now.tv_sec - st->st_mtim.tv_sec) +
         (double)(now.tv_nsec - st->st_mtim.tv_nsec) / 1e9;
}

/* Undo what system id left and forget its folder. */
static void reap(const char *id, const char *dir, const char *mp) {
  char *text = mp ? cmn_read_file(mp, NULL) : NULL;
  json_t *meta = text ? json_loads(text, 0, NULL) : NULL;
  free(text);
  /* no meta.json: a creator killed mid-create; what it may have made
   * (endpoints, netns, the files tmpfs) is found by the id alone */
  if (!meta) meta = json_object();
  hl_teardown_system(id, meta);
  json_decref(meta);
  cmn_pending_remove(dir);
}

/* Links the file open at fd (an O_TMPFILE one, or *named) in as path. */
static int link_in(int fd, const char *named, const char *path) {
  char proc[64];
  if (named) return link(named, path);
  if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0) return 0;
  if (errno == EEXIST) return -1;
  /* without CAP_DAC_READ_SEARCH: the same through /proc */
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

int hl_lock_claim(const char *dir) {
  static atomic_uint counter;
  char *lock = cmn_path(dir, "lock"), *named = NULL;
  int fd = lock ? open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1, e = 0;
  if (fd < 0 && lock && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    /* a file system without O_TMPFILE: a name of this caller's own */
    named = cmn_printf("%s/lock.%d.%u", dir, (int)getpid(), atomic_fetch_add(&counter, 1));
    fd = named ? open(named, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
  }
  if (fd < 0 || flock(fd, LOCK_EX) < 0 || link_in(fd, named, lock) < 0) e = lock ? errno : ENOMEM;
  if (named) unlink(named);
  free(named);
  free(lock);
  if (!e) return fd;
  if (fd >= 0) close(fd);
  return -e;
}

/* A system directory whose lock nobody holds has no creator and no
 * monitor: undo what it left and forget it.  Returns 1 if it was stale. */
int hl_reap_stale(const char *id) {
  char *dir = cmn_sysdir(id), *lock = dir ? cmn_path(dir, "lock") : NULL,
       *mp = dir ? cmn_path(dir, "meta.json") : NULL;
  struct stat st;
  int fd, stale = 0;
  if (!lock || !mp) goto out;
  fd = open(lock, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    /* no lock file: a teardown removing the folder right now, or one
     * killed there (a creator's folder has its lock before it shows:
     * make_dir), and a folder without a lock for a while is nobody's */
    /* ...claimed first, so that one reaper alone goes on */
    if (errno == ENOENT && lstat(dir, &st) == 0 && age_of(&st) > HL_NO_LOCK_GRACE &&
        (fd = hl_lock_claim(dir)) >= 0) {
      reap(id, dir, mp);
      close(fd);
      stale = 1;
    }
    goto out;
  }
  /* the lock file is put in place locked (hl_lock_claim) */
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 && cmn_same_file(fd, lock)) {
    reap(id, dir, mp);
    stale = 1;
  }
  close(fd);
out:
  free(dir);
  free(lock);
  free(mp);
  return stale;
}

void hl_sweep_pending(const char *name) {
  char *sd = cmn_systems_dir(), *dir = cmn_sysdir(name), *lock = dir ? cmn_path(dir, "lock") : NULL;
  int fd;
  if (sd && lock && cmn_pending_stale(sd, name) == 1) {
    /* no lock file: its maker died before hl_lock_claim */
    fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0) cmn_remove_tree(dir);
    if (fd >= 0) close(fd);
  }
  free(sd);
  free(dir);
  free(lock);
}

plat_hresult hl_mon_connect(const char *id, int *fd, char **result) {
  char *dir = cmn_sysdir(id), *sock = dir ? cmn_path(dir, "monitor.sock") : NULL;
  double secs;
  int e;
  *fd = -1;
  if (!sock) {
    free(dir);
    return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
  *fd = cmn_seqpacket_connect(sock, hl_deadline(&secs));
  e = *fd < 0 ? -*fd : 0;
  free(sock);
  if (*fd >= 0) {
    free(dir);
    return PLAT_S_OK;
  }
  *fd = -1;
  if (e == ECONNREFUSED || e == ENOENT) hl_reap_stale(id);
  free(dir);
  if (e == ETIMEDOUT)
    return cmn_fail(result, PLAT_E_TIMEOUT,
                    "timed out after %g s connecting to the monitor of compute system %s: it "
                    "accepts no connection",
                    secs, id);
  return cmn_fail(result, PLAT_HCS_E_SYSTEM_NOT_FOUND, "compute system %s not found", id);
}

/* The JSON requests of the compute side ({"op":..., ...}) as monitor
 * records (common/monwire.h), and the records back as JSON. */
static const char *const op_names[] = {
    [MON_OPEN] = "open",           [MON_STATE] = "state",
    [MON_START] = "start",         [MON_PAUSE] = "pause",
    [MON_RESUME] = "resume",       [MON_SHUTDOWN] = "shutdown",
    [MON_TERMINATE] = "terminate", [MON_EXEC] = "exec",
    [MON_SUBSCRIBE] = "subscribe", [MON_NETWORK] = "network",
    [MON_PROC] = "proc",           [MON_SIGNAL] = "signal",
    [MON_RESIZE] = "resize",       [MON_CLOSESTDIN] = "closestdin",
    [MON_GETPTY] = "getpty"};

static int op_code(const char *op) {
  for (int i = 1; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
    if (op && strcmp(op, op_names[i]) == 0) return i;
  return 0;
}

static char *encode_req(json_t *req, size_t *len) {
  mon_req q;
  char *text = NULL, *buf;
  const char *rt = cmn_str(req, "RequestType");
  size_t tlen;
  memset(&q, 0, sizeof q);
  q.op = op_code(cmn_str(req, "op"));
  q.pid = (int32_t)json_integer_value(cmn_get(req, "Pid"));
  q.start = (uint64_t)json_integer_value(cmn_get(req, "Start"));
  q.signal = (int32_t)json_integer_value(cmn_get(req, "Signal"));
  q.rows = (uint32_t)json_integer_value(cmn_get(req, "Height"));
  q.cols = (uint32_t)json_integer_value(cmn_get(req, "Width"));
  if (json_is_true(cmn_get(req, "Handle"))) q.flags |= MON_F_HANDLE;
  if (json_is_true(cmn_get(req, "Creator"))) q.flags |= MON_F_CREATOR;
  if (json_is_true(cmn_get(req, "In"))) q.flags |= MON_F_IN;
  if (json_is_true(cmn_get(req, "Out"))) q.flags |= MON_F_OUT;
  if (json_is_true(cmn_get(req, "Err"))) q.flags |= MON_F_ERR;
  if (json_is_true(cmn_get(req, "Console"))) q.flags |= MON_F_CONSOLE;
  if (rt && strcmp(rt, "Add") == 0) q.flags |= MON_F_ADD;
  if (json_is_object(cmn_get(req, "Process")))
    text = json_dumps(cmn_get(req, "Process"), JSON_COMPACT);
  else if (cmn_str(req, "Endpoint")) text = strdup(cmn_str(req, "Endpoint"));
  tlen = text ? strlen(text) : 0;
  q.len = (uint32_t)tlen;
  buf = malloc(sizeof q + tlen + 1);
  if (buf) {
    memcpy(buf, &q, sizeof q);
    if (tlen) memcpy(buf + sizeof q, text, tlen);
    *len = sizeof q + tlen;
  }
  free(text);
  return buf;
}

static const char *const state_names[] = {"Created", "Running", "Paused", "Stopped"};
static const char *const exit_types[] = {"UnexpectedExit", "Shutdown", "Terminated"};

static json_t *state_doc(const mon_rep *r) {
  json_t *j = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I}", "State", state_names[r->state & 3], "InitPid",
                        (int)r->init_pid, "CreatedSec", (json_int_t)r->created_sec, "CreatedNsec",
                        (json_int_t)r->created_nsec, "StartedSec", (json_int_t)r->started_sec,
                        "StartedNsec", (json_int_t)r->started_nsec);
  if (r->oom_kills > 0) json_object_set_new(j, "OomKills", json_integer(r->oom_kills));
  if (r->state == MON_STOPPED) {
    json_object_set_new(j, "ExitStatus", json_integer(r->exit_hr));
    json_object_set_new(j, "ExitType", json_string(exit_types[r->exit_type % 3]));
  }
  return j;
}

json_t *hl_mon_decode(const void *data, size_t n, int op) {
  mon_rep r;
  const char *text;
  size_t tlen;
  json_t *j;
  if (n < sizeof r) return NULL;
  memcpy(&r, data, sizeof r);
  text = (const char *)data + sizeof r;
  tlen = r.len <= n - sizeof r ? r.len : n - sizeof r;
  if (r.kind == MON_EVENT)
    return json_pack("{s:s,s:i,s:i}", "Event", "exit", "Pid", (int)r.pid, "Status", r.status);
  if (r.hr < 0)
    return json_pack("{s:i,s:o}", "Error", (json_int_t)r.hr, "ErrorMessage",
                     cmn_json_text(text, tlen));
  if (op == MON_OPEN || op == MON_STATE) j = state_doc(&r);
  else if (op == MON_PROC) {
    j = json_pack("{s:i,s:b}", "Pid", (int)r.pid, "Exited", (int)r.exited);
    if (r.exited) json_object_set_new(j, "Status", json_integer(r.status));
    if (r.oom) json_object_set_new(j, "OOMKilled", json_true());
  } else if (op == MON_EXEC) j = json_pack("{s:i}", "Pid", (int)r.pid);
  else if (op < 0) j = json_pack("{s:i}", "InitPid", (int)r.init_pid); /* the create report */
  else j = json_object();
  if (op == MON_PROC || op == MON_EXEC)
    json_object_set_new(j, "Start", json_integer((json_int_t)r.start));
  json_object_set_new(j, "ok", json_true());
  return j;
}

/* Closes the descriptors a record brought that nobody takes. */
static void drop_fds(int *fds, int *nfds) {
  for (int i = 0; fds && nfds && i < *nfds; i++) close(fds[i]);
  if (nfds) *nfds = 0;
}

json_t *hl_mon_recv(int fd, int *fds, int *nfds, int op) {
  void *data = NULL;
  ssize_t n = cmn_recvmsg(fd, &data, fds, nfds);
  json_t *j;
  if (n <= 0) {
    errno = n < 0 ? (int)-n : 0;
    return NULL;
  }
  j = hl_mon_decode(data, (size_t)n, op);
  free(data);
  if (!j) {
    drop_fds(fds, nfds);
    errno = EPROTO;
  }
  return j;
}

/* The reply to request seq: replies to earlier requests of this
 * connection that their callers stopped waiting for (a timeout) are
 * dropped with the descriptors they carry.  NULL with errno (ETIMEDOUT
 * past the deadline, 0 on EOF). */
static json_t *reply_to(int fd, uint32_t seq, int op, int64_t deadline, int *fds, int *nfds) {
  for (;;) {
    void *data = NULL;
    mon_rep r;
    ssize_t n;
    int rc = cmn_wait_fd(fd, POLLIN, deadline);
    if (rc < 0) {
      errno = -rc;
      return NULL;
    }
    n = cmn_recvmsg(fd, &data, fds, nfds);
    if (n <= 0) {
      errno = n < 0 ? (int)-n : 0;
      return NULL;
    }
    if ((size_t)n >= sizeof r) memcpy(&r, data, sizeof r);
    if ((size_t)n >= sizeof r && r.seq != seq) {
      drop_fds(fds, nfds);
      free(data);
      continue;
    }
    json_t *j = hl_mon_decode(data, (size_t)n, op);
    free(data);
    if (!j) {
      drop_fds(fds, nfds);
      errno = EPROTO;
    }
    return j;
  }
}

/* One request and its reply, both within the deadline. */
static json_t *exchange(int fd, pthread_mutex_t *mu, char *msg, size_t len, const int *fds,
                        int nfds, int op, int *rfds, int *nrfds, int *err, int64_t deadline) {
  static atomic_uint counter;
  uint32_t seq = atomic_fetch_add(&counter, 1) + 1;
  json_t *r = NULL;
  int rc;
  if (!seq) seq = atomic_fetch_add(&counter, 1) + 1; /* 0 is the events' */
  memcpy(msg + offsetof(mon_req, seq), &seq, sizeof seq);
  if (mu) pthread_mutex_lock(mu);
  /* no request goes out once the caller's time is up */
  rc = deadline != CMN_NO_DEADLINE && cmn_now_ms() >= deadline ? -ETIMEDOUT : -EAGAIN;
  while (rc == -EAGAIN) {
    rc = cmn_wait_fd(fd, POLLOUT, deadline);
    if (rc == 0) rc = cmn_sendmsg(fd, msg, len, fds, nfds, MSG_DONTWAIT);
  }
  if (rc == 0 && !(r = reply_to(fd, seq, op, deadline, rfds, nrfds))) rc = -errno;
  if (mu) pthread_mutex_unlock(mu);
  *err = -rc;
  return r;
}

plat_hresult hl_mon_call(int fd, pthread_mutex_t *mu, const char *id, json_t *req, const int *fds,
                         int nfds, json_t **reply, int *rfds, int *nrfds, char **result) {
  json_t *r;
  int tmpfds[CMN_MAX_FDS], ntmp = 0, e, op = op_code(cmn_str(req, "op"));
  double secs;
  plat_hresult hr = PLAT_S_OK;
  size_t len = 0;
  char *msg = encode_req(req, &len);
  if (reply) *reply = NULL;
  if (nrfds) *nrfds = 0;
  if (!msg) return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  r = exchange(fd, mu, msg, len, fds, nfds, op, tmpfds, &ntmp, &e, hl_deadline(&secs));
  free(msg);
  if (!r && e == ETIMEDOUT) {
    return cmn_fail(result, PLAT_E_TIMEOUT,
                    "%s of compute system %s timed out after %g s: its monitor has not answered "
                    "(a runtime step may be stuck; terminate cuts it short)",
                    op_names[op] ? op_names[op] : "request", id, secs);
  }
  if (!r)
    return cmn_fail(result, PLAT_HCS_E_CONNECTION_CLOSED,
                    "lost the connection to the monitor of compute system %s%s%s", id,
                    e ? ": " : "", e ? strerror(e) : "");
  if (!json_is_true(cmn_get(r, "ok"))) {
    hr = cmn_fail_json(result, r);
    drop_fds(tmpfds, &ntmp);
    json_decref(r);
    return hr;
  }
  for (int i = 0; i < ntmp; i++) {
    if (rfds && nrfds) rfds[(*nrfds)++] = tmpfds[i];
    else close(tmpfds[i]);
  }
  if (reply) *reply = r;
  else json_decref(r);
  return hr;
}

int hl_mon_cut_short(const char *sysdir, int64_t deadline) {
  char *sock = cmn_path(sysdir, "monitor.sock"), *msg;
  json_t *req = json_pack("{s:s}", "op", "terminate"), *r = NULL;
  int fd = sock ? cmn_seqpacket_connect(sock, deadline) : -ENOMEM, e = ENOMEM, rf[CMN_MAX_FDS],
      nr = 0;
  size_t len = 0;
  free(sock);
  msg = fd >= 0 ? encode_req(req, &len) : NULL;
  if (msg) r = exchange(fd, NULL, msg, len, NULL, 0, MON_TERMINATE, rf, &nr, &e, deadline);
  drop_fds(rf, &nr);
  json_decref(r);
  json_decref(req);
  free(msg);
  if (fd >= 0) close(fd);
  /* sent, answered or not: the monitor acts on it */
  return fd < 0 ? fd : r || e == ETIMEDOUT ? 0 : -e;
}

plat_hresult hl_mon_simple(const char *id, json_t *req, json_t **reply, char **result) {
  int fd;
  plat_hresult hr = hl_mon_connect(id, &fd, result);
  if (hr < 0) return hr;
  hr = hl_mon_call(fd, NULL, id, req, NULL, 0, reply, NULL, NULL, result);
  close(fd);
  return hr;
}
