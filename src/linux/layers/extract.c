/* The extraction side of ImportLayerTar (see tar_import.c), run in the
 * extract program: checks every entry itself before libarchive writes it,
 * so a refusal names the entry; OCI whiteouts become overlay whiteouts. */
#include "linux/common/common.h"
#include "linux/layers/extract.h"
#include "linux/layers/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 256

#define EXTRACT_FLAGS                                                                            \
  (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | \
   ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |              \
   ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |                    \
   ARCHIVE_EXTRACT_UNLINK)

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
int32_t
lay_xfail(xmsg *m, int32_t hr, const char *name, const char *fmt, ...) {
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

int lay_pace_due(lay_pace *p, uint64_t bytes) {
  if (p->entries - p->last_entries < PROGRESS_ENTRIES && bytes - p->last_bytes < PROGRESS_BYTES)
    return 0;
  p->last_entries = p->entries;
  p->last_bytes = bytes;
  return 1;
}

/* A progress record on stdout when one is due (the parent, tar_import.c,
 * passes it on to its caller's progress callback). */
static lay_pace pace;
static void send_progress(struct archive *a) {
  xprog r;
  uint64_t bytes = (uint64_t)archive_filter_bytes(a, -1);
  if (!lay_pace_due(&pace, bytes)) return;
  memset(&r, 0, sizeof r);
  r.kind = XREC_PROGRESS;
  r.bytes = bytes;
  r.entries = pace.entries;
  cmn_write_all(1, &r, sizeof r);
}

static int32_t errno_hr(int e) {
  return e == ENOSPC || e == EDQUOT ? PLAT_E_DISK_FULL : PLAT_E_FAIL;
}

/* Whiteouts wait for the end of the tar: a whiteout hides only what lower
 * layers hold (OCI image spec), so an entry of this same layer stays
 * whatever its place in the tar ("x" then ".wh.x" keeps x; ".wh.e" then
 * "e/f" makes e/ a directory of this layer).  The list keeps each entry's
 * raw name (for errors) and its cleaned path, as "raw\0path". */
typedef struct wlist {
  char **v;
  size_t n, cap;
} wlist;

static int32_t whiteout_defer(xmsg *m, wlist *wl, const char *raw, const char *path) {
  size_t rl = strlen(raw), pl = strlen(path);
  char *s;
  if (wl->n == wl->cap) {
    size_t cap = wl->cap ? wl->cap * 2 : 64;
    char **v = realloc(wl->v, cap * sizeof *v);
    if (!v) return lay_xfail(m, PLAT_E_OUTOFMEMORY, raw, "out of memory");
    wl->v = v;
    wl->cap = cap;
  }
  if (!(s = malloc(rl + pl + 2))) return lay_xfail(m, PLAT_E_OUTOFMEMORY, raw, "out of memory");
  memcpy(s, raw, rl + 1);
  memcpy(s + rl + 1, path, pl + 1);
  wl->v[wl->n++] = s;
  return 0;
}

static void wlist_free(wlist *wl) {
  for (size_t i = 0; i < wl->n; i++) free(wl->v[i]);
  free(wl->v);
}

/* The named entry of the layer's own: a directory of it becomes opaque
 * (the lower one is hidden, its own contents stay); anything else already
 * hides the lower entry by being there. */
static int32_t whiteout_kept(xmsg *m, const char *raw, const char *target, const struct stat *st) {
  if (S_ISDIR(st->st_mode) && lsetxattr(target, "trusted.overlay.opaque", "y", 1, 0) < 0)
    return lay_xfail(m, errno_hr(errno), raw, "setting trusted.overlay.opaque: %s",
                     strerror(errno));
  return 0;
}

static int32_t whiteout(xmsg *m, const char *raw, const char *path) {
  char target[4096], bad[4096];
  const char *slash = strrchr(path, '/'), *why;
  const char *base = slash ? slash + 1 : path;
  size_t dirlen = slash ? (size_t)(slash - path) : 0;
  struct stat st;
  int rc;
  /* later entries may have changed the parents since the entry was read */
  if ((why = check_parents_on_disk(path, bad, sizeof bad)))
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "%s: \"%s\"", why, bad);
  if ((rc = make_parents(path)) < 0)
    return lay_xfail(m, errno_hr(-rc), raw, "creating parent directories: %s", strerror(-rc));
  if (strcmp(base, ".wh..wh..opq") == 0) {
    snprintf(target, sizeof target, "%.*s", (int)(dirlen ? dirlen : 1), dirlen ? path : ".");
    if (lsetxattr(target, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return lay_xfail(m, errno_hr(errno), raw, "setting trusted.overlay.opaque: %s",
                       strerror(errno));
    return 0;
  }
  if (strncmp(base, ".wh..wh.", 8) == 0) return 0; /* aufs bookkeeping (.wh..wh.plnk, ...) */
  base += 4;
  snprintf(target, sizeof target, "%.*s%s%s", (int)dirlen, path, dirlen ? "/" : "", base);
  if (lstat(target, &st) == 0) return whiteout_kept(m, raw, target, &st);
  if (mknod(target, S_IFCHR | 0, makedev(0, 0)) < 0)
    return lay_xfail(m, errno_hr(errno), raw, "creating whiteout: %s", strerror(errno));
  return 0;
}

/* A whiteout's own name, checked when it is read so the refusal comes at
 * its place in the tar. */
static int32_t whiteout_check(xmsg *m, const char *raw, const char *base) {
  if (strncmp(base, ".wh..wh.", 8) == 0) return 0;
  base += 4;
  if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "invalid whiteout name");
  return 0;
}

/* The tar's "./" entry describes rootfs itself; libarchive refuses an empty
 * path, so owner and mode are applied by hand. */
static int32_t root_entry(xmsg *m, const char *raw, struct archive_entry *e) {
  if (archive_entry_filetype(e) != AE_IFDIR)
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "the layer root is not a directory");
  if (lchown(".", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 ||
      chmod(".", archive_entry_perm(e) & 07777) < 0)
    return lay_xfail(m, errno_hr(errno), raw, "setting owner/mode of the root: %s",
                     strerror(errno));
  return 0;
}

static int32_t copy_data(xmsg *m, const char *raw, struct archive *a, struct archive *w) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    if (archive_write_data_block(w, buf, len, off) < ARCHIVE_OK)
      return lay_xfail(m, errno_hr(archive_errno(w)), raw, "writing: %s", archive_error_string(w));
    send_progress(a);
  }
  if (r != ARCHIVE_EOF)
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "reading: %s", archive_error_string(a));
  return 0;
}

