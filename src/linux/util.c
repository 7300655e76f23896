/* Helpers of the Linux host compute service: result documents, ids, the
 * runtime root, files, cgroups and the monitor's message framing. */
#include "hcs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

static char *vformat(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

char *hl_strdup_printf(const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

static void set_result(char **result, plat_hresult hr, const char *msg) {
  json_t *o;
  if (!result) return;
  o = json_pack("{s:i, s:s}", "Error", (json_int_t)hr, "ErrorMessage", msg ? msg : "");
  *result = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
}

plat_hresult hl_fail(char **result, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  char *msg;
  va_start(ap, fmt);
  msg = vformat(fmt, ap);
  va_end(ap);
  set_result(result, hr, msg);
  free(msg);
  return hr;
}

plat_hresult hl_fail_json(char **result, json_t *err) {
  json_t *e = hl_get(err, "Error");
  plat_hresult hr = json_is_integer(e) ? (plat_hresult)json_integer_value(e) : PLAT_E_FAIL;
  if (hr >= 0) hr = PLAT_E_FAIL;
  set_result(result, hr, hl_str(err, "ErrorMessage"));
  return hr;
}

plat_hresult hl_check_id(const char *what, const char *id, char **result) {
  size_t n;
  if (!id) return hl_fail(result, PLAT_E_INVALIDARG, "%s: missing", what);
  n = strlen(id);
  if (n == 0 || n > 128)
    return hl_fail(result, PLAT_E_INVALIDARG, "%s `%s`: must be 1 to 128 characters", what, id);
  if (id[0] == '.')
    return hl_fail(result, PLAT_E_INVALIDARG, "%s `%s`: must not start with '.'", what, id);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '.' || ch == '-'))
      return hl_fail(result, PLAT_E_INVALIDARG,
                     "%s `%s`: invalid character at offset %zu (allowed: A-Z a-z 0-9 _ . -)",
                     what, id, i);
  }
  return PLAT_S_OK;
}

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

/* Read once: environment changes after the first call must not move the
 * state of live systems under our feet. */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char env_root[PATH_MAX], env_cg[PATH_MAX], env_crun[PATH_MAX];
static void env_init(void) {
  snprintf(env_root, sizeof env_root, "%s", env_or("HCSSHIM_RUNTIME_ROOT", "/run/hcsshim"));
  snprintf(env_cg, sizeof env_cg, "%s", env_or("HCSSHIM_CGROUP_PARENT", "/hcsshim"));
  snprintf(env_crun, sizeof env_crun, "%s", env_or("HCSSHIM_CRUN", "crun"));
}
static int env_read; /* set once env_init ran; options are frozen then */
static void env_init_mark(void) {
  env_init();
  env_read = 1;
}

plat_hresult plat_set_option(const char *name, const char *value) {
  static const char *const names[][2] = {{"RuntimeRoot", "HCSSHIM_RUNTIME_ROOT"},
                                         {"DataRoot", "HCSSHIM_DATA_ROOT"},
                                         {"CgroupParent", "HCSSHIM_CGROUP_PARENT"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i][0]) != 0) continue;
    if (env_read) return PLAT_HCS_E_INVALID_STATE;
    if (!value || value[0] != '/') return PLAT_E_INVALIDARG;
    return setenv(names[i][1], value, 1) == 0 ? PLAT_S_OK : PLAT_E_OUTOFMEMORY;
  }
  return PLAT_E_NOT_SUPPORTED;
}

const char *hl_runtime_root(void) { pthread_once(&env_once, env_init_mark); return env_root; }
const char *hl_cgroup_parent(void) { pthread_once(&env_once, env_init_mark); return env_cg; }
const char *hl_crun(void) { pthread_once(&env_once, env_init_mark); return env_crun; }

char *hl_path(const char *dir, const char *name) { return hl_strdup_printf("%s/%s", dir, name); }
char *hl_sysdir(const char *id) { return hl_strdup_printf("%s/systems/%s", hl_runtime_root(), id); }

int hl_mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

int hl_ensure_root(char **errmsg) {
  const char *r = hl_runtime_root();
  char *a = hl_path(r, "crun"), *b = hl_path(r, "systems");
  int rc = 0;
  if (hl_mkdir_p(r, 0700) < 0 || hl_mkdir_p(a, 0700) < 0 || hl_mkdir_p(b, 0700) < 0) {
    if (errmsg) *errmsg = hl_strdup_printf("cannot create runtime root `%s`: %s", r, strerror(errno));
    rc = -1;
  }
  free(a);
  free(b);
  return rc;
}

