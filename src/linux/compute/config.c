/* ContainerConfig (HCS schema v1) -> OCI runtime spec for crun.
 *
 * Keys match case-insensitively (Go semantics).  Every key is either
 * honoured or rejected with a message naming it: nothing is ignored.
 *
 * ProcessorWeight (1..10000, HCS's relative weight, 100 = default share)
 * maps to cpu.shares = clamp(weight * 1024 / 100, 2, 262144), so the
 * default weight 100 is the kernel's default 1024 shares. */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

enum kind { K_STR, K_BOOL, K_UINT, K_ARR, K_OBJ, K_ANY };

static const struct field {
  const char *name;
  enum kind kind;
} fields[] = {
    {"SystemType", K_STR}, {"Name", K_STR}, {"Owner", K_STR}, {"HostName", K_STR},
    {"VolumePath", K_STR}, {"LayerFolderPath", K_STR}, {"Layers", K_ARR},
    {"MappedDirectories", K_ARR}, {"ProcessorCount", K_UINT}, {"ProcessorWeight", K_UINT},
    {"ProcessorMaximum", K_UINT}, {"MemoryMaximumInMB", K_UINT}, {"StorageIOPSMaximum", K_UINT},
    {"StorageBandwidthMaximum", K_UINT}, {"StorageSandboxSize", K_UINT},
    {"NetworkSharedContainerName", K_STR}, {"TerminateOnLastHandleClosed", K_BOOL},
    {"EndpointList", K_ARR}, {"DNSSearchList", K_STR}, {"AllowUnqualifiedDNSQuery", K_BOOL},
    {"HvPartition", K_BOOL}, {"HvRuntime", K_ANY}, {"Credentials", K_STR}, {"Servicing", K_BOOL},
    {"IsDummy", K_BOOL}, {"IgnoreFlushesDuringBoot", K_BOOL}, {"SandboxPath", K_STR},
    {"MappedVirtualDisks", K_ARR}, {"MappedPipes", K_ARR}, {"AssignedDevices", K_ARR},
    {"RegistryChanges", K_ANY}, {"ContainerType", K_STR},
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

static int64_t uint_of(json_t *v) { return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0; }
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
    return cmn_fail(result, NS, "%s `%s`: Windows paths are not supported on this platform", field, p);
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

plat_hresult hl_parse_config(const char *json, hl_sysconf *c, char **result) {
  json_error_t je;
  const char *key;
  json_t *v;
  plat_hresult hr;
  memset(c, 0, sizeof *c);
  if (!json || !*json)
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "the compute system configuration is empty");
  c->cfg = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!c->cfg)
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON,
                   "the compute system configuration is not valid JSON: %s (line %d, column %d)",
                   je.text, je.line, je.column);
  if (!json_is_object(c->cfg)) {
    hl_sysconf_free(c);
    return cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "the compute system configuration must be a JSON object");
  }
  json_object_foreach(c->cfg, key, v) {
    const struct field *f = NULL;
    const char *n, *s;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
      if (strcasecmp(fields[i].name, key) == 0) f = &fields[i];
    if (!f) {
      hr = cmn_fail(result, BAD, "unknown ContainerConfig field `%s`", key);
      goto fail;
    }
    n = f->name;
    if (!kind_ok(f->kind, v)) {
      hr = cmn_fail(result, BAD, "%s: expected %s", n, kind_name(f->kind));
      goto fail;
    }
    s = str_of(v);
#define IS(x) (strcmp(n, x) == 0)
#define UNSUPPORTED(cond)                                                                  \
  if (cond) {                                                                              \
    hr = cmn_fail(result, NS, "%s is not supported on this platform", n);                   \
    goto fail;                                                                             \
  }
    if (IS("SystemType")) {
      if (nonempty(s) && strcasecmp(s, "Container") != 0) {
        hr = cmn_fail(result, NS, "SystemType `%s` is not supported on this platform (only \"Container\")", s);
        goto fail;
      }
    } else if (IS("ContainerType")) {
      if (nonempty(s) && strcasecmp(s, "Linux") != 0) {
        hr = cmn_fail(result, NS, "ContainerType `%s` is not supported on this platform", s);
        goto fail;
      }
    } else if (IS("Name")) c->name = s;
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
    else if (IS("StorageIOPSMaximum")) c->iops_max = uint_of(v);
    else if (IS("StorageBandwidthMaximum")) c->bps_max = uint_of(v);
    else if (IS("StorageSandboxSize")) {
      if (uint_of(v)) {
        hr = cmn_fail(result, NS, "StorageSandboxSize is not supported on this platform (use ExpandSandboxSize)");
        goto fail;
      }
    } else if (IS("NetworkSharedContainerName")) c->net_share = s;
    else if (IS("TerminateOnLastHandleClosed")) c->terminate_on_last_close = json_is_true(v);
    else if (IS("EndpointList")) {
      /* HNS endpoint ids: checked and attached by HcsCreateComputeSystem */
      for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i))) {
          hr = cmn_fail(result, BAD, "EndpointList[%zu]: expected an endpoint id (string)", i);
          goto fail;
        }
    } else if (IS("DNSSearchList")) {
      if (nonempty(s)) {
        hr = cmn_fail(result, NS, "DNSSearchList is not supported on this platform without a network endpoint");
        goto fail;
      }
    } else if (IS("AllowUnqualifiedDNSQuery")) {
      if (json_is_true(v)) {
        hr = cmn_fail(result, NS, "AllowUnqualifiedDNSQuery is not supported on this platform without a network endpoint");
        goto fail;
      }
    } else if (IS("HvPartition") || IS("Servicing") || IS("IsDummy") || IS("IgnoreFlushesDuringBoot")) {
      UNSUPPORTED(json_is_true(v));
    } else if (IS("HvRuntime")) {
      UNSUPPORTED(!json_is_null(v));
    } else if (IS("Credentials") || IS("SandboxPath")) {
      UNSUPPORTED(nonempty(s));
    } else if (IS("MappedVirtualDisks") || IS("MappedPipes") || IS("AssignedDevices")) {
      UNSUPPORTED(json_array_size(v) > 0);
    } else if (IS("RegistryChanges")) {
      UNSUPPORTED(!json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0));
    }
