/* Replies, events and the log of the monitor. */
#include "linux/monitor/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
  r.seq = M.rseq;
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
  r.seq = M.rseq;
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
  if (send_rep(c->fd, &r, NULL, NULL, 0, MSG_DONTWAIT) < 0)
    mon_log("event to subscriber lost: %s", strerror(errno));
}

void mon_notify(pid_t pid, uint64_t start, int status) {
  for (mon_conn *c = M.conns; c; c = c->next)
    if (c->sub && c->subpid == pid && (!c->substart || c->substart == start))
      mon_send_event(c, pid, status);
}
