/* Internals of the Linux HNS (src/linux/hns*.c, cni.c, netns.c): networks
 * and endpoints as records in a SQLite store in the data root, plumbed with
 * the CNI plugins of containernetworking-plugins.
 *
 *   hns.c          plat_HNSCall: paths, methods, the {Success,Error,Output}
 *                  envelope
 *   hns_store.c    the store: <data root>/hns/hns.db (WAL, busy timeout,
 *                  BEGIN IMMEDIATE), address helpers
 *   hns_network.c  /networks/: validation, bridge plumbing, delete
 *   hns_endpoint.c /endpoints/: validation, IP/MAC reservation, attach and
 *                  detach (CNI ADD/DEL), the per-container teardown
 *   cni.c          running a plugin list (ADD, DEL, CHECK)
 *   netns.c        the per-container network namespace file
 *   dns.c          DNS settings: checks, the resolv.conf text
 *   ports.c        host ports of NAT policies already in use
 *
 * Errors: functions return an HRESULT and, on failure, set *err to a
 * malloc'd message (the envelope's Error text). */
#ifndef HCSSHIM_LINUX_HNS_H
#define HCSSHIM_LINUX_HNS_H

#include <sqlite3.h>
#include <stdint.h>

#include "linux/common/json.h"

/* ---- hns_store.c ---- */
const char *hns_data_root(void);
/* The process-wide connection, opened on first use; hns_lock/unlock
 * serialise its use between threads.  NULL + *err on failure. */
