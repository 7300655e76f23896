/* File helpers of the Windows layer tar import and export. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win32/wclayer.h"

int wc_fail(wc_err *e, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  if (e->hr < 0) return -1; /* the first failure is the one reported */
  e->hr = hr;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int wc_win_fail(wc_err *e, const char *what, const char *name) {
  plat_hresult hr = (plat_hresult)HRESULT_FROM_WIN32(GetLastError());
  w32_set_error_hr(hr);
  return wc_fail(e, hr, "%s %s: %s", what, name, plat_last_error() ? plat_last_error() : "failed");
}

int wc_fail_last(wc_err *e, plat_hresult hr, const char *what) {
  return wc_fail(e, hr, "%s", plat_last_error() ? plat_last_error() : what);
}

plat_hresult wc_done(const wc_err *e) {
  w32_set_error(e->hr < 0 ? e->msg : NULL);
  return e->hr < 0 ? e->hr : PLAT_S_OK;
}

WCHAR *wc_path(const WCHAR *root, const char *name, const WCHAR *suffix) {
  plat_hresult hr;
  WCHAR *wn = w32_wide(name, "entry name", &hr), *out;
  size_t n;
  if (!wn) return NULL;
  n = wcslen(root) + 1 + wcslen(wn) + (suffix ? wcslen(suffix) : 0) + 1;
  if ((out = malloc(n * sizeof *out))) {
    wcscpy(out, root);
    if (*name) wcscat(out, L"\\");
    wcscat(out, wn);
    if (suffix) wcscat(out, suffix);
  }
  free(wn);
  return out;
}

void wc_make_parents(const WCHAR *path) {
  WCHAR *p = wcslen(path) > 3 ? _wcsdup(path) : NULL, *c;
  if (!p) return;
  /* from the first separator after a drive ("C:\") or a UNC share */
  for (c = wcschr(p + (p[0] && p[1] == L':' ? 3 : 2), L'\\'); c; c = wcschr(c + 1, L'\\')) {
    *c = 0;
    CreateDirectoryW(p, NULL); /* fails harmlessly where it exists */
    *c = L'\\';
  }
  free(p);
}

WCHAR *wc_temp_folder(void) {
  static LONG counter;
  WCHAR base[MAX_PATH + 1], *out;
  DWORD n = GetTempPathW(MAX_PATH + 1, base);
  int tries;
  if (n == 0 || n > MAX_PATH - 40) return NULL;
  if (!(out = malloc((n + 48) * sizeof *out))) return NULL;
  for (tries = 0; tries < 100; tries++) {
    swprintf(out, n + 48, L"%lshcs%lx-%lx-%lx", base, (unsigned long)GetCurrentProcessId(),
             (unsigned long)GetTickCount(), (unsigned long)InterlockedIncrement(&counter));
    if (CreateDirectoryW(out, NULL)) return out;
    if (GetLastError() != ERROR_ALREADY_EXISTS) break;
  }
  free(out);
  return NULL;
}

int wc_remove_tree(const WCHAR *path) {
  WIN32_FIND_DATAW fd;
  HANDLE f;
  WCHAR *pattern = wc_path(path, "*", NULL);
  int r = 0;
  if (!pattern) return -1;
  f = FindFirstFileW(pattern, &fd);
  free(pattern);
  if (f != INVALID_HANDLE_VALUE) {
    do {
      WCHAR *child;
      size_t n;
      if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) continue;
      n = wcslen(path) + wcslen(fd.cFileName) + 2;
      if (!(child = malloc(n * sizeof *child))) {
        r = -1;
        continue;
      }
      swprintf(child, n, L"%ls\\%ls", path, fd.cFileName);
      SetFileAttributesW(child, FILE_ATTRIBUTE_NORMAL);
      /* a reparse point is removed itself, never followed */
      if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
          !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
        if (wc_remove_tree(child) < 0) r = -1;
      } else if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        if (!RemoveDirectoryW(child)) r = -1;
      } else if (!DeleteFileW(child)) {
        r = -1;
      }
      free(child);
    } while (FindNextFileW(f, &fd));
    FindClose(f);
  }
  if (!RemoveDirectoryW(path)) r = -1;
  return r;
}

void *wc_grow(wc_err *e, void *v, size_t n, size_t *cap, size_t size) {
  size_t c = *cap * 2 + 16;
  void *grown;
  if (n < *cap) return v;
  if (!(grown = realloc(v, c * size))) {
    wc_fail(e, PLAT_E_OUTOFMEMORY, "not enough memory");
    return NULL;
  }
  *cap = c;
  return grown;
}

