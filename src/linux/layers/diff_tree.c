/* A sorted walk over a layer's diff folder.  Directories are read from
 * their descriptors (openat, O_NOFOLLOW), never by path, so a symlink
 * swapped in while the walk runs leads nowhere; xattrs are read through
 * /proc/self/fd/<parent>/<name> with the l*xattr calls for the same reason
 * (there is no *xattrat call).  Overlay's own attributes
 * (trusted.overlay.*) decide whiteouts and opaque directories and are not
 * reported. */
#include "linux/layers/diff_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 512
#define OVL "trusted.overlay."

typedef struct frame {
  int fd;
  char **names;
  size_t n, i;
  size_t pathlen; /* length of t->path for this directory */
} frame;

struct dtree {
  frame stack[MAX_DEPTH];
  size_t depth;
  char path[8192];
  char tar_name[8192 + 16];
  char link[4096];
  dtree_xattr *xattrs;
  size_t nxattrs;
  int opaque_pending; /* the last item was an opaque directory */
  dtree_item item;
};

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int xattr_cmp(const void *a, const void *b) {
  return strcmp(((const dtree_xattr *)a)->name, ((const dtree_xattr *)b)->name);
}

/* The entries of the directory fd (not "." and ".."), sorted. */
static int read_names(int fd, char ***out, size_t *count) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = 0;
  if (!d) {
    rc = -errno;
    if (dup_fd >= 0) close(dup_fd);
    return rc;
  }
  for (errno = 0; rc == 0 && (de = readdir(d)) != NULL; errno = 0) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == cap) {
      char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
      if (!grown) rc = -ENOMEM;
      else names = grown;
    }
    if (rc == 0 && !(names[n++] = strdup(de->d_name))) rc = -ENOMEM;
  }
  if (rc == 0 && errno) rc = -errno;
  closedir(d);
  if (rc < 0) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
  }
  if (n) qsort(names, n, sizeof *names, name_cmp);
  *out = names;
  *count = n;
  return 0;
}

static void free_xattrs(dtree *t) {
  for (size_t i = 0; i < t->nxattrs; i++) {
    free(t->xattrs[i].name);
    free(t->xattrs[i].value);
  }
  free(t->xattrs);
  t->xattrs = NULL;
  t->nxattrs = 0;
}

static int push(dtree *t, int fd, size_t pathlen) {
  frame *f;
  int rc;
  if (t->depth == MAX_DEPTH) return -ELOOP;
  f = &t->stack[t->depth];
  memset(f, 0, sizeof *f);
  if ((rc = read_names(fd, &f->names, &f->n)) < 0) return rc;
  f->fd = fd;
  f->pathlen = pathlen;
  t->depth++;
  return 0;
}

static void pop(dtree *t) {
  frame *f = &t->stack[--t->depth];
  for (size_t i = 0; i < f->n; i++) free(f->names[i]);
  free(f->names);
  close(f->fd);
}