sqlite3 *hns_db(char **err);
/* Replaces *err with a formatted message; returns hr. */
plat_hresult hns_fail(char **err, plat_hresult hr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes the store's connection (plat_shutdown). */
void hns_db_close(void);
void hns_lock(void);
void hns_unlock(void);
/* ---- plumbing.c ---- */
/* The plumbing lock of an endpoint (CNI ADD and DEL never overlap) or of
 * a network (its bridge), by kind and id, waited
 * for at most 3 x CMN_CMD_MAX_MS: a token for hns_plumbing_unlock, or
 * -errno (-ETIMEDOUT: another process kept plumbing it). */
enum { HNS_PLUMB_ENDPOINT, HNS_PLUMB_NETWORK, HNS_PLUMB_CONTAINER };
int hns_plumbing_lock(int kind, const char *id);
void hns_plumbing_unlock(int token);
/* The innermost lock this thread holds (-1: none), for the plumbing
 * programs it runs to inherit (cmn_cmd.keep_fd). */
int hns_plumbing_fd(void);
/* A container's network teardown under its plumbing lock: CNI DEL of its
 * endpoints (hns_detach_all), then its namespace at netns (may be NULL). */
void hns_container_unplumb(const char *container, const char *netns);
/* The error of a plumbing lock that failed with guard: "<what fmt
 * says>: <why>" (ERROR_TIMEOUT when it waited in vain). */
plat_hresult hns_plumbing_fail(int guard, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int hns_begin(sqlite3 *db, char **err); /* BEGIN IMMEDIATE */
int hns_commit(sqlite3 *db, char **err);
void hns_rollback(sqlite3 *db);
/* Runs sql with text parameters (NULL = SQL NULL); 0 or -1 + *err. */
int hns_exec(sqlite3 *db, char **err, const char *sql, int n, const char *const *params);
/* The "doc" column of the first row of sql (JSON), or NULL (none, or an
 * error). */
json_t *hns_query_doc(sqlite3 *db, const char *sql, const char *param);
/* Every "doc" of sql as an array; NULL + *err (err may be NULL) when the
 * query fails or a row does not decode. */
json_t *hns_query_docs(sqlite3 *db, const char *sql, const char *param, char **err);
/* Test hooks: HCSSHIM_TEST_HNS_PAUSE=<point>:<ms>, HCSSHIM_TEST_HNS_FAIL=<point>. */
void hns_test_pause(const char *point);
int hns_test_fail(const char *point);
char *hns_new_id(void); /* a random GUID, lower case */
/* A GUID as text (braces allowed) -> lower case, no braces; 0 ok, -1 not a GUID. */
int hns_canon_guid(const char *s, char out[37]);

/* IPv4 and MAC helpers */
int hns_parse_ip(const char *s, uint32_t *ip); /* 0 ok */
void hns_format_ip(uint32_t ip, char out[16]);
int hns_parse_cidr(const char *s, uint32_t *net, int *prefix); /* 0 ok; host bits must be 0 */
uint32_t hns_mask(int prefix);
int hns_parse_mac(const char *s, uint64_t *mac); /* "00-15-5D-.." or "00:15:5d:.." */
void hns_format_mac(uint64_t mac, char out[18], char sep);

json_t *hns_endpoint_get(sqlite3 *db, const char *id);
/* rows of (col0, col1) of sql as an array of [s, s] */
json_t *hns_query_pairs(sqlite3 *db, const char *sql, const char *param);

/* ---- hns_network.c ---- */
plat_hresult hns_network_create(sqlite3 *db, json_t *req, json_t **out, char **err);
plat_hresult hns_network_delete(sqlite3 *db, const char *id, int force, json_t **out, char **err);
json_t *hns_network_get(sqlite3 *db, const char *id_or_name);
/* net_check.c: validates a request; the lower-cased Type into type. */
plat_hresult hns_network_check(json_t *req, char type[16], char **err);
int hns_overlaps(uint32_t a, int pa, uint32_t b, int pb);
/* req is an object whose members are all among fields (NULL-ended). */
plat_hresult hns_check_known(json_t *req, const char *const *fields, const char *what,
                             const char *schema, char **err);
/* ---- ports.c ---- */
/* A host port (proto TCP or UDP) that a host process already uses is
 * refused (PLAT_E_ALREADY_EXISTS, naming where and the port). */
plat_hresult hns_check_host_port(int port, const char *proto, const char *where, char **err);
/* The same for the ExternalPort of every NAT policy of a policy list. */
plat_hresult hns_check_host_ports(json_t *policies, char **err);

/* ---- dns.c ---- */
/* DNSServerList (IPv4 addresses), DNSSuffix and DNSDomain (domain names)
 * of a request: strings of comma or space separated words, each checked. */
plat_hresult hns_check_dns(json_t *req, char **err);

/* ---- bridge.c ---- */
/* Idempotent: the bridge of a bridge-type network exists and is up. */
plat_hresult hns_network_plumb(json_t *net, char **err);
void hns_network_unplumb(json_t *net);
/* 1 if the bridge of a bridge-type network exists on the host already. */
int hns_network_bridge_exists(json_t *net);
const char *hns_bridge_name(json_t *net, char buf[16]);
int hns_is_bridge_type(const char *type); /* nat, internal, private */

/* ---- hns_endpoint.c ---- */
plat_hresult hns_endpoint_create(sqlite3 *db, json_t *req, json_t **out, char **err);
plat_hresult hns_endpoint_delete(sqlite3 *db, const char *id, json_t **out, char **err);
plat_hresult hns_endpoint_update(sqlite3 *db, const char *id, json_t *req, json_t **out,
                                 char **err);
/* The monitor's side: attach (CNI ADD into netns) and detach (CNI DEL). */
plat_hresult hns_endpoint_attach(const char *endpoint, const char *container, const char *netns,
                                 char **err);
plat_hresult hns_endpoint_detach(const char *endpoint, const char *container, char **err);
/* CNI DEL of every endpoint attached to container (exit, teardown); an
 * endpoint whose DEL fails stays recorded as attached (cleanup retries).
 * Returns the number of failures. */
int hns_detach_all(const char *container);
/* resolv.conf text of the endpoints attached to container plus `extra`
 * endpoint ids (not yet attached); NULL when none has DNS settings (dns.c). */
char *hns_resolv_conf(const char *container, json_t *extra);
/* What networking must know of containers, told by compute (which
 * registers these at start-up): never a call up into compute. */
typedef struct hns_container_hooks {
  int (*alive)(const char *container); /* 1 if the container is running */
  /* asks the container's owner to detach the endpoint (hot detach) */
  void (*detach)(const char *container, const char *endpoint);
} hns_container_hooks;
void hns_set_container_hooks(const hns_container_hooks *hooks);
int hns_container_alive(const char *id);
void hns_container_detach(const char *container, const char *endpoint);
/* Validates EndpointList ids of a ContainerConfig (exist, not attached). */
plat_hresult hns_check_endpoint_list(json_t *list, char **err);

/* ---- cni.c ---- */
/* cmd "ADD" | "DEL" | "CHECK"; conflist {cniVersion,name,plugins}; rt the
 * runtimeConfig offered to plugins by capability; prev the cached result
 * (DEL, CHECK).  ADD sets *result; on failure *err has the plugin's msg. */
int hns_cni(const char *cmd, json_t *conflist, const char *cid, const char *netns,
            const char *ifname, json_t *rt, json_t *prev, json_t **result, char **err);
const char *hns_cni_path(void);

/* ---- netns.c ---- */
char *hns_netns_path(const char *container);        /* <runtime root>/netns/<id> */
int hns_netns_create(const char *path, char **err); /* new netns, lo up, bind-mounted */
void hns_netns_remove(const char *path);

#endif
