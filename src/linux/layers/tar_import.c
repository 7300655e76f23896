/* ImportLayerTar: an OCI layer tar (plain, gzip, xz, zstd, ...) into a new
 * read-only layer's rootfs/.
 *
 * libarchive's archive_write_disk resolves entry paths against the current
 * directory, which is process-wide, and our caller may be multi-threaded; so
 * the extraction runs in a forked child that chdir()s into the staging
 * rootfs and reports one fixed-size message back over a pipe.  Before any
 * entry is written the child checks it itself, so a refusal names the entry:
 * absolute paths, ".." components, parents that are symlinks (or not
 * directories) already on disk, and hard links whose target fails the same
 * checks.  libarchive's SECURE_* flags stay on as a second line of defence.
 * OCI whiteouts become overlay whiteouts: ".wh.<name>" -> char device 0:0
 * <name>, ".wh..wh..opq" -> trusted.overlay.opaque=y on the directory.
 * The layer is assembled in a staging folder and renamed into place only on
 * success, so a failed import leaves nothing behind. */
#include "linux/common/common.h"
#include "linux/layers/layers.h"
#include "linux/common/common.h"
#include "linux/layers/layer_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 256

#define EXTRACT_FLAGS                                                                          \
  (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | \
   ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |             \
   ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |                  \
   ARCHIVE_EXTRACT_UNLINK)

/* what the child sends back: one write, well under PIPE_BUF */
typedef struct xmsg {
  int32_t hr;
  uint64_t size;
  char text[2048];
} xmsg;

/* Normalises an entry path into out ("./a//b/" -> "a/b"); NULL if fine,
 * else why not. */
static const char *clean_entry_path(const char *in, char *out, size_t outlen) {
  size_t len = 0, depth = 0;
  if (!in || !in[0]) return "empty name";
  if (in[0] == '/') return "absolute path";
  if (strlen(in) >= outlen) return "path too long";
  for (const char *s = in; *s;) {
    size_t n;
    while (*s == '/') s++;
    n = strcspn(s, "/");
    if (n == 0 || (n == 1 && s[0] == '.')) {
      s += n;
      continue;
    }
    if (n == 2 && s[0] == '.' && s[1] == '.') return "path has a \"..\" component";
    if (++depth > MAX_DEPTH) return "path nested too deeply";
    if (len) out[len++] = '/';
    memcpy(out + len, s, n);
    len += n;
    s += n;
  }
  out[len] = '\0';
  return NULL;
}

/* Every proper parent of `path` already on disk must be a real directory:
 * "evil -> /etc" followed by "evil/passwd" stops here. */
static const char *check_parents_on_disk(const char *path, char *bad, size_t badlen) {
  char buf[4096];
  struct stat st;
  size_t n = strlen(path);
  memcpy(buf, path, n + 1);
  for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (lstat(buf, &st) < 0) {
      if (errno == ENOENT) return NULL; /* created fresh from here on */
      snprintf(bad, badlen, "%s", buf);
      return "cannot inspect parent";
    }
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
      snprintf(bad, badlen, "%s", buf);
      return S_ISLNK(st.st_mode) ? "parent is a symlink" : "parent is not a directory";
    }
    *p = '/';
  }
  return NULL;
}

