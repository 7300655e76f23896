/* ContainerConfig (HCS schema v1, parsed by config_parse.c) -> OCI runtime
 * spec for crun.
 *
 * Limits, cgroup v2 | v1 (crun writes the files from the OCI resources):
 *   MemoryMaximumInMB        memory.max | memory.limit_in_bytes (MiB << 20)
 *   ProcessorWeight          cpu.weight = the weight itself (both 1..10000,
 *                            100 = the default share) | cpu.shares =
 *                            clamp(weight * 1024 / 100, 2, 262144), so
 *                            the default weight 100 is the default 1024
 *   ProcessorMaximum         cpu.max | cpu.cfs_quota_us: quota = period
 *                            100 ms x online CPUs x maximum / 10000
 *   ProcessorCount           cpuset.cpus: the first n CPUs we may use
 *   StorageIOPSMaximum,      io.max riops/wiops, rbps/wbps |
 *   StorageBandwidthMaximum  blkio.throttle.*_device, on the whole disk
 *                            that holds the sandbox's writes; refused
 *                            where that is no block device */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int nonempty(const char *s) { return s && *s; }

#define NS PLAT_E_NOT_SUPPORTED
#define BAD PLAT_E_INVALIDARG

/* Docker's and containerd's default set: a container's root can own,
 * chmod and chown its files, switch users (su, apt's _apt) and ping, as an
 * administrator in a Windows container can; nothing that reaches the host
 * (no SYS_ADMIN, NET_ADMIN, SYS_MODULE, ...). */
json_t *hl_default_caps(void) {
  return json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
                   "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
                   "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                   "CAP_KILL", "CAP_AUDIT_WRITE");
}

static const char spec_template[] =
    "{\"ociVersion\":\"1.0.0\","
    "\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
    "\"args\":[\"/.hcsshim-init\",\"-P\"],\"env\":[\"PATH=" CMN_DEFAULT_PATH "\"],\"cwd\":\"/\","
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":"
    "true},"
    "\"root\":{\"path\":\"\",\"readonly\":false},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/"
    "dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode="
    "755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/"
    "pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\","
    "\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "{\"destination\":\"/dev/"
    "shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\","
    "\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/"
    "mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\","
    "\"nodev\"]},"
    "{\"destination\":\"/"
    "sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\","
    "\"ro\"]},"
    "{\"destination\":\"/sys/fs/"
    "cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\","
    "\"nodev\",\"relatime\",\"ro\"]},"
    "{\"destination\":\"/.hcsshim-init\",\"type\":\"bind\",\"source\":\"/usr/bin/"
    "catatonit\",\"options\":[\"bind\",\"ro\"]}"
    "],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]"
    ","
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/"
    "latency_stats\","
    "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/"
    "scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/"
    "sysrq-trigger\"]}}";

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

static int add_mount(json_t *mounts, const char *dst, const char *src, const char *opt1,
                     const char *opt2) {
  return json_array_append_new(mounts,
                               json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dst, "type",
                                         "bind", "source", src, "options", opt1, opt2));
}

/* /etc/hostname and /etc/hosts as Windows gives them: generated per
 * system, bind-mounted so the image's files stay untouched. */
static int host_files(const char *sysdir, const char *host, json_t *mounts) {
  char *hp = cmn_path(sysdir, "hostname"), *hsp = cmn_path(sysdir, "hosts");
  char *name = cmn_printf("%s\n", host);
  char *hosts = cmn_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "127.0.1.1\t%s\n",
                           host);
  int ok = hp && hsp && name && hosts && cmn_write_file(hp, name, strlen(name), 0644) == 0 &&
           cmn_write_file(hsp, hosts, strlen(hosts), 0644) == 0;
  if (ok) {
    add_mount(mounts, "/etc/hostname", hp, "bind", "rw");
    add_mount(mounts, "/etc/hosts", hsp, "bind", "rw");
  }
  free(hp);
  free(hsp);
  free(name);
  free(hosts);
  return ok ? 0 : -1;
}

/* The first ProcessorCount processors this service may use: online CPUs
 * need not be 0..n-1. */
static plat_hresult cpu_list(const hl_sysconf *c, json_t *cpu, char **result) {
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
  if (want > 0)
    return cmn_fail(result, BAD, "ProcessorCount %lld: this service may use fewer processors",
                    (long long)c->cpu_count);
  json_object_set_new(cpu, "cpus", json_string(cpus));
  return PLAT_S_OK;
}

static plat_hresult cpu_resources(const hl_sysconf *c, json_t *res, char **result) {
  json_t *cpu;
  plat_hresult hr;
  if (!c->cpu_count && !c->cpu_weight && !c->cpu_max) return PLAT_S_OK;
  cpu = json_object();
  json_object_set_new(res, "cpu", cpu);
  if (c->cpu_count && (hr = cpu_list(c, cpu, result)) < 0) return hr;
  if (c->cpu_weight && cmn_cgroup_v2()) {
    json_object_set_new(
        res, "unified",
        json_pack("{s:o}", "cpu.weight", json_sprintf("%lld", (long long)c->cpu_weight)));
  } else if (c->cpu_weight) {
    int64_t shares = c->cpu_weight * 1024 / 100;
    if (shares < 2) shares = 2;
    if (shares > 262144) shares = 262144;
    json_object_set_new(cpu, "shares", json_integer(shares));
  }
  if (c->cpu_max) {
    int64_t quota = 100000LL * sysconf(_SC_NPROCESSORS_ONLN) * c->cpu_max / 10000;
    if (quota < 1000) quota = 1000;
    json_object_set_new(cpu, "period", json_integer(100000));
    json_object_set_new(cpu, "quota", json_integer(quota));
  }
  return PLAT_S_OK;
}

