/* Importing a Windows layer tar (hcsshim's ociwclayer.ImportLayerFromTar),
 * read with libarchive and written through wcwriter.c's LayerWriter (the
 * legacy folder + ImportLayer, or a base layer in place + ProcessBaseImage).
 * Each entry becomes the Win32 backup stream go-winio's backuptar makes of
 * it: security descriptor (MSWINDOWS.rawsd or .sd), EAs (MSWINDOWS.xattr.*),
 * reparse data (a symlink; MSWINDOWS.mountpoint: a junction), the data, and
 * the alternate data streams, the "<name>:<stream>" entries that follow it.
 * ".wh.<name>" entries are tombstones, ".wh..wh..opq" (an opaque
 * directory, which Windows layers do not have) is refused; hard links are
 * made in place (base layers) or after ImportLayer (wcdest.c).
 * Entry names must lie under Files/, Hives/ or UtilityVM/;
 * "..", absolute names and backslashes are refused, naming the entry, and
 * a failed import leaves nothing. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

#define NAME_MAX_ 1024

typedef struct imp {
  struct archive *a;
  struct archive_entry *e; /* the entry at hand; NULL at the end */
  wc_writer w;
  wc_progress progress;
} imp;

static int next_header(imp *m) {
  int r = archive_read_next_header(m->a, &m->e);
  if (r == ARCHIVE_EOF) {
    m->e = NULL;
    return 0;
  }
  if (r < ARCHIVE_WARN) {
    m->e = NULL;
    return wc_fail(&m->w.err, PLAT_E_INVALID_DATA, "corrupt layer tar: %s",
                   archive_error_string(m->a) ? archive_error_string(m->a) : "unknown error");
  }
  return 0;
}

static const char *entry_name(struct archive_entry *e) {
  const char *n = archive_entry_pathname_utf8(e);
  return n ? n : archive_entry_pathname(e);
}

/* "./Files/a/" -> "Files\a"; -1 for names that could leave the layer */
static int clean_name(imp *m, const char *raw, char *out) {
  const char *p = raw;
  size_t n, i;
  while (p[0] == '.' && p[1] == '/') p += 2;
  n = strlen(p);
  while (n > 0 && p[n - 1] == '/') n--;
  if (n == 0 || n >= NAME_MAX_ || p[0] == '/' || memchr(p, '\\', n))
    return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "bad entry name %s", raw);
  for (i = 0; i < n; i++) out[i] = p[i] == '/' ? '\\' : p[i];
  out[n] = 0;
  if (!wc_name_ok(out)) return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "bad entry name %s", raw);
  return 0;
}

/* ---- one file's backup stream ---- */

static int meta_records(imp *m, w32_sink *s, wc_meta *md, const char *name) {
  struct archive_entry *e = m->e;
  if (md->sd && w32_bs_record(s, W32_BACKUP_SECURITY_DATA, md->sd, md->sd_len) < 0)
    return wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), name);
  if (md->n_eas) {
    size_t len = 0;
    BYTE *ea = w32_ea_encode(md->eas, md->n_eas, &len);
    int r;
    if (!ea)
      return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: an EA name or value is too long", name);
    r = w32_bs_record(s, W32_BACKUP_EA_DATA, ea, len);
    free(ea);
    if (r < 0) return wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), name);
  }
  if (archive_entry_filetype(e) == AE_IFLNK) {
    const char *t = archive_entry_symlink_utf8(e);
    char target[NAME_MAX_];
    size_t len = 0, i;
    plat_hresult hr;
    WCHAR *wt;
    BYTE *rp;
    int r;
    if (!t || strlen(t) >= sizeof target)
      return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: bad link", name);
    for (i = 0; t[i]; i++) target[i] = t[i] == '/' ? '\\' : t[i];
    target[i] = 0;
    if (!(wt = w32_wide(target, "link target", &hr)))
      return wc_fail(&m->w.err, hr, "%s: bad link", name);
    rp = w32_reparse_encode(wt, md->mount_point, &len);
    free(wt);
    if (!rp) return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: link target too long", name);
    r = w32_bs_record(s, W32_BACKUP_REPARSE_DATA, rp, len);
    free(rp);
    if (r < 0) return wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), name);
  }
  return 0;
}

/* the entry's data, as it comes from libarchive (and to copy too, when
 * that is not INVALID_HANDLE_VALUE) */
