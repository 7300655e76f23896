/* ExportLayerTar: a layer's diff (a sandbox's upper/, a read-only layer's
 * rootfs/) as an OCI layer tar, with libarchive's PAX writer.
 *
 * Runs in the calling process: the tree is walked with openat/fstatat from
 * directory descriptors and O_NOFOLLOW, so nothing depends on the working
 * directory (libarchive's own disk reader fchdir()s, which a threaded host
 * cannot allow) and a symlink swapped in by a running container is never
 * followed.  Overlay whiteouts (char device 0:0, or a file with the
 * trusted.overlay.whiteout xattr) become ".wh.<name>"; an opaque directory
 * (trusted.overlay.opaque=y) is followed by "<dir>/.wh..wh..opq".  Other
 * trusted.overlay.* attributes are overlay bookkeeping and stay out; a
 * redirect or metacopy (data kept in a lower layer) is refused, since the
 * diff alone would not describe the file.
 *
 * Deterministic: entries sorted bytewise by name (a directory right before
 * its contents), xattrs sorted, mtime kept in whole seconds (as a ustar
 * header holds it: a PAX record only for the entries that need one for
 * another reason would keep nanoseconds for some files and not others), no
 * atime or ctime, numeric owners only (no uname/gname), hard links by the
 * first name in that order.  So the same tree exports to the same bytes.  The tar is
 * written to a temporary file beside `tar_path` and renamed over it, so a
 * failed export leaves the old file (or none). */
#include "linux/common/common.h"
#include "linux/layers/diff_tree.h"
#include "linux/layers/extract.h"
#include "linux/layers/layer_store.h"
#include "linux/layers/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_CHUNK (256 * 1024)

typedef struct first_link {
  dev_t dev;
  ino_t ino;
  char *name;
} first_link;

typedef struct exporter {
  lyr *l;
  struct archive *a;
  void *links; /* tsearch tree of first_link */
  char *buf;
  uint64_t size; /* bytes of regular file data */
  const plat_progress *progress;
  lay_pace pace;
  char *stubs; /* a sandbox's mount stubs, left out */
} exporter;

/* The caller's progress callback when a report is due (or `last`);
 * PLAT_E_ABORT when it cancels. */
static plat_hresult report(exporter *x, int last) {
  uint64_t bytes = (uint64_t)archive_filter_bytes(x->a, -1);
  if (!x->progress || (!lay_pace_due(&x->pace, bytes) && !last)) return PLAT_S_OK;
  if (x->progress->report(x->progress->ctx, bytes, x->pace.entries))
    return lyr_fail(PLAT_E_ABORT, "export of layer %s: cancelled by the progress callback",
                    x->l->id);
  return PLAT_S_OK;
}

static int link_cmp(const void *x, const void *y) {
  const first_link *a = x, *b = y;
  if (a->dev != b->dev) return a->dev < b->dev ? -1 : 1;
  if (a->ino != b->ino) return a->ino < b->ino ? -1 : 1;
  return 0;
}

static void link_free(void *p) {
  first_link *f = p;
  free(f->name);
  free(f);
}

static plat_hresult arch_fail(exporter *x, const char *name) {
  int e = archive_errno(x->a);
  return lyr_fail(e == ENOSPC || e == EDQUOT ? PLAT_E_DISK_FULL : PLAT_E_FAIL,
                  "export of layer %s: entry \"%s\": %s", x->l->id, name,
                  archive_error_string(x->a));
}

/* The name of an earlier entry this file is a hard link of, or NULL (and
 * the file is remembered as the first of its links). */
static const char *earlier_link(exporter *x, const struct stat *st, const char *name) {
  first_link key = {st->st_dev, st->st_ino, NULL}, *f;
  void **found;
  if (!S_ISREG(st->st_mode) || st->st_nlink < 2) return NULL;
  found = tfind(&key, &x->links, link_cmp);
  if (found) return (*(first_link **)found)->name;
  f = malloc(sizeof *f);
  if (f && (f->name = strdup(name)) != NULL) {
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    if (tsearch(f, &x->links, link_cmp)) return NULL;
    free(f->name);
  }
  free(f); /* out of memory: the link is exported as a copy */
  return NULL;
}

