/* The network namespace of a compute system: a file of our own,
 * <runtime root>/netns/<id>, bind-mounted from a fresh namespace before
 * crun creates the container in it.  It outlives the container's init, so
 * CNI DEL can always run before the namespace goes away (DEL after the
 * namespace is gone leaks MASQUERADE rules: linux-host.md section 5). */
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

char *hns_netns_path(const char *container) {
  return cmn_printf("%s/netns/%s", cmn_runtime_root(), container);
}

/* In the child: a new namespace, lo up, bind-mounted onto path.  Exit
 * codes: 1 unshare, 2 lo, 3 the bind mount. */
static int make_netns(void *arg) {
  const char *path = arg;
  struct ifreq ifr;
  int s, pf;
  if (unshare(CLONE_NEWNET) < 0) return 1;
  /* lo is down in a namespace made this way */
  s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return 2;
  ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return 2;
  /* unprivileged ICMP echo sockets, as Docker sets them: ping works
   * without CAP_NET_RAW (not among the default capabilities) */
  pf = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
  if (pf >= 0) {
    if (write(pf, "0 2147483647", 12) < 0) { /* old kernel: ping needs NET_RAW */
    }
    close(pf);
  }
  return mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0 ? 3 : 0;
}

int hns_netns_create(const char *path, char **err) {
  char dir[4096], *slash;
  int fd, status;
  snprintf(dir, sizeof dir, "%s", path);
  slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  if ((fd = cmn_mkdir_p(dir, 0700)) < 0) {
    *err = cmn_printf("cannot create `%s`: %s", dir, strerror(-fd));
    return -1;
  }
  fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = cmn_printf("cannot create the network namespace file `%s`: %s", path, strerror(errno));
    return -1;
  }
  close(fd);
  status = cmn_run_fn(make_netns, (void *)(uintptr_t)path);
  if (status == 0) return 0;
  *err = cmn_printf("cannot create the network namespace `%s` (%s)", path,
                    status < 0                                      ? strerror(-status)
                    : WIFEXITED(status) && WEXITSTATUS(status) == 1 ? "unshare failed"
                    : WIFEXITED(status) && WEXITSTATUS(status) == 2 ? "cannot bring lo up"
                                                                    : "bind mount failed");
  unlink(path);
  return -1;
}

void hns_netns_remove(const char *path) {
  if (!path) return;
  umount2(path, MNT_DETACH);
  unlink(path);
}
