/* Confinement by default: the containers project's default seccomp
 * profile (Debian golang-github-containers-common,
 * /usr/share/containers/seccomp.json), translated into the OCI spec's
 * linux.seccomp as podman does: rules apply only when their conditions
 * hold for this container (includes/excludes of capabilities against its
 * bounding set, of architectures against the host's, minKernel against
 * the running kernel); the architectures are the host's and its
 * sub-architectures from archMap.
 *
 * On top of the profile, as Docker's default profile does, the kernel
 * keyring (keyctl, add_key, request_key: not namespaced) and unshare(2)
 * are refused with EPERM unless the container has CAP_SYS_ADMIN.
 *
 * The profile is HCSSHIM_SECCOMP_PROFILE (hcsshim.configure{SeccompProfile
 * = path}); "unconfined" turns confinement off. */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define DEFAULT_PROFILE "/usr/share/containers/seccomp.json"
#define BAD PLAT_E_INVALIDARG

static int in_list(json_t *list, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i,
                     v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
  return 0;
}

/* The host's architecture: Go's name (profile conditions) and libseccomp's. */
static void host_arch(const char **go, const char **scmp) {
  struct utsname u;
  static const char *const map[][3] = {
      {"x86_64", "amd64", "SCMP_ARCH_X86_64"},     {"aarch64", "arm64", "SCMP_ARCH_AARCH64"},
      {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"}, {"s390x", "s390x", "SCMP_ARCH_S390X"},
      {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"}, {"i686", "386", "SCMP_ARCH_X86"},
      {"armv7l", "arm", "SCMP_ARCH_ARM"}};
  *go = *scmp = "";
  if (uname(&u) < 0) return;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(u.machine, map[i][0]) == 0) {
      *go = map[i][1];
      *scmp = map[i][2];
    }
}

/* "5.8" <= the running kernel */
static int kernel_at_least(const char *want) {
  struct utsname u;
  int a = 0, b = 0, x = 0, y = 0;
  if (!want || sscanf(want, "%d.%d", &a, &b) < 1 || uname(&u) < 0) return 1;
  sscanf(u.release, "%d.%d", &x, &y);
  return x > a || (x == a && y >= b);
}

static int every_cap_in(json_t *need, json_t *caps) {
  size_t i;
  json_t *v;
  json_array_foreach(need, i, v) if (!in_list(caps, json_string_value(v))) return 0;
  return 1;
}

static int any_cap_in(json_t *some, json_t *caps) {
  size_t i;
  json_t *v;
  json_array_foreach(some, i, v) if (in_list(caps, json_string_value(v))) return 1;
  return 0;
}

/* Whether a profile rule applies to this container. */
static int rule_applies(json_t *rule, json_t *caps, const char *arch) {
  json_t *inc = json_object_get(rule, "includes"), *exc = json_object_get(rule, "excludes");
  json_t *ia = json_object_get(inc, "arches"), *ea = json_object_get(exc, "arches");
  if (json_array_size(ia) && !in_list(ia, arch)) return 0;
  if (!every_cap_in(json_object_get(inc, "caps"), caps)) return 0;
  if (!kernel_at_least(json_string_value(json_object_get(inc, "minKernel")))) return 0;
  if (json_array_size(ea) && in_list(ea, arch)) return 0;
  return !any_cap_in(json_object_get(exc, "caps"), caps);
}

static const char *const extra_denied[] = {"keyctl", "add_key", "request_key", "unshare", NULL};

static int is_extra(const char *name) {
  for (int i = 0; extra_denied[i]; i++)
    if (strcmp(name, extra_denied[i]) == 0) return 1;
  return 0;
}

/* One OCI rule from one profile rule; the names hcsshim refuses on top are
 * left out of the profile's ALLOW rules unless the container is admin. */
static json_t *oci_rule(json_t *rule, int admin) {
  json_t *out = json_object(), *names = json_array(), *v, *args = json_object_get(rule, "args");
  const char *action = json_string_value(json_object_get(rule, "action"));
  size_t i;
  json_array_foreach(json_object_get(rule, "names"), i, v) {
    const char *n = json_string_value(v);
    if (n && (admin || !is_extra(n) || strcmp(action ? action : "", "SCMP_ACT_ALLOW")))
      json_array_append_new(names, json_string(n));
  }
  json_object_set_new(out, "names", names);
  json_object_set_new(out, "action", json_string(action ? action : "SCMP_ACT_ERRNO"));
  if (json_object_get(rule, "errnoRet"))
    json_object_set(out, "errnoRet", json_object_get(rule, "errnoRet"));
  if (json_array_size(args)) json_object_set(out, "args", args);
  return out;
}

static json_t *architectures(json_t *profile, const char *scmp) {
  json_t *out = json_array(), *m;
  size_t i;
  if (*scmp) json_array_append_new(out, json_string(scmp));
  json_array_foreach(json_object_get(profile, "archMap"), i, m) {
    const char *a = json_string_value(json_object_get(m, "architecture"));
    if (!a || strcmp(a, scmp)) continue;
    json_array_extend(out, json_object_get(m, "subArchitectures"));
  }
  return out;
}

static json_t *translate(json_t *profile, json_t *caps) {
  json_t *out = json_object(), *rules = json_array(), *r;
  const char *go, *scmp;
  int admin = in_list(caps, "CAP_SYS_ADMIN");
  size_t i;
  host_arch(&go, &scmp);
  json_object_set(out, "defaultAction", json_object_get(profile, "defaultAction"));
  if (json_object_get(profile, "defaultErrnoRet"))
    json_object_set(out, "defaultErrnoRet", json_object_get(profile, "defaultErrnoRet"));
  json_object_set_new(out, "architectures", architectures(profile, scmp));
  json_array_foreach(json_object_get(profile, "syscalls"), i, r) {
    json_t *o;
    if (!rule_applies(r, caps, go)) continue;
    o = oci_rule(r, admin);
    if (json_array_size(json_object_get(o, "names"))) json_array_append_new(rules, o);
    else json_decref(o);
  }
  if (!admin)
    json_array_append_new(rules, json_pack("{s:[s,s,s,s],s:s,s:i}", "names", "keyctl", "add_key",
                                           "request_key", "unshare", "action", "SCMP_ACT_ERRNO",
                                           "errnoRet", EPERM));
  json_object_set_new(out, "syscalls", rules);
  return out;
}

plat_hresult hl_seccomp(json_t *linux_, json_t *caps, char **result) {
  const char *path = getenv("HCSSHIM_SECCOMP_PROFILE");
  char *text;
  json_t *profile;
  json_error_t je;
  if (!path || !*path) path = DEFAULT_PROFILE;
  if (strcmp(path, "unconfined") == 0) return PLAT_S_OK;
  if (!(text = cmn_read_file(path, NULL)))
    return cmn_fail(result, PLAT_E_FAIL,
                    "seccomp profile %s: %s (install golang-github-containers-common, or set "
                    "SeccompProfile)",
                    path, cmn_read_why(errno));
  profile = json_loads(text, 0, &je);
  free(text);
  if (!json_is_object(profile) || !json_is_string(json_object_get(profile, "defaultAction")) ||
      !json_is_array(json_object_get(profile, "syscalls"))) {
    json_decref(profile);
    return cmn_fail(result, BAD, "seccomp profile %s: not a containers seccomp profile%s%s", path,
                    profile ? "" : ": ", profile ? "" : je.text);
  }
  json_object_set_new(linux_, "seccomp", translate(profile, caps));
  json_decref(profile);
  return PLAT_S_OK;
}