static char *read_fd(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    ssize_t r;
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); return NULL; }
      buf = nb;
      cap *= 2;
    }
    r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { free(buf); return NULL; }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

char *hl_read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  char *s;
  if (fd < 0) return NULL;
  s = read_fd(fd, len);
  close(fd);
  return s;
}

/* Walks path below root by hand, as RESOLVE_IN_ROOT does: absolute
 * symlinks and ".." never leave root.  For kernels (and valgrind) without
 * openat2. */
static int open_in_root_slow(int root, const char *path, int flags) {
  char buf[PATH_MAX * 2], link[PATH_MAX];
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 0), hops = 0;
  char *p = buf, *comp;
  snprintf(buf, sizeof buf, "%s", path);
  while (cur >= 0 && (comp = strsep(&p, "/"))) {
    int next;
    ssize_t n;
    if (!*comp || strcmp(comp, ".") == 0) continue;
    if (strcmp(comp, "..") == 0) {
      struct stat a, b;
      /* at the root ".." stays there */
      if (fstat(cur, &a) == 0 && fstat(root, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) continue;
    }
    next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) { close(cur); return -1; }
    n = readlinkat(next, "", link, sizeof link - 1);
    if (n >= 0) {
      char rest[PATH_MAX * 2];
      close(next);
      if (++hops > 40) { close(cur); errno = ELOOP; return -1; }
      link[n] = 0;
      snprintf(rest, sizeof rest, "%s%s%s", link, p ? "/" : "", p ? p : "");
      snprintf(buf, sizeof buf, "%s", rest);
      p = buf;
      if (link[0] == '/') { close(cur); cur = fcntl(root, F_DUPFD_CLOEXEC, 0); }
      continue;
    }
    close(cur);
    cur = next;
  }
  if (cur >= 0 && !(flags & O_PATH)) {
    char self[64];
    int fd;
    snprintf(self, sizeof self, "/proc/self/fd/%d", cur);
    fd = open(self, flags | O_CLOEXEC);
    close(cur);
    cur = fd;
  }
  return cur;
}

int hl_open_in_root(int root, const char *path, int flags) {
  struct open_how how;
  int fd;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) fd = open_in_root_slow(root, path, flags);
  return fd;
}

/* Symlinks in a container's root resolve inside it, never to the host's
 * files. */
char *hl_read_fileat(int dirfd, const char *path, size_t *len) {
  int fd;
  char *s;
  fd = hl_open_in_root(dirfd, path, O_RDONLY);
  if (fd < 0) return NULL;
  s = read_fd(fd, len);
  close(fd);
  return s;
}

int hl_write_file(const char *path, const char *data, size_t len, mode_t mode) {
  char *tmp = hl_strdup_printf("%s.tmp", path);
  int fd, rc = -1;
  if (!tmp) return -1;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd >= 0) {
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(fd, data + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
    if (close(fd) == 0 && off == len && rename(tmp, path) == 0) rc = 0;
  }
  if (rc < 0) unlink(tmp);
  free(tmp);
  return rc;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR) rmdir(p);
  else unlink(p);
  return 0;
}

void hl_rm_rf(const char *path) {
  /* FTW_MOUNT: a mount we failed to undo is never emptied through. */
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void hl_cgroup_remove(const char *cgpath) {
  DIR *d = opendir("/sys/fs/cgroup");
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d))) {
    char p[PATH_MAX];
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", e->d_name, cgpath[0] == '/' ? cgpath + 1 : cgpath);
    /* a frozen leftover cannot be removed */
    {
      char f[PATH_MAX + 32];
      int fd;
      snprintf(f, sizeof f, "%s/freezer.state", p);
      fd = open(f, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (write(fd, "THAWED", 6) < 0) { /* gone already */ }
        close(fd);
      }
    }
    rmdir(p);
    /* crun removes only the leaf; the parents (HCSSHIM_CGROUP_PARENT) go
     * once their last container has, and stay while others use them */
    for (char *slash = strrchr(p, '/'); slash && slash > p + strlen("/sys/fs/cgroup/") + strlen(e->d_name);
         slash = strrchr(p, '/')) {
      *slash = '\0';
      if (rmdir(p) < 0) break;
    }
  }
  closedir(d);
}

