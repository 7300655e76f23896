/* hcsshim's wclayer LayerWriter on the Win32 layer functions:
 *   - a layer with parents is built as the legacy transport folder
 *     (hcs-api.md 7.1) in a new temp folder: Files\ files hold their 4-byte
 *     attributes and the Win32 backup stream, a directory's go to a
 *     "<dir>.$wcidirs$" sidecar, Hives\ files hold their plain data (the
 *     data records of the stream), removals become tombstones.txt; finish
 *     calls ImportLayer(info, id, folder, parents);
 *   - a base layer (no parents) is written in place in HomeDir\id with
 *     BackupWrite (security included); finish re-applies the directories'
 *     times and calls ProcessBaseImage, and ProcessUtilityImage when it has
 *     UtilityVM\Files.
 * The temp folder always goes; a base layer's folder only on failure.
 * The tar import (wcimport.c) and the layer stream functions (wcstream.c)
 * both write through it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

int wc_under(const char *name, const char *top) {
  size_t n = strlen(top);
  return strncmp(name, top, n) == 0 && (name[n] == 0 || name[n] == '\\');
}

int wc_name_ok(const char *name) {
  const char *p = name;
  for (;;) {
    size_t n = strcspn(p, "\\");
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    if (!p[n]) return 1;
    p += n + 1;
  }
}

int wc_writer_check(wc_writer *m, const char *name) {
  if (wc_under(name, "Files") || wc_under(name, "Hives")) return 0;
  if (wc_under(name, "UtilityVM")) {
    if (strcmp(name, "UtilityVM") != 0 && !wc_under(name, "UtilityVM\\Files"))
      return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: invalid UtilityVM layer", name);
    return 0;
  }
  return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: not under Files/, Hives/ or UtilityVM/", name);
}

/* ---- tombstones ---- */

int wc_writer_remove(wc_writer *m, const char *name) {
  size_t need = strlen(name) + 2;
  if (m->base)
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: a base layer cannot have tombstones", name);
  /* the utility VM is in the layer's folder already: removed there */
  if (wc_under(name, "UtilityVM\\Files") && strcmp(name, "UtilityVM\\Files") != 0 &&
      wc_name_ok(name))
    return wc_dest_uvm_remove(m, name);
  /* the name is checked again here: a whiteout's loses its ".wh." */
  if (!wc_under(name, "Files") || strcmp(name, "Files") == 0 || !wc_name_ok(name))
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: invalid tombstone", name);
  if (m->tlen + need > m->tcap) {
    size_t cap = (m->tcap + need) * 2;
    char *t = realloc(m->tombs, cap);
    if (!t) return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
    m->tombs = t;
    m->tcap = cap;
  }
  /* relative to Files, starting with "\" */
  m->tlen += (size_t)sprintf(m->tombs + m->tlen, "%s\n", name + strlen("Files"));
  return 0;
}

