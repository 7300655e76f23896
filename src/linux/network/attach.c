/* Attach (the compute side: at create for EndpointList, or a Network Add
 * of HcsModifyComputeSystem) runs CNI ADD into the container's namespace
 * file with the endpoint id as CNI_CONTAINERID and ethN as the interface;
 * the plugin list and result are stored with the record so that DEL
 * replays exactly what ADD did.  Policies: NAT -> portmap, QOS ->
 * bandwidth, VLAN -> vlan plugin. */
#include "linux/network/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

static json_t *build_conflist(json_t *net, json_t *ep, json_t **rt) {
  const char *type = cmn_str(net, "Type"), *gw = cmn_str(ep, "GatewayAddress");
  json_t *plugins = json_array(), *ipam, *main_, *pol, *portmaps = json_array(), *qos = NULL,
         *vlan = NULL;
  char addr[40], br[16], mac[18], cname[64];
  uint64_t m = 0;
  size_t i;
  snprintf(addr, sizeof addr, "%s/%d", cmn_str(ep, "IPAddress"),
           (int)json_integer_value(cmn_get(ep, "PrefixLength")));
  json_array_foreach(cmn_get(ep, "Policies"), i, pol) {
    const char *t = cmn_str(pol, "Type");
    if (!t) continue;
    if (strcasecmp(t, "NAT") == 0) {
      char proto[8];
      snprintf(proto, sizeof proto, "%s", cmn_str(pol, "Protocol"));
      for (char *c = proto; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      json_array_append_new(
          portmaps, json_pack("{s:I,s:I,s:s}", "hostPort",
                              json_integer_value(cmn_get(pol, "ExternalPort")), "containerPort",
                              json_integer_value(cmn_get(pol, "InternalPort")), "protocol", proto));
    } else if (strcasecmp(t, "QOS") == 0) {
      qos = cmn_get(pol, "MaximumOutgoingBandwidthInBytes");
      if (json_integer_value(qos) > INT64_MAX / 8) qos = NULL; /* unlimited (ep_check.c) */
    } else if (strcasecmp(t, "VLAN") == 0) {
      vlan = cmn_get(pol, "VLAN");
    }
  }
  json_array_foreach(cmn_get(net, "Policies"), i,
                     pol) if (cmn_str(pol, "Type") &&
                              strcasecmp(cmn_str(pol, "Type"), "VLAN") == 0 && !vlan) vlan =
      cmn_get(pol, "VLAN");
  ipam = json_pack("{s:s,s:[{s:s}]}", "type", "static", "addresses", "address", addr);
  if (gw && strcmp(type, "internal") && strcmp(type, "private")) {
    json_object_set_new(json_array_get(json_object_get(ipam, "addresses"), 0), "gateway",
                        json_string(gw));
    json_object_set_new(ipam, "routes", json_pack("[{s:s}]", "dst", "0.0.0.0/0"));
  }
  if (strcmp(type, "nat") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br),
                      "isGateway", 1, "ipMasq", 1, "hairpinMode", 1);
  } else if (strcmp(type, "internal") == 0 || strcmp(type, "private") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br),
                      "isGateway", 0, "ipMasq", 0);
  } else if (vlan) {
    main_ = json_pack("{s:s,s:s,s:I}", "type", "vlan", "master", cmn_str(net, "NetworkAdapterName"),
                      "vlanId", json_integer_value(vlan));
  } else {
    main_ = json_pack("{s:s,s:s,s:s}", "type", "macvlan", "master",
                      cmn_str(net, "NetworkAdapterName"), "mode", "bridge");
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
    json_array_append_new(plugins, json_pack("{s:s,s:I,s:I}", "type", "bandwidth", "egressRate",
                                             bits, "egressBurst", burst));
  }
  *rt = json_object();
  if (json_array_size(portmaps)) {
    json_array_append_new(plugins, json_pack("{s:s,s:{s:b},s:b}", "type", "portmap", "capabilities",
                                             "portMappings", 1, "snat", 1));
    json_object_set(*rt, "portMappings", portmaps);
  }
  json_decref(portmaps);
  snprintf(cname, sizeof cname, "hns-%s", cmn_str(net, "ID"));
  return json_pack("{s:s,s:s,s:o}", "cniVersion", "1.0.0", "name", cname, "plugins", plugins);
}

