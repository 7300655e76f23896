/* SOCK_SEQPACKET datagrams with descriptors (SCM_RIGHTS): the framing of
 * the monitor protocol (see monwire.h). */
#include "linux/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void cmn_bigbuf(int fd) {
  int sz = 2 * CMN_MAX_MSG;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

int cmn_sendmsg(int fd, const void *buf, size_t len, const int *fds, int nfds, int flags) {
  struct msghdr mh;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE(sizeof(int) * CMN_MAX_FDS)];
    struct cmsghdr align;
  } u;
  ssize_t w;
  memset(&mh, 0, sizeof mh);
  iov.iov_base = (void *)(uintptr_t)buf;
  iov.iov_len = len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    struct cmsghdr *c;
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
  }
  do {
    w = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
  } while (w < 0 && errno == EINTR);
  return w < 0 ? -errno : 0;
}

static void take_fds(struct msghdr *mh, int *fds, int *nfds) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int tmp[CMN_MAX_FDS];
    if (n > CMN_MAX_FDS) n = CMN_MAX_FDS;
    memcpy(tmp, CMSG_DATA(c), sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
      if (fds && nfds && *nfds < CMN_MAX_FDS) fds[(*nfds)++] = tmp[i];
      else close(tmp[i]);
    }
  }
}

ssize_t cmn_recvmsg(int fd, void **data, int *fds, int *nfds) {
  struct msghdr mh;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE(sizeof(int) * CMN_MAX_FDS)];
    struct cmsghdr align;
  } u;
  char *buf;
  ssize_t r;
  *data = NULL;
  if (nfds) *nfds = 0;
  /* the size first, so that an idle reader holds no megabyte buffer */
  do {
    r = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  buf = malloc((size_t)r + 1);
  if (!buf) return -ENOMEM;
  memset(&mh, 0, sizeof mh);
  iov.iov_base = buf;
  iov.iov_len = (size_t)r;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  do {
    r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) {
    int e = r < 0 ? errno : 0;
    free(buf);
    return -e;
  }
  take_fds(&mh, fds, nfds);
  buf[r] = 0;
  *data = buf;
  return r;
}

int64_t cmn_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmn_poll_ms(int64_t deadline) {
  int64_t left = deadline - cmn_now_ms();
  if (deadline == CMN_NO_DEADLINE) return -1;
  return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

int cmn_wait_fd(int fd, short events, int64_t deadline) {
  struct pollfd pf = {fd, events, 0};
  for (;;) {
    int ms = cmn_poll_ms(deadline);
    /* polled once even past the deadline: what is there already counts */
    int rc = poll(&pf, 1, ms);
    if (rc > 0) return 0;
    if (rc < 0 && errno != EINTR) return -errno;
    if (ms == 0) return -ETIMEDOUT;
  }
}

/* Non-blocking: a listener whose backlog is full (a monitor that stopped
 * accepting) answers EAGAIN, retried until the deadline, where a blocking
 * connect would wait for ever. */
static int connect_by(int fd, const struct sockaddr_un *sa, int64_t deadline) {
  for (;;) {
    int e;
    struct timespec pause = {0, 10 * 1000000};
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0) return 0;
    e = errno;
    if (e != EAGAIN && e != EINTR) return -e;
    if (deadline != CMN_NO_DEADLINE && cmn_now_ms() >= deadline) return -ETIMEDOUT;
    nanosleep(&pause, NULL);
  }
}

/* The address of a path through a descriptor: fd itself (name NULL) or
 * name in the folder open at fd.  A 128-character id makes a system's
 * socket path longer than sun_path; this one is short whatever the path. */
static int fd_address(struct sockaddr_un *sa, int fd, const char *name) {
  int n;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d%s%s", fd, name ? "/" : "",
               name ? name : "");
  return n < (int)sizeof sa->sun_path ? 0 : -ENAMETOOLONG;
}

int cmn_seqpacket_connect(const char *path, int64_t deadline) {
  struct sockaddr_un sa;
  int fd, pfd = -1, rc;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) < sizeof sa.sun_path) {
    strcpy(sa.sun_path, path);
  } else {
    pfd = open(path, O_PATH | O_CLOEXEC);
    if (pfd < 0) return -errno;
    fd_address(&sa, pfd, NULL);
  }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    rc = -errno;
    if (pfd >= 0) close(pfd);
    return rc;
  }
  rc = connect_by(fd, &sa, deadline);
  if (pfd >= 0) close(pfd);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  /* blocking again: its readers and writers wait with cmn_wait_fd */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  cmn_bigbuf(fd);
  return fd;
}

int cmn_seqpacket_listen(const char *dir, const char *name, int backlog) {
  struct sockaddr_un sa;
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, e;
  if (dfd < 0) return -errno;
  if ((e = -fd_address(&sa, dfd, name)) == 0) {
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    e = fd < 0 ? errno : 0;
    if (!e && (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, backlog) < 0)) {
      e = errno;
      close(fd);
    }
  }
  close(dfd);
  return e ? -e : fd;
}
