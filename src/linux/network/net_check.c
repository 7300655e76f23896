/* Validation of an HNSNetwork request: everything it carries is either
 * honoured or refused with a message naming it. */
#include "linux/network/hns.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

/* A policy list entry: Type, case-insensitive; only VLAN is meaningful
 * for networks (and only on transparent/l2bridge). */
static plat_hresult check_net_policies(json_t *pols, const char *where, const char *type,
                                       json_t **vlan, char **err) {
  size_t i;
  json_t *p;
  if (pols && !json_is_null(pols) && !json_is_array(pols))
    return hns_fail(err, BAD, "%s: expected an array of policies", where);
  json_array_foreach(pols, i, p) {
    const char *t = cmn_str(p, "Type");
    if (!json_is_object(p) || !t)
      return hns_fail(err, BAD, "%s[%zu]: a policy object with a Type is expected", where, i + 1);
    if (strcasecmp(t, "VLAN") == 0) {
      json_t *v = cmn_get(p, "VLAN");
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4094)
        return hns_fail(err, BAD, "%s[%zu]: VLAN must be 1..4094", where, i + 1);
      if (strcmp(type, "transparent") && strcmp(type, "l2bridge"))
        return hns_fail(
            err, NS,
            "%s[%zu]: VLAN policies are supported on Linux only on transparent and l2bridge "
            "networks (the vlan plugin)",
            where, i + 1);
      *vlan = v;
    } else {
      return hns_fail(err, NS, "%s[%zu]: network policy type `%s` is not supported on Linux", where,
                      i + 1, t);
    }
  }
  return PLAT_S_OK;
}

int hns_overlaps(uint32_t a, int pa, uint32_t b, int pb) {
  int p = pa < pb ? pa : pb;
  return (a & hns_mask(p)) == (b & hns_mask(p));
}

static const char *const net_fields[] = {"ID",
                                         "Name",
                                         "Type",
                                         "NetworkAdapterName",
                                         "SourceMac",
                                         "Policies",
                                         "MacPools",
                                         "Subnets",
                                         "DNSSuffix",
                                         "DNSServerList",
                                         "DNSServerCompartment",
                                         "ManagementIP",
                                         "AutomaticDNS",
                                         NULL};


plat_hresult hns_check_known(json_t *req, const char *const *fields, const char *what,
                             const char *schema, char **err) {
  const char *k;
  json_t *v;
  if (!json_is_object(req))
    return hns_fail(err, BAD, "the %s request must be a JSON object (%s)", what, schema);
  json_object_foreach(req, k, v) {
    int known = 0;
    for (int j = 0; fields[j]; j++)
      if (strcasecmp(k, fields[j]) == 0) known = 1;
    if (!known) return hns_fail(err, BAD, "unknown %s field `%s`", schema, k);
  }
  return PLAT_S_OK;
}

