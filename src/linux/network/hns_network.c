/* HNS networks on Linux (hcs-api.md section 5; DESIGN.md "HNS").
 *
 *   nat                  a bridge hns<8 hex of the id> holding each subnet's
 *                        gateway address; endpoints get bridge (isGateway,
 *                        ipMasq, hairpin) + static IPAM, NAT policies portmap
 *   internal, private    the same bridge without gateway address, masquerade
 *                        or default route: no way out
 *   transparent,l2bridge macvlan (mode bridge) on NetworkAdapterName; vlan
 *                        plugin when a VLAN policy is given
 *
 * Everything a request carries is either honoured or refused with a message
 * naming it.  The record is committed first and the bridge made after; a
 * failed plumbing removes the record again.  After a reboot the bridge is
 * re-made by hns_network_plumb when the network is next used. */
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG


const char *hns_bridge_name(json_t *net, char buf[16]) {
  const char *id = cmn_str(net, "ID");
  snprintf(buf, 16, "hns%.8s", id ? id : "");
  return buf;
}

static int is_bridge_type(const char *t) {
  return t && (strcmp(t, "nat") == 0 || strcmp(t, "internal") == 0 || strcmp(t, "private") == 0);
}

/* ip(8) with args; returns its exit status (0 ok) and its stderr. */
static int run_ip(char **errout, const char *const *args) {
  const char *argv[16];
  char *envv[] = {(char *)(uintptr_t)"PATH=" CMN_DEFAULT_PATH, NULL}, *err = NULL;
  cmn_cmd c = CMN_CMD_INIT;
  int n = 0, status;
  argv[n++] = "ip";
  for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  c.prog = "ip";
  c.argv = argv;
  c.envp = envv;
  c.err = &err;
  status = cmn_run(&c);
  if (err && *err && err[strlen(err) - 1] == '\n') err[strlen(err) - 1] = 0;
  if (errout) *errout = status != 0 ? strdup(err && *err ? err : "ip failed") : NULL;
  free(err);
  return status;
}

plat_hresult hns_network_plumb(json_t *net, char **err) {
  const char *type = cmn_str(net, "Type");
  char br[16], *e = NULL;
  if (!is_bridge_type(type)) {
    const char *ad = cmn_str(net, "NetworkAdapterName");
    if (!ad || !if_nametoindex(ad))
      return hns_fail(err, PLAT_E_NOT_FOUND, "NetworkAdapterName `%s`: no such network interface on this host", ad ? ad : "");
    return PLAT_S_OK;
  }
  hns_bridge_name(net, br);
  if (!if_nametoindex(br)) {
    const char *a1[] = {"link", "add", "name", br, "type", "bridge", NULL};
    if (run_ip(&e, a1) != 0 && !if_nametoindex(br)) {
      plat_hresult hr = hns_fail(err, PLAT_E_FAIL, "cannot create bridge %s: %s", br, e ? e : "ip failed");
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
          plat_hresult hr = hns_fail(err, PLAT_E_FAIL, "cannot set gateway %s on bridge %s: %s", cidr, br, e ? e : "ip failed");
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
      plat_hresult hr = hns_fail(err, PLAT_E_FAIL, "cannot bring bridge %s up: %s", br, e ? e : "ip failed");
      free(e);
      return hr;
    }
    free(e);
  }
  return PLAT_S_OK;
}

static void unplumb(json_t *net) {
  char br[16];
  if (!is_bridge_type(cmn_str(net, "Type"))) return;
  hns_bridge_name(net, br);
  if (if_nametoindex(br)) {
    const char *a[] = {"link", "del", br, NULL};
    run_ip(NULL, a);
  }
}

json_t *hns_network_get(sqlite3 *db, const char *id) {
  return hns_query_doc(db, "SELECT doc FROM networks WHERE id = lower(?1)", id);
}

/* A policy list entry: Type, case-insensitive; only VLAN is meaningful
 * for networks (and only on transparent/l2bridge). */