static plat_hresult copy_data(exporter *x, const dtree_item *it) {
  uint64_t left = (uint64_t)it->st.st_size;
  int fd = dtree_open_file(it);
  if (fd < 0)
    return lyr_fail(PLAT_E_FAIL, "export of layer %s: open \"%s\": %s", x->l->id, it->name,
                    strerror(-fd));
  while (left > 0) {
    ssize_t n = read(fd, x->buf, left < DATA_CHUNK ? (size_t)left : DATA_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      close(fd);
      return lyr_fail(PLAT_E_FAIL, "export of layer %s: reading \"%s\": %s", x->l->id, it->name,
                      e ? strerror(e) : "the file shrank while it was exported");
    }
    if (archive_write_data(x->a, x->buf, (size_t)n) < 0) {
      close(fd);
      return arch_fail(x, it->name);
    }
    left -= (uint64_t)n;
    if (report(x, 0) < 0) {
      close(fd);
      return PLAT_E_ABORT;
    }
  }
  close(fd);
  x->size += (uint64_t)it->st.st_size;
  return PLAT_S_OK;
}

/* A regular empty entry `name` (whiteouts and opaque markers), with a fixed
 * mtime: an import makes its own whiteouts, so theirs says nothing, and a
 * fixed one lets export, import and export again give the same bytes. */
static plat_hresult write_marker(exporter *x, const char *name) {
  struct archive_entry *e = archive_entry_new();
  plat_hresult hr = PLAT_S_OK;
  if (!e) return lyr_fail(PLAT_E_OUTOFMEMORY, "export of layer %s: out of memory", x->l->id);
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 0);
  archive_entry_set_mtime(e, 0, 0);
  if (archive_write_header(x->a, e) < ARCHIVE_WARN) hr = arch_fail(x, name);
  archive_entry_free(e);
  return hr;
}

static plat_hresult write_item(exporter *x, const dtree_item *it) {
  struct archive_entry *e;
  const char *hl;
  plat_hresult hr = PLAT_S_OK;
  if (it->kind == DTREE_WHITEOUT || it->kind == DTREE_OPAQUE) return write_marker(x, it->tar_name);
  if (!(e = archive_entry_new()))
    return lyr_fail(PLAT_E_OUTOFMEMORY, "export of layer %s: out of memory", x->l->id);
  archive_entry_set_pathname(e, it->name);
  archive_entry_set_mode(e, it->st.st_mode);
  archive_entry_set_uid(e, it->st.st_uid);
  archive_entry_set_gid(e, it->st.st_gid);
  archive_entry_set_mtime(e, it->st.st_mtim.tv_sec, 0);
  if (S_ISCHR(it->st.st_mode) || S_ISBLK(it->st.st_mode)) archive_entry_set_rdev(e, it->st.st_rdev);
  if (S_ISLNK(it->st.st_mode)) archive_entry_set_symlink(e, it->symlink);
  for (size_t i = 0; i < it->nxattrs; i++)
    archive_entry_xattr_add_entry(e, it->xattrs[i].name, it->xattrs[i].value, it->xattrs[i].len);
  hl = earlier_link(x, &it->st, it->name);
  if (hl) {
    archive_entry_set_hardlink(e, hl);
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(it->st.st_mode)) {
    archive_entry_set_size(e, it->st.st_size);
  }
  if (archive_write_header(x->a, e) < ARCHIVE_WARN) hr = arch_fail(x, it->name);
  else if (!hl && S_ISREG(it->st.st_mode) && it->st.st_size > 0) hr = copy_data(x, it);
  if (hr >= 0 && archive_write_finish_entry(x->a) < ARCHIVE_WARN) hr = arch_fail(x, it->name);
  archive_entry_free(e);
  return hr;
}

static plat_hresult dtree_to_lyr(exporter *x, int rc, const char *why) {
  return lyr_fail(rc == -ENOMEM ? PLAT_E_OUTOFMEMORY : PLAT_E_FAIL, "export of layer %s: %s",
                  x->l->id, why);
}

