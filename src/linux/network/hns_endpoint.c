/* HNS endpoints on Linux.
 *
 * Create reserves the endpoint's IP address and MAC address in the store,
 * in one BEGIN IMMEDIATE transaction (lowest free address of the
 * network's subnets, lowest free MAC of its MacPools, unless the caller
 * gives them): concurrent creators never get the same address and a
 * killed creator leaves a whole record or none.  Nothing is plumbed yet.
 * Attach and detach: attach.c. */
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

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}


/* Host ports are one namespace across every nat network. */
static plat_hresult check_ports(json_t *req, json_t *all, char **err) {
  json_t *p, *e, *q;
  size_t a, i, b;
  json_array_foreach(cmn_get(req, "Policies"), a, p) {
    if (strcasecmp(cmn_str(p, "Type"), "NAT")) continue;
    json_array_foreach(all, i, e) {
      json_array_foreach(cmn_get(e, "Policies"), b, q) {
        if (cmn_str(q, "Type") && strcasecmp(cmn_str(q, "Type"), "NAT") == 0 &&
            cmn_str(q, "Protocol") &&
            strcasecmp(cmn_str(q, "Protocol"), cmn_str(p, "Protocol")) == 0 &&
            json_integer_value(cmn_get(q, "ExternalPort")) ==
                json_integer_value(cmn_get(p, "ExternalPort")))
          return hns_fail(err, PLAT_E_ALREADY_EXISTS,
                          "ExternalPort %lld/%s is already mapped by endpoint %s",
                          (long long)json_integer_value(cmn_get(p, "ExternalPort")),
                          cmn_str(p, "Protocol"), cmn_str(e, "ID"));
      }
    }
  }
  return PLAT_S_OK;
}

/* The network's used addresses, sorted for bsearch. */
typedef struct used_set {
  uint32_t *ips;
  uint64_t *macs;
  size_t n;
} used_set;

static int load_used(sqlite3 *db, const char *net, used_set *u) {
  json_t *used = hns_query_pairs(db, "SELECT ip, mac FROM endpoints WHERE network = ?1", net);
  u->n = json_array_size(used);
  u->ips = calloc(u->n + 1, sizeof *u->ips);
  u->macs = calloc(u->n + 1, sizeof *u->macs);
  for (size_t i = 0; u->ips && u->macs && i < u->n; i++) {
    hns_parse_ip(json_string_value(json_array_get(json_array_get(used, i), 0)), &u->ips[i]);
    hns_parse_mac(json_string_value(json_array_get(json_array_get(used, i), 1)), &u->macs[i]);
  }
  json_decref(used);
  if (!u->ips || !u->macs) return -1;
  qsort(u->ips, u->n, sizeof *u->ips, cmp_u32);
  qsort(u->macs, u->n, sizeof *u->macs, cmp_u64);
  return 0;
}

/* The given IP if free, else the lowest free one of the subnets. */
static plat_hresult pick_ip(ep_plan *e, const used_set *u, char **err) {
  json_t *s;
  size_t i;
  if (e->ip) {
    if (bsearch(&e->ip, u->ips, u->n, sizeof *u->ips, cmp_u32))
      return hns_fail(err, PLAT_E_ALREADY_EXISTS, "IPAddress %s is already in use on network `%s`",
                      e->ipin, cmn_str(e->net, "Name"));
    return PLAT_S_OK;
  }
  json_array_foreach(cmn_get(e->net, "Subnets"), i, s) {
    uint32_t n, gw = 0;
    int p;
    if (hns_parse_cidr(cmn_str(s, "AddressPrefix"), &n, &p) < 0) continue;
    if (cmn_str(s, "GatewayAddress")) hns_parse_ip(cmn_str(s, "GatewayAddress"), &gw);
    for (uint32_t c = n + 1; c < (n | ~hns_mask(p)); c++) {
      if (c == gw || bsearch(&c, u->ips, u->n, sizeof *u->ips, cmp_u32)) continue;
      e->ip = c;
      e->subnet = s;
      e->pfx = p;
      return PLAT_S_OK;
    }
  }
  return hns_fail(err, PLAT_E_DISK_FULL, "network `%s` has no free IP address left",
                  cmn_str(e->net, "Name"));
}