int hns_set_attached(sqlite3 *db, const char *ep, json_t *doc, const char *container,
                     const char *ifname, const char *conf, const char *result,
                     const char *only_if_container, char **err) {
  char *text;
  int rc;
  json_object_set_new(doc, "SharedContainers",
                      container && *container ? json_pack("[s]", container) : json_array());
  json_object_set_new(doc, "State", json_integer(container && *container && result ? 2 : 1));
  text = json_dumps(doc, JSON_COMPACT);
  {
    const char *p[] = {container ? container : "", ifname ? ifname : "", conf, result, text, ep,
                       only_if_container};
    rc = hns_exec(db, err,
                  only_if_container ? "UPDATE endpoints SET container=?1, ifname=?2, conf=?3, "
                                      "result=?4, doc=?5 WHERE id=?6 AND container=?7"
                                    : "UPDATE endpoints SET container=?1, ifname=?2, conf=?3, "
                                      "result=?4, doc=?5 WHERE id=?6",
                  only_if_container ? 7 : 6, p);
  }
  free(text);
  return rc;
}

/* One attach in progress. */
typedef struct attach {
  const char *epid, *container, *netns;
  json_t *ep, *net, *conf, *rt, *res;
  char ifname[16], *conftext;
  int already; /* attached to this container before */
} attach;

/* The first free ethN of the container. */
static void pick_ifname(sqlite3 *db, attach *a) {
  json_t *rows =
      hns_query_pairs(db, "SELECT ifname, id FROM endpoints WHERE container = ?1", a->container);
  for (int n = 0; n < 64; n++) {
    size_t i;
    json_t *r;
    int taken = 0;
    snprintf(a->ifname, sizeof a->ifname, "eth%d", n);
    json_array_foreach(rows, i, r) {
      if (strcmp(json_string_value(json_array_get(r, 0)), a->ifname) == 0) taken = 1;
    }
    if (!taken) break;
  }
  json_decref(rows);
}

/* In one transaction: the endpoint is free, and claimed for the container
 * before plumbing (a crash from here on leaves a stale attachment that
 * teardown or cleanup undoes: DEL is idempotent). */
static plat_hresult claim(sqlite3 *db, attach *a, char **err) {
  const char *cur;
  json_t *saved;
  plat_hresult hr;
  a->ep = hns_endpoint_get(db, a->epid);
  if (!a->ep) return hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", a->epid);
  cur = json_string_value(json_array_get(cmn_get(a->ep, "SharedContainers"), 0));
  if (cur && strcmp(cur, a->container) == 0) {
    a->already = 1;
    return PLAT_S_OK;
  }
  if (cur)
    return hns_fail(err, PLAT_E_BUSY, "endpoint %s is already attached to compute system %s",
                    a->epid, cur);
  a->net = hns_network_get(db, cmn_str(a->ep, "VirtualNetwork"));
  if (!a->net)
    return hns_fail(err, PLAT_E_NOT_FOUND, "network %s of endpoint %s not found",
                    cmn_str(a->ep, "VirtualNetwork"), a->epid);
  /* a host process may have taken a published port since the endpoint was made */
  if ((hr = hns_check_host_ports(cmn_get(a->ep, "Policies"), err)) < 0) return hr;
  pick_ifname(db, a);
  a->conf = build_conflist(a->net, a->ep, &a->rt);
  saved = json_pack("{s:O,s:O}", "conf", a->conf, "rt", a->rt);
  a->conftext = json_dumps(saved, JSON_COMPACT);
  json_decref(saved);
  if (hns_set_attached(db, cmn_str(a->ep, "ID"), a->ep, a->container, a->ifname, a->conftext, NULL,
                       "", err) < 0 ||
      sqlite3_changes(db) != 1)
    return PLAT_E_FAIL;
  return PLAT_S_OK;
}

/* Records the CNI result; if that fails the record would lie (attached,
 * without the result DEL needs), so the plumbing is undone. */
