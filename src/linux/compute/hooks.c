/* What compute tells networking about containers (network/hns.h): set
 * when this library loads, so networking never calls up into compute. */
#include "linux/compute/monclient.h"
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

/* 1 if the system's monitor is alive (it holds the system's lock). */
static int container_alive(const char *id) {
  char *dir = cmn_sysdir(id), *lock = dir ? cmn_path(dir, "lock") : NULL;
  int fd = lock ? open(lock, O_RDWR | O_CLOEXEC) : -1, alive = 0;
  if (fd >= 0) {
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) alive = 1;
    close(fd);
  }
  free(dir);
  free(lock);
  return alive;
}

static void container_detach(const char *id, const char *endpoint) {
  json_t *req = json_pack("{s:s,s:s,s:s}", "op", "network", "RequestType", "Remove", "Endpoint",
                          endpoint),
         *rep = NULL;
  char *r2 = NULL;
  hl_mon_simple(id, req, &rep, &r2);
  json_decref(req);
  json_decref(rep);
  free(r2);
}

__attribute__((constructor)) static void register_hooks(void) {
  static const hns_container_hooks hooks = {container_alive, container_detach};
  hns_set_container_hooks(&hooks);
}
