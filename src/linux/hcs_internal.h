/* Internals of the Linux host compute service (compute systems, processes,
 * the per-system monitor).  Shared by the library side (src/linux/) and
 * the monitor executable (src/linux/monitor/).  No Lua here. */
#ifndef HCSSHIM_LINUX_HCS_INTERNAL_H
#define HCSSHIM_LINUX_HCS_INTERNAL_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform.h"

#define HL_MAX_MSG (1024 * 1024)
#define HL_MAX_FDS 4
#define HL_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- util.c ---- */
/* Sets *result (if result) to {"Error":hr,"ErrorMessage":msg}; returns hr. */
plat_hresult hl_fail(char **result, plat_hresult hr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies an error reply of the monitor ({"Error","ErrorMessage"}) into *result. */
plat_hresult hl_fail_json(char **result, json_t *err);
plat_hresult hl_check_id(const char *what, const char *id, char **result);
const char *hl_runtime_root(void);     /* process-wide, never NULL */
const char *hl_cgroup_parent(void);
const char *hl_crun(void);
int hl_ensure_root(char **errmsg);     /* mkdir -p R, R/crun, R/systems (0700) */
char *hl_sysdir(const char *id);       /* R/systems/<id>; malloc'd */
char *hl_path(const char *dir, const char *name); /* dir/name; malloc'd */
int hl_mkdir_p(const char *path, mode_t mode);
char *hl_read_file(const char *path, size_t *len);  /* NUL-terminated */
char *hl_read_fileat(int dirfd, const char *path, size_t *len);
int hl_open_in_root(int root, const char *path, int flags); /* RESOLVE_IN_ROOT */
int hl_write_file(const char *path, const char *data, size_t len, mode_t mode);
void hl_rm_rf(const char *path);       /* stays on one filesystem */
void hl_cgroup_remove(const char *cgpath);
json_t *hl_get(json_t *obj, const char *key);  /* case-insensitive member */
const char *hl_str(json_t *obj, const char *key); /* string member or NULL */
char *hl_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hl_rfc3339(char *buf, size_t n, int64_t sec, long nsec);
int hl_cloexec_all_but(int keep1, int keep2);

/* SOCK_SEQPACKET messages: one JSON document plus up to HL_MAX_FDS fds. */
int hl_send(int fd, json_t *msg, const int *fds, int nfds);
/* Returns the parsed message (NULL on EOF/error, errno set; 0 on EOF). */
json_t *hl_recv(int fd, int *fds, int *nfds);
int hl_seqpacket_connect(const char *path);
void hl_bigbuf(int fd);

/* ---- runtime state of one system (shared by library and monitor) ---- */
/* Undo what a dead/failed system left: crun state, cgroups, the layer
 * mount recorded in meta.json.  Does not remove the system directory. */
void hl_teardown_system(const char *id, json_t *meta);
/* Runs crun with argv (NULL-terminated, without "crun --root ..."), stdio
 * from in/out/err (-1 = /dev/null); returns exit status or -1; on failure
 * *errmsg (malloc'd) carries crun's own message from its JSON log. */
int hl_run_crun(const char *id, const char *const *args, int in, int out, int err, char **errmsg);

/* ---- config.c: ContainerConfig -> OCI bundle ---- */
typedef struct hl_sysconf {
  json_t *cfg;        /* the decoded document (owned) */
  const char *name, *owner, *hostname, *volume_path, *layer_folder, *net_share;
  json_t *layers;     /* array of {ID, Path} or NULL */
  json_t *mapped;     /* MappedDirectories array or NULL */
  int64_t cpu_count, cpu_weight, cpu_max, mem_mb, iops_max, bps_max;
  int terminate_on_last_close;
} hl_sysconf;
plat_hresult hl_parse_config(const char *json, hl_sysconf *c, char **result);
void hl_sysconf_free(hl_sysconf *c);
/* Builds config.json; rootfs is absolute; netns_path NULL for a new netns. */
plat_hresult hl_build_spec(const hl_sysconf *c, const char *id, const char *sysdir,
                           const char *rootfs, const char *netns_path,
                           json_t **spec, char **result);
json_t *hl_default_caps(void);

/* ---- procspec.c: ProcessConfig -> OCI process ---- */
typedef struct hl_procconf {
  json_t *process;    /* OCI process object */
  int console, in, out, err;
  unsigned rows, cols;
} hl_procconf;
/* rootfd: the container's root (an O_PATH fd of /proc/<init>/root). */
plat_hresult hl_parse_process(const char *json, int rootfd, hl_procconf *p, char **result);
int hl_shell_split(const char *s, json_t *out, char **errmsg);

/* ---- stats.c ---- */
json_t *hl_statistics(const char *cgpath, int64_t start_sec, long start_nsec);
json_t *hl_process_list(const char *cgpath);

/* posix_spawn(p) of prog with stdio fds[0..2] (-1: /dev/null) and a clean
 * signal state; returns 0 or an errno value. */
int hl_spawn(pid_t *pid, const char *prog, int search_path, const int fds[3], const char *const argv[],
             char *const envp[]);

#endif
