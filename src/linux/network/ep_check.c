/* Validation of an HNSEndpoint request against its network: everything it
 * carries is either honoured or refused with a message naming it. */
#include "linux/network/endpoint.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

static const char *const ep_fields[] = {"ID",
                                        "Name",
                                        "VirtualNetwork",
                                        "VirtualNetworkName",
                                        "Policies",
                                        "MacAddress",
                                        "IPAddress",
                                        "DNSSuffix",
                                        "DNSServerList",
                                        "DNSDomain",
                                        "GatewayAddress",
                                        "EnableInternalDNS",
                                        "PrefixLength",
                                        "IsRemoteEndpoint",
                                        "IPv6Address",
                                        "GatewayAddressV6",
                                        "DisableICC",
                                        "IPv6PrefixLength",
                                        "EnableLowMetric",
                                        "Namespace",
                                        "EncapOverhead",
                                        "SharedContainers",
                                        "State",
                                        "Type",
                                        NULL};

static int u16_ok(json_t *v) {
  return json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535;
}

static plat_hresult check_policies(json_t *pols, const char *ntype, char **err) {
  size_t i;
  json_t *p;
  if (pols && !json_is_null(pols) && !json_is_array(pols))
    return hns_fail(err, BAD, "Policies: expected an array of policies");
  json_array_foreach(pols, i, p) {
    const char *t = cmn_str(p, "Type"), *k;
    json_t *v;
    if (!json_is_object(p) || !t)
      return hns_fail(err, BAD, "Policies[%zu]: a policy object with a Type is expected", i + 1);
    if (strcasecmp(t, "NAT") == 0) {
      const char *proto = cmn_str(p, "Protocol");
      char where[64];
      plat_hresult hr;
      json_object_foreach(p, k, v) {
        if (strcasecmp(k, "Type") && strcasecmp(k, "Protocol") && strcasecmp(k, "InternalPort") &&
            strcasecmp(k, "ExternalPort") && strcasecmp(k, "ExternalPortReserved"))
          return hns_fail(err, BAD, "Policies[%zu]: unknown NAT policy field `%s`", i + 1, k);
      }
      if (strcmp(ntype, "nat"))
        return hns_fail(err, NS, "Policies[%zu]: NAT policies need a nat network (this one is %s)",
                        i + 1, ntype);
      if (!proto || (strcasecmp(proto, "TCP") && strcasecmp(proto, "UDP")))
        return hns_fail(err, BAD, "Policies[%zu]: NAT Protocol must be TCP or UDP (got `%s`)", i,
                        proto ? proto : "");
      if (!u16_ok(cmn_get(p, "InternalPort")))
        return hns_fail(err, BAD, "Policies[%zu]: NAT InternalPort must be 1..65535", i + 1);
      if (!u16_ok(cmn_get(p, "ExternalPort")))
        return hns_fail(err, BAD, "Policies[%zu]: NAT ExternalPort must be 1..65535", i + 1);
      if (json_is_true(cmn_get(p, "ExternalPortReserved")))
        return hns_fail(err, NS, "Policies[%zu]: ExternalPortReserved is not supported on Linux",
                        i + 1);
      snprintf(where, sizeof where, "Policies[%zu]", i + 1);
      if ((hr = hns_check_host_port((int)json_integer_value(cmn_get(p, "ExternalPort")), proto,
                                    where, err)) < 0)
        return hr;
    } else if (strcasecmp(t, "QOS") == 0) {
      json_t *b = cmn_get(p, "MaximumOutgoingBandwidthInBytes");
      json_object_foreach(p, k, v) {
        if (strcasecmp(k, "Type") && strcasecmp(k, "MaximumOutgoingBandwidthInBytes"))
          return hns_fail(err, BAD, "Policies[%zu]: unknown QOS policy field `%s`", i + 1, k);
      }
      /* above INT64_MAX / 8 (bits per second overflow) means unlimited:
       * hcsshim's 2^64-1 among them (CMN_JSON_SATURATED) */
      if (!json_is_integer(b) || json_integer_value(b) < 1)
        return hns_fail(
            err, BAD,
            "Policies[%zu]: QOS MaximumOutgoingBandwidthInBytes must be a positive number of "
            "bytes per second",
            i + 1);
    } else if (strcasecmp(t, "VLAN") == 0) {
      json_t *vl = cmn_get(p, "VLAN");
      if (!json_is_integer(vl) || json_integer_value(vl) < 1 || json_integer_value(vl) > 4094)
        return hns_fail(err, BAD, "Policies[%zu]: VLAN must be 1..4094", i + 1);
      if (strcmp(ntype, "transparent") && strcmp(ntype, "l2bridge"))
        return hns_fail(
            err, NS,
            "Policies[%zu]: VLAN policies are supported on Linux only on transparent and l2bridge "
            "networks (the vlan plugin)",
            i + 1);
    } else if (strcasecmp(t, "ACL") == 0 || strcasecmp(t, "ROUTE") == 0 ||
               strcasecmp(t, "OutBoundNAT") == 0) {
      return hns_fail(err, NS,
                      "Policies[%zu]: %s policies are not supported on Linux (no CNI plugin of "
                      "containernetworking-plugins 1.1.1 implements them)",
                      i + 1, t);
    } else {
      return hns_fail(
          err, NS,
          "Policies[%zu]: endpoint policy type `%s` is not supported on Linux (NAT, QOS and VLAN "
          "are)",
          i + 1, t);
    }
  }
  return PLAT_S_OK;
}

