/* Inside the network room: an endpoint being created (ep_check.c checks
 * the request, hns_endpoint.c reserves its addresses). */
#ifndef HCSSHIM_LINUX_NETWORK_ENDPOINT_H
#define HCSSHIM_LINUX_NETWORK_ENDPOINT_H

#include "linux/network/hns.h"

typedef struct ep_plan {
  json_t *req; /* the HNSEndpoint request */
  json_t *net; /* its network (owned) */
  const char *name, *ntype, *ipin, *macin;
  json_t *subnet; /* the subnet of ip, inside net */
  uint32_t ip;    /* 0: pick one */
  uint64_t mac;   /* 0: pick one */
  int pfx;
} ep_plan;

/* Validates e->req; fills the rest of e (e->net even on failure). */
plat_hresult hns_endpoint_check(sqlite3 *db, ep_plan *e, char **err);

/* Updates the endpoint's record: attached to container (or detached with
 * container ""), its interface, saved plugin list and CNI result, guarded
 * by the container it had when only_if_container is not NULL; 0 or -1 + *err. */
int hns_set_attached(sqlite3 *db, const char *ep, json_t *doc, const char *container,
                     const char *ifname, const char *conf, const char *result,
                     const char *only_if_container, char **err);

#endif