static int write_tombstones(wc_writer *m) {
  static const char head[] = WC_TOMBSTONES_HEAD;
  w32_sink s = {INVALID_HANDLE_VALUE, 0, NULL};
  WCHAR *p = wc_path(m->root, "tombstones.txt", NULL);
  int r;
  if (!p) return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  s.h = CreateFileW(p, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
  free(p);
  if (s.h == INVALID_HANDLE_VALUE) return wc_win_fail(&m->err, "create", "tombstones.txt");
  r = w32_sink_write(&s, head, sizeof head - 1) < 0 ||
              (m->tlen && w32_sink_write(&s, m->tombs, m->tlen) < 0)
          ? wc_win_fail(&m->err, "write", "tombstones.txt")
          : 0;
  w32_sink_close(&s);
  return r;
}

DWORD wc_backup_rights(void) {
  return GENERIC_READ | GENERIC_WRITE | WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY;
}

/* Opens where the entry's stream goes: the file itself (base; legacy
 * files), or the directory (base) / its sidecar (legacy). */
static int open_target(wc_writer *m, const char *name, int dir, w32_sink *s) {
  WCHAR *path = wc_path(m->root, name, NULL), *side = NULL;
  DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT;
  int top = !strchr(name, '\\');
  if (!path) return wc_fail(&m->err, PLAT_E_INVALIDARG, "bad entry name %s", name);
  if (dir && !CreateDirectoryW(path, NULL) && !(top && GetLastError() == ERROR_ALREADY_EXISTS)) {
    free(path);
    return wc_win_fail(&m->err, "create directory", name);
  }
  if (dir && !m->base && !(side = wc_path(m->root, name, L".$wcidirs$"))) {
    free(path);
    return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  }
  s->h =
      CreateFileW(side ? side : path, m->base ? wc_backup_rights() : GENERIC_READ | GENERIC_WRITE,
                  FILE_SHARE_READ, NULL, dir && m->base ? OPEN_EXISTING : CREATE_NEW, flags, NULL);
  free(path);
  free(side);
  if (s->h == INVALID_HANDLE_VALUE) return wc_win_fail(&m->err, "create", name);
  s->backup = m->base;
  return 0;
}

/* Files, Hives and UtilityVM themselves need no entry of their own */
static int ensure_top(wc_writer *m, const char *name) {
  char top[16];
  size_t n = strcspn(name, "\\");
  WCHAR *path;
  int r = 0;
  if (n >= sizeof top) return 0;
  memcpy(top, name, n);
  top[n] = 0;
  if (!(path = wc_path(m->root, top, NULL)))
    return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "no memory");
  if (!CreateDirectoryW(path, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    r = wc_win_fail(&m->err, "create directory", top);
  free(path);
  return r;
}

/* Creating a directory's contents changes its times: the directories
 * written in place get theirs again at the end, children first (hcsshim's
 * reapplyDirectoryTimes). */
int wc_remember_dir(wc_writer *m, const char *name, const w32_file_basic_info *fi) {
  struct wc_dir_time *v = wc_grow(&m->err, m->dirs, m->ndirs, &m->dcap, sizeof *v);
  if (!v) return -1;
  m->dirs = v;
  if (!(m->dirs[m->ndirs].name = _strdup(name)))
    return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "no memory");
  m->dirs[m->ndirs++].fi = *fi;
  return 0;
}

int wc_reapply_dir_times(wc_writer *m, const WCHAR *root, size_t from) {
  size_t i;
  for (i = m->ndirs; i-- > from;) {
    WCHAR *p = wc_path(root, m->dirs[i].name, NULL);
    HANDLE h = p ? CreateFileW(p, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL)
                 : INVALID_HANDLE_VALUE;
    int r = h == INVALID_HANDLE_VALUE || wc_set_basic_info(h, &m->dirs[i].fi) < 0 ? -1 : 0;
    if (r < 0) wc_win_fail(&m->err, "set the times of", m->dirs[i].name);
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    free(p);
    if (r < 0) return -1;
  }
  while (m->ndirs > from) free(m->dirs[--m->ndirs].name);
  return 0;
}

/* the layer's folder HomeDir\id, not made (hcsshim's destRoot) */
static WCHAR *layer_folder(wc_writer *m, const plat_driver_info *info, const char *id) {
  plat_hresult hr;
  WCHAR *home = w32_wide(info->HomeDir, "DriverInfo.HomeDir", &hr), *p;
  if (!home) {
    wc_fail(&m->err, hr, "bad HomeDir");
    return NULL;
  }
  if (!(p = wc_path(home, id, NULL))) wc_fail(&m->err, PLAT_E_INVALIDARG, "bad layer id");
  free(home);
  return p;
}

/* the base layer's folder HomeDir\id, new */
static int make_base_root(wc_writer *m, const plat_driver_info *info, const char *id) {
  if (!(m->root = layer_folder(m, info, id))) return -1;
  /* HomeDir as needed (hcsshim's ImportLayerFromTar: os.MkdirAll) */
  wc_make_parents(m->root);
  if (!CreateDirectoryW(m->root, NULL)) {
    int r = wc_win_fail(&m->err, "create layer folder", id);
    free(m->root);
    m->root = NULL;
    return r;
  }
  return 0;
}

plat_hresult wc_process_uvm(const WCHAR *root) {
  WCHAR *p = wc_path(root, "UtilityVM", NULL);
  char *uvm = p ? w32_utf8(p) : NULL;
  plat_hresult hr = uvm ? plat_ProcessUtilityImage(uvm) : PLAT_E_OUTOFMEMORY;
  free(p);
  free(uvm);
  return hr;
}

static plat_hresult base_done(wc_writer *m) {
  char *root = w32_utf8(m->root);
  plat_hresult hr = root ? plat_ProcessBaseImage(root) : PLAT_E_OUTOFMEMORY;
  if (hr >= 0 && m->uvm) hr = wc_process_uvm(m->root);
  if (hr < 0) wc_fail_last(&m->err, hr, "processing failed");
  free(root);
  return hr;
}

/* Names are Windows-form paths relative to the layer ("Files\\a\\b"):
 * no empty, "." or ".." component, no "/" or ":". */
int wc_writer_check_name(wc_writer *m, const char *name) {
  if (strpbrk(name, "/:") || !wc_name_ok(name))
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "bad name %s", name);
  return wc_writer_check(m, name);
}