static plat_hresult record(sqlite3 *db, attach *a, char **err) {
  char *e2 = NULL, *e3 = NULL, *restext = a->res ? json_dumps(a->res, JSON_COMPACT) : NULL;
  const char *id = cmn_str(a->ep, "ID");
  plat_hresult hr = PLAT_S_OK;
  int ok = hns_begin(db, &e2) == 0;
  if (ok && (hns_set_attached(db, id, a->ep, a->container, a->ifname, a->conftext, restext,
                              a->container, &e2) < 0 ||
             sqlite3_changes(db) != 1 || hns_test_fail("attach-record"))) {
    if (!e2)
      e2 = strdup(sqlite3_changes(db) != 1 ? "the endpoint's record changed meanwhile"
                                           : "injected failure");
    hns_rollback(db);
    ok = 0;
  }
  if (ok && hns_commit(db, &e2) < 0) ok = 0;
  free(restext);
  if (ok) return PLAT_S_OK;
  hr = hns_fail(err, PLAT_E_FAIL,
                "attaching endpoint %s to compute system %s: cannot record the attachment: %s",
                a->epid, a->container, e2 ? e2 : "HNS store failed");
  free(e2);
  hns_unlock();
  if (hns_cni("DEL", a->conf, id, a->netns, a->ifname, a->rt, a->res, NULL, &e3) < 0) {
    char *m = cmn_printf("%s; undoing the CNI ADD failed too: %s", *err ? *err : "",
                         e3 ? e3 : "CNI DEL failed");
    free(*err);
    *err = m;
  }
  free(e3);
  hns_lock();
  return hr;
}

/* The bridge, then CNI ADD into the namespace (outside the store lock). */
static plat_hresult plumb(attach *a, char **err) {
  char *e2 = NULL;
  plat_hresult hr = hns_network_plumb(a->net, err);
  if (hr >= 0 && hns_cni("ADD", a->conf, cmn_str(a->ep, "ID"), a->netns, a->ifname, a->rt, NULL,
                         &a->res, &e2) < 0)
    hr = hns_fail(err, PLAT_E_FAIL, "attaching endpoint %s to compute system %s: %s", a->epid,
                  a->container, e2 ? e2 : "CNI ADD failed");
  free(e2);
  return hr;
}

static plat_hresult attach_locked(const char *epid, const char *container, const char *netns,
                                  char **err) {
  attach a;
  sqlite3 *db;
  plat_hresult hr;
  memset(&a, 0, sizeof a);
  a.epid = epid;
  a.container = container;
  a.netns = netns;
  hns_lock();
  db = hns_db(err);
  if (!db || hns_begin(db, err) < 0) {
    hns_unlock();
    return PLAT_E_FAIL;
  }
  hr = claim(db, &a, err);
  if (hr < 0 || a.already) {
    hns_rollback(db);
  } else if (hns_commit(db, err) < 0) {
    hr = PLAT_E_FAIL;
  } else {
    hns_unlock();
    hr = plumb(&a, err);
    hns_lock();
    if (hr >= 0) hr = record(db, &a, err); /* a failed ADD has undone itself (hns_cni) */
    if (hr < 0) {
      char *e2 = NULL;
      if (hns_begin(db, &e2) == 0) {
        hns_set_attached(db, cmn_str(a.ep, "ID"), a.ep, "", "", NULL, NULL, container, &e2);
        hns_commit(db, &e2);
      }
      free(e2);
    }
  }
  hns_unlock();
  json_decref(a.ep);
  json_decref(a.net);
  json_decref(a.conf);
  json_decref(a.rt);
  json_decref(a.res);
  free(a.conftext);
  return hr;
}

plat_hresult hns_endpoint_attach(const char *epid, const char *container, const char *netns,
                                 char **err) {
  /* the container's lock first (a teardown of it holds it), then the
   * endpoint's: the same order as hns_container_unplumb */
  int cguard = hns_plumbing_lock(HNS_PLUMB_CONTAINER, container), guard = -1;
  plat_hresult hr;
  if (cguard < 0) {
    hr = hns_plumbing_fail(cguard, err, "attaching endpoint %s to compute system %s", epid,
                           container);
  } else if (!netns || access(netns, F_OK) < 0) {
    hr = hns_fail(err, PLAT_HCS_E_INVALID_STATE,
                  "attaching endpoint %s to compute system %s: its network namespace is gone (the "
                  "system is being torn down)",
                  epid, container);
  } else if ((guard = hns_plumbing_lock(HNS_PLUMB_ENDPOINT, epid)) < 0) {
    hr = hns_plumbing_fail(guard, err, "attaching endpoint %s to compute system %s", epid,
                           container);
  } else {
    hr = attach_locked(epid, container, netns, err);
  }
  hns_plumbing_unlock(guard);
  hns_plumbing_unlock(cguard);
  return hr;
}