#undef IS
#undef UNSUPPORTED
  }

  /* cross-field checks that need no host state */
  if (c->cpu_weight > 10000) { hr = cmn_fail(result, BAD, "ProcessorWeight %lld: must be 0..10000", (long long)c->cpu_weight); goto fail; }
  if (c->cpu_max > 10000) { hr = cmn_fail(result, BAD, "ProcessorMaximum %lld: must be 0..10000", (long long)c->cpu_max); goto fail; }
  if (c->cpu_count) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (c->cpu_count > online) {
      hr = cmn_fail(result, BAD, "ProcessorCount %lld: the host has only %ld online processors",
                   (long long)c->cpu_count, online);
      goto fail;
    }
  }
  if (nonempty(c->hostname)) {
    /* the name goes into the UTS namespace and the generated /etc/hosts:
     * an RFC 1123 host name or nothing */
    size_t n = strlen(c->hostname);
    int ok = n <= 63 && c->hostname[0] != '-' && c->hostname[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
      char ch = c->hostname[i];
      ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
    }
    if (!ok) {
      hr = cmn_fail(result, BAD, "HostName `%s`: must be 1..63 characters of letters, digits, '-' and '.'", c->hostname);
      goto fail;
    }
  }
  if (c->mem_mb > (INT64_MAX >> 20)) { hr = cmn_fail(result, BAD, "MemoryMaximumInMB %lld: too large", (long long)c->mem_mb); goto fail; }
  if (nonempty(c->volume_path)) {
    if (strncmp(c->volume_path, "\\\\?\\", 4) == 0) {
      hr = cmn_fail(result, NS, "VolumePath `%s`: Windows volume paths are not supported on this platform", c->volume_path);
      goto fail;
    }
    if ((hr = check_host_path("VolumePath", c->volume_path, 1, result)) < 0) goto fail;
  } else if (!nonempty(c->layer_folder)) {
    hr = cmn_fail(result, BAD, "VolumePath or LayerFolderPath is required");
    goto fail;
  }
  if (nonempty(c->layer_folder) && (hr = check_host_path("LayerFolderPath", c->layer_folder, 1, result)) < 0)
    goto fail;
  for (size_t i = 0; c->layers && i < json_array_size(c->layers); i++) {
    json_t *l = json_array_get(c->layers, i);
    const char *k2;
    json_t *v2;
    char field[64];
    if (!json_is_object(l)) { hr = cmn_fail(result, BAD, "Layers[%zu]: expected an object {ID, Path}", i); goto fail; }
    json_object_foreach(l, k2, v2) {
      if (strcasecmp(k2, "ID") && strcasecmp(k2, "Path")) {
        hr = cmn_fail(result, BAD, "Layers[%zu]: unknown field `%s`", i, k2);
        goto fail;
      }
      if (!json_is_string(v2) && !json_is_null(v2)) { hr = cmn_fail(result, BAD, "Layers[%zu].%s: expected a string", i, k2); goto fail; }
    }
    snprintf(field, sizeof field, "Layers[%zu].Path", i);
    if (!nonempty(cmn_str(l, "Path"))) { hr = cmn_fail(result, BAD, "%s: missing", field); goto fail; }
    if ((hr = check_host_path(field, cmn_str(l, "Path"), 1, result)) < 0) goto fail;
  }
  for (size_t i = 0; c->mapped && i < json_array_size(c->mapped); i++) {
    json_t *m = json_array_get(c->mapped, i);
    const char *k2, *cp;
    json_t *v2;
    char field[64];
    if (!json_is_object(m)) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu]: expected an object", i); goto fail; }
    json_object_foreach(m, k2, v2) {
      static const char *const ok[] = {"HostPath", "ContainerPath", "ReadOnly", "BandwidthMaximum",
                                       "IOPSMaximum", "CreateInUtilityVM", "LinuxMetadata"};
      size_t j;
      for (j = 0; j < sizeof ok / sizeof ok[0]; j++)
        if (strcasecmp(k2, ok[j]) == 0) break;
      if (j == sizeof ok / sizeof ok[0]) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu]: unknown field `%s`", i, k2); goto fail; }
      if (j <= 1 && !json_is_string(v2)) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a string", i, ok[j]); goto fail; }
      if ((j == 2 || j >= 5) && !json_is_boolean(v2) && !json_is_null(v2)) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a boolean", i, ok[j]); goto fail; }
      if ((j == 3 || j == 4) && !kind_ok(K_UINT, v2)) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu].%s: expected a non-negative integer", i, ok[j]); goto fail; }
      if ((j == 3 || j == 4) && uint_of(v2)) { hr = cmn_fail(result, NS, "MappedDirectories[%zu].%s is not supported on this platform", i, ok[j]); goto fail; }
      /* later hcsshim always sends CreateInUtilityVM (false); there is no utility VM here */
      if (j == 5 && json_is_true(v2)) { hr = cmn_fail(result, NS, "MappedDirectories[%zu].CreateInUtilityVM is not supported on this platform: there is no utility VM", i); goto fail; }
      if (j == 6 && json_is_true(v2)) { hr = cmn_fail(result, NS, "MappedDirectories[%zu].LinuxMetadata is not supported on this platform", i); goto fail; }
    }
    snprintf(field, sizeof field, "MappedDirectories[%zu].HostPath", i);
    if (!cmn_str(m, "HostPath")) { hr = cmn_fail(result, BAD, "%s: missing", field); goto fail; }
    if ((hr = check_host_path(field, cmn_str(m, "HostPath"), 0, result)) < 0) goto fail;
    cp = cmn_str(m, "ContainerPath");
    if (!cp || cp[0] != '/') {
      hr = cmn_fail(result, BAD, "MappedDirectories[%zu].ContainerPath `%s`: must be an absolute Linux path", i, cp ? cp : "");
      goto fail;
    }
    if (has_dotdot(cp)) { hr = cmn_fail(result, BAD, "MappedDirectories[%zu].ContainerPath `%s`: must not contain `..`", i, cp); goto fail; }
  }
  return PLAT_S_OK;
