/* Client side of the monitor protocol (see monitor/main.c), and the
 * clean-up of systems whose monitor died. */
#include "monclient.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* A system directory whose lock nobody holds has no creator and no
 * monitor: undo what it left and forget it.  Returns 1 if it was stale. */
int hl_reap_stale(const char *id) {
  char *dir = hl_sysdir(id), *lock = dir ? hl_path(dir, "lock") : NULL, *mp = dir ? hl_path(dir, "meta.json") : NULL;
  int fd, stale = 0;
  if (!lock || !mp) goto out;
  fd = open(lock, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    /* no lock file: a creator between mkdir and its lock, or a teardown
     * removing the directory right now; both are someone else's */
    goto out;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
    char *text = hl_read_file(mp, NULL);
    json_t *meta = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (meta) hl_teardown_system(id, meta);
    json_decref(meta);
    hl_rm_rf(dir);
    stale = 1;
  }
  close(fd);
out:
  free(dir);
  free(lock);
  free(mp);
  return stale;
}

plat_hresult hl_mon_connect(const char *id, int *fd, char **result) {
  char *dir = hl_sysdir(id), *sock = dir ? hl_path(dir, "monitor.sock") : NULL;
  int e;
  *fd = -1;
  if (!sock) { free(dir); return hl_fail(result, PLAT_E_OUTOFMEMORY, "out of memory"); }
  *fd = hl_seqpacket_connect(sock);
  e = errno;
  free(sock);
  if (*fd >= 0) { free(dir); return PLAT_S_OK; }
  if (e == ECONNREFUSED || e == ENOENT) hl_reap_stale(id);
  free(dir);
  return hl_fail(result, PLAT_HCS_E_SYSTEM_NOT_FOUND, "compute system %s not found", id);
}

plat_hresult hl_mon_call(int fd, pthread_mutex_t *mu, const char *id, json_t *req, const int *fds, int nfds,
                         json_t **reply, int *rfds, int *nrfds, char **result) {
  json_t *r;
  int tmpfds[HL_MAX_FDS], ntmp = 0;
  plat_hresult hr = PLAT_S_OK;
  if (reply) *reply = NULL;
  if (nrfds) *nrfds = 0;
  if (mu) pthread_mutex_lock(mu);
  if (hl_send(fd, req, fds, nfds) < 0) {
    if (mu) pthread_mutex_unlock(mu);
    return hl_fail(result, PLAT_HCS_E_CONNECTION_CLOSED, "lost the connection to the monitor of compute system %s: %s", id, strerror(errno));
  }
  r = hl_recv(fd, tmpfds, &ntmp);
  if (mu) pthread_mutex_unlock(mu);
  if (!r)
    return hl_fail(result, PLAT_HCS_E_CONNECTION_CLOSED, "lost the connection to the monitor of compute system %s%s%s", id,
                   errno ? ": " : "", errno ? strerror(errno) : "");
  if (!json_is_true(hl_get(r, "ok"))) {
    hr = hl_fail_json(result, r);
    for (int i = 0; i < ntmp; i++) close(tmpfds[i]);
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

plat_hresult hl_mon_simple(const char *id, json_t *req, json_t **reply, char **result) {
  int fd;
  plat_hresult hr = hl_mon_connect(id, &fd, result);
  if (hr < 0) return hr;
  hr = hl_mon_call(fd, NULL, id, req, NULL, 0, reply, NULL, NULL, result);
  close(fd);
  return hr;
}
