/* HNS endpoints on Linux.
 *
 * Create reserves the endpoint's IP address and MAC address in the store,
 * in one BEGIN IMMEDIATE transaction (lowest free address of the
 * network's subnets, lowest free MAC of its MacPools, unless the caller
 * gives them): concurrent creators never get the same address and a
 * killed creator leaves a whole record or none.  Nothing is plumbed yet.
 *
 * Attach (the container's monitor: at create for EndpointList, or a
 * Network Add of HcsModifyComputeSystem) runs CNI ADD into the container's
 * namespace file with the endpoint id as CNI_CONTAINERID and ethN as the
 * interface; the plugin list and result are stored with the record so
 * that DEL replays exactly what ADD did.  Policies: NAT -> portmap,
 * QOS -> bandwidth, VLAN -> vlan plugin; anything else is refused. */
#include "linux/network/hns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG


static hns_container_hooks hooks;

void hns_set_container_hooks(const hns_container_hooks *h) { hooks = *h; }

/* Without hooks (no compute side linked) no container can be alive. */
int hns_container_alive(const char *id) { return hooks.alive ? hooks.alive(id) : 0; }

void hns_container_detach(const char *container, const char *endpoint) {
  if (hooks.detach) hooks.detach(container, endpoint);
}

static json_t *endpoint_get(sqlite3 *db, const char *id) {
  return hns_query_doc(db, "SELECT doc FROM endpoints WHERE id = lower(?1)", id);
}

/* rows of (col0, col1) as an array of [s, s] */
static json_t *query_pairs(sqlite3 *db, const char *sql, const char *param) {
  sqlite3_stmt *st = NULL;
  json_t *out = json_array();
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return out;
  if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *a = (const char *)sqlite3_column_text(st, 0), *b = (const char *)sqlite3_column_text(st, 1);
    json_array_append_new(out, json_pack("[s,s]", a ? a : "", b ? b : ""));
  }
  sqlite3_finalize(st);
  return out;
}

static const char *const ep_fields[] = {"ID", "Name", "VirtualNetwork", "VirtualNetworkName", "Policies", "MacAddress", "IPAddress",
                                        "DNSSuffix", "DNSServerList", "DNSDomain", "GatewayAddress", "EnableInternalDNS", "PrefixLength",
                                        "IsRemoteEndpoint", "IPv6Address", "GatewayAddressV6", "DisableICC", "IPv6PrefixLength",
                                        "EnableLowMetric", "Namespace", "EncapOverhead", "SharedContainers", "State", "Type", NULL};

static int u16_ok(json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535; }