int dtree_open(dtree **out, const char *root, char *why, size_t whylen) {
  dtree *t = calloc(1, sizeof *t);
  int fd, rc;
  *out = NULL;
  if (!t) return -ENOMEM;
  fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || (rc = push(t, fd, 0)) < 0) {
    rc = fd < 0 ? -errno : rc;
    if (fd >= 0) close(fd);
    snprintf(why, whylen, "%s: %s", root, strerror(-rc));
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void dtree_close(dtree *t) {
  if (!t) return;
  while (t->depth) pop(t);
  free_xattrs(t);
  free(t);
}

/* One attribute's value into x; 0, 1 when it vanished, or -errno. */
static int get_one(const char *proc, const char *name, dtree_xattr *x) {
  for (;;) {
    ssize_t n = lgetxattr(proc, name, NULL, 0), m;
    if (n < 0) return errno == ENODATA ? 1 : -errno;
    if (!(x->value = malloc(n ? (size_t)n : 1))) return -ENOMEM;
    m = lgetxattr(proc, name, x->value, (size_t)n);
    if (m >= 0) {
      x->len = (size_t)m;
      return (x->name = strdup(name)) ? 0 : -ENOMEM;
    }
    free(x->value);
    x->value = NULL;
    if (errno != ERANGE) return errno == ENODATA ? 1 : -errno; /* grew: again */
  }
}

/* Reads every xattr of dirfd/name into t->xattrs, overlay's included. */
static int read_xattrs(dtree *t, int dirfd, const char *name) {
  char proc[64 + 256], *list = NULL;
  ssize_t len;
  int rc = 0;
  free_xattrs(t);
  snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
  while ((len = llistxattr(proc, NULL, 0)) > 0) {
    char *grown = realloc(list, (size_t)len);
    if (!grown) return free(list), -ENOMEM;
    list = grown;
    if ((len = llistxattr(proc, list, (size_t)len)) >= 0 || errno != ERANGE) break;
  }
  if (len < 0) rc = errno == ENOTSUP ? 0 : -errno;
  for (ssize_t off = 0; rc >= 0 && len > 0 && off < len; off += (ssize_t)strlen(list + off) + 1) {
    dtree_xattr *grown = realloc(t->xattrs, (t->nxattrs + 1) * sizeof *grown);
    if (!grown) rc = -ENOMEM;
    else {
      t->xattrs = grown;
      memset(&t->xattrs[t->nxattrs], 0, sizeof *grown);
      rc = get_one(proc, list + off, &t->xattrs[t->nxattrs]);
      if (rc == 0) t->nxattrs++;
      else free(t->xattrs[t->nxattrs].value);
      if (rc == 1) rc = 0;
    }
  }
  free(list);
  if (t->nxattrs > 1) qsort(t->xattrs, t->nxattrs, sizeof *t->xattrs, xattr_cmp);
  return rc;
}

/* The value of the overlay attribute trusted.overlay.<leaf>, or NULL. */
static const char *ovl_attr(dtree *t, const char *leaf, size_t *len) {
  for (size_t i = 0; i < t->nxattrs; i++)
    if (strncmp(t->xattrs[i].name, OVL, strlen(OVL)) == 0 &&
        strcmp(t->xattrs[i].name + strlen(OVL), leaf) == 0) {
      if (len) *len = t->xattrs[i].len;
      return t->xattrs[i].value;
    }
  return NULL;
}

static void drop_ovl_attrs(dtree *t) {
  size_t k = 0;
  for (size_t i = 0; i < t->nxattrs; i++) {
    if (strncmp(t->xattrs[i].name, OVL, strlen(OVL)) == 0) {
      free(t->xattrs[i].name);
      free(t->xattrs[i].value);
    } else {
      t->xattrs[k++] = t->xattrs[i];
    }
  }
  t->nxattrs = k;
}

static int fail(int rc, const char *path, const char *what, char *why, size_t whylen) {
  snprintf(why, whylen, "\"%s\": %s%s%s", path, what, rc ? ": " : "", rc ? strerror(-rc) : "");
  return rc ? rc : -EINVAL;
}

/* Classifies the item just stat'ed (whiteout, opaque directory, refusal). */
static int classify(dtree *t, dtree_item *it, char *why, size_t whylen) {
  size_t len = 0;
  const char *v, *base = strrchr(t->path, '/');
  size_t dirlen = base ? (size_t)(base - t->path) + 1 : 0;
  base = base ? base + 1 : t->path;
  if (ovl_attr(t, "redirect", NULL) || ovl_attr(t, "metacopy", NULL))
    return fail(0, t->path,
                "renamed or metadata-only copy (overlay redirect/metacopy): its content lives in "
                "a lower layer",
                why, whylen);
  if ((S_ISCHR(it->st.st_mode) && it->st.st_rdev == makedev(0, 0)) ||
      (S_ISREG(it->st.st_mode) && ovl_attr(t, "whiteout", NULL))) {
    it->kind = DTREE_WHITEOUT;
    snprintf(t->tar_name, sizeof t->tar_name, "%.*s.wh.%s", (int)dirlen, t->path, base);
    it->tar_name = t->tar_name;
  }
  v = ovl_attr(t, "opaque", &len);
  t->opaque_pending = S_ISDIR(it->st.st_mode) && v && len == 1 && v[0] == 'y';
  drop_ovl_attrs(t);
  return 0;
}

/* Fills the item for the entry `name` of the top frame. */
static int visit(dtree *t, frame *f, const char *name, dtree_item *it, char *why, size_t whylen) {
  size_t plen = f->pathlen, nlen = strlen(name);
  int rc;
  if (plen + nlen + 2 > sizeof t->path) return fail(-ENAMETOOLONG, name, "path", why, whylen);
  if (plen) t->path[plen++] = '/';
  memcpy(t->path + plen, name, nlen + 1);
  memset(it, 0, sizeof *it);
  it->name = t->path;
  it->dirfd = f->fd;
  it->base = name;
  if (fstatat(f->fd, name, &it->st, AT_SYMLINK_NOFOLLOW) < 0)
    return fail(-errno, t->path, "stat", why, whylen);
  if ((rc = read_xattrs(t, f->fd, name)) < 0) return fail(rc, t->path, "xattrs", why, whylen);
  if ((rc = classify(t, it, why, whylen)) < 0) return rc;
  it->xattrs = t->xattrs;
  it->nxattrs = t->nxattrs;
  if (S_ISLNK(it->st.st_mode)) {
    ssize_t n = readlinkat(f->fd, name, t->link, sizeof t->link - 1);
    if (n < 0) return fail(-errno, t->path, "readlink", why, whylen);
    t->link[n] = '\0';
    it->symlink = t->link;
  }
  if (S_ISDIR(it->st.st_mode) && it->kind == DTREE_ENTRY) {
    int fd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return fail(-errno, t->path, "open", why, whylen);
    if (fstat(fd, &st) < 0 || st.st_ino != it->st.st_ino || st.st_dev != it->st.st_dev) {
      close(fd);
      return fail(0, t->path, "replaced while it was exported", why, whylen);
    }
    if ((rc = push(t, fd, strlen(t->path))) < 0) {
      close(fd);
      return fail(rc, t->path, "reading the directory", why, whylen);
    }
  }
  return 0;
}

int dtree_next(dtree *t, dtree_item **item, char *why, size_t whylen) {
  dtree_item *it = &t->item;
  if (t->opaque_pending) {
    /* the opaque directory was just pushed: its path is still t->path */
    t->opaque_pending = 0;
    it->kind = DTREE_OPAQUE;
    snprintf(t->tar_name, sizeof t->tar_name, "%s/.wh..wh..opq", t->path);
    it->tar_name = t->tar_name;
    it->nxattrs = 0;
    *item = it;
    return 1;
  }
  while (t->depth > 0) {
    frame *f = &t->stack[t->depth - 1];
    int rc;
    if (f->i == f->n) {
      pop(t);
      continue;
    }
    rc = visit(t, f, f->names[f->i++], it, why, whylen);
    if (rc < 0) return rc;
    *item = it;
    return 1;
  }
  return 0;
}

int dtree_open_file(const dtree_item *it) {
  struct stat st;
  int fd = openat(it->dirfd, it->base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) < 0 || st.st_ino != it->st.st_ino || st.st_dev != it->st.st_dev ||
      !S_ISREG(st.st_mode)) {
    close(fd);
    return -ESTALE;
  }
  return fd;
}
