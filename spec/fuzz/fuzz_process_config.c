/* ProcessConfig -> OCI process (hl_parse_process), command-line
 * splitting (hl_shell_split) and the user and group lookups in the
 * container's own /etc/passwd and /etc/group, which the container
 * controls.  Input: the JSON document, then optionally NUL, the passwd
 * text, NUL, the group text; they are written into a scratch root that
 * also holds executables /bin/sh and /usr/bin/env. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "linux/compute/hcs_internal.h"

static char etc[8192];
static int rootfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *root = fuzz_scratch();
  char dir[8192];
  (void)argc;
  (void)argv;
  for (const char *const *d = (const char *const[]){"bin", "usr", "usr/bin", "etc", "home", NULL};
       *d; d++) {
    snprintf(dir, sizeof dir, "%s/%s", root, *d);
    mkdir(dir, 0755);
  }
  snprintf(dir, sizeof dir, "%s/bin", root);
  fuzz_write(dir, "sh", "", 0, 0755);
  snprintf(dir, sizeof dir, "%s/usr/bin", root);
  fuzz_write(dir, "env", "", 0, 0755);
  snprintf(etc, sizeof etc, "%s/etc", root);
  rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fuzz_fail("opening the scratch root", root);
  return 0;
}

/* Writes part n of the input as etc/name, or removes the file when the
 * input has no such part. */
static void put_etc(const uint8_t *data, size_t size, int n, const char *name) {
  size_t len;
  const uint8_t *p = fuzz_part(data, size, n, &len);
  if (p) {
    fuzz_write(etc, name, p, len, 0644);
  } else {
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", etc, name);
    unlink(path);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *doc = fuzz_cstr(data, size), *result = NULL;
  hl_procconf p;
  put_etc(data, size, 1, "passwd");
  put_etc(data, size, 2, "group");
  if (hl_parse_process(doc, rootfd, &p, &result) >= 0) {
    char *text = json_dumps(p.process, JSON_COMPACT);
    if (!text) fuzz_fail("the OCI process does not serialise", NULL);
    free(text);
    json_decref(p.process);
  } else if (!result) {
    fuzz_fail("hl_parse_process failed without a result document", NULL);
  }
  free(result);
  free(doc);
  return 0;
}
