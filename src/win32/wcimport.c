/* Importing a Windows layer tar (hcsshim's ociwclayer.ImportLayerFromTar
 * over wclayer's LayerWriter), read with libarchive:
 *   - a layer with parents is built as the legacy transport folder
 *     (hcs-api.md 7.1) in a new temp folder: Files\ entries hold their
 *     4-byte attributes and a Win32 backup stream (security descriptor,
 *     EAs, reparse data, data, alternate data streams), a directory a
 *     "<dir>.$wcidirs$" sidecar, Hives\ files their plain data, whiteouts
 *     become tombstones.txt; then ImportLayer(info, id, folder, parents),
 *     and the folder is removed;
 *   - a base layer (no parents) is written in place in HomeDir\id with
 *     BackupWrite (security included) and finished with ProcessBaseImage,
 *     and ProcessUtilityImage when it has UtilityVM\Files.
 * Entry names must lie under Files/, Hives/ or (base layers) UtilityVM/;
 * "..", absolute names and backslashes are refused, naming the entry.
 * Failure leaves nothing: the temp folder, or the base layer's folder we
 * made, is removed. */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

#define NAME_MAX_ 1024

struct dir_time {
  char *name;
  w32_file_basic_info fi;
};

typedef struct imp {
  struct archive *a;
  struct archive_entry *e; /* the entry at hand; NULL at the end */
  WCHAR *root;
  int base, uvm;
  char *tombs; /* tombstones.txt lines */
  size_t tlen, tcap;
  struct dir_time *dirs; /* base layers: directory times to apply last */
  size_t ndirs, dcap;
  uint64_t size;
  plat_hresult hr;
  char msg[700];
} imp;

