/* Layer store internals: validation, locking, layer.json, staging folders.
 * The on-disk format is described at the top of layer.c. */
#include "linux/layers/layers.h"
#include "linux/layers/layer_store.h"
#include "linux/common/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static _Thread_local char last_error[1024];

const char *lay_last_error(void) { return last_error; }

int lyr_pathf(char *out, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(out, LYR_PATH_MAX, fmt, ap);
  va_end(ap);
  return n < 0 || n >= LYR_PATH_MAX ? -1 : 0;
}

void lyr_clear_error(void) { last_error[0] = '\0'; }

plat_hresult lyr_fail(plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return hr;
}

static int valid_id(const char *id) {
  size_t n = 0;
  if (!id || id[0] == '.' || id[0] == '\0') return 0;
  for (; id[n]; n++) {
    char c = id[n];
    if (n >= LYR_ID_MAX) return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

/* Absolute, and free of "." and ".." components, so string prefixes mean
 * what they say and nothing escapes through "..". */
static int clean_abs_path(const char *p) {
  if (!p || p[0] != '/') return 0;
  for (const char *s = p; *s;) {
    size_t n;
    while (*s == '/') s++;
    n = strcspn(s, "/");
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    s += n;
  }
  return 1;
}

static void copy_trimmed(char *out, const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') n--;
  memcpy(out, p, n);
  out[n] = '\0';
}

plat_hresult lyr_init(lyr *l, const plat_driver_info *info, const char *id, const char *op) {
  memset(l, 0, sizeof *l);
  l->dfd = -1;
  l->sfd = -1;
  l->op = op;
  l->id = id ? id : "";
  if (!info || !info->HomeDir || !info->HomeDir[0])
    return lyr_fail(PLAT_E_INVALIDARG, "%s layer %s: DriverInfo.HomeDir is empty", op, l->id);
  if (info->Flavour != 0 && info->Flavour != 1)
    return lyr_fail(PLAT_E_INVALIDARG, "%s layer %s: DriverInfo.Flavour %d is not 0 or 1", op,
                    l->id, info->Flavour);
  if (!clean_abs_path(info->HomeDir) || strlen(info->HomeDir) > LYR_HOME_MAX ||
      strspn(info->HomeDir, "/") == strlen(info->HomeDir))
    return lyr_fail(
        PLAT_E_INVALIDARG,
        "%s layer %s: DriverInfo.HomeDir \"%.200s\" is not a clean absolute path below /", op,
        l->id, info->HomeDir);
  if (!valid_id(id))
    return lyr_fail(PLAT_E_INVALIDARG,
                    "%s layer \"%.200s\": invalid layer id (1-128 characters of A-Z a-z 0-9 _ . -, "
                    "not starting with '.')",
                    op, l->id);
  copy_trimmed(l->home, info->HomeDir);
  lyr_pathf(l->dir, "%s/%s", l->home, id);
  /* every call of the store removes what a crashed one left (a killed
   * import's staging folder, a killed destroy's trash): one readdir */
  lyr_sweep(l);
  return PLAT_S_OK;
}

plat_hresult lyr_ensure_home(const lyr *l) {
  int rc = cmn_mkdir_p(l->home, 0700);
  if (rc < 0)
    return lyr_fail(rc == -EACCES ? PLAT_E_ACCESSDENIED : PLAT_E_FAIL,
                    "%s layer %s: cannot create HomeDir %s: %s", l->op, l->id, l->home,
                    strerror(-rc));
  return PLAT_S_OK;
}

/* A staging or trash folder is in use while its maker holds its flock
 * (lyr_staging_new; lay_destroy keeps the layer's lock through the
 * deletion); one nobody holds was left by a crash or a failed deletion.
 * A `.new-` folder may be one its maker has not locked yet (a moment):
 * it is swept once its maker is gone (cmn_pending_stale). */
static void sweep_one(const lyr *l, const char *name, int pending) {
  char path[LYR_PATH_MAX];
  int fd;
  if (lyr_pathf(path, "%s/%s", l->home, name) < 0) return;
  fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  /* the lock counts only on the folder that still has the name */
  if ((!pending || cmn_pending_stale(l->home, name) == 1) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
      cmn_same_file(fd, path))
    cmn_remove_tree(path);
  close(fd);
}

void lyr_sweep(const lyr *l) {
  DIR *d = opendir(l->home);
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, ".trash-", 7) == 0 || strncmp(e->d_name, ".staging-", 9) == 0)
      sweep_one(l, e->d_name, 0);
    else if (strncmp(e->d_name, ".new-", 5) == 0) sweep_one(l, e->d_name, 1);
  }
  closedir(d);
}