static json_t *throttle(dev_t dev, int64_t rate) {
  return json_pack("[{s:I,s:I,s:I}]", "major", (json_int_t)major(dev), "minor",
                   (json_int_t)minor(dev), "rate", (json_int_t)rate);
}

/* Storage limits throttle the block device that holds the root. */
static plat_hresult blockio_resources(const hl_sysconf *c, const char *rootfs, json_t *res,
                                      char **result) {
  dev_t dev;
  char *why = NULL;
  json_t *bio;
  if (!c->iops_max && !c->bps_max) return PLAT_S_OK;
  if (root_block_device(rootfs, &dev, &why) < 0) {
    plat_hresult hr = cmn_fail(result, NS, "%s: %s",
                               c->iops_max ? "StorageIOPSMaximum" : "StorageBandwidthMaximum", why);
    free(why);
    return hr;
  }
  bio = json_object();
  json_object_set_new(res, "blockIO", bio);
  if (c->iops_max) {
    json_object_set_new(bio, "throttleReadIOPSDevice", throttle(dev, c->iops_max));
    json_object_set_new(bio, "throttleWriteIOPSDevice", throttle(dev, c->iops_max));
  }
  if (c->bps_max) {
    json_object_set_new(bio, "throttleReadBpsDevice", throttle(dev, c->bps_max));
    json_object_set_new(bio, "throttleWriteBpsDevice", throttle(dev, c->bps_max));
  }
  return PLAT_S_OK;
}

/* Whether a file can be bind-mounted at `target` in rootfs: nothing there
 * yet, or a regular file (not a directory, nor a symlink to resolve). */
static int can_bind_file(const char *rootfs, const char *target) {
  int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, ok;
  struct stat st;
  if (root < 0) return 0;
  /* resolved inside the root, as crun resolves the target */
  fd = cmn_open_in_root(root, target, O_PATH | O_NOFOLLOW);
  ok = fd < 0 ? errno == ENOENT : fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (fd >= 0) close(fd);
  close(root);
  return ok;
}

/* Root, capabilities, host name files, mapped directories, namespaces and
 * the cgroup path. */
static int base_spec(const hl_sysconf *c, const char *id, const char *sysdir, const char *rootfs,
                     const char *netns_path, json_t *spec) {
  json_t *linux_ = json_object_get(spec, "linux"), *mounts = json_object_get(spec, "mounts");
  json_t *ns = json_object_get(linux_, "namespaces"), *caps = hl_default_caps();
  char host[64], *cg, *tty;
  json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
  json_object_set_new(json_object_get(spec, "process"), "capabilities",
                      json_pack("{s:O,s:O,s:[],s:O,s:[]}", "bounding", caps, "effective", caps,
                                "inheritable", "permitted", caps, "ambient"));
  json_decref(caps);
  snprintf(host, sizeof host, "%s", nonempty(c->hostname) ? c->hostname : id);
  json_object_set_new(spec, "hostname", json_string(host));
  if (host_files(sysdir, host, mounts) < 0) return -1;
  tty = cmn_program_path("tty", "HCSSHIM_TTY");
  /* without the stub (no static libc at build time, an image with
   * something else at its path) consoles start at crun's pace */
  if (tty && access(tty, X_OK) == 0 && can_bind_file(rootfs, HL_TTY_STUB))
    add_mount(mounts, HL_TTY_STUB, tty, "bind", "ro");
  free(tty);
  for (size_t i = 0; c->mapped && i < json_array_size(c->mapped); i++) {
    json_t *m = json_array_get(c->mapped, i);
    /* "rro": read-only all the way down, mounts under HostPath included */
    add_mount(mounts, cmn_str(m, "ContainerPath"), cmn_str(m, "HostPath"), "rbind",
              json_is_true(cmn_get(m, "ReadOnly")) ? "rro" : "rw");
  }
  if (netns_path)
    json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network", "path", netns_path));
  else json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
  cg = cmn_printf("%s/%s", cmn_cgroup_parent(), id);
  if (!cg) return -1;
  json_object_set_new(linux_, "cgroupsPath", json_string(cg));
  free(cg);
  return 0;
}

plat_hresult hl_build_spec(const hl_sysconf *c, const char *id, const char *sysdir,
                           const char *rootfs, const char *netns_path, json_t **out,
                           char **result) {
  json_t *spec = json_loads(spec_template, 0, NULL), *res;
  plat_hresult hr;
  *out = NULL;
  if (!spec) return cmn_fail(result, PLAT_E_FAIL, "internal error: bad OCI spec template");
  res = json_object_get(json_object_get(spec, "linux"), "resources");
  if (base_spec(c, id, sysdir, rootfs, netns_path, spec) < 0)
    hr = cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory building the OCI spec");
  else if ((hr = hl_seccomp(
                json_object_get(spec, "linux"),
                json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"),
                                "bounding"),
                result)) >= 0 &&
           (hr = cpu_resources(c, res, result)) >= 0 &&
           (hr = blockio_resources(c, rootfs, res, result)) >= 0 && c->mem_mb)
    json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)(c->mem_mb << 20)));
  if (hr < 0) {
    json_decref(spec);
    return hr;
  }
  *out = spec;
  return PLAT_S_OK;
}