static plat_hresult check_policies(json_t *pols, const char *ntype, char **err) {
  size_t i;
  json_t *p;
  if (pols && !json_is_null(pols) && !json_is_array(pols)) return hns_fail(err, BAD, "Policies: expected an array of policies");
  json_array_foreach(pols, i, p) {
    const char *t = cmn_str(p, "Type"), *k;
    json_t *v;
    if (!json_is_object(p) || !t) return hns_fail(err, BAD, "Policies[%zu]: a policy object with a Type is expected", i);
    if (strcasecmp(t, "NAT") == 0) {
      const char *proto = cmn_str(p, "Protocol");
      json_object_foreach(p, k, v) {
        if (strcasecmp(k, "Type") && strcasecmp(k, "Protocol") && strcasecmp(k, "InternalPort") && strcasecmp(k, "ExternalPort") &&
            strcasecmp(k, "ExternalPortReserved"))
          return hns_fail(err, BAD, "Policies[%zu]: unknown NAT policy field `%s`", i, k);
      }
      if (strcmp(ntype, "nat")) return hns_fail(err, NS, "Policies[%zu]: NAT policies need a nat network (this one is %s)", i, ntype);
      if (!proto || (strcasecmp(proto, "TCP") && strcasecmp(proto, "UDP")))
        return hns_fail(err, BAD, "Policies[%zu]: NAT Protocol must be TCP or UDP (got `%s`)", i, proto ? proto : "");
      if (!u16_ok(cmn_get(p, "InternalPort"))) return hns_fail(err, BAD, "Policies[%zu]: NAT InternalPort must be 1..65535", i);
      if (!u16_ok(cmn_get(p, "ExternalPort"))) return hns_fail(err, BAD, "Policies[%zu]: NAT ExternalPort must be 1..65535", i);
      if (json_is_true(cmn_get(p, "ExternalPortReserved"))) return hns_fail(err, NS, "Policies[%zu]: ExternalPortReserved is not supported on Linux", i);
    } else if (strcasecmp(t, "QOS") == 0) {
      json_t *b = cmn_get(p, "MaximumOutgoingBandwidthInBytes");
      json_object_foreach(p, k, v) {
        if (strcasecmp(k, "Type") && strcasecmp(k, "MaximumOutgoingBandwidthInBytes"))
          return hns_fail(err, BAD, "Policies[%zu]: unknown QOS policy field `%s`", i, k);
      }
      if (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > (INT64_MAX / 8))
        return hns_fail(err, BAD, "Policies[%zu]: QOS MaximumOutgoingBandwidthInBytes must be a positive number of bytes per second", i);
    } else if (strcasecmp(t, "VLAN") == 0) {
      json_t *vl = cmn_get(p, "VLAN");
      if (!json_is_integer(vl) || json_integer_value(vl) < 1 || json_integer_value(vl) > 4094)
        return hns_fail(err, BAD, "Policies[%zu]: VLAN must be 1..4094", i);
      if (strcmp(ntype, "transparent") && strcmp(ntype, "l2bridge"))
        return hns_fail(err, NS, "Policies[%zu]: VLAN policies are supported on Linux only on transparent and l2bridge networks (the vlan plugin)", i);
    } else if (strcasecmp(t, "ACL") == 0 || strcasecmp(t, "ROUTE") == 0 || strcasecmp(t, "OutBoundNAT") == 0) {
      return hns_fail(err, NS, "Policies[%zu]: %s policies are not supported on Linux (no CNI plugin of containernetworking-plugins 1.1.1 implements them)", i, t);
    } else {
      return hns_fail(err, NS, "Policies[%zu]: endpoint policy type `%s` is not supported on Linux (NAT, QOS and VLAN are)", i, t);
    }
  }
  return PLAT_S_OK;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

plat_hresult hns_endpoint_create(sqlite3 *db, json_t *req, json_t **out, char **err) {
  const char *k, *name, *vn, *vnn, *ipin, *macin, *ntype;
  json_t *v, *net = NULL, *doc = NULL, *used = NULL, *subnet = NULL, *all = NULL, *first_read = NULL;
  plat_hresult hr = PLAT_S_OK;
  uint32_t ip = 0, *ips = NULL;
  uint64_t mac = 0, *macs = NULL;
  size_t nused = 0, i;
  char *id = NULL, *text = NULL, ipb[16], macb[18];
  int pfx = 0;
  if (!json_is_object(req)) return hns_fail(err, BAD, "the endpoint request must be a JSON object (HNSEndpoint)");
  json_object_foreach(req, k, v) {
    int known = 0;
    for (int j = 0; ep_fields[j]; j++)
      if (strcasecmp(k, ep_fields[j]) == 0) known = 1;
    if (!known) return hns_fail(err, BAD, "unknown HNSEndpoint field `%s`", k);
  }
#define REFUSE_TRUE(f) if (json_is_true(cmn_get(req, f))) return hns_fail(err, NS, f " is not supported on Linux")
#define REFUSE_STR(f) if (cmn_str(req, f) && *cmn_str(req, f)) return hns_fail(err, NS, f " is not supported on Linux (IPv4 only)")
  REFUSE_TRUE("EnableInternalDNS");
  REFUSE_TRUE("IsRemoteEndpoint");
  REFUSE_TRUE("DisableICC");
  REFUSE_TRUE("EnableLowMetric");
  REFUSE_STR("IPv6Address");
  REFUSE_STR("GatewayAddressV6");
  if (json_integer_value(cmn_get(req, "IPv6PrefixLength"))) return hns_fail(err, NS, "IPv6PrefixLength is not supported on Linux (IPv4 only)");
  if (json_integer_value(cmn_get(req, "EncapOverhead"))) return hns_fail(err, NS, "EncapOverhead is not supported on Linux");
  if (cmn_get(req, "Namespace") && !json_is_null(cmn_get(req, "Namespace"))) return hns_fail(err, NS, "Namespace is not supported on Linux");
#undef REFUSE_TRUE
#undef REFUSE_STR
  name = cmn_str(req, "Name");
  if (!name) name = "";
  vn = cmn_str(req, "VirtualNetwork");
  vnn = cmn_str(req, "VirtualNetworkName");
  if (vn && *vn) net = hns_network_get(db, vn);
  else if (vnn && *vnn) net = hns_query_doc(db, "SELECT doc FROM networks WHERE name = ?1", vnn);
  else return hns_fail(err, BAD, "HNSEndpoint: VirtualNetwork (network id) or VirtualNetworkName is required");
  if (!net) return hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found", vn && *vn ? vn : vnn);
  if (vn && *vn && vnn && *vnn && strcmp(vnn, cmn_str(net, "Name")))
    { hr = hns_fail(err, BAD, "VirtualNetworkName `%s` does not name network %s", vnn, vn); goto out; }
  ntype = cmn_str(net, "Type");
  if ((hr = check_policies(cmn_get(req, "Policies"), ntype, err)) < 0) goto out;
  {
    const char *dns = cmn_str(req, "DNSServerList");
    if (dns) {
      char buf[1024], *save = NULL;
      snprintf(buf, sizeof buf, "%s", dns);
      for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        uint32_t x;
        if (hns_parse_ip(t, &x) < 0) { hr = hns_fail(err, BAD, "DNSServerList: `%s` is not an IPv4 address", t); goto out; }
      }
    }
  }
  ipin = cmn_str(req, "IPAddress");
  macin = cmn_str(req, "MacAddress");
  if (ipin && *ipin) {
    json_t *s;
    if (hns_parse_ip(ipin, &ip) < 0) { hr = hns_fail(err, BAD, "IPAddress `%s`: not an IPv4 address", ipin); goto out; }
    json_array_foreach(cmn_get(net, "Subnets"), i, s) {
      uint32_t n;
      int p;
      if (hns_parse_cidr(cmn_str(s, "AddressPrefix"), &n, &p) == 0 && (ip & hns_mask(p)) == n) { subnet = s; pfx = p; }
    }
    if (!subnet) { hr = hns_fail(err, BAD, "IPAddress %s is outside every subnet of network `%s`", ipin, cmn_str(net, "Name")); goto out; }
    {
      uint32_t n, gw = 0;
      hns_parse_cidr(cmn_str(subnet, "AddressPrefix"), &n, &pfx);
      if (cmn_str(subnet, "GatewayAddress")) hns_parse_ip(cmn_str(subnet, "GatewayAddress"), &gw);
      if (ip == n || ip == (n | ~hns_mask(pfx)) || ip == gw)
        { hr = hns_fail(err, BAD, "IPAddress %s is the network, broadcast or gateway address of %s", ipin, cmn_str(subnet, "AddressPrefix")); goto out; }
    }
  }
  if (macin && *macin) {
    if (hns_parse_mac(macin, &mac) < 0) { hr = hns_fail(err, BAD, "MacAddress `%s`: not a MAC address (00-15-5D-12-34-56)", macin); goto out; }
    if ((mac >> 40) & 1) { hr = hns_fail(err, BAD, "MacAddress %s is a multicast address", macin); goto out; }
  }
  {
    json_t *pl = cmn_get(req, "PrefixLength");
    if (pl && json_integer_value(pl) && subnet && json_integer_value(pl) != pfx)
      { hr = hns_fail(err, BAD, "PrefixLength %lld does not match subnet %s", (long long)json_integer_value(pl), cmn_str(subnet, "AddressPrefix")); goto out; }
  }

  id = hns_new_id();
  if (!id) { hr = hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory"); goto out; }
  hns_test_pause("endpoint-create");
  if (hns_begin(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  {
    /* the network read above may be gone by now: re-read it inside the
     * transaction, so that a network delete never leaves this endpoint
     * orphaned */
    json_t *again = hns_network_get(db, cmn_str(net, "ID"));
    if (!again) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found (deleted meanwhile)", cmn_str(net, "ID")); goto rollback; }
    /* ntype and subnet still point into the first read (a network's type
     * and subnets never change): keep it alive until the end */
    first_read = net;
    net = again;
  }
  if (*name) {
    json_t *o = hns_query_doc(db, "SELECT doc FROM endpoints WHERE name = ?1", name);
    if (o) {
      hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "an endpoint named `%s` already exists (%s)", name, cmn_str(o, "ID"));
      json_decref(o);
      goto rollback;
    }
  }
  /* host ports are one namespace across every nat network */
  all = hns_query_docs(db, "SELECT doc FROM endpoints", NULL, err);
  if (!all) { hr = PLAT_E_FAIL; goto rollback; }
  {
    json_t *p;
    size_t a;
    json_array_foreach(cmn_get(req, "Policies"), a, p) {
      json_t *e;
      if (strcasecmp(cmn_str(p, "Type"), "NAT")) continue;
      json_array_foreach(all, i, e) {
        json_t *q;
        size_t b;
        json_array_foreach(cmn_get(e, "Policies"), b, q) {
          if (cmn_str(q, "Type") && strcasecmp(cmn_str(q, "Type"), "NAT") == 0 && cmn_str(q, "Protocol") &&
              strcasecmp(cmn_str(q, "Protocol"), cmn_str(p, "Protocol")) == 0 &&
              json_integer_value(cmn_get(q, "ExternalPort")) == json_integer_value(cmn_get(p, "ExternalPort"))) {
            hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "ExternalPort %lld/%s is already mapped by endpoint %s",
                      (long long)json_integer_value(cmn_get(p, "ExternalPort")), cmn_str(p, "Protocol"), cmn_str(e, "ID"));
            goto rollback;
          }
        }
      }
    }
  }
  used = query_pairs(db, "SELECT ip, mac FROM endpoints WHERE network = ?1", cmn_str(net, "ID"));
  nused = json_array_size(used);
  ips = calloc(nused + 1, sizeof *ips);
  macs = calloc(nused + 1, sizeof *macs);
  if (!ips || !macs) { hr = hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory"); goto rollback; }
  for (i = 0; i < nused; i++) {
    hns_parse_ip(json_string_value(json_array_get(json_array_get(used, i), 0)), &ips[i]);
    hns_parse_mac(json_string_value(json_array_get(json_array_get(used, i), 1)), &macs[i]);
  }
  qsort(ips, nused, sizeof *ips, cmp_u32);
  qsort(macs, nused, sizeof *macs, cmp_u64);
  if (ip) {
    if (bsearch(&ip, ips, nused, sizeof *ips, cmp_u32)) { hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "IPAddress %s is already in use on network `%s`", ipin, cmn_str(net, "Name")); goto rollback; }
  } else {
    json_t *s;
    json_array_foreach(cmn_get(net, "Subnets"), i, s) {
      uint32_t n, gw = 0;
      int p;
      if (hns_parse_cidr(cmn_str(s, "AddressPrefix"), &n, &p) < 0) continue;
      if (cmn_str(s, "GatewayAddress")) hns_parse_ip(cmn_str(s, "GatewayAddress"), &gw);
      for (uint32_t c = n + 1; c < (n | ~hns_mask(p)); c++) {
        if (c == gw || bsearch(&c, ips, nused, sizeof *ips, cmp_u32)) continue;
        ip = c;
        subnet = s;
        pfx = p;
        break;
      }
      if (ip) break;
    }
    if (!ip) { hr = hns_fail(err, PLAT_E_DISK_FULL, "network `%s` has no free IP address left", cmn_str(net, "Name")); goto rollback; }
  }
  if (mac) {
    if (bsearch(&mac, macs, nused, sizeof *macs, cmp_u64)) { hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "MacAddress %s is already in use on network `%s`", macin, cmn_str(net, "Name")); goto rollback; }
  } else {
    json_t *pool;
    json_array_foreach(cmn_get(net, "MacPools"), i, pool) {
      uint64_t a, b;
      if (hns_parse_mac(cmn_str(pool, "StartMacAddress"), &a) < 0 || hns_parse_mac(cmn_str(pool, "EndMacAddress"), &b) < 0) continue;
      for (uint64_t c = a; c <= b; c++) {
        if (bsearch(&c, macs, nused, sizeof *macs, cmp_u64)) continue;
        mac = c;
        break;
      }
      if (mac) break;
    }
    if (!mac) { hr = hns_fail(err, PLAT_E_DISK_FULL, "network `%s` has no free MAC address left in its MacPools", cmn_str(net, "Name")); goto rollback; }
  }
  hns_format_ip(ip, ipb);
  hns_format_mac(mac, macb, '-');
  doc = json_object();
  json_object_set_new(doc, "ID", json_string(id));
  json_object_set_new(doc, "Name", json_string(name));
  json_object_set_new(doc, "VirtualNetwork", json_string(cmn_str(net, "ID")));
  json_object_set_new(doc, "VirtualNetworkName", json_string(cmn_str(net, "Name")));
  json_object_set_new(doc, "Policies", json_is_array(cmn_get(req, "Policies")) ? json_deep_copy(cmn_get(req, "Policies")) : json_array());
  json_object_set_new(doc, "MacAddress", json_string(macb));
  json_object_set_new(doc, "IPAddress", json_string(ipb));
  {
    const char *sfx = cmn_str(req, "DNSSuffix"), *dns = cmn_str(req, "DNSServerList"), *dom = cmn_str(req, "DNSDomain");
    if (!sfx || !*sfx) sfx = cmn_str(net, "DNSSuffix");
    if (!dns || !*dns) dns = cmn_str(net, "DNSServerList");
    if (sfx && *sfx) json_object_set_new(doc, "DNSSuffix", json_string(sfx));
    if (dns && *dns) json_object_set_new(doc, "DNSServerList", json_string(dns));
    if (dom && *dom) json_object_set_new(doc, "DNSDomain", json_string(dom));
  }
  if (cmn_str(subnet, "GatewayAddress") && strcmp(ntype, "internal") && strcmp(ntype, "private"))
    json_object_set_new(doc, "GatewayAddress", json_string(cmn_str(subnet, "GatewayAddress")));
  json_object_set_new(doc, "PrefixLength", json_integer(pfx));
  json_object_set_new(doc, "SharedContainers", json_array());
  json_object_set_new(doc, "State", json_integer(1));
  json_object_set_new(doc, "Type", json_string(ntype));
  text = json_dumps(doc, JSON_COMPACT);
  {
    const char *p[] = {id, name, cmn_str(net, "ID"), ipb, macb, text};
    if (hns_exec(db, err, "INSERT INTO endpoints(id, name, network, ip, mac, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", 6, p) < 0) {
      hr = PLAT_E_FAIL;
      goto rollback;
    }
  }
  if (hns_commit(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  *out = json_incref(doc);
  goto out;
rollback:
  hns_rollback(db);
out:
  json_decref(net);
  json_decref(first_read);
  json_decref(doc);
  json_decref(used);
  json_decref(all);
  free(ips);
  free(macs);
  free(text);
  free(id);
  return hr;
}

/* Deletes a detached endpoint; an endpoint whose container is gone (its
 * monitor died without a teardown) is detached first. */
plat_hresult hns_endpoint_delete(sqlite3 *db, const char *id, json_t **out, char **err) {
  json_t *ep = endpoint_get(db, id);
  const char *cid;
  if (!ep) return hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", id);
  cid = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (cid) {
    if (hns_container_alive(cid)) {
      plat_hresult hr = hns_fail(err, PLAT_E_BUSY, "endpoint %s is attached to compute system %s: detach it first (modify Network Remove) or stop the container",
                             cmn_str(ep, "ID"), cid);
      json_decref(ep);
      return hr;
    }
    {
      char *c2 = strdup(cid), *e2 = NULL;
      plat_hresult dr;
      hns_unlock();
      dr = hns_endpoint_detach(cmn_str(ep, "ID"), c2, &e2);
      hns_lock();
      free(c2);
      if (dr < 0) {
        plat_hresult hr = hns_fail(err, dr, "endpoint %s: %s", cmn_str(ep, "ID"), e2 ? e2 : "detach failed");
        free(e2);
        json_decref(ep);
        return hr;
      }
      free(e2);
    }
  }
  {
    const char *p[] = {cmn_str(ep, "ID")};
    if (hns_begin(db, err) < 0) { json_decref(ep); return PLAT_E_FAIL; }
    if (hns_exec(db, err, "DELETE FROM endpoints WHERE id = ?1 AND container = ''", 1, p) < 0 || hns_commit(db, err) < 0) {
      hns_rollback(db);
      json_decref(ep);
      return PLAT_E_FAIL;
    }
    if (sqlite3_changes(db) == 0) {
      plat_hresult hr = hns_fail(err, PLAT_E_BUSY, "endpoint %s was attached meanwhile", cmn_str(ep, "ID"));
      json_decref(ep);
      return hr;
    }
  }
  *out = ep;
  return PLAT_S_OK;
}

plat_hresult hns_endpoint_update(sqlite3 *db, const char *id, json_t *req, json_t **out, char **err) {
  (void)db;
  (void)req;
  (void)out;
  return hns_fail(err, NS, "updating endpoint %s (POST /endpoints/{id}) is not supported on Linux: delete and re-create it", id);
}

/* ---- attach / detach ---- */

static json_t *build_conflist(json_t *net, json_t *ep, json_t **rt) {
  const char *type = cmn_str(net, "Type"), *gw = cmn_str(ep, "GatewayAddress");
  json_t *plugins = json_array(), *ipam, *main_, *pol, *portmaps = json_array(), *qos = NULL, *vlan = NULL;
  char addr[40], br[16], mac[18], cname[64];
  uint64_t m = 0;
  size_t i;
  snprintf(addr, sizeof addr, "%s/%d", cmn_str(ep, "IPAddress"), (int)json_integer_value(cmn_get(ep, "PrefixLength")));
  json_array_foreach(cmn_get(ep, "Policies"), i, pol) {
    const char *t = cmn_str(pol, "Type");
    if (!t) continue;
    if (strcasecmp(t, "NAT") == 0) {
      char proto[8];
      snprintf(proto, sizeof proto, "%s", cmn_str(pol, "Protocol"));
      for (char *c = proto; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      json_array_append_new(portmaps, json_pack("{s:I,s:I,s:s}", "hostPort", json_integer_value(cmn_get(pol, "ExternalPort")),
                                                "containerPort", json_integer_value(cmn_get(pol, "InternalPort")), "protocol", proto));
    } else if (strcasecmp(t, "QOS") == 0) {
      qos = cmn_get(pol, "MaximumOutgoingBandwidthInBytes");
    } else if (strcasecmp(t, "VLAN") == 0) {
      vlan = cmn_get(pol, "VLAN");
    }
  }
  json_array_foreach(cmn_get(net, "Policies"), i, pol)
    if (cmn_str(pol, "Type") && strcasecmp(cmn_str(pol, "Type"), "VLAN") == 0 && !vlan) vlan = cmn_get(pol, "VLAN");
  ipam = json_pack("{s:s,s:[{s:s}]}", "type", "static", "addresses", "address", addr);
  if (gw && strcmp(type, "internal") && strcmp(type, "private")) {
    json_object_set_new(json_array_get(json_object_get(ipam, "addresses"), 0), "gateway", json_string(gw));
    json_object_set_new(ipam, "routes", json_pack("[{s:s}]", "dst", "0.0.0.0/0"));
  }
  if (strcmp(type, "nat") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br), "isGateway", 1, "ipMasq", 1,
                      "hairpinMode", 1);
  } else if (strcmp(type, "internal") == 0 || strcmp(type, "private") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br), "isGateway", 0, "ipMasq", 0);
  } else if (vlan) {
    main_ = json_pack("{s:s,s:s,s:I}", "type", "vlan", "master", cmn_str(net, "NetworkAdapterName"), "vlanId", json_integer_value(vlan));
  } else {
    main_ = json_pack("{s:s,s:s,s:s}", "type", "macvlan", "master", cmn_str(net, "NetworkAdapterName"), "mode", "bridge");
  }
  json_object_set_new(main_, "ipam", ipam);
  json_array_append_new(plugins, main_);
  hns_parse_mac(cmn_str(ep, "MacAddress"), &m);
  hns_format_mac(m, mac, ':');
  for (char *c = mac; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  json_array_append_new(plugins, json_pack("{s:s,s:s}", "type", "tuning", "mac", mac));
  if (qos) {
    json_int_t bits = json_integer_value(qos) * 8, burst = bits;
    if (burst < 8 * 65536) burst = 8 * 65536;
    if (burst > (json_int_t)0xffffffffLL) burst = (json_int_t)0xffffffffLL;
    json_array_append_new(plugins, json_pack("{s:s,s:I,s:I}", "type", "bandwidth", "egressRate", bits, "egressBurst", burst));
  }
  *rt = json_object();
  if (json_array_size(portmaps)) {
    json_array_append_new(plugins, json_pack("{s:s,s:{s:b},s:b}", "type", "portmap", "capabilities", "portMappings", 1, "snat", 1));
    json_object_set(*rt, "portMappings", portmaps);
  }
  json_decref(portmaps);
  snprintf(cname, sizeof cname, "hns-%s", cmn_str(net, "ID"));
  return json_pack("{s:s,s:s,s:o}", "cniVersion", "1.0.0", "name", cname, "plugins", plugins);
}