static int copy_data(imp *m, w32_sink *s, int64_t size, const char *name, HANDLE copy) {
  char buf[65536];
  int64_t done = 0;
  la_ssize_t n;
  while ((n = archive_read_data(m->a, buf, sizeof buf)) > 0) {
    DWORD put = 0;
    if (w32_sink_write(s, buf, (size_t)n) < 0)
      return wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), name);
    if (copy != INVALID_HANDLE_VALUE &&
        (!WriteFile(copy, buf, (DWORD)n, &put, NULL) || put != (DWORD)n))
      return wc_win_fail(&m->w.err, "write the backup copy of", name);
    done += n;
  }
  if (n < 0)
    return wc_fail(&m->w.err, PLAT_E_INVALID_DATA, "%s: %s", name, archive_error_string(m->a));
  if (done != size) return wc_fail(&m->w.err, PLAT_E_INVALID_DATA, "%s: truncated data", name);
  return 0;
}

/* Alternate data streams: the entries "<name>:<stream>" that follow the
 * file, as BACKUP_ALTERNATE_DATA records named ":<stream>:$DATA". */
static int alternate_streams(imp *m, w32_sink *s, const char *name, int plain) {
  char ads[NAME_MAX_ + sizeof ":$DATA"]; /* a name and the suffix added below */
  size_t n = strlen(name);
  for (;;) {
    WCHAR *wn;
    plat_hresult hr;
    int64_t size;
    int r;
    if (next_header(m) < 0 || !m->e) return m->w.err.hr < 0 ? -1 : 0;
    if (archive_entry_filetype(m->e) != AE_IFREG) return 0;
    if (clean_name(m, entry_name(m->e), ads) < 0) return -1;
    if (strncmp(ads, name, n) != 0 || ads[n] != ':') return 0;
    if (plain) return wc_fail(&m->w.err, PLAT_E_NOT_SUPPORTED, "%s: a stream on a hive", ads);
    if (strchr(ads + n + 1, ':') || strchr(ads + n + 1, '\\') || !ads[n + 1])
      return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: bad stream name", ads);
    strcat(ads, ":$DATA");
    if (!(wn = w32_wide(ads + n, "stream name", &hr)))
      return wc_fail(&m->w.err, hr, "%s: bad name", ads);
    size = archive_entry_size(m->e);
    r = w32_bs_header(s, W32_BACKUP_ALTERNATE_DATA, 0, (uint64_t)size, wn);
    free(wn);
    if (r < 0) return wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), ads);
    if (copy_data(m, s, size, ads, INVALID_HANDLE_VALUE) < 0) return -1;
  }
}

/* ---- adding a file or directory ---- */

/* ociwclayer keeps the utility VM's BCD files, which ProcessUtilityImage
 * changes, as they came: bcd.bak, bcd.log.bak, ... in the layer's folder;
 * INVALID_HANDLE_VALUE for other names (or after a failure) */
static HANDLE bcd_copy(imp *m, const char *name) {
  const char *bak = wc_bcd_copy_name(name);
  WCHAR *p = bak ? wc_path(m->w.base ? m->w.root : m->w.dest, bak, NULL) : NULL;
  HANDLE h =
      p ? CreateFileW(p, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL) : INVALID_HANDLE_VALUE;
  free(p);
  if (bak && h == INVALID_HANDLE_VALUE) wc_win_fail(&m->w.err, "create", bak);
  return h;
}

/* the data record and the data (the BCD files copied as they come) */
static int data_of(imp *m, w32_sink *s, int64_t size, const char *name) {
  HANDLE copy = bcd_copy(m, name);
  int r;
  if (m->w.err.hr < 0) return -1;
  r = !m->w.plain && w32_bs_header(s, W32_BACKUP_DATA, 0, (uint64_t)size, NULL) < 0
          ? wc_win_fail(&m->w.err, WC_WRITE_WHAT(s), name)
          : copy_data(m, s, size, name, copy);
  if (copy != INVALID_HANDLE_VALUE) CloseHandle(copy);
  return r;
}

