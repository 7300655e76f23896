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

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

json_t *hns_network_get(sqlite3 *db, const char *id) {
  return hns_query_doc(db, "SELECT doc FROM networks WHERE id = lower(?1)", id);
}

/* The ID given (a GUID, lower-cased) or a new one. */
static plat_hresult network_id(json_t *req, char **id, char **err) {
  const char *given = cmn_str(req, "ID");
  *id = NULL;
  if (given && *given) {
    char canon[37];
    if (hns_canon_guid(given, canon) < 0) return hns_fail(err, BAD, "ID `%s`: not a GUID", given);
    *id = strdup(canon);
  } else {
    *id = hns_new_id();
  }
  return *id ? PLAT_S_OK : hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
}

static json_t *mac_pools_doc(json_t *pools, const char *id) {
  json_t *a = json_array(), *v;
  size_t i;
  char ms[18], me[18];
  if (!json_array_size(pools)) {
    /* like Windows: a 4096-address pool under 00-15-5D, here derived from the id */
    unsigned b0 = 0, b1 = 0;
    uint64_t base;
    sscanf(id, "%2x%1x", &b0, &b1);
    base = 0x00155D000000ull | ((uint64_t)b0 << 16) | ((uint64_t)b1 << 12);
    hns_format_mac(base, ms, '-');
    hns_format_mac(base | 0xfff, me, '-');
    json_array_append_new(a, json_pack("{s:s,s:s}", "StartMacAddress", ms, "EndMacAddress", me));
    return a;
  }
  json_array_foreach(pools, i, v) {
    uint64_t s, e;
    hns_parse_mac(cmn_str(v, "StartMacAddress"), &s);
    hns_parse_mac(cmn_str(v, "EndMacAddress"), &e);
    hns_format_mac(s, ms, '-');
    hns_format_mac(e, me, '-');
    json_array_append_new(a, json_pack("{s:s,s:s}", "StartMacAddress", ms, "EndMacAddress", me));
  }
  return a;
}

static json_t *subnets_doc(json_t *subs) {
  json_t *a = json_array(), *v;
  size_t i;
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
    if (json_array_size(cmn_get(v, "Policies")))
      json_object_set_new(s, "Policies", json_deep_copy(cmn_get(v, "Policies")));
    json_array_append_new(a, s);
  }
  return a;
}

/* The document, as HNS returns it. */
static json_t *network_doc(json_t *req, const char *id, const char *type) {
  json_t *doc = json_object(), *pols = cmn_get(req, "Policies");
  const char *name = cmn_str(req, "Name"), *ad = cmn_str(req, "NetworkAdapterName");
  json_object_set_new(doc, "ID", json_string(id));
  json_object_set_new(doc, "Name", json_string(name ? name : ""));
  json_object_set_new(doc, "Type", json_string(type));
  if (ad && *ad) json_object_set_new(doc, "NetworkAdapterName", json_string(ad));
  json_object_set_new(doc, "Policies", json_is_array(pols) ? json_deep_copy(pols) : json_array());
  json_object_set_new(doc, "MacPools", mac_pools_doc(cmn_get(req, "MacPools"), id));
  json_object_set_new(doc, "Subnets", subnets_doc(cmn_get(req, "Subnets")));
  if (cmn_str(req, "DNSSuffix") && *cmn_str(req, "DNSSuffix"))
    json_object_set_new(doc, "DNSSuffix", json_string(cmn_str(req, "DNSSuffix")));
  if (cmn_str(req, "DNSServerList") && *cmn_str(req, "DNSServerList"))
    json_object_set_new(doc, "DNSServerList", json_string(cmn_str(req, "DNSServerList")));
  json_object_set_new(doc, "State", json_integer(1));
  return doc;
}

static plat_hresult subnet_conflict(json_t *doc, json_t *v, char **err) {
  size_t a, b;
  json_t *s1, *s2;
  json_array_foreach(cmn_get(doc, "Subnets"), a, s1) {
    json_array_foreach(cmn_get(v, "Subnets"), b, s2) {
      uint32_t n1, n2;
      int p1, p2;
      if (hns_parse_cidr(cmn_str(s1, "AddressPrefix"), &n1, &p1) == 0 &&
          hns_parse_cidr(cmn_str(s2, "AddressPrefix"), &n2, &p2) == 0 &&
          hns_overlaps(n1, p1, n2, p2))
        return hns_fail(err, PLAT_E_ALREADY_EXISTS,
                        "subnet %s overlaps subnet %s of network `%s` (%s)",
                        cmn_str(s1, "AddressPrefix"), cmn_str(s2, "AddressPrefix"),
                        cmn_str(v, "Name"), cmn_str(v, "ID"));
    }
  }
  return PLAT_S_OK;
}