static int32_t one_entry(xmsg *m, wlist *wl, struct archive *a, struct archive *w,
                         struct archive_entry *e) {
  char path[4096], link[4096], bad[4096];
  const char *raw = archive_entry_pathname(e), *why, *hl = archive_entry_hardlink(e);
  const char *base;
  int r;
  if (!raw) return lay_xfail(m, PLAT_E_BAD_FORMAT, "(unnamed)", "entry has no usable name");
  if ((why = clean_entry_path(raw, path, sizeof path)))
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "%s", why);
  if (!path[0]) return root_entry(m, raw, e);
  if ((why = check_parents_on_disk(path, bad, sizeof bad)))
    return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "%s: \"%s\"", why, bad);
  base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strncmp(base, ".wh.", 4) == 0)
    return whiteout_check(m, raw, base) < 0 ? m->hr : whiteout_defer(m, wl, raw, path);
  if (hl) {
    struct stat st;
    if ((why = clean_entry_path(hl, link, sizeof link)))
      return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "hard link target \"%s\": %s", hl, why);
    if ((why = check_parents_on_disk(link, bad, sizeof bad)))
      return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "hard link target: %s \"%s\"", why, bad);
    if (!link[0] || lstat(link, &st) < 0 || S_ISDIR(st.st_mode))
      return lay_xfail(m, PLAT_E_BAD_FORMAT, raw, "hard link target \"%s\" is not an earlier file",
                       hl);
    archive_entry_copy_hardlink(e, link);
  } else if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e)) {
    m->size += (uint64_t)archive_entry_size(e);
  }
  archive_entry_copy_pathname(e, path);
  r = archive_write_header(w, e);
  if (r < ARCHIVE_WARN)
    return lay_xfail(m, archive_errno(w) == ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_BAD_FORMAT, raw,
                     "%s", archive_error_string(w));
  if (copy_data(m, raw, a, w) < 0) return m->hr;
  if (archive_write_finish_entry(w) < ARCHIVE_WARN)
    return lay_xfail(m, errno_hr(archive_errno(w)), raw, "%s", archive_error_string(w));
  return 0;
}

static void extract(xmsg *m, int tarfd) {
  struct archive *a = archive_read_new(), *w = archive_write_disk_new();
  struct archive_entry *e;
  char last[1100] = "";
  wlist wl = {NULL, 0, 0};
  int r;
  if (!a || !w) {
    lay_xfail(m, PLAT_E_OUTOFMEMORY, NULL, "out of memory");
    goto out;
  }
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a); /* ustar, pax, gnu */
  archive_read_support_format_empty(a);
  archive_write_disk_set_options(w, EXTRACT_FLAGS);
  /* no set_standard_lookup: owners stay numeric, never mapped through the
   * host's /etc/passwd */
  if (archive_read_open_fd(a, tarfd, 1 << 16) != ARCHIVE_OK) {
    lay_xfail(m, PLAT_E_BAD_FORMAT, NULL, "not a readable tar archive: %s",
              archive_error_string(a));
    goto out;
  }
  while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
    if (r < ARCHIVE_WARN) {
      lay_xfail(m, PLAT_E_BAD_FORMAT, NULL, "corrupt archive%s: %s", last, archive_error_string(a));
      goto out;
    }
    if (one_entry(m, &wl, a, w, e) < 0) goto out;
    pace.entries++;
    send_progress(a);
    snprintf(last, sizeof last, " after entry \"%.1024s\"", archive_entry_pathname(e));
  }
  /* before the close, which then restores the directories' times */
  for (size_t i = 0; i < wl.n; i++) {
    const char *raw = wl.v[i];
    if (whiteout(m, raw, raw + strlen(raw) + 1) < 0) goto out;
  }
  /* applies the deferred directory modes and times */
  if (archive_write_close(w) != ARCHIVE_OK)
    lay_xfail(m, PLAT_E_FAIL, NULL, "finishing extraction: %s", archive_error_string(w));
out:
  wlist_free(&wl);
  if (a) archive_read_free(a);
  if (w) archive_write_free(w);
}

/* The extraction process: the extract program (extract/main.c), started
 * by run_child with the tar on stdin, the report on stdout and the layer's
 * rootfs as its working directory.  A fresh process, because archive_write_disk resolves
 * paths against the working directory and because the caller may have
 * threads (notification callbacks) that a forked child could not share
 * libarchive's locks with. */
int lay_extract_main(void) {
  xmsg m;
  memset(&m, 0, sizeof m);
  m.kind = XREC_RESULT;
  umask(022); /* parents created implicitly get 0755 */
  extract(&m, 0);
  m.entries = pace.entries;
  return cmn_write_all(1, &m, sizeof m) == 0 ? 0 : 1;
}