int wc_writer_open(wc_writer *m, const plat_driver_info *info, const char *id,
                   const plat_layer_descriptor *parents, size_t count) {
  memset(m, 0, sizeof *m);
  m->cur.h = INVALID_HANDLE_VALUE;
  m->base = count == 0;
  if (m->base) return make_base_root(m, info, id);
  m->parents = parents;
  m->nparents = count;
  if (!(m->dest = layer_folder(m, info, id))) return -1;
  if (!(m->root = wc_temp_folder())) return wc_win_fail(&m->err, "create", "the import folder");
  return 0;
}

static void close_current(wc_writer *m) {
  w32_sink_close(&m->cur);
  m->discard = m->plain = 0;
  m->hd_got = 0;
  m->name_left = m->data_left = 0;
}

/* a utility VM entry of a layer with parents, written in its folder */
static int add_uvm(wc_writer *m, const char *name, int dir, const w32_file_basic_info *fi) {
  if (strcmp(name, "UtilityVM") == 0) {
    m->discard = 1; /* as hcsshim: the folder only, its clone made now */
    return wc_dest_uvm_init(m);
  }
  if (!m->uvm)
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: missing UtilityVM directory before it", name);
  if (wc_dest_uvm_open(m, name, dir, &m->cur) < 0) return -1;
  if (wc_set_basic_info(m->cur.h, fi) < 0)
    return wc_win_fail(&m->err, "set file information of", name);
  return dir ? wc_remember_dir(m, name, fi) : 0;
}