static int set_attached(sqlite3 *db, const char *ep, json_t *doc, const char *container, const char *ifname, const char *conf,
                        const char *result, const char *only_if_container, char **err) {
  char *text;
  int rc;
  json_object_set_new(doc, "SharedContainers", container && *container ? json_pack("[s]", container) : json_array());
  json_object_set_new(doc, "State", json_integer(container && *container && result ? 2 : 1));
  text = json_dumps(doc, JSON_COMPACT);
  {
    const char *p[] = {container ? container : "", ifname ? ifname : "", conf, result, text, ep, only_if_container};
    rc = hns_exec(db, err,
                  only_if_container ? "UPDATE endpoints SET container=?1, ifname=?2, conf=?3, result=?4, doc=?5 WHERE id=?6 AND container=?7"
                                    : "UPDATE endpoints SET container=?1, ifname=?2, conf=?3, result=?4, doc=?5 WHERE id=?6",
                  only_if_container ? 7 : 6, p);
  }
  free(text);
  return rc;
}

plat_hresult hns_endpoint_attach(const char *epid, const char *container, const char *netns, char **err) {
  sqlite3 *db;
  json_t *ep = NULL, *net = NULL, *conf = NULL, *rt = NULL, *res = NULL, *rows;
  char ifname[16] = "eth0", *conftext = NULL, *restext = NULL, *e2 = NULL;
  plat_hresult hr = PLAT_S_OK;
  const char *cur;
  hns_lock();
  db = hns_db(err);
  if (!db) { hns_unlock(); return PLAT_E_FAIL; }
  if (hns_begin(db, err) < 0) { hns_unlock(); return PLAT_E_FAIL; }
  ep = endpoint_get(db, epid);
  if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", epid); goto rollback; }
  cur = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (cur && strcmp(cur, container) == 0) { hns_rollback(db); goto out; } /* already attached here */
  if (cur) { hr = hns_fail(err, PLAT_E_BUSY, "endpoint %s is already attached to compute system %s", epid, cur); goto rollback; }
  net = hns_network_get(db, cmn_str(ep, "VirtualNetwork"));
  if (!net) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "network %s of endpoint %s not found", cmn_str(ep, "VirtualNetwork"), epid); goto rollback; }
  rows = query_pairs(db, "SELECT ifname, id FROM endpoints WHERE container = ?1", container);
  for (int n = 0; n < 64; n++) {
    size_t i;
    json_t *r;
    int taken = 0;
    snprintf(ifname, sizeof ifname, "eth%d", n);
    json_array_foreach(rows, i, r) if (strcmp(json_string_value(json_array_get(r, 0)), ifname) == 0) taken = 1;
    if (!taken) break;
  }
  json_decref(rows);
  /* claimed before plumbing: a crash from here on leaves a stale attachment
   * that teardown or cleanup undoes (DEL is idempotent) */
  conf = build_conflist(net, ep, &rt);
  {
    json_t *saved = json_pack("{s:O,s:O}", "conf", conf, "rt", rt);
    conftext = json_dumps(saved, JSON_COMPACT);
    json_decref(saved);
  }
  if (set_attached(db, cmn_str(ep, "ID"), ep, container, ifname, conftext, NULL, "", err) < 0 || sqlite3_changes(db) != 1) {
    hr = PLAT_E_FAIL;
    goto rollback;
  }
  if (hns_commit(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  hns_unlock();
  hr = hns_network_plumb(net, err);
  if (hr >= 0 && hns_cni("ADD", conf, cmn_str(ep, "ID"), netns, ifname, rt, NULL, &res, &e2) < 0) {
    hr = hns_fail(err, PLAT_E_FAIL, "attaching endpoint %s to compute system %s: %s", epid, container, e2 ? e2 : "CNI ADD failed");
  }
  free(e2);
  e2 = NULL;
  hns_lock();
  restext = res ? json_dumps(res, JSON_COMPACT) : NULL;
  if (hr >= 0) {
    /* record the result; if that fails the record would lie (attached,
     * without the result DEL needs), so the plumbing is undone */
    int ok = hns_begin(db, &e2) == 0;
    if (ok && (set_attached(db, cmn_str(ep, "ID"), ep, container, ifname, conftext, restext, container, &e2) < 0 ||
               sqlite3_changes(db) != 1 || hns_test_fail("attach-record"))) {
      if (!e2) e2 = strdup(sqlite3_changes(db) != 1 ? "the endpoint's record changed meanwhile" : "injected failure");
      hns_rollback(db);
      ok = 0;
    }
    if (ok && hns_commit(db, &e2) < 0) ok = 0;
    if (!ok) {
      char *e3 = NULL;
      hr = hns_fail(err, PLAT_E_FAIL, "attaching endpoint %s to compute system %s: cannot record the attachment: %s", epid, container,
                e2 ? e2 : "HNS store failed");
      hns_unlock();
      if (hns_cni("DEL", conf, cmn_str(ep, "ID"), netns, ifname, rt, res, NULL, &e3) < 0) {
        char *m = cmn_printf("%s; undoing the CNI ADD failed too: %s", *err ? *err : "", e3 ? e3 : "CNI DEL failed");
        free(*err);
        *err = m;
      }
      free(e3);
      hns_lock();
    }
  } /* a failed ADD has undone itself (hns_cni) */
  free(e2);
  e2 = NULL;
  if (hr < 0 && hns_begin(db, &e2) == 0) {
    set_attached(db, cmn_str(ep, "ID"), ep, "", "", NULL, NULL, container, &e2);
    hns_commit(db, &e2);
  }
  free(e2);
  goto out;
rollback:
  hns_rollback(db);
out:
  hns_unlock();
  json_decref(ep);
  json_decref(net);
  json_decref(conf);
  json_decref(rt);
  json_decref(res);
  free(conftext);
  free(restext);
  return hr;
}

plat_hresult hns_endpoint_detach(const char *epid, const char *container, char **err) {
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  json_t *ep = NULL, *saved = NULL, *prev = NULL;
  char *ifname = NULL, *e2 = NULL, *netns = NULL;
  plat_hresult hr = PLAT_S_OK;
  const char *cur;
  hns_lock();
  db = hns_db(err);
  if (!db) { hns_unlock(); return PLAT_E_FAIL; }
  ep = endpoint_get(db, epid);
  if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", epid); goto out; }
  cur = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (!cur) goto out; /* not attached: nothing to do */
  if (strcmp(cur, container)) { hr = hns_fail(err, PLAT_E_INVALIDARG, "endpoint %s is attached to compute system %s, not %s", epid, cur, container); goto out; }
  if (sqlite3_prepare_v2(db, "SELECT conf, result, ifname FROM endpoints WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, cmn_str(ep, "ID"), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *c = (const char *)sqlite3_column_text(st, 0), *r = (const char *)sqlite3_column_text(st, 1),
                 *i = (const char *)sqlite3_column_text(st, 2);
      saved = c ? json_loads(c, 0, NULL) : NULL;
      prev = r ? json_loads(r, 0, NULL) : NULL;
      ifname = strdup(i ? i : "eth0");
    }
    sqlite3_finalize(st);
  }
  hns_unlock();
  netns = hns_netns_path(container);
  if (saved && hns_cni("DEL", json_object_get(saved, "conf"), cmn_str(ep, "ID"), netns, ifname ? ifname : "eth0",
                       json_object_get(saved, "rt"), prev, NULL, &e2) < 0)
    hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid, container, e2 ? e2 : "CNI DEL failed");
  free(e2);
  e2 = NULL;
  hns_lock();
  /* a failed DEL keeps the attachment recorded: the plumbing may still be
   * there, and teardown or cleanup retries it (DEL is idempotent) */
  if (hr >= 0) {
    if (hns_begin(db, &e2) < 0 || set_attached(db, cmn_str(ep, "ID"), ep, "", "", NULL, NULL, container, &e2) < 0 ||
        hns_commit(db, &e2) < 0) {
      hns_rollback(db);
      hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid, container, e2 ? e2 : "HNS store failed");
    }
  }
  free(e2);