json_t *hl_get(json_t *obj, const char *key) {
  const char *k;
  json_t *v, *found = NULL;
  if (!json_is_object(obj)) return NULL;
  v = json_object_get(obj, key);
  if (v) return v;
  json_object_foreach(obj, k, v) {
    if (strcasecmp(k, key) == 0) found = v;
  }
  return found;
}

const char *hl_str(json_t *obj, const char *key) {
  json_t *v = hl_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

void hl_rfc3339(char *buf, size_t n, int64_t sec, long nsec) {
  struct tm tm;
  time_t t = (time_t)sec;
  char base[40];
  gmtime_r(&t, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  /* 7 fractional digits: the 100 ns resolution HCS itself reports */
  snprintf(buf, n, "%s.%07ldZ", base, nsec / 100);
}

int hl_cloexec_all_but(int keep1, int keep2) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d))) {
    int fd;
    if (e->d_name[0] == '.') continue;
    fd = atoi(e->d_name);
    if (fd <= 2 || fd == keep1 || fd == keep2 || fd == dirfd(d)) continue;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
  return 0;
}

void hl_bigbuf(int fd) {
  int sz = 2 * HL_MAX_MSG;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

int hl_send(int fd, json_t *msg, const int *fds, int nfds) {
  char *s = json_dumps(msg, JSON_COMPACT);
  struct msghdr mh;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE(sizeof(int) * HL_MAX_FDS)];
    struct cmsghdr align;
  } u;
  ssize_t w;
  if (!s) { errno = ENOMEM; return -1; }
  memset(&mh, 0, sizeof mh);
  iov.iov_base = s;
  iov.iov_len = strlen(s);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    struct cmsghdr *c;
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
  }
  do {
    w = sendmsg(fd, &mh, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  free(s);
  return w < 0 ? -1 : 0;
}

json_t *hl_recv(int fd, int *fds, int *nfds) {
  struct msghdr mh;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE(sizeof(int) * HL_MAX_FDS)];
    struct cmsghdr align;
  } u;
  char *buf;
  ssize_t r;
  json_t *j;
  if (nfds) *nfds = 0;
  buf = malloc(HL_MAX_MSG + 1);
  if (!buf) { errno = ENOMEM; return NULL; }
  memset(&mh, 0, sizeof mh);
  iov.iov_base = buf;
  iov.iov_len = HL_MAX_MSG;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  do {
    r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) {
    free(buf);
    if (r == 0) errno = 0;
    return NULL;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      int tmp[HL_MAX_FDS];
      memcpy(tmp, CMSG_DATA(c), sizeof(int) * (size_t)n);
      for (int i = 0; i < n; i++) {
        if (fds && nfds && *nfds < HL_MAX_FDS) fds[(*nfds)++] = tmp[i];
        else close(tmp[i]);
      }
    }
  }
  buf[r] = 0;
  j = json_loadb(buf, (size_t)r, 0, NULL);
  free(buf);
  if (!j) {
    for (int i = 0; fds && nfds && i < *nfds; i++) close(fds[i]);
    if (nfds) *nfds = 0;
    errno = EPROTO;
  }
  return j;
}

int hl_seqpacket_connect(const char *path) {
  struct sockaddr_un sa;
  int fd, pfd = -1, rc;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) < sizeof sa.sun_path) {
    strcpy(sa.sun_path, path);
  } else {
    /* a 128-character id makes the path longer than sun_path: connect
     * through an O_PATH descriptor of the socket file instead */
    pfd = open(path, O_PATH | O_CLOEXEC);
    if (pfd < 0) return -1;
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d", pfd);
  }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (pfd >= 0) close(pfd);
    return -1;
  }
  rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  if (pfd >= 0) close(pfd);
  if (rc < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  hl_bigbuf(fd);
  return fd;
}

int hl_spawn(pid_t *pid, const char *prog, int search_path, const int fds[3], const char *const argv[],
             char *const envp[]) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, dfl;
  int e;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0) posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    else posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
  }
  /* the monitor blocks SIGCHLD (signalfd) and ignores SIGPIPE: what we
   * start (crun, the container, CNI plugins, ip) gets a clean signal state */
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGCHLD);
  posix_spawnattr_init(&at);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dfl);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  e = search_path ? posix_spawnp(pid, prog, &fa, &at, (char *const *)(uintptr_t)argv, envp)
                  : posix_spawn(pid, prog, &fa, &at, (char *const *)(uintptr_t)argv, envp);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  return e;
}