/* The new network against an existing one v: unique bridge, name, id and
 * no overlapping subnet. */
static plat_hresult conflict(json_t *doc, json_t *v, char **err) {
  const char *id = cmn_str(doc, "ID"), *name = cmn_str(doc, "Name"),
             *vid = cmn_str(v, "ID") ? cmn_str(v, "ID") : "";
  char b1[16], b2[16];
  /* the bridge is named from the id's first 8 hex digits: two networks
   * whose ids share them would share one bridge */
  if (hns_is_bridge_type(cmn_str(doc, "Type")) && hns_is_bridge_type(cmn_str(v, "Type")) &&
      strcmp(hns_bridge_name(doc, b1), hns_bridge_name(v, b2)) == 0 && strcmp(vid, id) != 0)
    return hns_fail(err, PLAT_E_ALREADY_EXISTS,
                    "network %s would use bridge %s, which network `%s` (%s) already uses: the "
                    "first 8 hex digits of a bridge network's ID must be unique",
                    id, b1, cmn_str(v, "Name"), cmn_str(v, "ID"));
  if (*name && cmn_str(v, "Name") && strcmp(cmn_str(v, "Name"), name) == 0)
    return hns_fail(err, PLAT_E_ALREADY_EXISTS, "a network named `%s` already exists (%s)", name,
                    cmn_str(v, "ID"));
  if (strcmp(vid, id) == 0)
    return hns_fail(err, PLAT_E_ALREADY_EXISTS, "network %s already exists", id);
  return subnet_conflict(doc, v, err);
}

/* One transaction: the conflict checks and the insert. */
static plat_hresult store(sqlite3 *db, json_t *doc, char **err) {
  json_t *others, *v;
  char *text = json_dumps(doc, JSON_COMPACT);
  const char *p[] = {cmn_str(doc, "ID"), cmn_str(doc, "Name"), text};
  plat_hresult hr = PLAT_S_OK;
  size_t i;
  if (!text) return hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
  if (hns_begin(db, err) < 0) {
    free(text);
    return PLAT_E_FAIL;
  }
  others = hns_query_docs(db, "SELECT doc FROM networks", NULL, err);
  if (!others) hr = PLAT_E_FAIL;
  json_array_foreach(others, i, v) {
    if ((hr = conflict(doc, v, err)) < 0) break;
  }
  if (hr >= 0 &&
      hns_exec(db, err, "INSERT INTO networks(id, name, doc) VALUES (?1, ?2, ?3)", 3, p) < 0)
    hr = PLAT_E_FAIL;
  if (hr < 0) hns_rollback(db);
  else if (hns_commit(db, err) < 0) hr = PLAT_E_FAIL;
  json_decref(others);
  free(text);
  return hr;
}

/* The new network's bridge, under its plumbing lock (a delete after this
 * creator's death waits for the `ip` it left running); on failure the
 * record goes again, and a bridge this call made. */
static plat_hresult plumb_new(sqlite3 *db, json_t *doc, const char *id, char **err) {
  const char *p[] = {id};
  char *e2 = NULL;
  int guard = hns_plumbing_lock(HNS_PLUMB_NETWORK, id), existed;
  plat_hresult hr;
  if (guard < 0) {
    hr = hns_plumbing_fail(guard, err, "creating network %s", id);
  } else {
    existed = hns_network_bridge_exists(doc);
    hr = hns_network_plumb(doc, err);
    /* a bridge this call did not make is not this call's to remove */
    if (hr < 0 && !existed) hns_network_unplumb(doc);
  }
  if (hr < 0) hns_exec(db, &e2, "DELETE FROM networks WHERE id = ?1", 1, p);
  free(e2);
  hns_plumbing_unlock(guard);
  return hr;
}

/* The record is committed first and the bridge made after; a failed
 * plumbing removes the record again. */
plat_hresult hns_network_create(sqlite3 *db, json_t *req, json_t **out, char **err) {
  char type[16], *id = NULL;
  json_t *doc;
  plat_hresult hr;
  if ((hr = hns_network_check(req, type, err)) < 0 || (hr = network_id(req, &id, err)) < 0)
    return hr;
  doc = network_doc(req, id, type);
  hr = store(db, doc, err);
  if (hr >= 0) hr = plumb_new(db, doc, id, err);
  if (hr >= 0) *out = json_incref(doc);
  json_decref(doc);
  free(id);
  return hr;
}
