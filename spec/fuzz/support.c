/* Helpers of the libFuzzer harnesses (see fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/common/common.h"

char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

const uint8_t *fuzz_part(const uint8_t *data, size_t size, int n, size_t *len) {
  size_t start = 0;
  for (int i = 0; i < n; i++) {
    const uint8_t *z = memchr(data + start, 0, size - start);
    if (!z) return NULL;
    start = (size_t)(z - data) + 1;
  }
  {
    const uint8_t *z = memchr(data + start, 0, size - start);
    *len = z ? (size_t)(z - data) - start : size - start;
  }
  return data + start;
}

static char scratch[4096];
static pid_t scratch_owner;

static void remove_scratch(void) {
  if (scratch[0] && getpid() == scratch_owner) cmn_remove_tree(scratch);
}

const char *fuzz_scratch(void) {
  const char *tmp = getenv("TMPDIR");
  if (scratch[0]) return scratch;
  snprintf(scratch, sizeof scratch, "%s/hcsshim-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(scratch)) fuzz_fail("mkdtemp", strerror(errno));
  scratch_owner = getpid();
  atexit(remove_scratch);
  return scratch;
}

void fuzz_write(const char *dir, const char *name, const void *p, size_t len, int mode) {
  char path[8192];
  int fd;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ? mode : 0644);
  if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) < 0)
    fuzz_fail(path, strerror(errno));
}

void fuzz_fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz: %s: %s\n", what, detail ? detail : "");
  abort();
}

void fuzz_confine(int net) {
  const char *keep = getenv("HCSSHIM_FUZZ_DIR");
  if (scratch[0]) fuzz_fail("fuzz_confine", "called after fuzz_scratch");
  if (!keep || keep[0] != '/')
    fuzz_fail("HCSSHIM_FUZZ_DIR", "not set to an absolute path (make fuzz sets it)");
  /* a fixed mount point: each confined harness mounts its own tmpfs there,
   * seen only inside its own namespace */
  snprintf(scratch, sizeof scratch, "%s/scratch", keep);
  if (mkdir(scratch, 0700) < 0 && errno != EEXIST) fuzz_fail(scratch, strerror(errno));
  if (unshare(CLONE_NEWNS | (net ? CLONE_NEWNET : 0)) < 0)
    fuzz_fail("unshare (run as root)", strerror(errno));
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    fuzz_fail("making / private", strerror(errno));
  if (mount(keep, keep, NULL, MS_BIND, NULL) < 0) fuzz_fail(keep, strerror(errno));
  if (mount("fuzz", scratch, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0700") < 0)
    fuzz_fail("tmpfs on the scratch directory", strerror(errno));
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    fuzz_fail("read-only /", strerror(errno));
  setenv("TMPDIR", scratch, 1);
  setenv("SQLITE_TMPDIR", scratch, 1);
}
