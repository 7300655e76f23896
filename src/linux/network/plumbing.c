/* One process at a time plumbs an endpoint (or a network's bridge).  CNI ADD and DEL of the same
 * endpoint must never overlap: a DEL that runs while an ADD is half done
 * (a monitor killed mid-attach, its helper still adding, and the dead
 * system's teardown detaching) removes the link first, and the bridge
 * plugin learns from that link which masquerade rules to remove, so the
 * rules the ADD then writes stay for good.  The store's mutex is not held
 * over plugin runs, so this is a lock of its own, across processes.  The
 * programs that do the plumbing (CNI plugins, ip) get the lock's file as
 * their fd 3: one whose caller was killed goes on, and the lock with it,
 * until it ends.  A container's lock covers its teardown (every DEL, then
 * the namespace) against an attach to it, which takes it too and needs
 * the namespace: an attach that a dead system's teardown did not see
 * (not claimed yet when it listed the endpoints) would add plumbing after
 * the DELs, and with the namespace gone no DEL could remove its rules. */
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An ADD runs up to three plugins (bridge, portmap, bandwidth), each
 * bounded by CMN_CMD_MAX_MS. */
#define WAIT_MS (3 * CMN_CMD_MAX_MS)

/* The byte of the lock file that stands for an endpoint, a network or a
 * container (FNV-1a of the id, in a range per kind): two of one kind that
 * share a byte only wait for each other, and one kind's lock never stands
 * in for another's (a network create waits for its lock with the store's
 * mutex held, which an attach holding its endpoint's lock may want). */
static off_t byte_of(int kind, const char *id) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 16777619u;
  return (off_t)kind * 0x10000 + (off_t)(h & 0xffff);
}

/* The locks this thread holds, innermost last (a container's, then one of
 * its endpoints'): the programs run meanwhile inherit the innermost. */
static _Thread_local int held[4], depth;

int hns_plumbing_fd(void) { return depth ? held[depth - 1] : -1; }

int hns_plumbing_lock(int kind, const char *id) {
  char *path = cmn_printf("%s/hns/plumbing.lock", hns_data_root());
  int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  int64_t deadline = cmn_now_ms() + WAIT_MS;
  /* an open file description's lock: per caller, not per process, and
   * gone with its holder (killed or not) */
  struct flock fl = {
      .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte_of(kind, id), .l_len = 1};
  free(path);
  if (fd < 0) return -errno;
  while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
    int e = errno;
    if ((e != EAGAIN && e != EACCES && e != EINTR) || cmn_now_ms() >= deadline) {
      close(fd);
      return e == EAGAIN || e == EACCES ? -ETIMEDOUT : -e;
    }
    usleep(10 * 1000);
  }
  if (depth < 4) held[depth++] = fd;
  return fd;
}

void hns_plumbing_unlock(int fd) {
  if (fd < 0) return;
  if (depth && held[depth - 1] == fd) depth--;
  close(fd);
}


plat_hresult hns_plumbing_fail(int guard, char **err, const char *fmt, ...) {
  va_list ap;
  char *what = NULL;
  plat_hresult hr;
  va_start(ap, fmt);
  if (vasprintf(&what, fmt, ap) < 0) what = NULL;
  va_end(ap);
  hr = hns_fail(err, guard == -ETIMEDOUT ? PLAT_E_TIMEOUT : PLAT_E_FAIL, "%s: %s",
                what ? what : "plumbing",
                guard == -ETIMEDOUT ? "another process kept plumbing it" : strerror(-guard));
  free(what);
  return hr;
}