void lyr_sub(const lyr *l, const char *leaf, char *out) { lyr_pathf(out, "%s/%s", l->dir, leaf); }

/* The layer locks this thread holds: a call made from inside another
 * (a progress callback runs within the import or export it reports on)
 * must not wait for a lock its own thread holds, which would never come. */
#define HELD_MAX 8
static __thread struct held {
  dev_t dev;
  ino_t ino;
} held[HELD_MAX];
static __thread size_t nheld;

static int held_here(const struct stat *st) {
  for (size_t i = 0; i < nheld; i++)
    if (held[i].dev == st->st_dev && held[i].ino == st->st_ino) return 1;
  return 0;
}

static void held_drop(dev_t dev, ino_t ino) {
  for (size_t i = 0; i < nheld; i++)
    if (held[i].dev == dev && held[i].ino == ino) {
      held[i] = held[--nheld];
      return;
    }
}

plat_hresult lyr_open(lyr *l, int want_meta) {
  struct stat a;
  char why[512];
  l->dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l->dfd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR || e == ELOOP)
      return lyr_fail(PLAT_E_NOT_FOUND, "%s layer %s: no such layer in %s", l->op, l->id, l->home);
    return lyr_fail(PLAT_E_FAIL, "%s layer %s: %s: %s", l->op, l->id, l->dir, strerror(e));
  }
  if (fstat(l->dfd, &a) == 0 && held_here(&a)) {
    lyr_close(l);
    return lyr_fail(PLAT_E_BUSY,
                    "%s layer %s: a call in progress on this thread holds the layer (a progress "
                    "callback cannot use the layer it reports on)",
                    l->op, l->id);
  }
  /* serialises activate/prepare/unprepare/destroy of one layer, also across
   * processes; released by close() */
  while (flock(l->dfd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      int e = errno;
      lyr_close(l);
      return lyr_fail(PLAT_E_FAIL, "%s layer %s: lock: %s", l->op, l->id, strerror(e));
    }
  }
  /* destroyed (renamed away) while we waited for the lock? */
  if (!cmn_same_file(l->dfd, l->dir)) {
    lyr_close(l);
    return lyr_fail(PLAT_E_NOT_FOUND, "%s layer %s: no such layer in %s", l->op, l->id, l->home);
  }
  if (nheld < HELD_MAX) {
    held[nheld].dev = a.st_dev;
    held[nheld++].ino = a.st_ino;
    l->held = 1;
  }
  if (want_meta) {
    plat_hresult hr = lyr_meta_read(l->dir, &l->meta, why, sizeof why);
    if (hr < 0) {
      lyr_close(l);
      return lyr_fail(hr, "%s layer %s: %s", l->op, l->id, why);
    }
    l->have_meta = 1;
  }
  return PLAT_S_OK;
}

void lyr_close(lyr *l) {
  struct stat st;
  if (l->held && fstat(l->dfd, &st) == 0) held_drop(st.st_dev, st.st_ino);
  l->held = 0;
  if (l->dfd >= 0) close(l->dfd);
  l->dfd = -1;
  if (l->sfd >= 0) close(l->sfd);
  l->sfd = -1;
  if (l->have_meta) lyr_meta_free(&l->meta);
  l->have_meta = 0;
}

void lyr_meta_free(lyr_meta *m) {
  for (size_t i = 0; i < m->nparents; i++) free(m->parents[i]);
  free(m->parents);
  free(m->parent);
  memset(m, 0, sizeof *m);
}