static int add_entry(imp *m, const char *name) {
  struct archive_entry *e = m->e;
  int64_t size = archive_entry_filetype(e) == AE_IFREG ? archive_entry_size(e) : 0;
  w32_sink *s = &m->w.cur;
  wc_meta md;
  int r = -1;
  if (wc_meta_read(&md, e) < 0) {
    wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: %s", name, md.why);
    goto out;
  }
  if (wc_writer_add(&m->w, name, &md.info) < 0) goto out;
  if (m->w.discard) {
    r = next_header(m);
    goto out;
  }
  if (!m->w.plain && meta_records(m, s, &md, name) < 0) goto out;
  if (archive_entry_filetype(e) == AE_IFREG) {
    if (data_of(m, s, size, name) < 0) goto out;
    m->w.size += (uint64_t)size;
  }
  r = alternate_streams(m, s, name, m->w.plain);
out:
  wc_meta_free(&md);
  return r;
}

static int hard_link(imp *m, const char *name) {
  char target[NAME_MAX_];
  const char *raw = archive_entry_hardlink_utf8(m->e);
  if (clean_name(m, raw ? raw : archive_entry_hardlink(m->e), target) < 0) return -1;
  return wc_writer_link(&m->w, name, target) < 0 ? -1 : next_header(m);
}

/* one entry (and the streams that follow it); leaves m->e at the next */
static int one_entry(imp *m) {
  char name[NAME_MAX_], *base;
  unsigned type = archive_entry_filetype(m->e);
  if (clean_name(m, entry_name(m->e), name) < 0 || wc_writer_check(&m->w, name) < 0) return -1;
  base = strrchr(name, '\\');
  base = base ? base + 1 : name;
  if (strncmp(base, ".wh.", 4) == 0) {
    /* hcsshim's ociwclayer has no opaque directories either: it would take
     * the marker for the tombstone of a file ".wh..opq" and keep the
     * parent's contents of the directory */
    if (strcmp(base, ".wh..wh..opq") == 0)
      return wc_fail(&m->w.err, PLAT_E_NOT_SUPPORTED,
                     "%s: an opaque directory whiteout; Windows layers have no opaque directories "
                     "(hcsshim's ociwclayer does not support them either)",
                     name);
    memmove(base, base + 4, strlen(base + 4) + 1);
    return wc_writer_remove(&m->w, name) < 0 ? -1 : next_header(m);
  }
  if (strchr(base, ':'))
    return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: an alternate data stream without its file",
                   name);
  if (archive_entry_hardlink(m->e)) return hard_link(m, name);
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
    return wc_fail(&m->w.err, PLAT_E_INVALIDARG, "%s: not a file, directory or link", name);
  return add_entry(m, name);
}

/* ---- the whole import ---- */

static int report(imp *m, int last) {
  return wc_report(&m->progress, &m->w.err, (uint64_t)archive_filter_bytes(m->a, -1), last);
}

static int read_all(imp *m, const char *tar_path) {
  plat_hresult hr;
  WCHAR *wt = w32_wide(tar_path, "tar path", &hr);
  if (!wt) return wc_fail(&m->w.err, hr, "bad tar path");
  if (!(m->a = archive_read_new())) {
    free(wt);
    return wc_fail(&m->w.err, PLAT_E_OUTOFMEMORY, "not enough memory");
  }
  archive_read_support_format_tar(m->a);
  archive_read_support_filter_gzip(m->a);
  if (archive_read_open_filename_w(m->a, wt, 65536) != ARCHIVE_OK) {
    free(wt);
    return wc_fail(&m->w.err, (plat_hresult)HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "%s: %s",
                   tar_path, archive_error_string(m->a));
  }
  free(wt);
  if (next_header(m) < 0) return -1;
  while (m->e) {
    if (one_entry(m) < 0) return -1;
    m->progress.entries++;
    if (report(m, 0) < 0) return -1;
  }
  return m->w.err.hr < 0 || report(m, 1) < 0 ? -1 : 0;
}

plat_hresult plat_ImportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count,
                                 const plat_progress *progress, uint64_t *size, char **result) {
  imp m;
  memset(&m, 0, sizeof m);
  m.progress.p = progress;
  *size = 0;
  *result = NULL;
  if (wc_writer_open(&m.w, info, id, layers, count) == 0 && read_all(&m, tar_path) == 0)
    wc_writer_finish(&m.w, info, id, layers, count);
  if (m.a) archive_read_free(m.a);
  wc_writer_free(&m.w);
  if (m.w.err.hr < 0) *result = w32_result_doc(m.w.err.hr, m.w.err.msg);
  else *size = m.w.size;
  return wc_done(&m.w.err);
}
