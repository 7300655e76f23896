/* Attach (the compute side: at create for EndpointList, or a Network Add
 * of HcsModifyComputeSystem) runs CNI ADD into the container's namespace
 * file with the endpoint id as CNI_CONTAINERID and ethN as the interface;
 * the plugin list and result are stored with the record so that DEL
 * replays exactly what ADD did.  Policies: NAT -> portmap, QOS ->
 * bandwidth, VLAN -> vlan plugin. */
#include "linux/network/hns.h"

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
  json_t *plugins = json_array(), *ipam, *main_, *pol, *portmaps = json_array(), *qos = NULL, *vlan = NULL;
  char addr[40], br[16], mac[18], cname[64];
  uint64_t m = 0;
  size_t i;
  snprintf(addr, sizeof addr, "%s/%d", cmn_str(ep, "IPAddress"), (int)json_integer_value(cmn_get(ep,
      "PrefixLength")));
  json_array_foreach(cmn_get(ep, "Policies"), i, pol) {
    const char *t = cmn_str(pol, "Type");
    if (!t) continue;
    if (strcasecmp(t, "NAT") == 0) {
      char proto[8];
      snprintf(proto, sizeof proto, "%s", cmn_str(pol, "Protocol"));
      for (char *c = proto; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      json_array_append_new(portmaps, json_pack("{s:I,s:I,s:s}", "hostPort",
          json_integer_value(cmn_get(pol, "ExternalPort")),
                                                "containerPort", json_integer_value(cmn_get(pol,
                                                    "InternalPort")), "protocol", proto));
    } else if (strcasecmp(t, "QOS") == 0) {
      qos = cmn_get(pol, "MaximumOutgoingBandwidthInBytes");
    } else if (strcasecmp(t, "VLAN") == 0) {
      vlan = cmn_get(pol, "VLAN");
    }
  }
  json_array_foreach(cmn_get(net, "Policies"), i, pol)
    if (cmn_str(pol, "Type") && strcasecmp(cmn_str(pol, "Type"), "VLAN") == 0
        && !vlan) vlan = cmn_get(pol, "VLAN");
  ipam = json_pack("{s:s,s:[{s:s}]}", "type", "static", "addresses", "address", addr);
  if (gw && strcmp(type, "internal") && strcmp(type, "private")) {
    json_object_set_new(json_array_get(json_object_get(ipam, "addresses"), 0), "gateway",
        json_string(gw));
    json_object_set_new(ipam, "routes", json_pack("[{s:s}]", "dst", "0.0.0.0/0"));
  }
  if (strcmp(type, "nat") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br),
        "isGateway", 1, "ipMasq", 1,
                      "hairpinMode", 1);
  } else if (strcmp(type, "internal") == 0 || strcmp(type, "private") == 0) {
    main_ = json_pack("{s:s,s:s,s:b,s:b}", "type", "bridge", "bridge", hns_bridge_name(net, br),
        "isGateway", 0, "ipMasq", 0);
  } else if (vlan) {
    main_ = json_pack("{s:s,s:s,s:I}", "type", "vlan", "master", cmn_str(net, "NetworkAdapterName"),
        "vlanId", json_integer_value(vlan));
  } else {
    main_ = json_pack("{s:s,s:s,s:s}", "type", "macvlan", "master", cmn_str(net,
        "NetworkAdapterName"), "mode", "bridge");
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

static int set_attached(sqlite3 *db, const char *ep, json_t *doc, const char *container,
    const char *ifname, const char *conf,
                        const char *result, const char *only_if_container, char **err) {
  char *text;
  int rc;
  json_object_set_new(doc, "SharedContainers", container && *container ? json_pack("[s]",
      container) : json_array());
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

plat_hresult hns_endpoint_attach(const char *epid, const char *container, const char *netns,
    char **err) {
  sqlite3 *db;
  json_t *ep = NULL, *net = NULL, *conf = NULL, *rt = NULL, *res = NULL, *rows;
  char ifname[16] = "eth0", *conftext = NULL, *restext = NULL, *e2 = NULL;
  plat_hresult hr = PLAT_S_OK;
  const char *cur;
  hns_lock();
  db = hns_db(err);
  if (!db) { hns_unlock(); return PLAT_E_FAIL; }
  if (hns_begin(db, err) < 0) { hns_unlock(); return PLAT_E_FAIL; }
  ep = hns_endpoint_get(db, epid);
  if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", epid); goto rollback; }
  cur = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (cur && strcmp(cur,
      container) == 0) { hns_rollback(db); goto out; } /* already attached here */
  if (cur) { hr = hns_fail(err, PLAT_E_BUSY, "endpoint %s is already attached to compute system %s",
      epid, cur); goto rollback; }
  net = hns_network_get(db, cmn_str(ep, "VirtualNetwork"));
  if (!net) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "network %s of endpoint %s not found",
      cmn_str(ep, "VirtualNetwork"), epid); goto rollback; }
  rows = hns_query_pairs(db, "SELECT ifname, id FROM endpoints WHERE container = ?1", container);
  for (int n = 0; n < 64; n++) {
    size_t i;
    json_t *r;
    int taken = 0;
    snprintf(ifname, sizeof ifname, "eth%d", n);
    json_array_foreach(rows, i, r) if (strcmp(json_string_value(json_array_get(r, 0)),
        ifname) == 0) taken = 1;
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
  if (set_attached(db, cmn_str(ep, "ID"), ep, container, ifname, conftext, NULL, "", err) < 0
      || sqlite3_changes(db) != 1) {
    hr = PLAT_E_FAIL;
    goto rollback;
  }
  if (hns_commit(db, err) < 0) { hr = PLAT_E_FAIL; goto out; }
  hns_unlock();
  hr = hns_network_plumb(net, err);
  if (hr >= 0 && hns_cni("ADD", conf, cmn_str(ep, "ID"), netns, ifname, rt, NULL, &res, &e2) < 0) {
    hr = hns_fail(err, PLAT_E_FAIL, "attaching endpoint %s to compute system %s: %s", epid,
        container, e2 ? e2 : "CNI ADD failed");
  }
  free(e2);
  e2 = NULL;
  hns_lock();
  restext = res ? json_dumps(res, JSON_COMPACT) : NULL;
  if (hr >= 0) {
    /* record the result; if that fails the record would lie (attached,
     * without the result DEL needs), so the plumbing is undone */
    int ok = hns_begin(db, &e2) == 0;
    if (ok && (set_attached(db, cmn_str(ep, "ID"), ep, container, ifname, conftext, restext,
        container, &e2) < 0 ||
               sqlite3_changes(db) != 1 || hns_test_fail("attach-record"))) {
      if (!e2) e2 = strdup(sqlite3_changes(db) != 1 ? "the endpoint's record changed "
          "meanwhile" : "injected failure");
      hns_rollback(db);
      ok = 0;
    }
    if (ok && hns_commit(db, &e2) < 0) ok = 0;
    if (!ok) {
      char *e3 = NULL;
      hr = hns_fail(err, PLAT_E_FAIL,
          "attaching endpoint %s to compute system %s: cannot record the attachment: "
          "%s", epid, container,
                e2 ? e2 : "HNS store failed");
      hns_unlock();
      if (hns_cni("DEL", conf, cmn_str(ep, "ID"), netns, ifname, rt, res, NULL, &e3) < 0) {
        char *m = cmn_printf("%s; undoing the CNI ADD failed too: %s", *err ? *err : "",
            e3 ? e3 : "CNI DEL failed");
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
  ep = hns_endpoint_get(db, epid);
  if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", epid); goto out; }
  cur = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (!cur) goto out; /* not attached: nothing to do */
  if (strcmp(cur, container)) { hr = hns_fail(err, PLAT_E_INVALIDARG,
      "endpoint %s is attached to compute system %s, not %s", epid, cur, container); goto out; }
  if (sqlite3_prepare_v2(db, "SELECT conf, result, ifname FROM endpoints WHERE id = ?1", -1, &st,
      NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, cmn_str(ep, "ID"), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *c = (const char *)sqlite3_column_text(st,
          0), *r = (const char *)sqlite3_column_text(st, 1),
                 *i = (const char *)sqlite3_column_text(st, 2);
      saved = c ? json_loads(c, 0, NULL) : NULL;
      prev = r ? json_loads(r, 0, NULL) : NULL;
      ifname = strdup(i ? i : "eth0");
    }
    sqlite3_finalize(st);
  }
  hns_unlock();
  netns = hns_netns_path(container);
  if (saved && hns_cni("DEL", json_object_get(saved, "conf"), cmn_str(ep, "ID"), netns,
      ifname ? ifname : "eth0",
                       json_object_get(saved, "rt"), prev, NULL, &e2) < 0)
    hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid,
        container, e2 ? e2 : "CNI DEL failed");
  free(e2);
  e2 = NULL;
  hns_lock();
  /* a failed DEL keeps the attachment recorded: the plumbing may still be
   * there, and teardown or cleanup retries it (DEL is idempotent) */
  if (hr >= 0) {
    if (hns_begin(db, &e2) < 0 || set_attached(db, cmn_str(ep, "ID"), ep, "", "", NULL, NULL,
        container, &e2) < 0 ||
        hns_commit(db, &e2) < 0) {
      hns_rollback(db);
      hr = hns_fail(err, PLAT_E_FAIL, "detaching endpoint %s from compute system %s: %s", epid,
          container, e2 ? e2 : "HNS store failed");
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
  rows = db ? hns_query_pairs(db, "SELECT id, container FROM endpoints WHERE container = ?1",
      container) : json_array();
  hns_unlock();
  free(err);
  json_array_foreach(rows, i, r) {
    char *e2 = NULL;
    if (hns_endpoint_detach(json_string_value(json_array_get(r, 0)), container, &e2) < 0) {
      fprintf(stderr,
          "hcsshim: %s (the endpoint stays recorded as attached; hns.cleanup "
          "retries)\n", e2 ? e2 : "detach failed");
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
    ep = hns_endpoint_get(db, id);
    if (!ep) { hr = hns_fail(err, PLAT_E_NOT_FOUND, "EndpointList: endpoint %s not found",
        id); break; }
    if (json_array_size(cmn_get(ep, "SharedContainers"))) {
      hr = hns_fail(err, PLAT_E_BUSY,
          "EndpointList: endpoint %s is already attached to compute system %s", id,
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
  eps = db ? hns_query_docs(db, "SELECT doc FROM endpoints WHERE container = ?1 ORDER BY ifname",
      container, NULL) : NULL;
  if (!eps) eps = json_array();
  json_array_foreach(extra, i, v) {
    json_t *ep = db && json_string_value(v) ? hns_endpoint_get(db, json_string_value(v)) : NULL;
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
      n += (size_t)snprintf(text + n, cap - n,
          "# written by hcsshim from the HNS endpoints of %s\n", container);
      if (json_array_size(search)) {
        n += (size_t)snprintf(text + n, cap - n, "search");
        json_array_foreach(search, i, v) if (n < cap) n += (size_t)snprintf(text + n, cap - n,
            " %s", json_string_value(v));
        if (n < cap) n += (size_t)snprintf(text + n, cap - n, "\n");
      }
      json_array_foreach(ns, i, v) if (n < cap) n += (size_t)snprintf(text + n, cap - n,
          "nameserver %s\n", json_string_value(v));
    }
  }
  json_decref(eps);
  json_decref(ns);
  json_decref(search);
  return text;
}