out:
  hns_unlock();
  json_decref(ep);
  json_decref(saved);
  json_decref(prev);
  free(ifname);
  free(netns);
  return hr;
}

int hns_detach_all(const char *container) {
  sqlite3 *db;
  json_t *rows;
  char *err = NULL;
  size_t i;
  json_t *r;
  int failed = 0;
  {
    /* a host that never used HNS has no store: nothing to detach */
    char *p = cmn_printf("%s/hns/hns.db", hns_data_root());
    int none = !p || access(p, F_OK) < 0;
    free(p);
    if (none) return 0;
  }
  hns_lock();
  db = hns_db(&err);
  rows = db ? query_pairs(db, "SELECT id, container FROM endpoints WHERE container = ?1", container) : json_array();
  hns_unlock();
  free(err);
  json_array_foreach(rows, i, r) {
    char *e2 = NULL;
    if (hns_endpoint_detach(json_string_value(json_array_get(r, 0)), container, &e2) < 0) {
      fprintf(stderr, "hcsshim: %s (the endpoint stays recorded as attached; hns.cleanup retries)\n", e2 ? e2 : "detach failed");
      failed++;
    }
    free(e2);
  }
  json_decref(rows);
  return failed;
}

plat_hresult hns_check_endpoint_list(json_t *list, char **err) {
  sqlite3 *db;
  size_t i;
  json_t *v;
  plat_hresult hr = PLAT_S_OK;
  if (!json_array_size(list)) return PLAT_S_OK;
  hns_lock();
  db = hns_db(err);
  if (!db) { hns_unlock(); return PLAT_E_FAIL; }
  json_array_foreach(list, i, v) {
    json_t *ep;
    const char *id = json_string_value(v);
    if (!id) { hr = hns_fail(err, BAD, "EndpointList[%zu]: expected an endpoint id", i); break; }
    ep = endpoint_get(db, id);
    if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "EndpointList: endpoint %s not found", id); break; }
    if (json_array_size(cmn_get(ep, "SharedContainers"))) {
      hr = hns_fail(err, PLAT_E_BUSY, "EndpointList: endpoint %s is already attached to compute system %s", id,
                json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0)));
      json_decref(ep);
      break;
    }
    json_decref(ep);
  }
  hns_unlock();
  return hr;
}

