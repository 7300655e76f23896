/* A layer with parents puts two things in its own folder HomeDir\id (the
 * destRoot of hcsshim's legacy layer writer) rather than in the transport
 * folder handed to ImportLayer:
 *   - hard links: checked when added (both names strictly under Files\ or
 *     UtilityVM\Files\; the target a file of this layer, added before, or
 *     of a parent, the nearest first) and made after ImportLayer, replacing
 *     whatever ImportLayer put at the name;
 *   - the utility VM: "UtilityVM" clones the first parent's
 *     UtilityVM\Files (hard links, but copies with BackupRead/BackupWrite
 *     of directories, reparse points and the BCD files, which
 *     ProcessUtilityImage changes), the layer's UtilityVM\Files entries are
 *     then written over it in place with BackupWrite, its whiteouts delete
 *     there; ProcessUtilityImage runs after ImportLayer.
 * The folder is removed when this call made it and the import fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

#define UVM_FILES "UtilityVM\\Files"

/* strictly below top ("Files\\a", not "Files"), as hcsshim's hasPathPrefix */
static int below(const char *name, const char *top) {
  return wc_under(name, top) && strcmp(name, top) != 0;
}

/* ---- hard links ---- */

static const struct wc_link *pending(const wc_writer *m, const char *name) {
  size_t i;
  for (i = 0; i < m->nlinks; i++)
    if (strcmp(m->links[i].name, name) == 0) return &m->links[i];
  return NULL;
}

/* 1 when root\name is there */
static int present(const WCHAR *root, const char *name) {
  WCHAR *p = wc_path(root, name, NULL);
  int r = p && GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES;
  free(p);
  return r;
}

/* Where the target will be after ImportLayer: this layer's folder when the
 * layer added it (a Files\ file is in the transport folder by now, a
 * utility VM file in the layer's folder, a link pending), else the first
 * parent that has it (Files\ targets only: the utility VM was cloned). */
static WCHAR *link_target(wc_writer *m, const char *target) {
  int uvm = below(target, UVM_FILES);
  size_t i;
  if (pending(m, target) || present(uvm ? m->dest : m->root, target))
    return wc_path(m->dest, target, NULL);
  for (i = 0; !uvm && i < m->nparents; i++) {
    plat_hresult hr;
    WCHAR *root = w32_wide(m->parents[i].Path, "parent layer path", &hr), *p = NULL;
    if (root && present(root, target)) p = wc_path(root, target, NULL);
    free(root);
    if (p) return p;
  }
  return NULL;
}

int wc_dest_link(wc_writer *m, const char *name, const char *target) {
  struct wc_link l, *v;
  if (!(below(name, "Files") || below(name, UVM_FILES)) ||
      !(below(target, "Files") || below(target, UVM_FILES)))
    return wc_fail(&m->err, PLAT_E_INVALIDARG,
                   "%s: invalid hard link to %s (both must lie under Files\\ or %s\\)", name,
                   target, UVM_FILES);
  if (!(v = wc_grow(&m->err, m->links, m->nlinks, &m->lcap, sizeof *v))) return -1;
  m->links = v;
  if (!(l.to = link_target(m, target)))
    return wc_fail(&m->err, (plat_hresult)HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND),
                   "%s: hard link target %s is neither in this layer nor in a parent layer", name,
                   target);
  l.from = wc_path(m->dest, name, NULL);
  l.name = _strdup(name);
  if (!l.from || !l.name) {
    free(l.to);
    free(l.from);
    free(l.name);
    return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  }
  m->links[m->nlinks++] = l;
  return 0;
}

static int make_links(wc_writer *m) {
  size_t i;
  for (i = 0; i < m->nlinks; i++) {
    const struct wc_link *l = &m->links[i];
    SetFileAttributesW(l->from, FILE_ATTRIBUTE_NORMAL);
    if (!DeleteFileW(l->from) && GetLastError() != ERROR_FILE_NOT_FOUND &&
        GetLastError() != ERROR_PATH_NOT_FOUND)
      return wc_win_fail(&m->err, "replace", l->name);
    if (!CreateHardLinkW(l->from, l->to, NULL)) return wc_win_fail(&m->err, "link", l->name);
  }
  return 0;
}

/* ---- the utility VM ---- */

/* BackupRead's whole stream of src (security included) into dst, which is
 * closed (its BackupWrite context ended first) */
static int copy_stream(wc_writer *m, HANDLE src, HANDLE dst, const char *name) {
  BYTE buf[65536];
  w32_sink s;
  void *rctx = NULL;
  DWORD got = 0;
  int r = 0;
  s.h = dst;
  s.backup = 1;
  s.ctx = NULL;
  for (;;) {
    if (!BackupRead(src, buf, sizeof buf, &got, FALSE, TRUE, &rctx)) {
      r = wc_win_fail(&m->err, "BackupRead", name);
      break;
    }
    if (got == 0) break;
    if (w32_sink_write(&s, buf, got) < 0) {
      r = wc_win_fail(&m->err, "BackupWrite", name);
      break;
    }
  }
  if (rctx) BackupRead(src, NULL, 0, &got, TRUE, TRUE, &rctx);
  w32_sink_close(&s);
  return r;
}