/* The given MAC if free, else the lowest free one of the MacPools. */
static plat_hresult pick_mac(ep_plan *e, const used_set *u, char **err) {
  json_t *pool;
  size_t i;
  if (e->mac) {
    if (bsearch(&e->mac, u->macs, u->n, sizeof *u->macs, cmp_u64))
      return hns_fail(err, PLAT_E_ALREADY_EXISTS, "MacAddress %s is already in use on network `%s`",
                      e->macin, cmn_str(e->net, "Name"));
    return PLAT_S_OK;
  }
  json_array_foreach(cmn_get(e->net, "MacPools"), i, pool) {
    uint64_t a, b;
    if (hns_parse_mac(cmn_str(pool, "StartMacAddress"), &a) < 0 ||
        hns_parse_mac(cmn_str(pool, "EndMacAddress"), &b) < 0)
      continue;
    for (uint64_t c = a; c <= b; c++) {
      if (bsearch(&c, u->macs, u->n, sizeof *u->macs, cmp_u64)) continue;
      e->mac = c;
      return PLAT_S_OK;
    }
  }
  return hns_fail(err, PLAT_E_DISK_FULL,
                  "network `%s` has no free MAC address left in its MacPools",
                  cmn_str(e->net, "Name"));
}

/* The document, as HNS returns it. */
static json_t *endpoint_doc(const ep_plan *e, const char *id, const char *ipb, const char *macb) {
  json_t *doc = json_object(), *pols = cmn_get(e->req, "Policies");
  const char *sfx = cmn_str(e->req, "DNSSuffix"), *dns = cmn_str(e->req, "DNSServerList"),
             *dom = cmn_str(e->req, "DNSDomain");
  json_object_set_new(doc, "ID", json_string(id));
  json_object_set_new(doc, "Name", json_string(e->name));
  json_object_set_new(doc, "VirtualNetwork", json_string(cmn_str(e->net, "ID")));
  json_object_set_new(doc, "VirtualNetworkName", json_string(cmn_str(e->net, "Name")));
  json_object_set_new(doc, "Policies", json_is_array(pols) ? json_deep_copy(pols) : json_array());
  json_object_set_new(doc, "MacAddress", json_string(macb));
  json_object_set_new(doc, "IPAddress", json_string(ipb));
  if (!sfx || !*sfx) sfx = cmn_str(e->net, "DNSSuffix");
  if (!dns || !*dns) dns = cmn_str(e->net, "DNSServerList");
  if (sfx && *sfx) json_object_set_new(doc, "DNSSuffix", json_string(sfx));
  if (dns && *dns) json_object_set_new(doc, "DNSServerList", json_string(dns));
  if (dom && *dom) json_object_set_new(doc, "DNSDomain", json_string(dom));
  if (cmn_str(e->subnet, "GatewayAddress") && strcmp(e->ntype, "internal") &&
      strcmp(e->ntype, "private"))
    json_object_set_new(doc, "GatewayAddress", json_string(cmn_str(e->subnet, "GatewayAddress")));
  json_object_set_new(doc, "PrefixLength", json_integer(e->pfx));
  json_object_set_new(doc, "SharedContainers", json_array());
  json_object_set_new(doc, "State", json_integer(1));
  json_object_set_new(doc, "Type", json_string(e->ntype));
  return doc;
}

/* Inside the transaction: the name, the host ports, the addresses. */
static plat_hresult reserve(sqlite3 *db, ep_plan *e, const char *id, json_t **doc, char **err) {
  json_t *o, *all;
  used_set u = {NULL, NULL, 0};
  char ipb[16], macb[18], *text;
  plat_hresult hr;
  if (*e->name && (o = hns_query_doc(db, "SELECT doc FROM endpoints WHERE name = ?1", e->name))) {
    hr = hns_fail(err, PLAT_E_ALREADY_EXISTS, "an endpoint named `%s` already exists (%s)", e->name,
                  cmn_str(o, "ID"));
    json_decref(o);
    return hr;
  }
  if (!(all = hns_query_docs(db, "SELECT doc FROM endpoints", NULL, err))) return PLAT_E_FAIL;
  hr = check_ports(e->req, all, err);
  json_decref(all);
  if (hr < 0) return hr;
  if (load_used(db, cmn_str(e->net, "ID"), &u) < 0)
    hr = hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
  if (hr >= 0) hr = pick_ip(e, &u, err);
  if (hr >= 0) hr = pick_mac(e, &u, err);
  free(u.ips);
  free(u.macs);
  if (hr < 0) return hr;
  hns_format_ip(e->ip, ipb);
  hns_format_mac(e->mac, macb, '-');
  *doc = endpoint_doc(e, id, ipb, macb);
  text = json_dumps(*doc, JSON_COMPACT);
  {
    const char *p[] = {id, e->name, cmn_str(e->net, "ID"), ipb, macb, text};
    if (!text ||
        hns_exec(
            db, err,
            "INSERT INTO endpoints(id, name, network, ip, mac, doc) VALUES (?1, ?2, ?3, ?4, ?5, "
            "?6)",
            6, p) < 0)
      hr = PLAT_E_FAIL;
  }
  free(text);
  return hr;
}