static void add_words(json_t *set, const char *list) {
  char buf[1024], *save = NULL;
  if (!list) return;
  snprintf(buf, sizeof buf, "%s", list);
  for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
    size_t i;
    json_t *v;
    int dup = 0;
    json_array_foreach(set, i, v) if (strcmp(json_string_value(v), t) == 0) dup = 1;
    if (!dup) json_array_append_new(set, json_string(t));
  }
}

char *hns_resolv_conf(const char *container, json_t *extra) {
  sqlite3 *db;
  char *err = NULL, *text = NULL;
  json_t *eps, *ns = json_array(), *search = json_array(), *v;
  size_t i;
  hns_lock();
  db = hns_db(&err);
  eps = db ? hns_query_docs(db, "SELECT doc FROM endpoints WHERE container = ?1 ORDER BY ifname", container, NULL) : NULL;
  if (!eps) eps = json_array();
  json_array_foreach(extra, i, v) {
    json_t *ep = db && json_string_value(v) ? endpoint_get(db, json_string_value(v)) : NULL;
    if (ep) json_array_append_new(eps, ep);
  }
  hns_unlock();
  free(err);
  json_array_foreach(eps, i, v) {
    add_words(ns, cmn_str(v, "DNSServerList"));
    add_words(search, cmn_str(v, "DNSDomain"));
    add_words(search, cmn_str(v, "DNSSuffix"));
  }
  if (json_array_size(ns) || json_array_size(search)) {
    size_t cap = 4096, n = 0;
    text = calloc(1, cap);
    if (text) {
      n += (size_t)snprintf(text + n, cap - n, "# written by hcsshim from the HNS endpoints of %s\n", container);
      if (json_array_size(search)) {
        n += (size_t)snprintf(text + n, cap - n, "search");
        json_array_foreach(search, i, v) if (n < cap) n += (size_t)snprintf(text + n, cap - n, " %s", json_string_value(v));
        if (n < cap) n += (size_t)snprintf(text + n, cap - n, "\n");
      }
      json_array_foreach(ns, i, v) if (n < cap) n += (size_t)snprintf(text + n, cap - n, "nameserver %s\n", json_string_value(v));
    }
  }
  json_decref(eps);
  json_decref(ns);
  json_decref(search);
  return text;
}
