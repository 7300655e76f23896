/* Internals of the Linux host compute service (compute systems, processes,
 * the per-system monitor).  Shared by the library side (src/linux/) and
 * the monitor executable (src/linux/monitor/).  No Lua here. */
#ifndef HCSSHIM_LINUX_HCS_INTERNAL_H
#define HCSSHIM_LINUX_HCS_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "linux/common/json.h"
#include "platform.h"

/* The compute room (historical prefix hl_): ContainerConfig/ProcessConfig
 * -> OCI, the monitor client, teardown, cgroups, statistics.  It may call
 * the network and layers rooms and common; nothing below calls it.
 * Errors: see common/json.h (plat_hresult + *result document). */

/* ---- runtime state of one system (shared by library and monitor) ---- */
/* Undo what a dead/failed system left: crun state, cgroups, the layer
 * mount recorded in meta.json.  Does not remove the system directory. */
void hl_teardown_system(const char *id, json_t *meta);
/* The runtime's part of it: crun's container (its state, its init) and
 * the cgroup (hl_cgroup_remove; cgpath NULL: none recorded). */
void hl_runtime_remove(const char *id, const char *cgpath);
/* Drops the system's holds on the layers at `paths` (a JSON array). */
void hl_release_layers(const char *id, json_t *paths);
/* Removes system id's cgroup `cgpath` in every hierarchy, and the parents
 * it left empty: whatever still runs in it (an init a killed monitor left
 * behind, a container's own sub-cgroups) is thawed, killed and waited for
 * (at most HL_CGROUP_KILL_MS) first.  A path whose last component is not
 * id is left alone (cgroup_rm.c). */
#define HL_CGROUP_KILL_MS 2000
void hl_cgroup_remove(const char *id, const char *cgpath);
/* The tmpfs of CMN_SYS_FILES: small, so that the container's writes to
 * its hostname, hosts and resolv.conf never grow the runtime root's. */
#define HL_FILES_OPTS "size=256k,nr_inodes=64,mode=0755"
/* Unmounts it (system folder `sysdir`); nothing mounted -> no-op. */
void hl_files_unmount(const char *sysdir);
/* A file of a container's root (rootfd) into *text, NULL if absent;
 * anything but a regular file of at most CMN_ROOT_FILE_MAX bytes is
 * refused, naming the file (procspec.c). */
plat_hresult hl_root_file(int rootfd, const char *path, char **text, char **result);
/* linux.seccomp from the default profile for a container with these
 * capabilities, unless confinement is off (seccomp.c). */
plat_hresult hl_seccomp(json_t *linux_, json_t *caps, char **result);
/* Rewrites the resolv.conf of a running system (hot attach, detach). */
int hl_update_resolv(const char *id);

/* ---- host.c ---- */
/* S_OK, or why this caller or host cannot run compute systems (not root;
 * a hybrid host whose cgroup fix a reboot undid). */
plat_hresult hl_host_ready(char **result);

/* ---- create.c ---- */
/* Everything up to a running monitor that owns the new system; on failure
 * nothing of it is left. */
plat_hresult hl_create_system(const char *id, const char *configuration, char **result);
/* Takes down a system this call created but cannot hand over (its handle
 * could not be opened before the caller's deadline): terminate, and wait
 * (bounded) until its monitor's teardown removed it. */
void hl_create_undo(const char *id);

/* ---- config.c: ContainerConfig -> OCI bundle ---- */
typedef struct hl_sysconf {
  json_t *cfg; /* the decoded document (owned) */
  const char *name, *owner, *hostname, *volume_path, *layer_folder, *net_share;
  json_t *layers; /* array of {ID, Path} or NULL */
  json_t *mapped; /* MappedDirectories array or NULL */
  int64_t cpu_count, cpu_weight, cpu_max, mem_mb, iops_max, bps_max;
  int terminate_on_last_close;
} hl_sysconf;
plat_hresult hl_parse_config(const char *json, hl_sysconf *c, char **result);
void hl_sysconf_free(hl_sysconf *c);
/* Builds config.json; rootfs is absolute; netns_path NULL for a new netns;
 * the generated /etc/hostname and /etc/hosts go into files_dir. */
plat_hresult hl_build_spec(const hl_sysconf *c, const char *id, const char *files_dir,
                           const char *rootfs, const char *netns_path, json_t **spec,
                           char **result);
json_t *hl_default_caps(void);

/* The console stub (src/linux/tty/main.c) in every container: a console
 * process with a ConsoleSize starts through it, so it has its size before
 * its first instruction. */
#define HL_TTY_STUB "/.hcsshim-tty"

/* ---- procspec.c: ProcessConfig -> OCI process ---- */
typedef struct hl_procconf {
  json_t *process; /* OCI process object */
  int console, in, out, err;
  unsigned rows, cols;
} hl_procconf;
/* rootfd: the container's root (an O_PATH fd of /proc/<init>/root). */
plat_hresult hl_parse_process(const char *json, int rootfd, hl_procconf *p, char **result);
int hl_shell_split(const char *s, json_t *out, char **errmsg);

/* ---- stats.c ---- */
/* NULL with *why (malloc'd) when a counter cannot be read. */
json_t *hl_statistics(const char *cgpath, int64_t start_sec, long start_nsec, char **why);
json_t *hl_process_list(const char *cgpath, char **why);

#endif