int wc_writer_add(wc_writer *m, const char *name, const w32_file_basic_info *fi) {
  int dir = (fi->FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  w32_file_basic_info stripped = *fi;
  close_current(m);
  if (m->err.hr < 0) return -1;
  if (!m->base && wc_under(name, "UtilityVM")) return add_uvm(m, name, dir, fi);
  if (ensure_top(m, name) < 0) return -1;
  /* the legacy folder's top directories carry nothing (hcsshim's reader
   * takes their times from Hives\\System_Delta) */
  if (!m->base && dir && !strchr(name, '\\')) {
    m->discard = 1;
    return 0;
  }
  if (open_target(m, name, dir, &m->cur) < 0) return -1;
  m->plain = !m->base && wc_under(name, "Hives");
  /* the legacy folder keeps the attributes in the stream's prefix */
  if (!m->base) stripped.FileAttributes = 0;
  if (wc_set_basic_info(m->cur.h, &stripped) < 0)
    return wc_win_fail(&m->err, "set file information of", name);
  if (!m->base && !m->plain && w32_sink_write(&m->cur, &fi->FileAttributes, 4) < 0)
    return wc_win_fail(&m->err, "write", name);
  if (m->base && wc_under(name, "UtilityVM\\Files")) m->uvm = 1;
  if (dir) return wc_remember_dir(m, name, fi);
  return 0;
}

/* A hive's stream written to a legacy folder keeps only its data records
 * (BackupWrite without security, as hcsshim's legacy writer does). */
static int hive_bytes(wc_writer *m, const BYTE *p, size_t n) {
  while (n > 0) {
    size_t take;
    if (m->data_left == 0 && m->name_left == 0 && m->hd_got < W32_BS_HEADER) {
      take = W32_BS_HEADER - m->hd_got < n ? W32_BS_HEADER - m->hd_got : n;
      memcpy(m->hd + m->hd_got, p, take);
      m->hd_got += take;
      if (m->hd_got == W32_BS_HEADER) {
        w32_bs_rec r;
        w32_bs_unpack(m->hd, &r);
        m->data_left = r.size;
        m->name_left = r.name_bytes;
        m->hd_got = m->data_left || m->name_left ? W32_BS_HEADER : 0;
      }
    } else if (m->name_left > 0) {
      take = m->name_left < n ? (size_t)m->name_left : n;
      m->name_left -= take;
    } else {
      take = m->data_left < n ? (size_t)m->data_left : n;
      if (w32_get32(m->hd) == W32_BACKUP_DATA && w32_sink_write(&m->cur, p, take) < 0)
        return wc_win_fail(&m->err, "write", "a hive");
      m->data_left -= take;
      if (m->data_left == 0) m->hd_got = 0;
    }
    p += take;
    n -= take;
  }
  return 0;
}

int wc_writer_write(wc_writer *m, const void *p, size_t n) {
  if (m->err.hr < 0) return -1;
  if (m->discard) return 0;
  if (m->cur.h == INVALID_HANDLE_VALUE)
    return wc_fail(&m->err, PLAT_E_INVALID_HANDLE, "data with no file added");
  if (m->plain) return hive_bytes(m, (const BYTE *)p, n);
  if (w32_sink_write(&m->cur, p, n) < 0)
    return wc_win_fail(&m->err, WC_WRITE_WHAT(&m->cur), "the file");
  return 0;
}

int wc_writer_link(wc_writer *m, const char *name, const char *target) {
  WCHAR *from, *to;
  int r = 0;
  close_current(m);
  if (m->err.hr < 0) return -1;
  if (!m->base) return wc_dest_link(m, name, target);
  if (!(wc_under(name, "Files") || wc_under(name, "UtilityVM\\Files")) ||
      !(wc_under(target, "Files") || wc_under(target, "UtilityVM\\Files")))
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "%s: invalid hard link to %s", name, target);
  from = wc_path(m->root, name, NULL);
  to = wc_path(m->root, target, NULL);
  if (!from || !to) r = wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  else if (!CreateHardLinkW(from, to, NULL)) r = wc_win_fail(&m->err, "link", name);
  free(from);
  free(to);
  return r;
}

plat_hresult wc_writer_finish(wc_writer *m, const plat_driver_info *info, const char *id,
                              const plat_layer_descriptor *layers, size_t count) {
  close_current(m);
  if (m->err.hr < 0) return m->err.hr;
  if (m->base) {
    if (wc_reapply_dir_times(m, m->root, 0) == 0) base_done(m);
  } else if (write_tombstones(m) == 0) {
    char *folder = w32_utf8(m->root);
    plat_hresult hr =
        folder ? plat_ImportLayer(info, id, folder, layers, count) : PLAT_E_OUTOFMEMORY;
    if (hr < 0) wc_fail_last(&m->err, hr, "ImportLayer failed");
    /* what ImportLayer made goes again when the rest fails */
    else if (wc_dest_finish(m) < 0) plat_DestroyLayer(info, id);
    free(folder);
  }
  if (m->err.hr >= 0) m->done = 1;
  return m->err.hr < 0 ? m->err.hr : PLAT_S_OK;
}

void wc_writer_free(wc_writer *m) {
  close_current(m);
  if (m->root && (!m->base || !m->done)) wc_remove_tree(m->root);
  free(m->root);
  free(m->tombs);
  while (m->ndirs > 0) free(m->dirs[--m->ndirs].name);
  free(m->dirs);
  wc_dest_free(m);
  m->root = NULL;
  m->tombs = NULL;
  m->dirs = NULL;
}