/* hcsshim's copyFileWithMetadata: attributes, times and backup stream */
static int copy_with_metadata(wc_writer *m, const WCHAR *src, const char *name, int dir) {
  DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT;
  HANDLE s = CreateFileW(src, GENERIC_READ | ACCESS_SYSTEM_SECURITY, FILE_SHARE_READ, NULL,
                         OPEN_EXISTING, flags, NULL),
         d = INVALID_HANDLE_VALUE;
  WCHAR *to = wc_path(m->dest, name, NULL);
  FILE_BASIC_INFO b;
  w32_file_basic_info fi;
  int r = -1;
  if (s == INVALID_HANDLE_VALUE || !GetFileInformationByHandleEx(s, FileBasicInfo, &b, sizeof b))
    wc_win_fail(&m->err, "read the parent's", name);
  else if (!to || (dir && !CreateDirectoryW(to, NULL)))
    wc_win_fail(&m->err, "create directory", name);
  else if ((d = CreateFileW(to, wc_backup_rights(), FILE_SHARE_READ, NULL,
                            dir ? OPEN_EXISTING : CREATE_NEW, flags, NULL)) == INVALID_HANDLE_VALUE)
    wc_win_fail(&m->err, "create", name);
  if (d != INVALID_HANDLE_VALUE) {
    fi.CreationTime = b.CreationTime;
    fi.LastAccessTime = b.LastAccessTime;
    fi.LastWriteTime = b.LastWriteTime;
    fi.ChangeTime = b.ChangeTime;
    fi.FileAttributes = b.FileAttributes;
    if (wc_set_basic_info(d, &fi) < 0) {
      wc_win_fail(&m->err, "set file information of", name);
      CloseHandle(d);
    } else if (copy_stream(m, s, d, name) == 0) {
      r = dir ? wc_remember_dir(m, name, &fi) : 0;
    }
  }
  if (s != INVALID_HANDLE_VALUE) CloseHandle(s);
  free(to);
  return r;
}

const char *wc_bcd_copy_name(const char *name) {
  static const char *const bcd[][2] = {{"BCD", "bcd.bak"},
                                       {"BCD.LOG", "bcd.log.bak"},
                                       {"BCD.LOG1", "bcd.log1.bak"},
                                       {"BCD.LOG2", "bcd.log2.bak"}};
  static const char boot[] = UVM_FILES "\\EFI\\Microsoft\\Boot\\";
  size_t i;
  if (strncmp(name, boot, sizeof boot - 1) != 0) return NULL;
  for (i = 0; i < sizeof bcd / sizeof bcd[0]; i++)
    if (strcmp(name + sizeof boot - 1, bcd[i][0]) == 0) return bcd[i][1];
  return NULL;
}

/* one entry of the parent's UtilityVM\Files (rel: below it, "" for itself) */
static int clone_one(wc_writer *m, const WCHAR *src, const char *rel, DWORD attrs) {
  size_t n = sizeof UVM_FILES + 1 + strlen(rel);
  char *name = malloc(n); /* never cut short: a deep parent tree's names are long */
  int dir = (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0, r;
  WCHAR *to = NULL;
  if (!name) return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  snprintf(name, n, "%s%s%s", UVM_FILES, *rel ? "\\" : "", rel);
  /* the BCD files ProcessUtilityImage changes: copied, never linked */
  if (dir || (attrs & FILE_ATTRIBUTE_REPARSE_POINT) || wc_bcd_copy_name(name))
    r = copy_with_metadata(m, src, name, dir);
  else if (!(to = wc_path(m->dest, name, NULL)))
    r = wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  else r = CreateHardLinkW(to, src, NULL) ? 0 : wc_win_fail(&m->err, "link the parent's", name);
  free(to);
  free(name);
  return r;
}

/* hcsshim's cloneTree of parents[0]\UtilityVM\Files */
static int clone_parent_uvm(wc_writer *m) {
  plat_hresult hr;
  WCHAR *root = w32_wide(m->parents[0].Path, "parent layer path", &hr), *src = NULL;
  size_t from = m->ndirs, i;
  wc_tree t = {NULL, 0, 0};
  DWORD a;
  int r = -1;
  if (root) src = wc_path(root, UVM_FILES, NULL);
  a = src ? GetFileAttributesW(src) : INVALID_FILE_ATTRIBUTES;
  if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY) ||
      (a & FILE_ATTRIBUTE_REPARSE_POINT))
    wc_fail(&m->err, PLAT_E_INVALIDARG, "UtilityVM: the first parent layer %s has no %s folder",
            m->parents[0].Path, UVM_FILES);
  else if (wc_walk(src, &t) < 0) wc_win_fail(&m->err, "read the parent's", UVM_FILES);
  else if (clone_one(m, src, "", a) == 0) {
    for (i = 0; i < t.n && m->err.hr >= 0; i++) clone_one(m, t.v[i].path, t.v[i].rel, t.v[i].attrs);
    if (m->err.hr >= 0) r = wc_reapply_dir_times(m, m->dest, from);
  }
  wc_tree_free(&t);
  free(root);
  free(src);
  return r;
}