/* Writes the diff in `diff` to the open file fd as a tar. */
static plat_hresult write_tar(exporter *x, const char *diff, int fd) {
  dtree *t = NULL;
  dtree_item *it;
  char why[1024];
  plat_hresult hr = PLAT_S_OK;
  int rc;
  x->a = archive_write_new();
  x->buf = malloc(DATA_CHUNK);
  if (!x->a || !x->buf) {
    hr = lyr_fail(PLAT_E_OUTOFMEMORY, "export of layer %s: out of memory", x->l->id);
    goto out;
  }
  if (archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
      archive_write_add_filter_none(x->a) != ARCHIVE_OK ||
      archive_write_open_fd(x->a, fd) != ARCHIVE_OK) {
    hr = arch_fail(x, "(archive)");
    goto out;
  }
  if ((rc = dtree_open(&t, diff, why, sizeof why)) < 0) {
    hr = dtree_to_lyr(x, rc, why);
    goto out;
  }
  while (hr >= 0 && (rc = dtree_next(t, &it, why, sizeof why)) > 0) {
    if (it->kind == DTREE_ENTRY && lyr_is_stub(x->stubs, it->name, &it->st, it->dirfd, it->base))
      continue;
    hr = write_item(x, it);
    x->pace.entries++;
    if (hr >= 0) hr = report(x, 0);
  }
  if (hr >= 0 && rc < 0) hr = dtree_to_lyr(x, rc, why);
  if (hr >= 0 && archive_write_close(x->a) != ARCHIVE_OK) hr = arch_fail(x, "(end of archive)");
  if (hr >= 0) hr = report(x, 1);
out:
  dtree_close(t);
  if (x->a) archive_write_free(x->a);
  tdestroy(x->links, link_free);
  free(x->buf);
  return hr;
}

/* The layer's diff folder: upper/ of a sandbox, rootfs/ of a read-only layer. */
void lyr_diff_dir(const lyr *l, char *out) {
  lyr_sub(l, l->meta.sandbox ? "upper" : "rootfs", out);
}

plat_hresult lyr_export_fd(lyr *l, int fd, const plat_progress *progress, uint64_t *size) {
  char diff[LYR_PATH_MAX];
  exporter x;
  plat_hresult hr;
  memset(&x, 0, sizeof x);
  x.l = l;
  x.progress = progress;
  x.stubs = lyr_stubs_read(l);
  lyr_diff_dir(l, diff);
  hr = write_tar(&x, diff, fd);
  free(x.stubs);
  if (hr >= 0 && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
    hr = lyr_fail(errno == ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_FAIL, "export of layer %s: fsync: %s",
                  l->id, strerror(errno));
  if (size) *size = x.size;
  return hr;
}

plat_hresult lay_export_tar(const plat_driver_info *info, const char *id, const char *tar_path,
                            const plat_layer_descriptor *layers, size_t count,
                            const plat_progress *progress, uint64_t *size) {
  lyr l;
  char tmp[LYR_PATH_MAX];
  plat_hresult hr;
  int fd;
  lyr_clear_error();
  if (size) *size = 0;
  if ((hr = lyr_init(&l, info, id, "export of")) < 0) return hr;
  if (!tar_path || !tar_path[0] || strlen(tar_path) > LYR_PATH_MAX - 16)
    return lyr_fail(PLAT_E_INVALIDARG, "export of layer %s: no usable tar path", id);
  /* the diff alone describes the changes; parents are checked, not read */
  if ((hr = lyr_check_parents(&l, layers, count)) < 0) return hr;
  if ((hr = lyr_open(&l, 1)) < 0) return hr;
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", tar_path);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    lyr_close(&l);
    return lyr_fail(e == ENOENT   ? PLAT_E_PATH_NOT_FOUND
                    : e == EACCES ? PLAT_E_ACCESSDENIED
                                  : PLAT_E_FAIL,
                    "export of layer %s: creating %s: %s", id, tmp, strerror(e));
  }
  hr = lyr_export_fd(&l, fd, progress, size);
  if (hr >= 0 && (fchmod(fd, 0644) < 0 || rename(tmp, tar_path) < 0))
    hr = lyr_fail(PLAT_E_FAIL, "export of layer %s: %s: %s", id, tar_path, strerror(errno));
  if (hr < 0) unlink(tmp);
  close(fd);
  lyr_close(&l);
  return hr;
}