/* mkdir -p for the parents of a whiteout (already checked for symlinks) */
static int make_parents(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  memcpy(buf, path, n + 1);
  for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int32_t fail(xmsg *m, int32_t hr, const char *name, const char *fmt, ...) {
  va_list ap;
  int n = 0;
  if (name) n = snprintf(m->text, sizeof m->text, "entry \"%.1024s\": ", name);
  if (n < 0) n = 0;
  va_start(ap, fmt);
  vsnprintf(m->text + n, sizeof m->text - (size_t)n, fmt, ap);
  va_end(ap);
  m->hr = hr;
  return hr;
}

static int32_t errno_hr(int e) {
  return e == ENOSPC || e == EDQUOT ? PLAT_E_DISK_FULL : PLAT_E_FAIL;
}

static int32_t whiteout(xmsg *m, const char *raw, const char *path) {
  char target[4096];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dirlen = slash ? (size_t)(slash - path) : 0;
  struct stat st;
  int rc = make_parents(path);
  if (rc < 0) return fail(m, errno_hr(-rc), raw, "creating parent directories: %s", strerror(-rc));
  if (strcmp(base, ".wh..wh..opq") == 0) {
    snprintf(target, sizeof target, "%.*s", (int)(dirlen ? dirlen : 1), dirlen ? path : ".");
    if (lsetxattr(target, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return fail(m, errno_hr(errno), raw, "setting trusted.overlay.opaque: %s", strerror(errno));
    return 0;
  }
  if (strncmp(base, ".wh..wh.", 8) == 0) return 0; /* aufs bookkeeping (.wh..wh.plnk, ...) */
  base += 4;
  if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return fail(m, PLAT_E_BAD_FORMAT, raw, "invalid whiteout name");
  snprintf(target, sizeof target, "%.*s%s%s", (int)dirlen, path, dirlen ? "/" : "", base);
  if (lstat(target, &st) == 0) { /* replaced within this layer */
    rc = S_ISDIR(st.st_mode) ? cmn_remove_tree(target) : (unlink(target) < 0 ? -errno : 0);
    if (rc < 0) return fail(m, errno_hr(-rc), raw, "replacing %s: %s", target, strerror(-rc));
  }
  if (mknod(target, S_IFCHR | 0, makedev(0, 0)) < 0)
    return fail(m, errno_hr(errno), raw, "creating whiteout: %s", strerror(errno));
  return 0;
}

/* The tar's "./" entry describes rootfs itself; libarchive refuses an empty
 * path, so owner and mode are applied by hand. */
static int32_t root_entry(xmsg *m, const char *raw, struct archive_entry *e) {
  if (archive_entry_filetype(e) != AE_IFDIR)
    return fail(m, PLAT_E_BAD_FORMAT, raw, "the layer root is not a directory");
  if (lchown(".", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 ||
      chmod(".", archive_entry_perm(e) & 07777) < 0)
    return fail(m, errno_hr(errno), raw, "setting owner/mode of the root: %s", strerror(errno));
  return 0;
}

static int32_t copy_data(xmsg *m, const char *raw, struct archive *a, struct archive *w) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
    if (archive_write_data_block(w, buf, len, off) < ARCHIVE_OK)
      return fail(m, errno_hr(archive_errno(w)), raw, "writing: %s", archive_error_string(w));
  if (r != ARCHIVE_EOF)
    return fail(m, PLAT_E_BAD_FORMAT, raw, "reading: %s", archive_error_string(a));
  return 0;
}

static int32_t one_entry(xmsg *m, struct archive *a, struct archive *w, struct archive_entry *e) {
  char path[4096], link[4096], bad[4096];
  const char *raw = archive_entry_pathname(e), *why, *hl = archive_entry_hardlink(e);
  const char *base;
  int r;
  if (!raw) return fail(m, PLAT_E_BAD_FORMAT, "(unnamed)", "entry has no usable name");
  if ((why = clean_entry_path(raw, path, sizeof path)))
    return fail(m, PLAT_E_BAD_FORMAT, raw, "%s", why);
  if (!path[0]) return root_entry(m, raw, e);
  if ((why = check_parents_on_disk(path, bad, sizeof bad)))
    return fail(m, PLAT_E_BAD_FORMAT, raw, "%s: \"%s\"", why, bad);
  base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strncmp(base, ".wh.", 4) == 0) return whiteout(m, raw, path);
  if (hl) {
    struct stat st;
    if ((why = clean_entry_path(hl, link, sizeof link)))
      return fail(m, PLAT_E_BAD_FORMAT, raw, "hard link target \"%s\": %s", hl, why);
    if ((why = check_parents_on_disk(link, bad, sizeof bad)))
      return fail(m, PLAT_E_BAD_FORMAT, raw, "hard link target: %s \"%s\"", why, bad);
    if (!link[0] || lstat(link, &st) < 0 || S_ISDIR(st.st_mode))
      return fail(m, PLAT_E_BAD_FORMAT, raw, "hard link target \"%s\" is not an earlier file", hl);
    archive_entry_copy_hardlink(e, link);
  } else if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e)) {
    m->size += (uint64_t)archive_entry_size(e);
  }
  archive_entry_copy_pathname(e, path);
  r = archive_write_header(w, e);
  if (r < ARCHIVE_WARN)
    return fail(m, archive_errno(w) == ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_BAD_FORMAT, raw, "%s",
                archive_error_string(w));
  if (copy_data(m, raw, a, w) < 0) return m->hr;
  if (archive_write_finish_entry(w) < ARCHIVE_WARN)
    return fail(m, errno_hr(archive_errno(w)), raw, "%s", archive_error_string(w));
  return 0;
}

