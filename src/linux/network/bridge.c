/* The bridge behind a nat, internal or private network, made and removed
 * with ip(8); transparent and l2bridge networks use a host interface. */
#include "linux/network/hns.h"

#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *hns_bridge_name(json_t *net, char buf[16]) {
  const char *id = cmn_str(net, "ID");
  snprintf(buf, 16, "hns%.8s", id ? id : "");
  return buf;
}

int hns_is_bridge_type(const char *t) {
  return t && (strcmp(t, "nat") == 0 || strcmp(t, "internal") == 0 || strcmp(t, "private") == 0);
}

/* ip(8) with args; returns its exit status (0 ok) and its stderr. */
static int run_ip(char **errout, const char *const *args) {
  const char *argv[16];
  char *envv[] = {(char *)(uintptr_t) "PATH=" CMN_DEFAULT_PATH, NULL}, *err = NULL;
  cmn_cmd c = CMN_CMD_INIT;
  int n = 0, status;
  argv[n++] = "ip";
  for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  c.prog = "ip";
  c.argv = argv;
  c.envp = envv;
  c.err = &err;
  c.deadline = cmn_now_ms() + CMN_CMD_MAX_MS;
  c.keep_fd = hns_plumbing_fd();
  status = cmn_run(&c);
  if (err && *err && err[strlen(err) - 1] == '\n') err[strlen(err) - 1] = 0;
  if (errout) *errout = status != 0 ? strdup(err && *err ? err : "ip failed") : NULL;
  free(err);
  return status;
}

static int is_bridge(const char *ifname) {
  char p[64];
  snprintf(p, sizeof p, "/sys/class/net/%s/bridge", ifname);
  return access(p, F_OK) == 0;
}

int hns_network_bridge_exists(json_t *net) {
  char br[16];
  return hns_is_bridge_type(cmn_str(net, "Type")) && if_nametoindex(hns_bridge_name(net, br)) != 0;
}

plat_hresult hns_network_plumb(json_t *net, char **err) {
  const char *type = cmn_str(net, "Type");
  char br[16], *e = NULL;
  if (!hns_is_bridge_type(type)) {
    const char *ad = cmn_str(net, "NetworkAdapterName");
    if (!ad || !if_nametoindex(ad))
      return hns_fail(err, PLAT_E_NOT_FOUND,
                      "NetworkAdapterName `%s`: no such network interface on this host",
                      ad ? ad : "");
    return PLAT_S_OK;
  }
  hns_bridge_name(net, br);
  if (if_nametoindex(br) && !is_bridge(br))
    return hns_fail(err, PLAT_E_ALREADY_EXISTS,
                    "network %s would use bridge %s, but %s is a host interface that is no bridge",
                    cmn_str(net, "ID"), br, br);
  if (!if_nametoindex(br)) {
    const char *a1[] = {"link", "add", "name", br, "type", "bridge", NULL};
    if (run_ip(&e, a1) != 0 && !if_nametoindex(br)) {
      plat_hresult hr =
          hns_fail(err, PLAT_E_FAIL, "cannot create bridge %s: %s", br, e ? e : "ip failed");
      free(e);
      return hr;
    }
    free(e);
    e = NULL;
  }
  if (strcmp(type, "nat") == 0) {
    json_t *subs = cmn_get(net, "Subnets"), *s;
    size_t i;
    json_array_foreach(subs, i, s) {
      uint32_t netw;
      int pfx;
      char cidr[40];
      const char *gw = cmn_str(s, "GatewayAddress");
      if (!gw || hns_parse_cidr(cmn_str(s, "AddressPrefix"), &netw, &pfx) < 0) continue;
      snprintf(cidr, sizeof cidr, "%s/%d", gw, pfx);
      {
        const char *a2[] = {"addr", "replace", cidr, "dev", br, NULL};
        if (run_ip(&e, a2) != 0) {
          plat_hresult hr = hns_fail(err, PLAT_E_FAIL, "cannot set gateway %s on bridge %s: %s",
                                     cidr, br, e ? e : "ip failed");
          free(e);
          return hr;
        }
        free(e);
        e = NULL;
      }
    }
  }
  {
    const char *a3[] = {"link", "set", br, "up", NULL};
    if (run_ip(&e, a3) != 0) {
      plat_hresult hr =
          hns_fail(err, PLAT_E_FAIL, "cannot bring bridge %s up: %s", br, e ? e : "ip failed");
      free(e);
      return hr;
    }
    free(e);
  }
  return PLAT_S_OK;
}

void hns_network_unplumb(json_t *net) {
  char br[16];
  if (!hns_is_bridge_type(cmn_str(net, "Type"))) return;
  hns_bridge_name(net, br);
  if (if_nametoindex(br)) {
    const char *a[] = {"link", "del", br, NULL};
    run_ip(NULL, a);
  }
}