plat_hresult lyr_meta_read(const char *dir, lyr_meta *m, char *why, size_t whylen) {
  char path[LYR_PATH_MAX], *text = NULL;
  json_t *root, *v;
  json_error_t jerr;
  const char *type;
  int rc;
  memset(m, 0, sizeof *m);
  snprintf(path, sizeof path, "%s/layer.json", dir);
  text = cmn_read_file(path, NULL);
  rc = text ? 0 : -errno;
  if (rc < 0) {
    snprintf(why, whylen, "%s: %s", path, strerror(-rc));
    return rc == -ENOENT ? PLAT_E_NOT_FOUND : PLAT_E_INVALID_DATA;
  }
  root = json_loads(text, 0, &jerr);
  free(text);
  if (!json_is_object(root)) {
    snprintf(why, whylen, "%s: not a layer document (%s)", path,
             root ? "not an object" : jerr.text);
    json_decref(root);
    return PLAT_E_INVALID_DATA;
  }
  type = json_string_value(json_object_get(root, "Type"));
  if (!type || (strcmp(type, "ReadOnly") != 0 && strcmp(type, "Sandbox") != 0)) {
    snprintf(why, whylen, "%s: Type must be \"ReadOnly\" or \"Sandbox\"", path);
    json_decref(root);
    return PLAT_E_INVALID_DATA;
  }
  m->sandbox = strcmp(type, "Sandbox") == 0;
  v = json_object_get(root, "Parent");
  m->parent = strdup(json_is_string(v) ? json_string_value(v) : "");
  v = json_object_get(root, "Parents");
  int oom = !m->parent;
  if (!oom && json_is_array(v) && json_array_size(v) > 0) {
    size_t n = json_array_size(v);
    m->parents = calloc(n, sizeof *m->parents);
    oom = !m->parents;
    for (size_t i = 0; !oom && i < n; i++) {
      const char *s = json_string_value(json_array_get(v, i));
      if (!s || s[0] != '/') {
        snprintf(why, whylen, "%s: Parents[%zu] is not an absolute path", path, i + 1);
        json_decref(root);
        lyr_meta_free(m);
        return PLAT_E_INVALID_DATA;
      }
      oom = !(m->parents[i] = strdup(s));
      if (!oom) m->nparents++;
    }
  }
  json_decref(root);
  if (oom) {
    lyr_meta_free(m);
    snprintf(why, whylen, "out of memory");
    return PLAT_E_OUTOFMEMORY;
  }
  return PLAT_S_OK;
}

static plat_hresult write_json(const lyr *l, const char *dir, const char *leaf, json_t *doc) {
  char path[LYR_PATH_MAX], *text;
  int rc;
  if (!doc) return lyr_fail(PLAT_E_OUTOFMEMORY, "%s layer %s: out of memory", l->op, l->id);
  text = json_dumps(doc, JSON_COMPACT);
  if (!text) return lyr_fail(PLAT_E_OUTOFMEMORY, "%s layer %s: out of memory", l->op, l->id);
  snprintf(path, sizeof path, "%s/%s", dir, leaf);
  rc = cmn_write_file(path, text, strlen(text), 0644);
  free(text);
  if (rc < 0)
    return lyr_fail(rc == -ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_FAIL, "%s layer %s: write %s: %s",
                    l->op, l->id, path, strerror(-rc));
  return PLAT_S_OK;
}

plat_hresult lyr_meta_write(const lyr *l, const char *dir, int sandbox, const char *parent,
                            const plat_layer_descriptor *layers, size_t count) {
  json_t *doc = json_object(), *parents = json_array();
  plat_hresult hr = PLAT_S_OK;
  int bad = !doc || !parents;
  for (size_t i = 0; !bad && i < count; i++) {
    char p[LYR_PATH_MAX];
    copy_trimmed(p, layers[i].Path);
    bad = json_array_append_new(parents, json_string(p)) < 0;
  }
  if (!bad)
    bad = json_object_set_new(doc, "Type", json_string(sandbox ? "Sandbox" : "ReadOnly")) < 0 ||
          json_object_set_new(doc, "Parent", json_string(parent ? parent : "")) < 0 ||
          json_object_set(doc, "Parents", parents) < 0;
  if (bad) hr = lyr_fail(PLAT_E_OUTOFMEMORY, "%s layer %s: out of memory", l->op, l->id);
  if (hr >= 0) hr = write_json(l, dir, "layer.json", doc);
  /* docker's windowsfilter driver keeps the parent chain here */
  if (hr >= 0 && sandbox) hr = write_json(l, dir, "layerchain.json", parents);
  json_decref(doc);
  json_decref(parents);
  return hr;
}