static void extract(xmsg *m, int tarfd) {
  struct archive *a = archive_read_new(), *w = archive_write_disk_new();
  struct archive_entry *e;
  char last[1100] = "";
  int r;
  if (!a || !w) {
    fail(m, PLAT_E_OUTOFMEMORY, NULL, "out of memory");
    goto out;
  }
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a); /* ustar, pax, gnu */
  archive_read_support_format_empty(a);
  archive_write_disk_set_options(w, EXTRACT_FLAGS);
  /* no set_standard_lookup: owners stay numeric, never mapped through the
   * host's /etc/passwd */
  if (archive_read_open_fd(a, tarfd, 1 << 16) != ARCHIVE_OK) {
    fail(m, PLAT_E_BAD_FORMAT, NULL, "not a readable tar archive: %s", archive_error_string(a));
    goto out;
  }
  while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
    if (r < ARCHIVE_WARN) {
      fail(m, PLAT_E_BAD_FORMAT, NULL, "corrupt archive%s: %s", last, archive_error_string(a));
      goto out;
    }
    if (one_entry(m, a, w, e) < 0) goto out;
    snprintf(last, sizeof last, " after entry \"%.1024s\"", archive_entry_pathname(e));
  }
  /* applies the deferred directory modes and times */
  if (archive_write_close(w) != ARCHIVE_OK)
    fail(m, PLAT_E_FAIL, NULL, "finishing extraction: %s", archive_error_string(w));