fail:
  hl_sysconf_free(c);
  return hr;
}

/* Docker's and containerd's default set: a container's root can own,
 * chmod and chown its files, switch users (su, apt's _apt) and ping, as an
 * administrator in a Windows container can; nothing that reaches the host
 * (no SYS_ADMIN, NET_ADMIN, SYS_MODULE, ...). */
json_t *hl_default_caps(void) {
  return json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
                   "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
                   "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
}

static const char spec_template[] =
    "{\"ociVersion\":\"1.0.0\","
    "\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
    "\"args\":[\"/.hcsshim-init\",\"-P\"],\"env\":[\"PATH=" CMN_DEFAULT_PATH "\"],\"cwd\":\"/\","
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"\",\"readonly\":false},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
    "{\"destination\":\"/.hcsshim-init\",\"type\":\"bind\",\"source\":\"/usr/bin/catatonit\",\"options\":[\"bind\",\"ro\"]}"
    "],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}],"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
    "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

/* The device that holds the container's writes: for an overlay root, the
 * filesystem of its upperdir (from mountinfo), else the root itself. */
static int root_block_device(const char *rootfs, dev_t *dev, char **why) {
  char *mi = cmn_read_file("/proc/self/mountinfo", NULL), *line, *save = NULL;
  char upper[PATH_MAX] = "";
  struct stat st;
  char sys[128], *part;
  if (mi) {
    for (line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char mp[PATH_MAX], *u;
      if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || strcmp(mp, rootfs) != 0) continue;
      u = strstr(line, "upperdir=");
      upper[0] = 0;
      if (u && strstr(line, " - overlay ")) sscanf(u + 9, "%4095[^,\n ]", upper);
    }
    free(mi);
  }
  if (upper[0] != '/' || stat(upper, &st) < 0 || major(st.st_dev) == 0) {
    /* no usable upperdir (relative or /proc/self/fd paths in mountinfo):
     * the sandbox lives next to its mount point */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", rootfs);
    if (stat(rootfs, &st) < 0 || major(st.st_dev) == 0) {
      char *slash = strrchr(tmp, '/');
      if (slash && slash != tmp) *slash = 0;
      if (stat(tmp, &st) < 0) {
        *why = cmn_printf("cannot stat `%s`: %s", tmp, strerror(errno));
        return -1;
      }
    }
    if (major(st.st_dev) == 0) {
      *why = cmn_printf("the root filesystem `%s` is not on a block device", rootfs);
      return -1;
    }
  }
  *dev = st.st_dev;
  snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/partition", major(st.st_dev), minor(st.st_dev));
  if (access(sys, F_OK) == 0) {
    snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/../dev", major(st.st_dev), minor(st.st_dev));
    part = cmn_read_file(sys, NULL);
    if (part) {
      unsigned ma, mi2;
      if (sscanf(part, "%u:%u", &ma, &mi2) == 2) *dev = makedev(ma, mi2);
      free(part);
    }
  }
  return 0;
}