plat_hresult lyr_check_parent_path(const lyr *l, const char *path) {
  char why[512], rootfs[LYR_PATH_MAX];
  lyr_meta m;
  struct stat st;
  plat_hresult hr;
  if (!path || !clean_abs_path(path) || strlen(path) > LYR_HOME_MAX + LYR_ID_MAX + 1)
    return lyr_fail(PLAT_E_INVALIDARG,
                    "%s layer %s: parent layer path \"%.200s\" is not a clean absolute path", l->op,
                    l->id, path ? path : "(null)");
  hr = lyr_meta_read(path, &m, why, sizeof why);
  if (hr == PLAT_E_NOT_FOUND)
    return lyr_fail(PLAT_E_PATH_NOT_FOUND, "%s layer %s: parent %s is not a layer folder (%s)",
                    l->op, l->id, path, why);
  if (hr < 0) return lyr_fail(hr, "%s layer %s: parent %s: %s", l->op, l->id, path, why);
  hr = m.sandbox ? PLAT_E_INVALIDARG : PLAT_S_OK;
  lyr_meta_free(&m);
  if (hr < 0)
    return lyr_fail(hr, "%s layer %s: parent %s is a sandbox layer, not a read-only layer", l->op,
                    l->id, path);
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", path);
  if (lstat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
    return lyr_fail(PLAT_E_PATH_NOT_FOUND, "%s layer %s: parent %s has no rootfs/ folder", l->op,
                    l->id, path);
  return PLAT_S_OK;
}

plat_hresult lyr_check_parents(const lyr *l, const plat_layer_descriptor *layers, size_t count) {
  if (count > 0 && !layers)
    return lyr_fail(PLAT_E_INVALIDARG, "%s layer %s: NULL layer descriptors", l->op, l->id);
  for (size_t i = 0; i < count; i++) {
    plat_hresult hr = lyr_check_parent_path(l, layers[i].Path);
    if (hr < 0) return hr;
  }
  return PLAT_S_OK;
}

plat_hresult lyr_staging_new(lyr *l, char *out) {
  char fresh[LYR_PATH_MAX];
  int e;
  /* ids never start with '.', so staging names cannot collide with layers;
   * made pending (cmn_pending_dir), locked, then renamed: a .staging-*
   * folder is always locked while its maker lives, so lyr_sweep never
   * takes a live one */
  if ((e = -cmn_pending_dir(l->home, l->id, fresh, sizeof fresh)) != 0)
    return lyr_fail(e == ENOSPC ? PLAT_E_DISK_FULL : PLAT_E_FAIL, "%s layer %s: mkdtemp in %s: %s",
                    l->op, l->id, l->home, strerror(e));
  lyr_pathf(out, "%s/.staging-%s", l->home, fresh + strlen(l->home) + 6);
  l->sfd = open(fresh, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l->sfd >= 0 && flock(l->sfd, LOCK_EX) == 0 && rename(fresh, out) == 0) return PLAT_S_OK;
  e = errno;
  lyr_staging_remove(l, fresh);
  return lyr_fail(PLAT_E_FAIL, "%s layer %s: locking %s: %s", l->op, l->id, fresh, strerror(e));
}

plat_hresult lyr_staging_publish(lyr *l, const char *staging) {
  if (renameat2(AT_FDCWD, staging, AT_FDCWD, l->dir, RENAME_NOREPLACE) == 0) {
    close(l->sfd);
    l->sfd = -1;
    return PLAT_S_OK;
  }
  if (errno == EEXIST || errno == ENOTEMPTY)
    return lyr_fail(PLAT_E_ALREADY_EXISTS, "%s layer %s: the layer already exists in %s", l->op,
                    l->id, l->home);
  return lyr_fail(PLAT_E_FAIL, "%s layer %s: rename %s -> %s: %s", l->op, l->id, staging, l->dir,
                  strerror(errno));
}

int lyr_staging_remove(lyr *l, const char *staging) {
  int rc = cmn_remove_tree(staging);
  if (l->sfd >= 0) close(l->sfd);
  l->sfd = -1;
  return rc;
}