static int fail(imp *m, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  if (m->hr < 0) return -1; /* the first failure is the one reported */
  m->hr = hr;
  va_start(ap, fmt);
  vsnprintf(m->msg, sizeof m->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* a Win32 call failed for entry `name` */
static int win_fail(imp *m, const char *what, const char *name) {
  plat_hresult hr = (plat_hresult)HRESULT_FROM_WIN32(GetLastError());
  w32_set_error_hr(hr);
  return fail(m, hr, "%s %s: %s", what, name, plat_last_error() ? plat_last_error() : "failed");
}

/* what failed when a sink's write did */
#define WRITE_WHAT(s) ((s)->backup ? "BackupWrite" : "write")

static int next_header(imp *m) {
  int r = archive_read_next_header(m->a, &m->e);
  if (r == ARCHIVE_EOF) {
    m->e = NULL;
    return 0;
  }
  if (r < ARCHIVE_WARN) {
    m->e = NULL;
    return fail(m, PLAT_E_INVALID_DATA, "corrupt layer tar: %s",
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
  size_t n, i, start;
  while (p[0] == '.' && p[1] == '/') p += 2;
  n = strlen(p);
  while (n > 0 && p[n - 1] == '/') n--;
  if (n == 0 || n >= NAME_MAX_ || p[0] == '/' || memchr(p, '\\', n))
    return fail(m, PLAT_E_INVALIDARG, "bad entry name %s", raw);
  for (i = start = 0; i <= n; i++) {
    if (i < n && p[i] != '/') {
      out[i] = p[i];
      continue;
    }
    /* a component ends: "", "." and ".." are refused */
    if (i == start || (i - start == 1 && p[start] == '.') ||
        (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
      return fail(m, PLAT_E_INVALIDARG, "bad entry name %s", raw);
    out[i] = i < n ? '\\' : 0;
    start = i + 1;
  }
  return 0;
}

static int under(const char *name, const char *top) {
  size_t n = strlen(top);
  return strncmp(name, top, n) == 0 && (name[n] == 0 || name[n] == '\\');
}

static int check_place(imp *m, const char *name) {
  if (under(name, "Files") || under(name, "Hives")) return 0;
  if (under(name, "UtilityVM")) {
    if (!m->base)
      return fail(m, PLAT_E_NOT_SUPPORTED,
                  "%s: a utility VM image in a layer with parents is not supported", name);
    if (strcmp(name, "UtilityVM") != 0 && !under(name, "UtilityVM\\Files"))
      return fail(m, PLAT_E_INVALIDARG, "%s: invalid UtilityVM layer", name);
    return 0;
  }
  return fail(m, PLAT_E_INVALIDARG, "%s: not under Files/, Hives/ or UtilityVM/", name);
}

/* ---- tombstones ---- */

static int tombstone(imp *m, const char *name) {
  size_t need = strlen(name) + 2;
  if (m->base) return fail(m, PLAT_E_INVALIDARG, "%s: a base layer cannot have tombstones", name);
  if (!under(name, "Files") || strcmp(name, "Files") == 0)
    return fail(m, PLAT_E_INVALIDARG, "%s: invalid tombstone", name);
  if (m->tlen + need > m->tcap) {
    size_t cap = (m->tcap + need) * 2;
    char *t = realloc(m->tombs, cap);
    if (!t) return fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
    m->tombs = t;
    m->tcap = cap;
  }
  /* relative to Files, starting with "\" */
  m->tlen += (size_t)sprintf(m->tombs + m->tlen, "%s\n", name + strlen("Files"));
  return 0;
}

static int write_tombstones(imp *m) {
  static const char head[] = "\xef\xbb\xbfVersion 1.0\n";
  w32_sink s = {INVALID_HANDLE_VALUE, 0, NULL};
  WCHAR *p = wc_path(m->root, "tombstones.txt", NULL);
  int r;
  if (!p) return fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
  s.h = CreateFileW(p, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
  free(p);
  if (s.h == INVALID_HANDLE_VALUE) return win_fail(m, "create", "tombstones.txt");
  r = w32_sink_write(&s, head, sizeof head - 1) < 0 ||
              (m->tlen && w32_sink_write(&s, m->tombs, m->tlen) < 0)
          ? win_fail(m, "write", "tombstones.txt")
          : 0;
  w32_sink_close(&s);
  return r;
}

/* ---- one file's backup stream ---- */

static int meta_records(imp *m, w32_sink *s, wc_meta *md, const char *name) {
  struct archive_entry *e = m->e;
  if (md->sd && w32_bs_record(s, W32_BACKUP_SECURITY_DATA, md->sd, md->sd_len) < 0)
    return win_fail(m, WRITE_WHAT(s), name);
  if (md->n_eas) {
    size_t len = 0;
    BYTE *ea = w32_ea_encode(md->eas, md->n_eas, &len);
    int r;
    if (!ea) return fail(m, PLAT_E_INVALIDARG, "%s: an EA name or value is too long", name);
    r = w32_bs_record(s, W32_BACKUP_EA_DATA, ea, len);
    free(ea);
    if (r < 0) return win_fail(m, WRITE_WHAT(s), name);
  }
  if (archive_entry_filetype(e) == AE_IFLNK) {
    const char *t = archive_entry_symlink_utf8(e);
    char target[NAME_MAX_];
    size_t len = 0, i;
    plat_hresult hr;
    WCHAR *wt;
    BYTE *rp;
    int r;
    if (!t || strlen(t) >= sizeof target) return fail(m, PLAT_E_INVALIDARG, "%s: bad link", name);
    for (i = 0; t[i]; i++) target[i] = t[i] == '/' ? '\\' : t[i];
    target[i] = 0;
    if (!(wt = w32_wide(target, "link target", &hr))) return fail(m, hr, "%s: bad link", name);
    rp = w32_reparse_encode(wt, md->mount_point, &len);
    free(wt);
    if (!rp) return fail(m, PLAT_E_INVALIDARG, "%s: link target too long", name);
    r = w32_bs_record(s, W32_BACKUP_REPARSE_DATA, rp, len);
    free(rp);
    if (r < 0) return win_fail(m, WRITE_WHAT(s), name);
  }
  return 0;
}

/* the entry's data, as it comes from libarchive */
static int copy_data(imp *m, w32_sink *s, int64_t size, const char *name) {
  char buf[65536];
  int64_t done = 0;
  la_ssize_t n;
  while ((n = archive_read_data(m->a, buf, sizeof buf)) > 0) {
    if (w32_sink_write(s, buf, (size_t)n) < 0) return win_fail(m, WRITE_WHAT(s), name);
    done += n;
  }
  if (n < 0) return fail(m, PLAT_E_INVALID_DATA, "%s: %s", name, archive_error_string(m->a));
  if (done != size) return fail(m, PLAT_E_INVALID_DATA, "%s: truncated data", name);
  return 0;
}

/* Alternate data streams: the entries "<name>:<stream>" that follow the
 * file, as BACKUP_ALTERNATE_DATA records named ":<stream>:$DATA". */
static int alternate_streams(imp *m, w32_sink *s, const char *name, int plain) {
  char ads[NAME_MAX_];
  size_t n = strlen(name);
  for (;;) {
    WCHAR *wn;
    plat_hresult hr;
    int64_t size;
    int r;
    if (next_header(m) < 0 || !m->e) return m->hr < 0 ? -1 : 0;
    if (archive_entry_filetype(m->e) != AE_IFREG) return 0;
    if (clean_name(m, entry_name(m->e), ads) < 0) return -1;
    if (strncmp(ads, name, n) != 0 || ads[n] != ':') return 0;
    if (plain) return fail(m, PLAT_E_NOT_SUPPORTED, "%s: a stream on a hive", ads);
    if (strchr(ads + n + 1, ':') || strchr(ads + n + 1, '\\') || !ads[n + 1])
      return fail(m, PLAT_E_INVALIDARG, "%s: bad stream name", ads);
    strcat(ads, ":$DATA");
    if (!(wn = w32_wide(ads + n, "stream name", &hr))) return fail(m, hr, "%s: bad name", ads);
    size = archive_entry_size(m->e);
    r = w32_bs_header(s, W32_BACKUP_ALTERNATE_DATA, 0, (uint64_t)size, wn);
    free(wn);
    if (r < 0) return win_fail(m, WRITE_WHAT(s), ads);
    if (copy_data(m, s, size, ads) < 0) return -1;
  }
}

/* ---- adding a file or directory ---- */

static DWORD rights(int base) {
  return base ? GENERIC_READ | GENERIC_WRITE | WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY
              : GENERIC_READ | GENERIC_WRITE;
}

/* Opens where the entry's stream goes: the file itself (base; legacy
 * files), or the directory (base) / its sidecar (legacy). */
static int open_target(imp *m, const char *name, int dir, w32_sink *s) {
  WCHAR *path = wc_path(m->root, name, NULL), *side = NULL;
  DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT;
  int top = !strchr(name, '\\');
  if (!path) return fail(m, PLAT_E_INVALIDARG, "bad entry name %s", name);
  if (dir && !CreateDirectoryW(path, NULL) && !(top && GetLastError() == ERROR_ALREADY_EXISTS)) {
    free(path);
    return win_fail(m, "create directory", name);
  }
  if (dir && !m->base && !(side = wc_path(m->root, name, L".$wcidirs$"))) {
    free(path);
    return fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
  }
  s->h = CreateFileW(side ? side : path, rights(m->base), FILE_SHARE_READ, NULL,
                     dir && m->base ? OPEN_EXISTING : CREATE_NEW, flags, NULL);
  free(path);
  free(side);
  if (s->h == INVALID_HANDLE_VALUE) return win_fail(m, "create", name);
  s->backup = m->base;
  return 0;
}

/* Files, Hives and UtilityVM themselves need no entry of their own */
static int ensure_top(imp *m, const char *name) {
  char top[16];
  size_t n = strcspn(name, "\\");
  WCHAR *path;
  int r = 0;
  if (n >= sizeof top) return 0;
  memcpy(top, name, n);
  top[n] = 0;
  if (!(path = wc_path(m->root, top, NULL))) return fail(m, PLAT_E_OUTOFMEMORY, "no memory");
  if (!CreateDirectoryW(path, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    r = win_fail(m, "create directory", top);
  free(path);
  return r;
}

/* Creating a directory's contents changes its times: a base layer's
 * directories get theirs again at the end, children first (hcsshim's
 * reapplyDirectoryTimes). */
static int remember_dir(imp *m, const char *name, const w32_file_basic_info *fi) {
  if (m->ndirs == m->dcap) {
    size_t cap = m->dcap * 2 + 16;
    struct dir_time *v = realloc(m->dirs, cap * sizeof *v);
    if (!v) return fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
    m->dirs = v;
    m->dcap = cap;
  }
  if (!(m->dirs[m->ndirs].name = _strdup(name))) return fail(m, PLAT_E_OUTOFMEMORY, "no memory");
  m->dirs[m->ndirs++].fi = *fi;
  return 0;
}

static int reapply_dir_times(imp *m) {
  size_t i;
  for (i = m->ndirs; i-- > 0;) {
    WCHAR *p = wc_path(m->root, m->dirs[i].name, NULL);
    HANDLE h = p ? CreateFileW(p, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL)
                 : INVALID_HANDLE_VALUE;
    int r = h == INVALID_HANDLE_VALUE || wc_set_basic_info(h, &m->dirs[i].fi) < 0 ? -1 : 0;
    free(p);
    if (r < 0) {
      win_fail(m, "set the times of", m->dirs[i].name);
      if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
      return -1;
    }
    CloseHandle(h);
  }
  return 0;
}

static int add_entry(imp *m, const char *name) {
  struct archive_entry *e = m->e;
  int dir = archive_entry_filetype(e) == AE_IFDIR;
  int hive = !m->base && under(name, "Hives");
  int64_t size = archive_entry_filetype(e) == AE_IFREG ? archive_entry_size(e) : 0;
  w32_sink s = {INVALID_HANDLE_VALUE, 0, NULL};
  wc_meta md;
  w32_file_basic_info fi;
  int r = -1;
  if (ensure_top(m, name) < 0) return -1;
  /* the legacy folder's top directories carry nothing (hcsshim's reader
   * takes their times from Hives\System_Delta) */
  if (!m->base && dir && !strchr(name, '\\')) return next_header(m);
  if (wc_meta_read(&md, e) < 0) {
    fail(m, PLAT_E_INVALIDARG, "%s: %s", name, md.why);
    goto out;
  }
  if (open_target(m, name, dir, &s) < 0) goto out;
  fi = md.info;
  if (!m->base) fi.FileAttributes = 0; /* the legacy folder keeps them in the stream */
  if (wc_set_basic_info(s.h, &fi) < 0) {
    win_fail(m, "set file information of", name);
    goto out;
  }
  if (!m->base && !hive && w32_sink_write(&s, &md.attrs, 4) < 0) {
    win_fail(m, WRITE_WHAT(&s), name);
    goto out;
  }
  if (!hive && meta_records(m, &s, &md, name) < 0) goto out;
  if (archive_entry_filetype(e) == AE_IFREG) {
    if (!hive && w32_bs_header(&s, W32_BACKUP_DATA, 0, (uint64_t)size, NULL) < 0) {
      win_fail(m, WRITE_WHAT(&s), name);
      goto out;
    }
    if (copy_data(m, &s, size, name) < 0) goto out;
    m->size += (uint64_t)size;
  }
  if (m->base && under(name, "UtilityVM\\Files")) m->uvm = 1;
  if (m->base && dir && remember_dir(m, name, &fi) < 0) goto out;
  r = alternate_streams(m, &s, name, hive);
out:
  w32_sink_close(&s);
  wc_meta_free(&md);
  return r;
}

static int hard_link(imp *m, const char *name) {
  char target[NAME_MAX_];
  WCHAR *from, *to;
  int r = 0;
  const char *raw = archive_entry_hardlink_utf8(m->e);
  if (clean_name(m, raw ? raw : archive_entry_hardlink(m->e), target) < 0) return -1;
  if (!m->base)
    return fail(m, PLAT_E_NOT_SUPPORTED, "%s: hard links in a layer with parents", name);
  if (!(under(name, "Files") || under(name, "UtilityVM\\Files")) || check_place(m, target) < 0)
    return fail(m, PLAT_E_INVALIDARG, "%s: invalid hard link to %s", name, target);
  from = wc_path(m->root, name, NULL);
  to = wc_path(m->root, target, NULL);
  if (!from || !to) r = fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
  else if (!CreateHardLinkW(from, to, NULL)) r = win_fail(m, "link", name);
  free(from);
  free(to);
  return r < 0 ? -1 : next_header(m);
}

/* one entry (and the streams that follow it); leaves m->e at the next */
static int one_entry(imp *m) {
  char name[NAME_MAX_], *base;
  unsigned type = archive_entry_filetype(m->e);
  if (clean_name(m, entry_name(m->e), name) < 0 || check_place(m, name) < 0) return -1;
  base = strrchr(name, '\\');
  base = base ? base + 1 : name;
  if (strncmp(base, ".wh.", 4) == 0) {
    if (strcmp(base, ".wh..wh..opq") == 0)
      return fail(m, PLAT_E_NOT_SUPPORTED, "%s: opaque directories in a Windows layer", name);
    memmove(base, base + 4, strlen(base + 4) + 1);
    return tombstone(m, name) < 0 ? -1 : next_header(m);
  }
  if (strchr(base, ':'))
    return fail(m, PLAT_E_INVALIDARG, "%s: an alternate data stream without its file", name);
  if (archive_entry_hardlink(m->e)) return hard_link(m, name);
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
    return fail(m, PLAT_E_INVALIDARG, "%s: not a file, directory or link", name);
  return add_entry(m, name);
}

/* ---- the whole import ---- */

static int read_all(imp *m, const char *tar_path) {
  plat_hresult hr;
  WCHAR *wt = w32_wide(tar_path, "tar path", &hr);
  if (!wt) return fail(m, hr, "bad tar path");
  if (!(m->a = archive_read_new())) {
    free(wt);
    return fail(m, PLAT_E_OUTOFMEMORY, "not enough memory");
  }
  archive_read_support_format_tar(m->a);
  archive_read_support_filter_gzip(m->a);
  if (archive_read_open_filename_w(m->a, wt, 65536) != ARCHIVE_OK) {
    free(wt);
    return fail(m, (plat_hresult)HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "%s: %s", tar_path,
                archive_error_string(m->a));
  }
  free(wt);
  if (next_header(m) < 0) return -1;
  while (m->e)
    if (one_entry(m) < 0) return -1;
  return m->hr < 0 ? -1 : 0;
}

/* the base layer's folder HomeDir\id, new */
static int make_base_root(imp *m, const plat_driver_info *info, const char *id) {
  plat_hresult hr;
  WCHAR *home = w32_wide(info->HomeDir, "DriverInfo.HomeDir", &hr);
  if (!home) return fail(m, hr, "bad HomeDir");
  m->root = wc_path(home, id, NULL);
  free(home);
  if (!m->root) return fail(m, PLAT_E_INVALIDARG, "bad layer id");
  if (!CreateDirectoryW(m->root, NULL)) {
    int r = win_fail(m, "create layer folder", id);
    free(m->root);
    m->root = NULL;
    return r;
  }
  return 0;
}

static void finish_fail(imp *m, char **result) {
  if (m->hr >= 0) fail(m, PLAT_E_FAIL, "import failed");
  if (result) *result = w32_result_doc(m->hr, m->msg);
  w32_set_error(m->msg);
}

static plat_hresult base_done(imp *m) {
  char *root = w32_utf8(m->root), *uvm = NULL;
  plat_hresult hr = root ? plat_ProcessBaseImage(root) : PLAT_E_OUTOFMEMORY;
  if (hr >= 0 && m->uvm) {
    size_t n = strlen(root) + 16;
    if ((uvm = malloc(n))) {
      snprintf(uvm, n, "%s\\UtilityVM", root);
      hr = plat_ProcessUtilityImage(uvm);
    } else {
      hr = PLAT_E_OUTOFMEMORY;
    }
  }
  if (hr < 0) fail(m, hr, "%s", plat_last_error() ? plat_last_error() : "processing failed");
  free(root);
  free(uvm);
  return hr;
}

plat_hresult plat_ImportLayerTar(const plat_driver_info *info, const char *id, const char *tar_path,
                                 const plat_layer_descriptor *layers, size_t count, uint64_t *size,
                                 char **result) {
  imp m;
  char *folder = NULL;
  plat_hresult hr;
  memset(&m, 0, sizeof m);
  *size = 0;
  *result = NULL;
  m.base = count == 0;
  if (m.base) make_base_root(&m, info, id);
  else if (!(m.root = wc_temp_folder())) win_fail(&m, "create", "the import folder");
  if (m.hr >= 0 && read_all(&m, tar_path) == 0) {
    if (m.base) {
      if (reapply_dir_times(&m) == 0) base_done(&m);
    } else if (write_tombstones(&m) == 0) {
      folder = w32_utf8(m.root);
      hr = folder ? plat_ImportLayer(info, id, folder, layers, count) : PLAT_E_OUTOFMEMORY;
      if (hr < 0) fail(&m, hr, "%s", plat_last_error() ? plat_last_error() : "ImportLayer failed");
    }
  }
  if (m.a) archive_read_free(m.a);
  /* the temp folder always goes; a base layer's only on failure */
  if (m.root && (!m.base || m.hr < 0)) wc_remove_tree(m.root);
  free(m.root);
  free(m.tombs);
  while (m.ndirs > 0) free(m.dirs[--m.ndirs].name);
  free(m.dirs);
  free(folder);
  if (m.hr < 0) {
    finish_fail(&m, result);
    return m.hr;
  }
  w32_set_error(NULL);
  *size = m.size;
  return PLAT_S_OK;
}
