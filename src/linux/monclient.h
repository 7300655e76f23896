/* Client side of the monitor protocol; handle types of the library. */
#ifndef HCSSHIM_LINUX_MONCLIENT_H
#define HCSSHIM_LINUX_MONCLIENT_H

#include <pthread.h>

#include "hcs_internal.h"

typedef struct hl_system {
  char *id;
  int fd;              /* this handle's connection: counts as an open handle */
  pthread_mutex_t mu;  /* one request at a time on fd */
  json_t *meta;
} hl_system;

typedef struct hl_process {
  char *id;
  uint32_t pid;
  int fd;
  pthread_mutex_t mu;
} hl_process;

int hl_reap_stale(const char *id);
plat_hresult hl_mon_connect(const char *id, int *fd, char **result);
plat_hresult hl_mon_call(int fd, pthread_mutex_t *mu, const char *id, json_t *req, const int *fds, int nfds,
                         json_t **reply, int *rfds, int *nrfds, char **result);
/* one request on a fresh connection */
plat_hresult hl_mon_simple(const char *id, json_t *req, json_t **reply, char **result);

#endif