static plat_hresult check_net_policies(json_t *pols, const char *where, const char *type, json_t **vlan, char **err) {
  size_t i;
  json_t *p;
  if (pols && !json_is_null(pols) && !json_is_array(pols)) return hns_fail(err, BAD, "%s: expected an array of policies", where);
  json_array_foreach(pols, i, p) {
    const char *t = cmn_str(p, "Type");
    if (!json_is_object(p) || !t) return hns_fail(err, BAD, "%s[%zu]: a policy object with a Type is expected", where, i);
    if (strcasecmp(t, "VLAN") == 0) {
      json_t *v = cmn_get(p, "VLAN");
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4094)
        return hns_fail(err, BAD, "%s[%zu]: VLAN must be 1..4094", where, i);
      if (strcmp(type, "transparent") && strcmp(type, "l2bridge"))
        return hns_fail(err, NS, "%s[%zu]: VLAN policies are supported on Linux only on transparent and l2bridge networks (the vlan plugin)", where, i);
      *vlan = v;
    } else {
      return hns_fail(err, NS, "%s[%zu]: network policy type `%s` is not supported on Linux", where, i, t);
    }
  }
  return PLAT_S_OK;
}

static int overlaps(uint32_t a, int pa, uint32_t b, int pb) {
  int p = pa < pb ? pa : pb;
  return (a & hns_mask(p)) == (b & hns_mask(p));
}

static const char *const net_fields[] = {"ID", "Name", "Type", "NetworkAdapterName", "SourceMac", "Policies", "MacPools", "Subnets",
                                         "DNSSuffix", "DNSServerList", "DNSServerCompartment", "ManagementIP", "AutomaticDNS", NULL};