int wc_dest_uvm_init(wc_writer *m) {
  WCHAR *uvm;
  int r;
  if (m->uvm) return 0;
  if (m->nparents == 0) return wc_fail(&m->err, PLAT_E_INVALIDARG, "UtilityVM: no parent layer");
  wc_make_parents(m->dest);
  if (!CreateDirectoryW(m->dest, NULL))
    return wc_win_fail(&m->err, "create the layer folder for", "UtilityVM");
  m->made_dest = 1;
  if (!(uvm = wc_path(m->dest, "UtilityVM", NULL)))
    return wc_fail(&m->err, PLAT_E_OUTOFMEMORY, "not enough memory");
  r = CreateDirectoryW(uvm, NULL) ? 0 : wc_win_fail(&m->err, "create directory", "UtilityVM");
  free(uvm);
  if (r == 0 && clone_parent_uvm(m) == 0) m->uvm = 1;
  return m->uvm ? 0 : -1;
}

/* a file, a link or a whole tree at p (attributes a) removed; 0 or -1 */
static int remove_any(const WCHAR *p, DWORD a) {
  if ((a & FILE_ATTRIBUTE_DIRECTORY) && !(a & FILE_ATTRIBUTE_REPARSE_POINT))
    return wc_remove_tree(p);
  SetFileAttributesW(p, FILE_ATTRIBUTE_NORMAL);
  return DeleteFileW(p) || RemoveDirectoryW(p) ? 0 : -1;
}

int wc_dest_uvm_open(wc_writer *m, const char *name, int dir, w32_sink *s) {
  WCHAR *p = wc_path(m->dest, name, NULL);
  DWORD a = p ? GetFileAttributesW(p) : INVALID_FILE_ATTRIBUTES;
  if (!p) return wc_fail(&m->err, PLAT_E_INVALIDARG, "bad entry name %s", name);
  /* what is there of another kind (or a file: a link of the parent's) goes */
  if (a != INVALID_FILE_ATTRIBUTES &&
      (!dir || (a & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) !=
                   FILE_ATTRIBUTE_DIRECTORY)) {
    if (remove_any(p, a) < 0) {
      free(p);
      return wc_win_fail(&m->err, "replace", name);
    }
    a = INVALID_FILE_ATTRIBUTES;
  }
  if (dir && a == INVALID_FILE_ATTRIBUTES && !CreateDirectoryW(p, NULL)) {
    free(p);
    return wc_win_fail(&m->err, "create directory", name);
  }
  s->h = CreateFileW(p, wc_backup_rights(), FILE_SHARE_READ, NULL, dir ? OPEN_EXISTING : CREATE_NEW,
                     FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  free(p);
  if (s->h == INVALID_HANDLE_VALUE) return wc_win_fail(&m->err, "create", name);
  s->backup = 1;
  return 0;
}

int wc_dest_uvm_remove(wc_writer *m, const char *name) {
  WCHAR *p;
  DWORD a;
  int r;
  if (wc_dest_uvm_init(m) < 0) return -1;
  if (!(p = wc_path(m->dest, name, NULL)))
    return wc_fail(&m->err, PLAT_E_INVALIDARG, "bad entry name %s", name);
  /* a name that is not there is an error, as hcsshim has it */
  a = GetFileAttributesW(p);
  r = a != INVALID_FILE_ATTRIBUTES && remove_any(p, a) == 0 ? 0
                                                            : wc_win_fail(&m->err, "remove", name);
  free(p);
  return r;
}

/* ---- after ImportLayer ---- */

int wc_dest_finish(wc_writer *m) {
  plat_hresult hr;
  if (make_links(m) < 0) return -1;
  /* the links and the utility VM changed directory times (tombstones go
   * through tombstones.txt: the rest of the folder is HCS's) */
  if ((m->nlinks || m->uvm) && wc_reapply_dir_times(m, m->dest, 0) < 0) return -1;
  if (!m->uvm) return 0;
  hr = wc_process_uvm(m->dest);
  return hr < 0 ? wc_fail_last(&m->err, hr, "ProcessUtilityImage failed") : 0;
}

void wc_dest_free(wc_writer *m) {
  while (m->nlinks > 0) {
    struct wc_link *l = &m->links[--m->nlinks];
    free(l->from);
    free(l->to);
    free(l->name);
  }
  free(m->links);
  m->links = NULL;
  if (m->dest && m->made_dest && !m->done) wc_remove_tree(m->dest);
  free(m->dest);
  m->dest = NULL;
}