/* Fields of Windows' HNS that this host does not implement: refused. */
static plat_hresult refuse_windows_only(json_t *req, char **err) {
#define REFUSE_TRUE(f) \
  if (json_is_true(cmn_get(req, f))) return hns_fail(err, NS, f " is not supported on Linux")
#define REFUSE_STR(f)                      \
  if (cmn_str(req, f) && *cmn_str(req, f)) \
  return hns_fail(err, NS, f " is not supported on Linux (IPv4 only)")
  REFUSE_TRUE("EnableInternalDNS");
  REFUSE_TRUE("IsRemoteEndpoint");
  REFUSE_TRUE("DisableICC");
  REFUSE_TRUE("EnableLowMetric");
  REFUSE_STR("IPv6Address");
  REFUSE_STR("GatewayAddressV6");
#undef REFUSE_TRUE
#undef REFUSE_STR
  if (json_integer_value(cmn_get(req, "IPv6PrefixLength")))
    return hns_fail(err, NS, "IPv6PrefixLength is not supported on Linux (IPv4 only)");
  if (json_integer_value(cmn_get(req, "EncapOverhead")))
    return hns_fail(err, NS, "EncapOverhead is not supported on Linux");
  if (cmn_get(req, "Namespace") && !json_is_null(cmn_get(req, "Namespace")))
    return hns_fail(err, NS, "Namespace is not supported on Linux");
  return PLAT_S_OK;
}

static plat_hresult find_network(sqlite3 *db, ep_plan *e, char **err) {
  const char *vn = cmn_str(e->req, "VirtualNetwork"), *vnn = cmn_str(e->req, "VirtualNetworkName");
  char canon[37];
  if (vn && *vn && hns_canon_guid(vn, canon) < 0)
    return hns_fail(err, BAD, "VirtualNetwork `%s`: not a GUID", vn);
  if (vn && *vn) e->net = hns_network_get(db, canon);
  else if (vnn && *vnn) e->net = hns_query_doc(db, "SELECT doc FROM networks WHERE name = ?1", vnn);
  else
    return hns_fail(err, BAD,
                    "HNSEndpoint: VirtualNetwork (network id) or VirtualNetworkName is required");
  if (!e->net) return hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found", vn && *vn ? vn : vnn);
  if (vn && *vn && vnn && *vnn && strcmp(vnn, cmn_str(e->net, "Name")))
    return hns_fail(err, BAD, "VirtualNetworkName `%s` does not name network %s", vnn, vn);
  e->ntype = cmn_str(e->net, "Type");
  return PLAT_S_OK;
}


