/* What networking knows of containers: only what compute registers
 * (network/hns.h), so that networking never calls up into compute. */
#include "linux/network/hns.h"

static hns_container_hooks hooks;

void hns_set_container_hooks(const hns_container_hooks *h) { hooks = *h; }

/* Without hooks (no compute side linked) no container can be alive. */
int hns_container_alive(const char *id) { return hooks.alive ? hooks.alive(id) : 0; }

void hns_container_detach(const char *container, const char *endpoint) {
  if (hooks.detach) hooks.detach(container, endpoint);
}