/* Type (lower-cased into type) and what goes with it. */
static plat_hresult check_type(json_t *req, char type[16], char **err) {
  const char *type_in = cmn_str(req, "Type"), *ad = cmn_str(req, "NetworkAdapterName");
  int bridge;
  if (!type_in || !*type_in)
    return hns_fail(err, BAD,
                    "HNSNetwork.Type is required (nat, internal, private, transparent, l2bridge)");
  snprintf(type, 16, "%s", type_in);
  for (char *c = type; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  if (strcmp(type, "nat") && strcmp(type, "internal") && strcmp(type, "private") &&
      strcmp(type, "transparent") && strcmp(type, "l2bridge"))
    return hns_fail(
        err, NS,
        "network type `%s` is not supported on Linux (supported: nat, internal, private, "
        "transparent, l2bridge)",
        type_in);
  bridge = hns_is_bridge_type(type);
  if (bridge && ad && *ad)
    return hns_fail(err, BAD,
                    "NetworkAdapterName is only used by transparent and l2bridge networks");
  if (!bridge && !(ad && *ad))
    return hns_fail(err, BAD, "NetworkAdapterName is required for a %s network", type);
  if (!bridge && !if_nametoindex(ad))
    return hns_fail(err, PLAT_E_NOT_FOUND,
                    "NetworkAdapterName `%s`: no such network interface on this host", ad);
  return PLAT_S_OK;
}

static plat_hresult check_windows_only(json_t *req, char **err) {
  if (cmn_str(req, "SourceMac") && *cmn_str(req, "SourceMac"))
    return hns_fail(err, NS, "SourceMac is not supported on Linux");
  if (cmn_str(req, "ManagementIP") && *cmn_str(req, "ManagementIP"))
    return hns_fail(err, NS, "ManagementIP is not supported on Linux");
  if (json_integer_value(cmn_get(req, "DNSServerCompartment")))
    return hns_fail(err, NS, "DNSServerCompartment is not supported on Linux");
  if (json_is_true(cmn_get(req, "AutomaticDNS")))
    return hns_fail(err, NS, "AutomaticDNS is not supported on Linux");
  return PLAT_S_OK;
}

static plat_hresult check_subnet(json_t *subs, size_t i, const char *type, json_t **vlan,
                                 char **err) {
  json_t *v = json_array_get(subs, i), *sv;
  uint32_t netw, gw;
  int pfx;
  const char *pre = cmn_str(v, "AddressPrefix"), *g = cmn_str(v, "GatewayAddress"), *sk;
  plat_hresult hr;
  if (!json_is_object(v)) return hns_fail(err, BAD, "Subnets[%zu]: expected an object", i + 1);
  json_object_foreach(v, sk, sv) {
    if (strcasecmp(sk, "AddressPrefix") && strcasecmp(sk, "GatewayAddress") &&
        strcasecmp(sk, "Policies"))
      return hns_fail(err, BAD, "Subnets[%zu]: unknown field `%s`", i + 1, sk);
  }
  if (!pre || hns_parse_cidr(pre, &netw, &pfx) < 0)
    return hns_fail(
        err, BAD,
        "Subnets[%zu].AddressPrefix `%s`: not an IPv4 CIDR prefix such as 172.20.0.0/16 (host "
        "bits must be zero)",
        i, pre ? pre : "");
  if (pfx < 8 || pfx > 30)
    return hns_fail(err, BAD, "Subnets[%zu].AddressPrefix `%s`: the prefix length must be 8..30",
                    i + 1, pre);
  if (g && *g) {
    if (hns_parse_ip(g, &gw) < 0)
      return hns_fail(err, BAD, "Subnets[%zu].GatewayAddress `%s`: not an IPv4 address", i + 1, g);
    if ((gw & hns_mask(pfx)) != netw)
      return hns_fail(err, BAD, "Subnets[%zu].GatewayAddress %s is outside its subnet %s", i + 1, g,
                      pre);
    if (gw == netw || gw == (netw | ~hns_mask(pfx)))
      return hns_fail(err, BAD,
                      "Subnets[%zu].GatewayAddress %s is the network or broadcast address of %s",
                      i + 1, g, pre);
  } else if (strcmp(type, "nat") == 0) {
    return hns_fail(err, BAD, "Subnets[%zu]: a nat network needs a GatewayAddress for %s", i + 1,
                    pre);
  }
  if ((hr = check_net_policies(cmn_get(v, "Policies"), "Subnets[].Policies", type, vlan, err)) < 0)
    return hr;
  for (size_t j = 0; j < i; j++) {
    uint32_t n2;
    int p2;
    if (hns_parse_cidr(cmn_str(json_array_get(subs, j), "AddressPrefix"), &n2, &p2) == 0 &&
        hns_overlaps(netw, pfx, n2, p2))
      return hns_fail(err, BAD, "Subnets[%zu] %s overlaps Subnets[%zu]", i + 1, pre, j + 1);
  }
  return PLAT_S_OK;
}

static plat_hresult check_pools(json_t *pools, char **err) {
  size_t i;
  json_t *v;
  if (pools && !json_is_null(pools) && !json_is_array(pools))
    return hns_fail(err, BAD, "MacPools: expected an array");
  json_array_foreach(pools, i, v) {
    uint64_t a, b;
    const char *s = cmn_str(v, "StartMacAddress"), *e = cmn_str(v, "EndMacAddress");
    if (hns_parse_mac(s, &a) < 0)
      return hns_fail(err, BAD,
                      "MacPools[%zu].StartMacAddress `%s`: not a MAC address (00-15-5D-00-00-00)",
                      i, s ? s : "");
    if (hns_parse_mac(e, &b) < 0)
      return hns_fail(err, BAD, "MacPools[%zu].EndMacAddress `%s`: not a MAC address", i,
                      e ? e : "");
    if (a > b)
      return hns_fail(err, BAD, "MacPools[%zu]: StartMacAddress %s is above EndMacAddress %s",
                      i + 1, s, e);
    if ((a >> 40) & 1)
      return hns_fail(err, BAD, "MacPools[%zu]: %s is a multicast address", i + 1, s);
  }
  return PLAT_S_OK;
}

plat_hresult hns_network_check(json_t *req, char type[16], char **err) {
  json_t *vlan = NULL, *subs;
  plat_hresult hr;
  if ((hr = hns_check_known(req, net_fields, "network", "HNSNetwork", err)) < 0 ||
      (hr = check_type(req, type, err)) < 0 || (hr = check_windows_only(req, err)) < 0 ||
      (hr = check_net_policies(cmn_get(req, "Policies"), "Policies", type, &vlan, err)) < 0 ||
      (hr = hns_check_dns(req, err)) < 0)
    return hr;
  subs = cmn_get(req, "Subnets");
  if (!json_array_size(subs))
    return hns_fail(
        err, BAD,
        "Subnets: at least one subnet {AddressPrefix, GatewayAddress} is required on Linux");
  for (size_t i = 0; i < json_array_size(subs); i++)
    if ((hr = check_subnet(subs, i, type, &vlan, err)) < 0) return hr;
  return check_pools(cmn_get(req, "MacPools"), err);
}