/* A given IPAddress: inside a subnet, not its network, broadcast or
 * gateway address. */
static plat_hresult check_ip(ep_plan *e, char **err) {
  json_t *s;
  size_t i;
  uint32_t n, gw = 0;
  if (hns_parse_ip(e->ipin, &e->ip) < 0)
    return hns_fail(err, BAD, "IPAddress `%s`: not an IPv4 address", e->ipin);
  json_array_foreach(cmn_get(e->net, "Subnets"), i, s) {
    int p;
    if (hns_parse_cidr(cmn_str(s, "AddressPrefix"), &n, &p) == 0 && (e->ip & hns_mask(p)) == n) {
      e->subnet = s;
      e->pfx = p;
    }
  }
  if (!e->subnet)
    return hns_fail(err, BAD, "IPAddress %s is outside every subnet of network `%s`", e->ipin,
                    cmn_str(e->net, "Name"));
  hns_parse_cidr(cmn_str(e->subnet, "AddressPrefix"), &n, &e->pfx);
  if (cmn_str(e->subnet, "GatewayAddress")) hns_parse_ip(cmn_str(e->subnet, "GatewayAddress"), &gw);
  if (e->ip == n || e->ip == (n | ~hns_mask(e->pfx)) || e->ip == gw)
    return hns_fail(err, BAD, "IPAddress %s is the network, broadcast or gateway address of %s",
                    e->ipin, cmn_str(e->subnet, "AddressPrefix"));
  return PLAT_S_OK;
}

static plat_hresult check_addresses(ep_plan *e, char **err) {
  json_t *pl = cmn_get(e->req, "PrefixLength");
  plat_hresult hr;
  e->ipin = cmn_str(e->req, "IPAddress");
  e->macin = cmn_str(e->req, "MacAddress");
  if (e->ipin && *e->ipin && (hr = check_ip(e, err)) < 0) return hr;
  if (e->macin && *e->macin) {
    if (hns_parse_mac(e->macin, &e->mac) < 0)
      return hns_fail(err, BAD, "MacAddress `%s`: not a MAC address (00-15-5D-12-34-56)", e->macin);
    if ((e->mac >> 40) & 1)
      return hns_fail(err, BAD, "MacAddress %s is a multicast address", e->macin);
  }
  if (pl && json_integer_value(pl) && e->subnet && json_integer_value(pl) != e->pfx)
    return hns_fail(err, BAD, "PrefixLength %lld does not match subnet %s",
                    (long long)json_integer_value(pl), cmn_str(e->subnet, "AddressPrefix"));
  return PLAT_S_OK;
}

plat_hresult hns_endpoint_check(sqlite3 *db, ep_plan *e, char **err) {
  plat_hresult hr;
  e->name = cmn_str(e->req, "Name");
  if (!e->name) e->name = "";
  if (cmn_str(e->req, "ID") && *cmn_str(e->req, "ID") &&
      hns_canon_guid(cmn_str(e->req, "ID"), (char[37]){0}) < 0)
    return hns_fail(err, BAD, "ID `%s`: not a GUID", cmn_str(e->req, "ID"));
  if ((hr = hns_check_known(e->req, ep_fields, "endpoint", "HNSEndpoint", err)) < 0 ||
      (hr = refuse_windows_only(e->req, err)) < 0 || (hr = find_network(db, e, err)) < 0 ||
      (hr = check_policies(cmn_get(e->req, "Policies"), e->ntype, err)) < 0 ||
      (hr = hns_check_dns(e->req, err)) < 0)
    return hr;
  return check_addresses(e, err);
}
