/* Parsing a ContainerConfig (HCS schema v1): keys match case-insensitively
 * (Go semantics); every key is either honoured or rejected with a message
 * naming it, nothing is ignored. */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

enum kind { K_STR, K_BOOL, K_UINT, K_ARR, K_OBJ, K_ANY };

static const struct field {
  const char *name;
  enum kind kind;
} fields[] = {
    {"SystemType", K_STR},
    {"Name", K_STR},
    {"Owner", K_STR},
    {"HostName", K_STR},
    {"VolumePath", K_STR},
    {"LayerFolderPath", K_STR},
    {"Layers", K_ARR},
    {"MappedDirectories", K_ARR},
    {"ProcessorCount", K_UINT},
    {"ProcessorWeight", K_UINT},
    {"ProcessorMaximum", K_UINT},
    {"MemoryMaximumInMB", K_UINT},
    {"StorageIOPSMaximum", K_UINT},
    {"StorageBandwidthMaximum", K_UINT},
    {"StorageSandboxSize", K_UINT},
    {"NetworkSharedContainerName", K_STR},
    {"TerminateOnLastHandleClosed", K_BOOL},
    {"EndpointList", K_ARR},
    {"DNSSearchList", K_STR},
    {"AllowUnqualifiedDNSQuery", K_BOOL},
    {"HvPartition", K_BOOL},
    {"HvRuntime", K_ANY},
    {"Credentials", K_STR},
    {"Servicing", K_BOOL},
    {"IsDummy", K_BOOL},
    {"IgnoreFlushesDuringBoot", K_BOOL},
    {"SandboxPath", K_STR},
    {"MappedVirtualDisks", K_ARR},
    {"MappedPipes", K_ARR},
    {"AssignedDevices", K_ARR},
    {"RegistryChanges", K_ANY},
    {"ContainerType", K_STR},
};

static const char *kind_name(enum kind k) {
  switch (k) {
  case K_STR: return "a string";
  case K_BOOL: return "a boolean";
  case K_UINT: return "a non-negative integer";
  case K_ARR: return "an array";
  case K_OBJ: return "an object";
  default: return "a value";
  }
}

static int kind_ok(enum kind k, json_t *v) {
  if (json_is_null(v)) return 1;
  switch (k) {
  case K_STR: return json_is_string(v);
  case K_BOOL: return json_is_boolean(v);
  case K_UINT: return json_is_integer(v) && json_integer_value(v) >= 0;
  case K_ARR: return json_is_array(v);
  case K_OBJ: return json_is_object(v);
  default: return 1;
  }
}

static int64_t uint_of(json_t *v) {
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}
static int unlimited(json_t *v) { return json_integer_value(v) == CMN_JSON_SATURATED; }
static const char *str_of(json_t *v) { return json_is_string(v) ? json_string_value(v) : NULL; }
static int nonempty(const char *s) { return s && *s; }

