/* DNS settings of networks and endpoints, and the resolv.conf text they
 * become.  Everything that reaches a container's resolv.conf is checked in
 * full when the network or endpoint is created, and the text is never cut:
 * a suffix with a newline or a '#' would inject lines into the file. */
#include "linux/network/hns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD PLAT_E_INVALIDARG
#define SEPARATORS ", "

/* An RFC 1035 domain name (underscores allowed, as in service names):
 * labels of 1..63 letters, digits, '-' or '_', 253 characters at most,
 * one trailing dot allowed. */
static int valid_domain(const char *s) {
  size_t n = strlen(s), label = 0;
  if (n && s[n - 1] == '.') n--;
  if (n == 0 || n > 253) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_') {
      if (++label > 63) return 0;
    } else {
      return 0;
    }
  }
  return label > 0;
}

static int valid_server(const char *s) {
  uint32_t ip;
  return hns_parse_ip(s, &ip) == 0;
}

/* Field `name` of req: absent, null or a string whose every comma or space
 * separated word passes ok(). */
static plat_hresult check_list(json_t *req, const char *name, int (*ok)(const char *),
                               const char *what, char **err) {
  json_t *v = cmn_get(req, name);
  char *copy, *save = NULL;
  plat_hresult hr = PLAT_S_OK;
  if (!v || json_is_null(v)) return PLAT_S_OK;
  if (!json_is_string(v)) return hns_fail(err, BAD, "%s: expected a string", name);
  if (!(copy = strdup(json_string_value(v))))
    return hns_fail(err, PLAT_E_OUTOFMEMORY, "out of memory");
  for (char *t = strtok_r(copy, SEPARATORS, &save); t && hr >= 0;
       t = strtok_r(NULL, SEPARATORS, &save))
    if (!ok(t)) hr = hns_fail(err, BAD, "%s: `%s` is not %s", name, t, what);
  free(copy);
  return hr;
}

plat_hresult hns_check_dns(json_t *req, char **err) {
  plat_hresult hr;
  if ((hr = check_list(req, "DNSServerList", valid_server, "an IPv4 address", err)) < 0 ||
      (hr = check_list(req, "DNSSuffix", valid_domain, "a domain name", err)) < 0)
    return hr;
  return check_list(req, "DNSDomain", valid_domain, "a domain name", err);
}

/* The words of list, each once, appended to set. */
static void add_words(json_t *set, const char *list) {
  char *copy = list ? strdup(list) : NULL, *save = NULL;
  for (char *t = copy ? strtok_r(copy, SEPARATORS, &save) : NULL; t;
       t = strtok_r(NULL, SEPARATORS, &save)) {
    size_t i;
    json_t *v;
    int dup = 0;
    json_array_foreach(set, i, v) if (strcmp(json_string_value(v), t) == 0) dup = 1;
    if (!dup) json_array_append_new(set, json_string(t));
  }
  free(copy);
}

/* The text, never cut; NULL when there are no settings (or out of memory). */
static char *resolv_text(const char *container, json_t *ns, json_t *search) {
  char *text = NULL;
  size_t len = 0, i;
  json_t *v;
  FILE *f;
  int bad;
  if (!json_array_size(ns) && !json_array_size(search)) return NULL;
  if (!(f = open_memstream(&text, &len))) return NULL;
  fprintf(f, "# written by hcsshim from the HNS endpoints of %s\n", container);
  if (json_array_size(search)) {
    fputs("search", f);
    json_array_foreach(search, i, v) fprintf(f, " %s", json_string_value(v));
    fputc('\n', f);
  }
  json_array_foreach(ns, i, v) fprintf(f, "nameserver %s\n", json_string_value(v));
  bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(text);
    return NULL;
  }
  return text;
}

char *hns_resolv_conf(const char *container, json_t *extra) {
  sqlite3 *db;
  char *err = NULL, *text;
  json_t *eps, *ns = json_array(), *search = json_array(), *v;
  size_t i;
  hns_lock();
  db = hns_db(&err);
  eps = db ? hns_query_docs(db, "SELECT doc FROM endpoints WHERE container = ?1 ORDER BY ifname",
                            container, NULL)
           : NULL;
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
  text = resolv_text(container, ns, search);
  json_decref(eps);
  json_decref(ns);
  json_decref(search);
  return text;
}
