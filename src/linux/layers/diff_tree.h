/* Inside the layers room: a sorted walk over a layer's diff folder (a
 * sandbox's upper/ or a read-only layer's rootfs/) that classifies overlay
 * whiteouts and opaque directories (see diff_tree.c). */
#ifndef HCSSHIM_LINUX_LAYERS_DIFF_TREE_H
#define HCSSHIM_LINUX_LAYERS_DIFF_TREE_H

#include <stddef.h>
#include <sys/stat.h>

typedef struct dtree dtree;

typedef struct dtree_xattr {
  char *name;
  char *value;
  size_t len;
} dtree_xattr;

enum dtree_kind {
  DTREE_ENTRY,    /* a file, directory, symlink, device, fifo or socket */
  DTREE_WHITEOUT, /* `name` was deleted: tar_name is "<dir>/.wh.<base>" */
  DTREE_OPAQUE    /* the directory `name` hides its lower contents:
                     tar_name is "<name>/.wh..wh..opq" */
};

/* One item; valid until the next dtree_next or dtree_close. */
typedef struct dtree_item {
  enum dtree_kind kind;
  const char *name;     /* relative to the root: "a/b" */
  const char *tar_name; /* whiteouts and opaque markers */
  struct stat st;
  const char *symlink;       /* target of a symlink */
  const dtree_xattr *xattrs; /* sorted by name, trusted.overlay.* left out */
  size_t nxattrs;
  int dirfd;        /* the parent directory, for dtree_open_file */
  const char *base; /* the name in it */
} dtree_item;

/* Opens the walk at `root`; 0 or -errno with the reason in why. */
int dtree_open(dtree **t, const char *root, char *why, size_t whylen);
/* The next item in bytewise name order (a directory before its contents,
 * its opaque marker right after it): 1, 0 at the end, or -errno with the
 * reason in why (naming the item). */
int dtree_next(dtree *t, dtree_item **item, char *why, size_t whylen);
/* Opens a regular file item for reading (never through a symlink, and only
 * the very file that was examined): an fd or -errno. */
int dtree_open_file(const dtree_item *item);
void dtree_close(dtree *t);

#endif