out:
  if (a) archive_read_free(a);
  if (w) archive_write_free(w);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t r = write(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

/* The extraction process: `monitor --extract`, started by run_child with
 * the tar on fd 3, the report pipe on fd 4 and the layer's rootfs as its
 * working directory.  A fresh process, because archive_write_disk resolves
 * paths against the working directory and because the caller may have
 * threads (notification callbacks) that a forked child could not share
 * libarchive's locks with. */
int lay_extract_main(void) {
  xmsg m;
  memset(&m, 0, sizeof m);
  extract(&m, 3);
  return write_all(4, &m, sizeof m) == 0 ? 0 : 1;
}

/* Runs lay_extract_main() in a new process with cwd = rootfs; fills *m. */
static void run_child(xmsg *m, const char *rootfs, int tarfd) {
  int p[2], st = 0;
  size_t got = 0;
  pid_t pid;
  char *mon = cmn_program_path("extract", "HCSSHIM_EXTRACT");
  char *const argv[] = {(char *)(uintptr_t)"hcsshim-extract", NULL};
  memset(m, 0, sizeof *m);
  if (!mon) {
    fail(m, PLAT_E_OUTOFMEMORY, NULL, "out of memory");
    return;
  }
  if (pipe2(p, O_CLOEXEC) < 0) {
    fail(m, PLAT_E_FAIL, NULL, "pipe: %s", strerror(errno));
    free(mon);
    return;
  }
  pid = fork();
  if (pid < 0) {
    fail(m, PLAT_E_FAIL, NULL, "fork: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    free(mon);
    return;
  }
  if (pid == 0) {
    /* only async-signal-safe calls until execv; move both fds out of the
     * way first so that neither dup2 can clobber the other */
    int t = fcntl(tarfd, F_DUPFD, 10), w = fcntl(p[1], F_DUPFD, 10);
    if (t < 0 || w < 0 || dup2(t, 3) < 0 || dup2(w, 4) < 0) _exit(126);
    umask(022); /* parents created implicitly get 0755 */
    if (chdir(rootfs) < 0) _exit(125);
    execv(mon, argv);
    _exit(127);
  }
  close(p[1]);
  while (got < sizeof *m) {
    ssize_t r = read(p[0], (char *)m + got, sizeof *m - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(p[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof *m) {
    memset(m, 0, sizeof *m);
    if (WIFSIGNALED(st))
      fail(m, PLAT_E_FAIL, NULL, "extraction process died of signal %s", strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
      fail(m, PLAT_E_FAIL, NULL, "cannot run the extractor `%s` (set HCSSHIM_MONITOR)", mon);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 125)
      fail(m, PLAT_E_FAIL, NULL, "chdir %s failed", rootfs);
    else
      fail(m, PLAT_E_FAIL, NULL, "extraction process exited without a report");
  }
  m->text[sizeof m->text - 1] = '\0';
  free(mon);
}

/* {"Error": hr, "ErrorMessage": msg}; names may hold any bytes, JSON wants
 * UTF-8, so fall back to a sanitised copy */
static char *result_doc(plat_hresult hr, const char *msg) {
  json_t *doc = json_object(), *s = json_string(msg);
  char *out = NULL;
  if (!s) {
    char clean[sizeof((xmsg *)0)->text + 256];
    size_t i = 0;
    for (; msg[i] && i < sizeof clean - 1; i++)
      clean[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
    clean[i] = '\0';
    s = json_string(clean);
  }
  if (doc && s && json_object_set_new(doc, "Error", json_integer(hr)) == 0 &&
      json_object_set(doc, "ErrorMessage", s) == 0)
    out = json_dumps(doc, JSON_COMPACT);
  json_decref(s);
  json_decref(doc);
  return out;
}

static plat_hresult finish(plat_hresult hr, char **result) {
  if (hr < 0 && result) *result = result_doc(hr, lay_last_error());
  return hr;
}

plat_hresult lay_import_tar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count, uint64_t *size,
                                 char **result) {
  lyr l;
  char staging[LYR_PATH_MAX], rootfs[LYR_PATH_MAX], pname[LYR_PATH_MAX];
  const char *parent = "";
  struct stat st;
  xmsg m;
  int fd;
  plat_hresult hr;
  lyr_clear_error();
  if (result) *result = NULL;
  if (size) *size = 0;
  if ((hr = lyr_init(&l, info, id, "import of")) < 0) return finish(hr, result);
  if (!tar_path || !tar_path[0])
    return finish(lyr_fail(PLAT_E_INVALIDARG, "import of layer %s: no tar path", id), result);
  if ((hr = lyr_check_parents(&l, layers, count)) < 0) return finish(hr, result);
  fd = open(tar_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
    int e = fd < 0 ? errno : EISDIR;
    if (fd >= 0) close(fd);
    return finish(lyr_fail(e == ENOENT ? PLAT_E_FILE_NOT_FOUND : e == EACCES ? PLAT_E_ACCESSDENIED
                                                                             : PLAT_E_INVALIDARG,
                           "import of layer %s: %s: %s", id, tar_path, strerror(e)),
                  result);
  }
  hr = lyr_ensure_home(&l);
  if (hr >= 0 && lstat(l.dir, &st) == 0)
    hr = lyr_fail(PLAT_E_ALREADY_EXISTS, "import of layer %s: the layer already exists in %s", id,
                  l.home);
  if (hr < 0) {
    close(fd);
    return finish(hr, result);
  }
  if ((hr = lyr_staging_new(&l, staging)) < 0) {
    close(fd);
    return finish(hr, result);
  }
  if (count > 0) { /* the nearest parent's folder name, as docker passes it */
    size_t n = strlen(layers[0].Path);
    while (n > 1 && layers[0].Path[n - 1] == '/') n--;
    lyr_pathf(pname, "%.*s", (int)n, layers[0].Path);
    parent = strrchr(pname, '/') + 1; /* checked absolute */
  }
  /* cannot truncate: HomeDir and id are bounded well below LYR_PATH_MAX */
  if (snprintf(rootfs, sizeof rootfs, "%s/rootfs", staging) >= (int)sizeof rootfs ||
      mkdir(rootfs, 0755) < 0)
    hr = lyr_fail(PLAT_E_FAIL, "import of layer %s: mkdir %s: %s", id, rootfs, strerror(errno));
  if (hr >= 0) hr = lyr_meta_write(&l, staging, 0, parent, layers, count);
  if (hr >= 0) {
    run_child(&m, rootfs, fd);
    if (m.hr < 0) hr = lyr_fail(m.hr, "import of layer %s: %s", id, m.text);
  }
  close(fd);
  if (hr >= 0) hr = lyr_staging_publish(&l, staging);
  if (hr < 0) {
    int rc = cmn_remove_tree(staging);
    if (rc < 0) lyr_fail(hr, "%s (and removing %s failed: %s)", lay_last_error(), staging, strerror(-rc));
    return finish(hr, result);
  }
  if (size) *size = m.size;
  return PLAT_S_OK;
}