plat_hresult hns_network_create(sqlite3 *db, json_t *req, json_t **out, char **err) {
  const char *k, *name, *type_in, *ad;
  json_t *v, *subs, *pools, *vlan = NULL, *doc = NULL, *others = NULL;
  char type[16], *id = NULL, *text = NULL;
  plat_hresult hr = PLAT_S_OK;
  size_t i;
  if (!json_is_object(req)) return hns_fail(err, BAD, "the network request must be a JSON object (HNSNetwork)");
  json_object_foreach(req, k, v) {
    int known = 0;
    for (int j = 0; net_fields[j]; j++)
      if (strcasecmp(k, net_fields[j]) == 0) known = 1;
    if (!known) return hns_fail(err, BAD, "unknown HNSNetwork field `%s`", k);
  }
  name = cmn_str(req, "Name");
  if (!name) name = "";
  type_in = cmn_str(req, "Type");
  if (!type_in || !*type_in) return hns_fail(err, BAD, "HNSNetwork.Type is required (nat, internal, private, transparent, l2bridge)");
  snprintf(type, sizeof type, "%s", type_in);
  for (char *c = type; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  if (strcmp(type, "nat") && strcmp(type, "internal") && strcmp(type, "private") && strcmp(type, "transparent") &&
      strcmp(type, "l2bridge"))
    return hns_fail(err, NS, "network type `%s` is not supported on Linux (supported: nat, internal, private, transparent, l2bridge)", type_in);
  ad = cmn_str(req, "NetworkAdapterName");
  if (is_bridge_type(type) && ad && *ad) return hns_fail(err, BAD, "NetworkAdapterName is only used by transparent and l2bridge networks");
  if (!is_bridge_type(type) && !(ad && *ad)) return hns_fail(err, BAD, "NetworkAdapterName is required for a %s network", type);
  if (!is_bridge_type(type) && !if_nametoindex(ad)) return hns_fail(err, PLAT_E_NOT_FOUND, "NetworkAdapterName `%s`: no such network interface on this host", ad);
  if (cmn_str(req, "SourceMac") && *cmn_str(req, "SourceMac")) return hns_fail(err, NS, "SourceMac is not supported on Linux");
  if (cmn_str(req, "ManagementIP") && *cmn_str(req, "ManagementIP")) return hns_fail(err, NS, "ManagementIP is not supported on Linux");
  if (json_integer_value(cmn_get(req, "DNSServerCompartment"))) return hns_fail(err, NS, "DNSServerCompartment is not supported on Linux");
  if (json_is_true(cmn_get(req, "AutomaticDNS"))) return hns_fail(err, NS, "AutomaticDNS is not supported on Linux");
  if ((hr = check_net_policies(cmn_get(req, "Policies"), "Policies", type, &vlan, err)) < 0) return hr;
  {
    const char *dns = cmn_str(req, "DNSServerList");
    if (cmn_get(req, "DNSServerList") && !json_is_null(cmn_get(req, "DNSServerList")) && !dns) return hns_fail(err, BAD, "DNSServerList: expected a string");
    if (dns) {
      char buf[1024], *save = NULL;
      snprintf(buf, sizeof buf, "%s", dns);
      for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        uint32_t ip;
        if (hns_parse_ip(t, &ip) < 0) return hns_fail(err, BAD, "DNSServerList: `%s` is not an IPv4 address", t);
      }
    }
  }
  subs = cmn_get(req, "Subnets");
  if (!json_array_size(subs)) return hns_fail(err, BAD, "Subnets: at least one subnet {AddressPrefix, GatewayAddress} is required on Linux");
  json_array_foreach(subs, i, v) {
    uint32_t netw, gw;
    int pfx;
    const char *pre = cmn_str(v, "AddressPrefix"), *g = cmn_str(v, "GatewayAddress"), *sk;
    json_t *sv;
    if (!json_is_object(v)) return hns_fail(err, BAD, "Subnets[%zu]: expected an object", i);
    json_object_foreach(v, sk, sv) {
      if (strcasecmp(sk, "AddressPrefix") && strcasecmp(sk, "GatewayAddress") && strcasecmp(sk, "Policies"))
        return hns_fail(err, BAD, "Subnets[%zu]: unknown field `%s`", i, sk);
    }
    if (!pre || hns_parse_cidr(pre, &netw, &pfx) < 0)
      return hns_fail(err, BAD, "Subnets[%zu].AddressPrefix `%s`: not an IPv4 CIDR prefix such as 172.20.0.0/16 (host bits must be zero)", i, pre ? pre : "");
    if (pfx < 8 || pfx > 30) return hns_fail(err, BAD, "Subnets[%zu].AddressPrefix `%s`: the prefix length must be 8..30", i, pre);
    if (g && *g) {
      if (hns_parse_ip(g, &gw) < 0) return hns_fail(err, BAD, "Subnets[%zu].GatewayAddress `%s`: not an IPv4 address", i, g);
      if ((gw & hns_mask(pfx)) != netw) return hns_fail(err, BAD, "Subnets[%zu].GatewayAddress %s is outside its subnet %s", i, g, pre);
      if (gw == netw || gw == (netw | ~hns_mask(pfx)))
        return hns_fail(err, BAD, "Subnets[%zu].GatewayAddress %s is the network or broadcast address of %s", i, g, pre);
    } else if (strcmp(type, "nat") == 0) {
      return hns_fail(err, BAD, "Subnets[%zu]: a nat network needs a GatewayAddress for %s", i, pre);
    }
    if ((hr = check_net_policies(cmn_get(v, "Policies"), "Subnets[].Policies", type, &vlan, err)) < 0) return hr;
    for (size_t j = 0; j < i; j++) {
      uint32_t n2;
      int p2;
      if (hns_parse_cidr(cmn_str(json_array_get(subs, j), "AddressPrefix"), &n2, &p2) == 0 && overlaps(netw, pfx, n2, p2))
        return hns_fail(err, BAD, "Subnets[%zu] %s overlaps Subnets[%zu]", i, pre, j);
    }
  }
  pools = cmn_get(req, "MacPools");
  if (pools && !json_is_null(pools) && !json_is_array(pools)) return hns_fail(err, BAD, "MacPools: expected an array");
  json_array_foreach(pools, i, v) {
    uint64_t a, b;
    const char *s = cmn_str(v, "StartMacAddress"), *e = cmn_str(v, "EndMacAddress");
    if (hns_parse_mac(s, &a) < 0) return hns_fail(err, BAD, "MacPools[%zu].StartMacAddress `%s`: not a MAC address (00-15-5D-00-00-00)", i, s ? s : "");
    if (hns_parse_mac(e, &b) < 0) return hns_fail(err, BAD, "MacPools[%zu].EndMacAddress `%s`: not a MAC address", i, e ? e : "");
    if (a > b) return hns_fail(err, BAD, "MacPools[%zu]: StartMacAddress %s is above EndMacAddress %s", i, s, e);
    if ((a >> 40) & 1) return hns_fail(err, BAD, "MacPools[%zu]: %s is a multicast address", i, s);
  }

  /* the document, as HNS returns it */
  {
    const char *given = cmn_str(req, "ID");
    uint32_t dummy;
    (void)dummy;
    if (given && *given) {
      char tmp[64];
      size_t n = strlen(given);
      if (n != 36) return hns_fail(err, BAD, "ID `%s`: not a GUID", given);
      snprintf(tmp, sizeof tmp, "%s", given);
      for (char *c = tmp; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      id = strdup(tmp);
    } else {
      id = hns_new_id();
    }
  }
  if (!id) return hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
  doc = json_object();
  json_object_set_new(doc, "ID", json_string(id));
  json_object_set_new(doc, "Name", json_string(name));
  json_object_set_new(doc, "Type", json_string(type));
  if (ad && *ad) json_object_set_new(doc, "NetworkAdapterName", json_string(ad));
  json_object_set_new(doc, "Policies", json_is_array(cmn_get(req, "Policies")) ? json_deep_copy(cmn_get(req, "Policies")) : json_array());
  if (json_array_size(pools)) {
    json_t *a = json_array();
    json_array_foreach(pools, i, v) {
      uint64_t s, e;
      char ms[18], me[18];
      hns_parse_mac(cmn_str(v, "StartMacAddress"), &s);
      hns_parse_mac(cmn_str(v, "EndMacAddress"), &e);
      hns_format_mac(s, ms, '-');
      hns_format_mac(e, me, '-');
      json_array_append_new(a, json_pack("{s:s,s:s}", "StartMacAddress", ms, "EndMacAddress", me));
    }
    json_object_set_new(doc, "MacPools", a);
  } else {
    /* like Windows: a 4096-address pool under 00-15-5D, here derived from the id */
    unsigned b0 = 0, b1 = 0;
    char ms[18], me[18];
    sscanf(id, "%2x%1x", &b0, &b1);
    hns_format_mac(0x00155D000000ull | ((uint64_t)b0 << 16) | ((uint64_t)b1 << 12), ms, '-');
    hns_format_mac(0x00155D000000ull | ((uint64_t)b0 << 16) | ((uint64_t)b1 << 12) | 0xfff, me, '-');
    json_object_set_new(doc, "MacPools", json_pack("[{s:s,s:s}]", "StartMacAddress", ms, "EndMacAddress", me));
  }
  {
    json_t *a = json_array();
    json_array_foreach(subs, i, v) {
      uint32_t netw;
      int pfx;
      char ipb[16], cidr[40];
      json_t *s = json_object();
      hns_parse_cidr(cmn_str(v, "AddressPrefix"), &netw, &pfx);
      hns_format_ip(netw, ipb);
      snprintf(cidr, sizeof cidr, "%s/%d", ipb, pfx);
      json_object_set_new(s, "AddressPrefix", json_string(cidr));
      if (cmn_str(v, "GatewayAddress") && *cmn_str(v, "GatewayAddress"))
        json_object_set_new(s, "GatewayAddress", json_string(cmn_str(v, "GatewayAddress")));
      if (json_array_size(cmn_get(v, "Policies"))) json_object_set_new(s, "Policies", json_deep_copy(cmn_get(v, "Policies")));
      json_array_append_new(a, s);
    }
    json_object_set_new(doc, "Subnets", a);
  }
  if (cmn_str(req, "DNSSuffix") && *cmn_str(req, "DNSSuffix")) json_object_set_new(doc, "DNSSuffix", json_string(cmn_str(req, "DNSSuffix")));
  if (cmn_str(req, "DNSServerList") && *cmn_str(req, "DNSServerList"))
    json_object_set_new(doc, "DNSServerList", json_string(cmn_str(req, "DNSServerList")));
  json_object_set_new(doc, "State", json_integer(1));
  text = json_dumps(doc, JSON_COMPACT);

  /* one transaction: unique name and id, no overlap with other networks */
  if (hns_begin(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  others = hns_query_docs(db, "SELECT doc FROM networks", NULL, err);
  if (!others) { hr = PLAT_E_FAIL; goto rollback; }
  json_array_foreach(others, i, v) {
    size_t a, b;
    json_t *s1, *s2;
    char b1[16], b2[16];
    /* the bridge is named from the id's first 8 hex digits: two networks
     * whose ids share them would share one bridge */
    if (is_bridge_type(type) && is_bridge_type(cmn_str(v, "Type")) && strcmp(hns_bridge_name(doc, b1), hns_bridge_name(v, b2)) == 0 &&
        strcmp(cmn_str(v, "ID") ? cmn_str(v, "ID") : "", id) != 0) {
      hr = hns_fail(err, PLAT_E_ALREADY_EXISTS,
                "network %s would use bridge %s, which network `%s` (%s) already uses: the first 8 hex digits of a bridge network's ID must be unique",
                id, b1, cmn_str(v, "Name"), cmn_str(v, "ID"));
      goto rollback;
    }
    if (*name && cmn_str(v, "Name") && strcmp(cmn_str(v, "Name"), name) == 0) {
      hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "a network named `%s` already exists (%s)", name, cmn_str(v, "ID"));
      goto rollback;
    }
    if (strcmp(cmn_str(v, "ID") ? cmn_str(v, "ID") : "", id) == 0) {
      hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "network %s already exists", id);
      goto rollback;
    }
    json_array_foreach(cmn_get(doc, "Subnets"), a, s1) {
      json_array_foreach(cmn_get(v, "Subnets"), b, s2) {
        uint32_t n1, n2;
        int p1, p2;
        if (hns_parse_cidr(cmn_str(s1, "AddressPrefix"), &n1, &p1) == 0 && hns_parse_cidr(cmn_str(s2, "AddressPrefix"), &n2, &p2) == 0 &&
            overlaps(n1, p1, n2, p2)) {
          hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "subnet %s overlaps subnet %s of network `%s` (%s)", cmn_str(s1, "AddressPrefix"),
                    cmn_str(s2, "AddressPrefix"), cmn_str(v, "Name"), cmn_str(v, "ID"));
          goto rollback;
        }
      }
    }
  }
  {
    const char *p[] = {id, name, text};
    if (hns_exec(db, err, "INSERT INTO networks(id, name, doc) VALUES (?1, ?2, ?3)", 3, p) < 0) { hr = PLAT_E_FAIL; goto rollback; }
  }
  if (hns_commit(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  if ((hr = hns_network_plumb(doc, err)) < 0) {
    const char *p[] = {id};
    char *e2 = NULL;
    unplumb(doc);
    hns_exec(db, &e2, "DELETE FROM networks WHERE id = ?1", 1, p);
    free(e2);
    goto out;
  }
  *out = json_incref(doc);
  goto out;
rollback:
  hns_rollback(db);
out:
  json_decref(others);
  json_decref(doc);
  free(text);
  free(id);
  return hr;
}

plat_hresult hns_network_delete(sqlite3 *db, const char *id, int force, json_t **out, char **err) {
  json_t *net = hns_network_get(db, id), *eps;
  plat_hresult hr;
  size_t i;
  json_t *e;
  if (!net) return hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found", id);
  eps = hns_query_docs(db, "SELECT doc FROM endpoints WHERE network = ?1", cmn_str(net, "ID"), err);
  if (!eps) { json_decref(net); return PLAT_E_FAIL; }
  if (json_array_size(eps) && !force) {
    hr = hns_fail(err, PLAT_E_BUSY, "network %s (`%s`) still has %zu endpoint(s): delete them first, or delete the network with Force",
              cmn_str(net, "ID"), cmn_str(net, "Name"), json_array_size(eps));
    json_decref(eps);
    json_decref(net);
    return hr;
  }
  json_array_foreach(eps, i, e) {
    json_t *sc = cmn_get(e, "SharedContainers"), *o = NULL;
    const char *cid = json_string_value(json_array_get(sc, 0));
    char *e2 = NULL;
    if (cid && hns_container_alive(cid)) {
      /* the container's monitor owns its namespace: ask it to detach */
      hns_unlock();
      hns_container_detach(cid, cmn_str(e, "ID"));
      hns_lock();
    }
    if (hns_endpoint_delete(db, cmn_str(e, "ID"), &o, &e2) < 0) {
      hr = hns_fail(err, PLAT_E_BUSY, "network %s: cannot delete endpoint %s: %s", cmn_str(net, "ID"), cmn_str(e, "ID"), e2 ? e2 : "");
      free(e2);
      json_decref(eps);
      json_decref(net);
      return hr;
    }
    json_decref(o);
  }
  json_decref(eps);
  hns_test_pause("network-delete");
  {
    /* guarded: an endpoint created since the check above keeps the
     * network (the check and this delete are not one transaction) */
    const char *p[] = {cmn_str(net, "ID")};
    int changed;
    if (hns_begin(db, err) < 0) { json_decref(net); return PLAT_E_FAIL; }
    if (hns_exec(db, err, "DELETE FROM networks WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM endpoints WHERE network = ?1)", 1, p) < 0) {
      hns_rollback(db);
      json_decref(net);
      return PLAT_E_FAIL;
    }
    changed = sqlite3_changes(db);
    if (hns_commit(db, err) < 0) { json_decref(net); return PLAT_E_FAIL; }
    if (changed != 1) {
      hr = hns_fail(err, PLAT_E_BUSY, "network %s (`%s`) gained an endpoint while being deleted: delete its endpoints first, or delete the network with Force",
                cmn_str(net, "ID"), cmn_str(net, "Name"));
      json_decref(net);
      return hr;
    }
  }
  unplumb(net);
  *out = net;
  return PLAT_S_OK;
}
