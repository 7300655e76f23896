/* Is this host able to run compute systems at all?  Asked by the first
 * calls that need it (create, open, enumerate), so that an unprivileged
 * caller or an unprepared host gets the reason, never an empty list or a
 * runtime's puzzling failure. */
#include "linux/compute/hcs_internal.h"

#include <stdlib.h>
#include <string.h>

#define CAP_SYS_ADMIN_BIT 21 /* linux/capability.h */

static int has_sys_admin(void) {
  char *st = cmn_read_file("/proc/self/status", NULL);
  const char *e = st ? strstr(st, "\nCapEff:") : NULL;
  unsigned long long caps = e ? strtoull(e + 8, NULL, 16) : 0;
  free(st);
  return (caps >> CAP_SYS_ADMIN_BIT) & 1;
}

/* crun 1.8.1 refuses a hybrid layout while a controller sits on the
 * cgroup2 mount; scripts/setup-host.sh binds each to a v1 hierarchy, which
 * a reboot undoes. */
static char *hybrid_unfixed(void) {
  char *c = cmn_read_file("/sys/fs/cgroup/unified/cgroup.controllers", NULL);
  size_t n = c ? strcspn(c, "\n") : 0;
  if (c) c[n] = '\0';
  if (n) return c;
  free(c);
  return NULL;
}

plat_hresult hl_host_ready(char **result) {
  char *ctl;
  plat_hresult hr;
  if (!has_sys_admin())
    return cmn_fail(result, PLAT_E_ACCESSDENIED,
                    "compute systems: requires root (CAP_SYS_ADMIN): containers are made with "
                    "mounts, namespaces and cgroups");
  if (cmn_cgroup_v2() || !(ctl = hybrid_unfixed())) return PLAT_S_OK;
  hr = cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                "compute systems: the cgroup controllers `%s` sit on the cgroup2 mount of this "
                "hybrid host, which crun refuses; run scripts/setup-host.sh as root (again after "
                "every reboot)",
                ctl);
  free(ctl);
  return hr;
}
