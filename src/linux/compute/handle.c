/* Handles of compute systems: a connection to the monitor that counts as
 * an open handle, and the system's meta.json. */
#include "linux/compute/monclient.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *hl_read_meta(const char *id) {
  char *dir = cmn_sysdir(id), *p = dir ? cmn_path(dir, "meta.json") : NULL,
       *t = p ? cmn_read_file(p, NULL) : NULL;
  json_t *m = t ? json_loads(t, 0, NULL) : NULL;
  free(dir);
  free(p);
  free(t);
  return m;
}

plat_hresult hl_open_handle(const char *id, int creator, hl_system **out, char **result) {
  hl_system *s;
  json_t *req, *rep = NULL;
  plat_hresult hr;
  int fd;
  *out = NULL;
  hr = hl_mon_connect(id, &fd, result);
  if (hr < 0) return hr;
  req = json_pack("{s:s,s:b,s:b}", "op", "open", "Handle", 1, "Creator", creator);
  hr = hl_mon_call(fd, NULL, id, req, NULL, 0, &rep, NULL, NULL, result);
  json_decref(req);
  json_decref(rep);
  if (hr == PLAT_HCS_E_CONNECTION_CLOSED) {
    /* we connected while the monitor of a stopped system with no handle
     * left was exiting (our connection sat unaccepted in its backlog): the
     * system is gone, which is what a caller one moment later would hear */
    close(fd);
    if (result) {
      free(*result);
      *result = NULL;
    }
    hl_reap_stale(id);
    return cmn_fail(result, PLAT_HCS_E_SYSTEM_NOT_FOUND, "compute system %s not found", id);
  }
  if (hr < 0) {
    close(fd);
    return hr;
  }
  s = calloc(1, sizeof *s);
  if (!s || !(s->id = strdup(id))) {
    free(s);
    close(fd);
    return cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
  s->fd = fd;
  pthread_mutex_init(&s->mu, NULL);
  s->meta = hl_read_meta(id);
  if (!s->meta) s->meta = json_object();
  *out = s;
  return PLAT_S_OK;
}