int wc_links_check(wc_err *e, wc_links *l, HANDLE h, const char *name, const char **first) {
  BY_HANDLE_FILE_INFORMATION fi;
  struct wc_seen *v;
  size_t i;
  *first = NULL;
  if (!GetFileInformationByHandle(h, &fi)) return wc_win_fail(e, "read", name);
  if (fi.nNumberOfLinks < 2) return 0;
  for (i = 0; i < l->n; i++)
    if (l->v[i].volume == fi.dwVolumeSerialNumber && l->v[i].hi == fi.nFileIndexHigh &&
        l->v[i].lo == fi.nFileIndexLow) {
      *first = l->v[i].name;
      return 0;
    }
  if (!(v = wc_grow(e, l->v, l->n, &l->cap, sizeof *v))) return -1;
  l->v = v;
  if (!(v[l->n].name = _strdup(name))) return wc_fail(e, PLAT_E_OUTOFMEMORY, "not enough memory");
  v[l->n].volume = fi.dwVolumeSerialNumber;
  v[l->n].hi = fi.nFileIndexHigh;
  v[l->n++].lo = fi.nFileIndexLow;
  return 0;
}

void wc_links_free(wc_links *l) {
  while (l->n > 0) free(l->v[--l->n].name);
  free(l->v);
  l->v = NULL;
  l->cap = 0;
}

int wc_set_basic_info(HANDLE h, const w32_file_basic_info *fi) {
  FILE_BASIC_INFO b;
  memset(&b, 0, sizeof b);
  b.CreationTime = fi->CreationTime;
  b.LastAccessTime = fi->LastAccessTime;
  b.LastWriteTime = fi->LastWriteTime;
  b.ChangeTime = fi->ChangeTime;
  b.FileAttributes = fi->FileAttributes;
  return SetFileInformationByHandle(h, FileBasicInfo, &b, sizeof b) ? 0 : -1;
}

static int walk_into(wc_tree *t, const WCHAR *dir, const char *rel) {
  WIN32_FIND_DATAW fd;
  WCHAR *pattern = wc_path(dir, "*", NULL);
  HANDLE f;
  int r = 0;
  if (!pattern) return -1;
  f = FindFirstFileW(pattern, &fd);
  free(pattern);
  if (f == INVALID_HANDLE_VALUE) return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
  do {
    wc_item it;
    char *name;
    size_t n;
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) continue;
    if (!(name = w32_utf8(fd.cFileName))) {
      r = -1;
      break;
    }
    n = strlen(rel) + strlen(name) + 2;
    it.rel = malloc(n);
    it.path = NULL;
    if (it.rel) {
      snprintf(it.rel, n, "%s%s%s", rel, *rel ? "\\" : "", name);
      it.path = wc_path(dir, name, NULL);
    }
    free(name);
    it.attrs = fd.dwFileAttributes;
    if (t->n == t->cap) {
      wc_item *v = realloc(t->v, (t->cap * 2 + 16) * sizeof *v);
      if (v) t->v = v, t->cap = t->cap * 2 + 16;
    }
    if (!it.rel || !it.path || t->n == t->cap) {
      free(it.rel);
      free(it.path);
      r = -1;
      break;
    }
    t->v[t->n++] = it;
    if ((it.attrs & FILE_ATTRIBUTE_DIRECTORY) && !(it.attrs & FILE_ATTRIBUTE_REPARSE_POINT) &&
        walk_into(t, it.path, it.rel) < 0) {
      r = -1;
      break;
    }
  } while (FindNextFileW(f, &fd));
  FindClose(f);
  return r;
}

static int by_rel(const void *a, const void *b) {
  return strcmp(((const wc_item *)a)->rel, ((const wc_item *)b)->rel);
}

int wc_walk(const WCHAR *root, wc_tree *t) {
  memset(t, 0, sizeof *t);
  if (walk_into(t, root, "") < 0) {
    wc_tree_free(t);
    return -1;
  }
  if (t->n) qsort(t->v, t->n, sizeof *t->v, by_rel);
  return 0;
}

void wc_tree_free(wc_tree *t) {
  size_t i;
  for (i = 0; i < t->n; i++) {
    free(t->v[i].rel);
    free(t->v[i].path);
  }
  free(t->v);
  memset(t, 0, sizeof *t);
}

