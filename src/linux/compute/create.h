/* Inside the compute room: a compute system being created (create.c). */
#ifndef HCSSHIM_LINUX_COMPUTE_CREATE_H
#define HCSSHIM_LINUX_COMPUTE_CREATE_H

#include <limits.h>

#include "linux/compute/monclient.h"

typedef struct hl_create {
  const char *id;
  hl_sysconf c;
  int parsed;     /* c holds a parsed configuration */
  json_t *eplist; /* EndpointList, inside c.cfg */
  char *dir, *lockp, *rootfs, *netns, *files;
  char layer_home[PATH_MAX], layer_id[256];
  int lockfd;
  /* what a failed create must undo */
  int dir_made, files_made, layers_up, net_made;
  json_t *holds; /* layer paths held for this system */
  json_t *spec, *meta;
} hl_create;

#endif