static int is_windows_path(const char *s) {
  return s && (strncmp(s, "\\\\?\\", 4) == 0 || strchr(s, '\\') ||
               (((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z') && s[1] == ':'));
}

static int has_dotdot(const char *p) {
  const char *s = p;
  while ((s = strstr(s, ".."))) {
    if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/')) return 1;
    s += 2;
  }
  return 0;
}

static plat_hresult check_host_path(const char *field, const char *p, int want_dir, char **result) {
  struct stat st;
  if (is_windows_path(p))
    return cmn_fail(result, NS, "%s `%s`: Windows paths are not supported on this platform", field,
                    p);
  if (p[0] != '/') return cmn_fail(result, BAD, "%s `%s`: must be an absolute path", field, p);
  if (stat(p, &st) < 0)
    return cmn_fail(result, PLAT_E_PATH_NOT_FOUND, "%s `%s`: %s", field, p, strerror(errno));
  if (want_dir && !S_ISDIR(st.st_mode))
    return cmn_fail(result, PLAT_E_PATH_NOT_FOUND, "%s `%s`: not a directory", field, p);
  return PLAT_S_OK;
}

void hl_sysconf_free(hl_sysconf *c) {
  json_decref(c->cfg);
  memset(c, 0, sizeof *c);
}


/* Fields with no meaning on this platform: refused unless empty/false. */
static plat_hresult refuse_windows_only(const char *n, json_t *v, char **result) {
  const char *s = str_of(v);
  int used = 0;
#define IS(x) (strcmp(n, x) == 0)
  if (IS("HvPartition") || IS("Servicing") || IS("IsDummy") || IS("IgnoreFlushesDuringBoot"))
    used = json_is_true(v);
  else if (IS("HvRuntime")) used = !json_is_null(v);
  else if (IS("Credentials") || IS("SandboxPath")) used = nonempty(s);
  else if (IS("MappedVirtualDisks") || IS("MappedPipes") || IS("AssignedDevices"))
    used = json_array_size(v) > 0;
  else if (IS("RegistryChanges"))
    used = !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0);
  else if (IS("SystemType") && nonempty(s) && strcasecmp(s, "Container") != 0)
    return cmn_fail(result, NS,
                    "SystemType `%s` is not supported on this platform (only \"Container\")", s);
  else if (IS("ContainerType") && nonempty(s) && strcasecmp(s, "Linux") != 0)
    return cmn_fail(result, NS, "ContainerType `%s` is not supported on this platform", s);
  else if (IS("StorageSandboxSize") && uint_of(v))
    return cmn_fail(result, NS,
                    "StorageSandboxSize is not supported on this platform (use ExpandSandboxSize)");
  else if (IS("DNSSearchList") && nonempty(s))
    return cmn_fail(result, NS,
                    "DNSSearchList is not supported on this platform without a network endpoint");
  else if (IS("AllowUnqualifiedDNSQuery") && json_is_true(v))
    return cmn_fail(
        result, NS,
        "AllowUnqualifiedDNSQuery is not supported on this platform without a network endpoint");
#undef IS
  return used ? cmn_fail(result, NS, "%s is not supported on this platform", n) : PLAT_S_OK;
}

/* One member: known, of the right kind, supported; its value into c. */
static plat_hresult take_field(hl_sysconf *c, const char *key, json_t *v, char **result) {
  const struct field *f = NULL;
  const char *n, *s = str_of(v);
  plat_hresult hr;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (strcasecmp(fields[i].name, key) == 0) f = &fields[i];
  if (!f) return cmn_fail(result, BAD, "unknown ContainerConfig field `%s`", key);
  n = f->name;
  if (!kind_ok(f->kind, v)) return cmn_fail(result, BAD, "%s: expected %s", n, kind_name(f->kind));
  if ((hr = refuse_windows_only(n, v, result)) < 0) return hr;
#define IS(x) (strcmp(n, x) == 0)
  if (IS("Name")) c->name = s;
  else if (IS("Owner")) c->owner = s;
  else if (IS("HostName")) c->hostname = s;
  else if (IS("VolumePath")) c->volume_path = s;
  else if (IS("LayerFolderPath")) c->layer_folder = s;
  else if (IS("Layers")) c->layers = json_is_array(v) ? v : NULL;
  else if (IS("MappedDirectories")) c->mapped = json_is_array(v) ? v : NULL;
  else if (IS("ProcessorCount")) c->cpu_count = uint_of(v);
  else if (IS("ProcessorWeight")) c->cpu_weight = uint_of(v);
  else if (IS("ProcessorMaximum")) c->cpu_max = uint_of(v);
  else if (IS("MemoryMaximumInMB")) c->mem_mb = uint_of(v);
  /* at least 2^63 (CMN_JSON_SATURATED, hcsshim's 2^64-1): no throttle */
  else if (IS("StorageIOPSMaximum")) c->iops_max = unlimited(v) ? 0 : uint_of(v);
  else if (IS("StorageBandwidthMaximum")) c->bps_max = unlimited(v) ? 0 : uint_of(v);
  else if (IS("NetworkSharedContainerName")) c->net_share = s;
  else if (IS("TerminateOnLastHandleClosed")) c->terminate_on_last_close = json_is_true(v);
  else if (IS("EndpointList")) {
    /* HNS endpoint ids: checked and attached by HcsCreateComputeSystem */
    for (size_t i = 0; i < json_array_size(v); i++)
      if (!json_is_string(json_array_get(v, i)))
        return cmn_fail(result, BAD, "EndpointList[%zu]: expected an endpoint id (string)", i + 1);
  }
#undef IS
  return PLAT_S_OK;
}

/* Cross-field checks that need no host state. */
static plat_hresult check_limits(const hl_sysconf *c, char **result) {
  if (c->cpu_weight > 10000)
    return cmn_fail(result, BAD, "ProcessorWeight %lld: must be 0..10000",
                    (long long)c->cpu_weight);
  if (c->cpu_max > 10000)
    return cmn_fail(result, BAD, "ProcessorMaximum %lld: must be 0..10000", (long long)c->cpu_max);
  if (c->cpu_count) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (c->cpu_count > online)
      return cmn_fail(result, BAD, "ProcessorCount %lld: the host has only %ld online processors",
                      (long long)c->cpu_count, online);
  }
  if (nonempty(c->hostname)) {
    /* the name goes into the UTS namespace and the generated /etc/hosts:
     * an RFC 1123 host name or nothing */
    size_t n = strlen(c->hostname);
    int ok = n <= 63 && c->hostname[0] != '-' && c->hostname[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
      char ch = c->hostname[i];
      ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.';
    }
    if (!ok)
      return cmn_fail(result, BAD,
                      "HostName `%s`: must be 1..63 characters of letters, digits, '-' and '.'",
                      c->hostname);
  }
  if (c->mem_mb > (INT64_MAX >> 20))
    return cmn_fail(result, BAD, "MemoryMaximumInMB %lld: too large", (long long)c->mem_mb);
  return PLAT_S_OK;
}

static plat_hresult check_roots(const hl_sysconf *c, char **result) {
  plat_hresult hr;
  if (nonempty(c->volume_path)) {
    if (strncmp(c->volume_path, "\\\\?\\", 4) == 0)
      return cmn_fail(result, NS,
                      "VolumePath `%s`: Windows volume paths are not supported on this "
                      "platform",
                      c->volume_path);
    if ((hr = check_host_path("VolumePath", c->volume_path, 1, result)) < 0) return hr;
  } else if (!nonempty(c->layer_folder)) {
    return cmn_fail(result, BAD, "VolumePath or LayerFolderPath is required");
  }
  if (nonempty(c->layer_folder) &&
      (hr = check_host_path("LayerFolderPath", c->layer_folder, 1, result)) < 0)
    return hr;
  return PLAT_S_OK;
}

static plat_hresult check_layer(json_t *l, size_t i, char **result) {
  const char *k2;
  json_t *v2;
  char field[64];
  if (!json_is_object(l))
    return cmn_fail(result, BAD, "Layers[%zu]: expected an object {ID, Path}", i + 1);
  json_object_foreach(l, k2, v2) {
    if (strcasecmp(k2, "ID") && strcasecmp(k2, "Path"))
      return cmn_fail(result, BAD, "Layers[%zu]: unknown field `%s`", i + 1, k2);
    if (!json_is_string(v2) && !json_is_null(v2))
      return cmn_fail(result, BAD, "Layers[%zu].%s: expected a string", i + 1, k2);
  }
  snprintf(field, sizeof field, "Layers[%zu].Path", i + 1);
  if (!nonempty(cmn_str(l, "Path"))) return cmn_fail(result, BAD, "%s: missing", field);
  return check_host_path(field, cmn_str(l, "Path"), 1, result);
}

static plat_hresult check_mapped_field(const char *k2, json_t *v2, size_t i, char **result) {
  static const char *const ok[] = {"HostPath",         "ContainerPath", "ReadOnly",
                                   "BandwidthMaximum", "IOPSMaximum",   "CreateInUtilityVM",
                                   "LinuxMetadata"};
  size_t j;
  for (j = 0; j < sizeof ok / sizeof ok[0]; j++)
    if (strcasecmp(k2, ok[j]) == 0) break;
  if (j == sizeof ok / sizeof ok[0])
    return cmn_fail(result, BAD, "MappedDirectories[%zu]: unknown field `%s`", i + 1, k2);
  if (j <= 1 && !json_is_string(v2))
    return cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a string", i + 1, ok[j]);
  if ((j == 2 || j >= 5) && !json_is_boolean(v2) && !json_is_null(v2))
    return cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a boolean", i + 1, ok[j]);
  if ((j == 3 || j == 4) && !kind_ok(K_UINT, v2))
    return cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a non-negative integer",
                    i + 1, ok[j]);
  if ((j == 3 || j == 4) && uint_of(v2))
    return cmn_fail(result, NS, "MappedDirectories[%zu].%s is not supported on this platform",
                    i + 1, ok[j]);
  /* later hcsshim always sends CreateInUtilityVM (false); there is no utility VM here */
  if (j == 5 && json_is_true(v2))
    return cmn_fail(
        result, NS,
        "MappedDirectories[%zu].CreateInUtilityVM is not supported on this platform: there is no "
        "utility VM",
        i + 1);
  if (j == 6 && json_is_true(v2))
    return cmn_fail(result, NS,
                    "MappedDirectories[%zu].LinuxMetadata is not supported on this platform",
                    i + 1);
  return PLAT_S_OK;
}

static plat_hresult check_mapped(json_t *m, size_t i, char **result) {
  const char *k2, *cp;
  json_t *v2;
  char field[64];
  plat_hresult hr;
  if (!json_is_object(m))
    return cmn_fail(result, BAD, "MappedDirectories[%zu]: expected an object", i + 1);
  json_object_foreach(m, k2, v2) {
    if ((hr = check_mapped_field(k2, v2, i, result)) < 0) return hr;
  }
  snprintf(field, sizeof field, "MappedDirectories[%zu].HostPath", i + 1);
  if (!cmn_str(m, "HostPath")) return cmn_fail(result, BAD, "%s: missing", field);
  if ((hr = check_host_path(field, cmn_str(m, "HostPath"), 0, result)) < 0) return hr;
  cp = cmn_str(m, "ContainerPath");
  if (!cp || cp[0] != '/')
    return cmn_fail(result, BAD,
                    "MappedDirectories[%zu].ContainerPath `%s`: must be an absolute Linux "
                    "path",
                    i, cp ? cp : "");
  if (has_dotdot(cp))
    return cmn_fail(result, BAD, "MappedDirectories[%zu].ContainerPath `%s`: must not contain `..`",
                    i + 1, cp);
  return PLAT_S_OK;
}

static plat_hresult check_all(hl_sysconf *c, char **result) {
  const char *key;
  json_t *v;
  plat_hresult hr;
  json_object_foreach(c->cfg, key, v) {
    if ((hr = take_field(c, key, v, result)) < 0) return hr;
  }
  if ((hr = check_limits(c, result)) < 0 || (hr = check_roots(c, result)) < 0) return hr;
  for (size_t i = 0; c->layers && i < json_array_size(c->layers); i++)
    if ((hr = check_layer(json_array_get(c->layers, i), i, result)) < 0) return hr;
  for (size_t i = 0; c->mapped && i < json_array_size(c->mapped); i++)
    if ((hr = check_mapped(json_array_get(c->mapped, i), i, result)) < 0) return hr;
  return PLAT_S_OK;
}

plat_hresult hl_parse_config(const char *json, hl_sysconf *c, char **result) {
  json_error_t je;
  plat_hresult hr;
  memset(c, 0, sizeof *c);
  if (!json || !*json)
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "the compute system configuration is empty");
  c->cfg = cmn_json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!c->cfg)
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON,
                    "the compute system configuration is not valid JSON: %s (line %d, column %d)",
                    je.text, je.line, je.column);
  if (!json_is_object(c->cfg)) {
    hl_sysconf_free(c);
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON,
                    "the compute system configuration must be a JSON object");
  }
  if ((hr = check_all(c, result)) < 0) hl_sysconf_free(c);
  return hr;
}
