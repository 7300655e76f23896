/* The tar import path checks: an in-memory archive (any compression
 * libarchive reads) extracted by the layer store's extractor
 * (lay_extract_main, the body of the extract program, with the tar on
 * stdin, the report pipe on stdout and the new layer's rootfs as working
 * directory) into a fresh rootfs on a scratch tmpfs (nodev, nosuid) in a
 * mount namespace where the host's / is read-only (root; see
 * fuzz_confine).  Beside the rootfs lies `outside`: whatever the archive
 * holds, nothing may appear next to the rootfs or in `outside`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "linux/common/common.h"
#include "linux/layers/layers.h"

static char rootfs[8192], outside[8192];
static int home = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_confine(0);
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", fuzz_scratch());
  snprintf(outside, sizeof outside, "%s/outside", fuzz_scratch());
  if (mkdir(outside, 0755) < 0) fuzz_fail(outside, strerror(errno));
  home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (home < 0) fuzz_fail("opening the working directory", strerror(errno));
  return 0;
}

/* Names in dir other than `allowed` (NULL: any name is one too many). */
static void only(const char *dir, const char *allowed) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) fuzz_fail(dir, strerror(errno));
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (!allowed || (strcmp(e->d_name, allowed) && strcmp(e->d_name, "outside"))) {
      fprintf(stderr, "fuzz: %s/%s was written outside the layer's rootfs\n", dir, e->d_name);
      abort();
    }
  }
  closedir(d);
}

/* Moves fd `from` onto `to` (an open fd, so never `from` itself),
 * returning a copy of what `to` was. */
static int swap_in(int from, int to) {
  int saved = fcntl(to, F_DUPFD_CLOEXEC, 10);
  if (dup2(from, to) < 0) fuzz_fail("dup2", strerror(errno));
  close(from);
  return saved;
}

static void restore(int saved, int to) {
  if (saved >= 0) {
    dup2(saved, to);
    close(saved);
  } else {
    close(to);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int tar = memfd_create("fuzz.tar", MFD_CLOEXEC), p[2], s0, s1;
  char report[4096];
  ssize_t got;
  if (tar < 0 || write(tar, data, size) != (ssize_t)size || lseek(tar, 0, SEEK_SET) < 0)
    fuzz_fail("memfd", strerror(errno));
  if (mkdir(rootfs, 0755) < 0 || pipe2(p, O_CLOEXEC) < 0) fuzz_fail(rootfs, strerror(errno));
  s0 = swap_in(tar, 0);
  s1 = swap_in(p[1], 1);
  if (chdir(rootfs) < 0) fuzz_fail(rootfs, strerror(errno));
  lay_extract_main();
  if (fchdir(home) < 0) fuzz_fail("fchdir", strerror(errno));
  restore(s0, 0);
  restore(s1, 1);
  got = read(p[0], report, sizeof report);
  close(p[0]);
  if (got <= 0) fuzz_fail("the extractor wrote no report", NULL);
  only(fuzz_scratch(), "rootfs");
  only(outside, NULL);
  if (cmn_remove_tree(rootfs) < 0) fuzz_fail("removing the rootfs", rootfs);
  return 0;
}