int wc_export_to_temp(wc_err *e, const plat_driver_info *info, const char *id,
                      const plat_layer_descriptor *layers, size_t count, WCHAR **root) {
  char *folder;
  plat_hresult hr;
  if (!(*root = wc_temp_folder()) || !(folder = w32_utf8(*root)))
    return wc_win_fail(e, "create", "the export folder");
  hr = plat_ExportLayer(info, id, folder, layers, count);
  free(folder);
  return hr < 0 ? wc_fail_last(e, hr, "ExportLayer failed") : 0;
}

int wc_not_an_entry(const char *rel) {
  size_t n = strlen(rel);
  return strcmp(rel, "tombstones.txt") == 0 || (n > 10 && strcmp(rel + n - 10, ".$wcidirs$") == 0);
}

HANDLE wc_open_entry(wc_err *e, const WCHAR *root, const wc_item *it, DWORD *attrs,
                     uint64_t *left) {
  WCHAR *side =
      (it->attrs & FILE_ATTRIBUTE_DIRECTORY) ? wc_path(root, it->rel, L".$wcidirs$") : NULL;
  HANDLE h = CreateFileW(side ? side : it->path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS, NULL);
  LARGE_INTEGER fsize;
  DWORD got = 0;
  free(side);
  if (h == INVALID_HANDLE_VALUE) {
    wc_win_fail(e, "open", it->rel);
    return h;
  }
  if (!GetFileSizeEx(h, &fsize) || fsize.QuadPart < 4 || !ReadFile(h, attrs, 4, &got, NULL) ||
      got != 4) {
    wc_win_fail(e, "read", it->rel);
    CloseHandle(h);
    return INVALID_HANDLE_VALUE;
  }
  *left = (uint64_t)fsize.QuadPart - 4;
  return h;
}

int wc_tombstones_read(wc_err *e, const WCHAR *root, wc_tombs *t) {
  static const char head[] = WC_TOMBSTONES_HEAD;
  WCHAR *p = wc_path(root, "tombstones.txt", NULL);
  HANDLE h = p ? CreateFileW(p, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL)
               : INVALID_HANDLE_VALUE;
  LARGE_INTEGER n;
  DWORD got = 0;
  int rc = 0;
  free(p);
  memset(t, 0, sizeof *t);
  if (h == INVALID_HANDLE_VALUE) return 0; /* no deletions */
  if (!GetFileSizeEx(h, &n) || n.QuadPart > 0x1000000 ||
      !(t->text = malloc((size_t)n.QuadPart + 1)) ||
      (n.QuadPart && !ReadFile(h, t->text, (DWORD)n.QuadPart, &got, NULL)) ||
      got != (DWORD)n.QuadPart || got < sizeof head - 1 || memcmp(t->text, head, sizeof head - 1))
    rc = wc_fail(e, PLAT_E_INVALID_DATA, "tombstones.txt: not a tombstones file");
  else t->len = got, t->off = sizeof head - 1;
  CloseHandle(h);
  return rc;
}

int wc_tombstones_next(wc_err *e, wc_tombs *t, char *out, size_t cap) {
  const char *p, *nl;
  size_t len;
  if (!t->text || t->off >= t->len) return 0;
  p = t->text + t->off;
  nl = memchr(p, '\n', t->len - t->off);
  len = nl ? (size_t)(nl - p) : t->len - t->off;
  t->off += len + 1;
  if (len < 2 || *p != '\\' || len + 6 > cap)
    return wc_fail(e, PLAT_E_INVALID_DATA, "tombstones.txt: a bad line");
  snprintf(out, cap, "Files%.*s", (int)len, p);
  if (strlen(out) != len + 5 || !wc_name_ok(out))
    return wc_fail(e, PLAT_E_INVALID_DATA, "tombstones.txt: a bad line");
  return 1;
}

int wc_report(wc_progress *g, wc_err *e, uint64_t bytes, int last) {
  if (!g->p || !g->p->report) return 0;
  if (!last && g->entries - g->told_entries < 64 && bytes - g->told_bytes < (1u << 20)) return 0;
  g->told_bytes = bytes;
  g->told_entries = g->entries;
  if (g->p->report(g->p->ctx, bytes, g->entries) != 0)
    return wc_fail(e, PLAT_E_ABORT, "cancelled by the progress callback");
  return 0;
}