static int add_mount(json_t *mounts, const char *dst, const char *src, const char *opt1, const char *opt2) {
  return json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dst, "type",
                                                 "bind", "source", src, "options", opt1, opt2));
}

plat_hresult hl_build_spec(const hl_sysconf *c, const char *id, const char *sysdir,
                           const char *rootfs, const char *netns_path, json_t **out, char **result) {
  json_t *spec = json_loads(spec_template, 0, NULL), *linux_, *res, *mounts, *proc;
  char host[64], *p;
  plat_hresult hr = PLAT_E_OUTOFMEMORY;
  *out = NULL;
  if (!spec) return cmn_fail(result, PLAT_E_FAIL, "internal error: bad OCI spec template");
  linux_ = json_object_get(spec, "linux");
  res = json_object_get(linux_, "resources");
  mounts = json_object_get(spec, "mounts");
  proc = json_object_get(spec, "process");
  json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
  {
    json_t *caps = hl_default_caps();
    json_object_set_new(proc, "capabilities",
                        json_pack("{s:O,s:O,s:[],s:O,s:[]}", "bounding", caps, "effective", caps,
                                  "inheritable", "permitted", caps, "ambient"));
    json_decref(caps);
  }
  snprintf(host, sizeof host, "%s", nonempty(c->hostname) ? c->hostname : id);
  json_object_set_new(spec, "hostname", json_string(host));
  /* /etc/hostname and /etc/hosts as Windows gives them: generated per
   * system, bind-mounted so the image's files stay untouched */
  p = cmn_path(sysdir, "hostname");
  {
    char *text = cmn_printf("%s\n", host);
    if (!p || !text || cmn_write_file(p, text, strlen(text), 0644) < 0) { free(text); free(p); goto oom; }
    free(text);
    add_mount(mounts, "/etc/hostname", p, "bind", "rw");
    free(p);
    p = cmn_path(sysdir, "hosts");
    text = cmn_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", host);
    if (!p || !text || cmn_write_file(p, text, strlen(text), 0644) < 0) { free(text); free(p); goto oom; }
    free(text);
    add_mount(mounts, "/etc/hosts", p, "bind", "rw");
    free(p);
  }
  for (size_t i = 0; c->mapped && i < json_array_size(c->mapped); i++) {
    json_t *m = json_array_get(c->mapped, i);
    /* "rro": read-only all the way down, mounts under HostPath included */
    add_mount(mounts, cmn_str(m, "ContainerPath"), cmn_str(m, "HostPath"), "rbind",
              json_is_true(cmn_get(m, "ReadOnly")) ? "rro" : "rw");
  }
  {
    json_t *ns = json_object_get(linux_, "namespaces");
    if (netns_path) json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network", "path", netns_path));
    else json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
  }
  p = cmn_printf("%s/%s", cmn_cgroup_parent(), id);
  if (!p) goto oom;
  json_object_set_new(linux_, "cgroupsPath", json_string(p));
  free(p);
  if (c->cpu_count || c->cpu_weight || c->cpu_max) {
    json_t *cpu = json_object();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    json_object_set_new(res, "cpu", cpu);
    if (c->cpu_count) {
      /* the first ProcessorCount processors this service may use: online
       * CPUs need not be 0..n-1 */
      char cpus[4096] = "";
      cpu_set_t set;
      long long want = (long long)c->cpu_count;
      size_t len = 0;
      if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int i = 0; i < CPU_SETSIZE && want > 0 && len + 8 < sizeof cpus; i++) {
          if (!CPU_ISSET(i, &set)) continue;
          len += (size_t)snprintf(cpus + len, sizeof cpus - len, "%s%d", len ? "," : "", i);
          want--;
        }
      }
      if (want > 0) {
        hr = cmn_fail(result, BAD, "ProcessorCount %lld: this service may use fewer processors",
                     (long long)c->cpu_count);
        goto fail;
      }
      json_object_set_new(cpu, "cpus", json_string(cpus));
    }
    if (c->cpu_weight) {
      int64_t shares = c->cpu_weight * 1024 / 100;
      if (shares < 2) shares = 2;
      if (shares > 262144) shares = 262144;
      json_object_set_new(cpu, "shares", json_integer(shares));
    }
    if (c->cpu_max) {
      int64_t quota = 100000LL * ncpu * c->cpu_max / 10000;
      if (quota < 1000) quota = 1000;
      json_object_set_new(cpu, "period", json_integer(100000));
      json_object_set_new(cpu, "quota", json_integer(quota));
    }
  }
  if (c->mem_mb) json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)(c->mem_mb << 20)));
  if (c->iops_max || c->bps_max) {
    dev_t dev;
    char *why = NULL;
    json_t *bio = json_object();
    if (root_block_device(rootfs, &dev, &why) < 0) {
      hr = cmn_fail(result, NS, "%s: %s", c->iops_max ? "StorageIOPSMaximum" : "StorageBandwidthMaximum", why);
      free(why);
      json_decref(bio);
      goto fail;
    }
    json_object_set_new(res, "blockIO", bio);
    if (c->iops_max) {
      json_object_set_new(bio, "throttleReadIOPSDevice", json_pack("[{s:I,s:I,s:I}]", "major", (json_int_t)major(dev), "minor", (json_int_t)minor(dev), "rate", (json_int_t)c->iops_max));
      json_object_set_new(bio, "throttleWriteIOPSDevice", json_pack("[{s:I,s:I,s:I}]", "major", (json_int_t)major(dev), "minor", (json_int_t)minor(dev), "rate", (json_int_t)c->iops_max));
    }
    if (c->bps_max) {
      json_object_set_new(bio, "throttleReadBpsDevice", json_pack("[{s:I,s:I,s:I}]", "major", (json_int_t)major(dev), "minor", (json_int_t)minor(dev), "rate", (json_int_t)c->bps_max));
      json_object_set_new(bio, "throttleWriteBpsDevice", json_pack("[{s:I,s:I,s:I}]", "major", (json_int_t)major(dev), "minor", (json_int_t)minor(dev), "rate", (json_int_t)c->bps_max));
    }
  }
  *out = spec;
  return PLAT_S_OK;
oom:
  hr = cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory building the OCI spec");
fail:
  json_decref(spec);
  return hr;
}