/* Reserves the IP and MAC in one BEGIN IMMEDIATE transaction. */
plat_hresult hns_endpoint_create(sqlite3 *db, json_t *req, json_t **out, char **err) {
  ep_plan e;
  json_t *again = NULL, *doc = NULL;
  char *id = NULL;
  plat_hresult hr;
  memset(&e, 0, sizeof e);
  e.req = req;
  if ((hr = hns_endpoint_check(db, &e, err)) < 0) goto out;
  if (!(id = hns_new_id())) {
    hr = hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
    goto out;
  }
  hns_test_pause("endpoint-create");
  if (hns_begin(db, err) < 0) {
    hr = PLAT_E_FAIL;
    goto out;
  }
  /* the network read above may be gone by now: re-read it inside the
   * transaction, so that a network delete never leaves this endpoint
   * orphaned (its type and subnets never change, so e keeps pointing into
   * the first read) */
  again = hns_network_get(db, cmn_str(e.net, "ID"));
  if (!again)
    hr = hns_fail(err, PLAT_E_NOT_FOUND, "network %s not found (deleted meanwhile)",
                  cmn_str(e.net, "ID"));
  else hr = reserve(db, &e, id, &doc, err);
  if (hr < 0) hns_rollback(db);
  else if (hns_commit(db, err) < 0) hr = PLAT_E_FAIL;
  else *out = json_incref(doc);
out:
  json_decref(e.net);
  json_decref(again);
  json_decref(doc);
  free(id);
  return hr;
}

/* Deletes a detached endpoint; an endpoint whose container is gone (its
 * monitor died without a teardown) is detached first. */
plat_hresult hns_endpoint_delete(sqlite3 *db, const char *id, json_t **out, char **err) {
  json_t *ep = hns_endpoint_get(db, id);
  const char *cid;
  if (!ep) return hns_fail(err, PLAT_E_NOT_FOUND, "endpoint %s not found", id);
  cid = json_string_value(json_array_get(cmn_get(ep, "SharedContainers"), 0));
  if (cid) {
    if (hns_container_alive(cid)) {
      plat_hresult hr = hns_fail(
          err, PLAT_E_BUSY,
          "endpoint %s is attached to compute system %s: detach it first (modify Network Remove) "
          "or stop the container",
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
        plat_hresult hr =
            hns_fail(err, dr, "endpoint %s: %s", cmn_str(ep, "ID"), e2 ? e2 : "detach failed");
        free(e2);
        json_decref(ep);
        return hr;
      }
      free(e2);
    }
  }
  {
    const char *p[] = {cmn_str(ep, "ID")};
    if (hns_begin(db, err) < 0) {
      json_decref(ep);
      return PLAT_E_FAIL;
    }
    if (hns_exec(db, err, "DELETE FROM endpoints WHERE id = ?1 AND container = ''", 1, p) < 0 ||
        hns_commit(db, err) < 0) {
      hns_rollback(db);
      json_decref(ep);
      return PLAT_E_FAIL;
    }
    if (sqlite3_changes(db) == 0) {
      plat_hresult hr =
          hns_fail(err, PLAT_E_BUSY, "endpoint %s was attached meanwhile", cmn_str(ep, "ID"));
      json_decref(ep);
      return hr;
    }
  }
  *out = ep;
  return PLAT_S_OK;
}

plat_hresult hns_endpoint_update(sqlite3 *db, const char *id, json_t *req, json_t **out,
                                 char **err) {
  (void)db;
  (void)req;
  (void)out;
  return hns_fail(
      err, NS,
      "updating endpoint %s (POST /endpoints/{id}) is not supported on Linux: delete and "
      "re-create it",
      id);
}
