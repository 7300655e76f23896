/* C tests for the Linux layer store (src/linux/layer*.c, tar_import.c,
 * guid_v5.c).  Needs root (overlay mounts, chown, mknod); run with
 * `make check-layer`.  Everything lives under one mkdtemp() folder that is
 * unmounted and removed at the end. */
#include "platform.h"
#include "linux/layers/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int failures, checks;
static char root[256], home[1024];
static plat_driver_info info;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    checks++;                                                         \
    if (!(cond)) {                                                    \
      failures++;                                                     \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, " [last error: %s]\n", lay_last_error());       \
    }                                                                 \
  } while (0)

#define HR(call, want) CHECK((call) == (plat_hresult)(want), "%s", #call)

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (system(cmd) != 0) {
    fprintf(stderr, "command failed: %s\n", cmd);
    failures++;
  }
}

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...) { /* rotating static buffers */
  static char bufs[8][4096];
  static int next;
  char *b = bufs[next++ & 7];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, 4096, fmt, ap);
  va_end(ap);
  return b;
}

static int exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

static char *slurp(const char *p) {
  static char buf[256];
  FILE *f = fopen(p, "r");
  size_t n;
  if (!f) return NULL;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static void spit(const char *p, const char *s) {
  FILE *f = fopen(p, "w");
  if (!f || fputs(s, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", p);
    exit(2);
  }
}

/* HomeDir holds only the named layers: no staging or trash leftovers */
static int home_entries(void) {
  DIR *d = opendir(home);
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* ---- tar building with libarchive (for hostile archives) ---- */
typedef struct ent {
  const char *name;
  int type;         /* 'f' file, 'l' symlink, 'h' hard link, 'd' dir */
  const char *data; /* file content or link target */
} ent;

static void write_tar(const char *path, const ent *es, size_t n) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
    fprintf(stderr, "write_tar %s: %s\n", path, archive_error_string(a));
    exit(2);
  }
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, es[i].name);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (es[i].type) {
    case 'f':
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, (la_int64_t)strlen(es[i].data));
      break;
    case 'd':
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
      break;
    case 'l':
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_symlink(e, es[i].data);
      break;
    case 'h':
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_hardlink(e, es[i].data);
      break;
    }
    archive_write_header(a, e);
    if (es[i].type == 'f') archive_write_data(a, es[i].data, strlen(es[i].data));
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

static plat_layer_descriptor desc(const char *id) {
  plat_layer_descriptor d;
  memset(&d, 0, sizeof d);
  plat_NameToGuid(id, d.LayerId);
  d.Path = strdup(pathf("%s/%s", home, id));
  return d;
}

static void free_descs(plat_layer_descriptor *d, size_t n) {
  for (size_t i = 0; i < n; i++) free((void *)(uintptr_t)d[i].Path);
}

static void test_validation(void) {
  int ex = -1;
  plat_driver_info bad = {1, "relative/home"}, empty = {1, ""};
  char longid[200];
  memset(longid, 'a', 129);
  longid[129] = '\0';
  HR(plat_CreateLayer(&info, "../x", NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&info, "a/b", NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&info, "", NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&info, ".hidden", NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&info, longid, NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&info, NULL, NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&bad, "x", NULL), PLAT_E_INVALIDARG);
  HR(plat_CreateLayer(&empty, "x", NULL), PLAT_E_INVALIDARG);
  HR(plat_LayerExists(&info, "../x", &ex), PLAT_E_INVALIDARG);
  HR(plat_DestroyLayer(&info, "a/b"), PLAT_E_INVALIDARG);
  CHECK(strstr(lay_last_error(), "invalid layer id") != NULL, "message: %s", lay_last_error());
  CHECK(!exists(pathf("%s/x", root)) && !exists(pathf("%s/../x", home)), "nothing created");
}

static void test_create_destroy(void) {
  int ex = -1;
  char *text = NULL;
  plat_layer_descriptor bogus = {{0}, 0, "/nonexistent/layer"}, rel = {{0}, 0, "rel/layer"};
  HR(plat_CreateLayer(&info, "base", NULL), PLAT_S_OK);
  HR(plat_CreateLayer(&info, "base", NULL), PLAT_E_ALREADY_EXISTS);
  HR(plat_LayerExists(&info, "base", &ex), PLAT_S_OK);
  CHECK(ex == 1, "exists %d", ex);
  CHECK(exists(pathf("%s/base/rootfs", home)), "rootfs");
  text = slurp(pathf("%s/base/layer.json", home));
  CHECK(text && strstr(text, "\"Type\":\"ReadOnly\""), "layer.json: %s", text ? text : "(none)");
  HR(plat_CreateSandboxLayer(&info, "sbx", NULL, &bogus, 1), PLAT_E_PATH_NOT_FOUND);
  HR(plat_CreateSandboxLayer(&info, "sbx", NULL, &rel, 1), PLAT_E_INVALIDARG);
  CHECK(!exists(pathf("%s/sbx", home)), "failed create left nothing");
  HR(plat_ExpandSandboxSize(&info, "base", 1 << 30), PLAT_E_INVALIDARG);
  HR(plat_DeactivateLayer(&info, "base"), PLAT_S_OK);
  HR(plat_DestroyLayer(&info, "base"), PLAT_S_OK);
  HR(plat_DestroyLayer(&info, "base"), PLAT_E_NOT_FOUND);
  HR(plat_ActivateLayer(&info, "base"), PLAT_E_NOT_FOUND);
  HR(plat_LayerExists(&info, "base", &ex), PLAT_S_OK);
  CHECK(ex == 0, "exists %d", ex);
  HR(plat_GetBaseImages(&text), PLAT_S_OK);
  CHECK(text && strcmp(text, "{\"Images\":[]}") == 0, "base images %s", text ? text : "");
  free(text);
  CHECK(home_entries() == 0, "home has %d entries", home_entries());
}

static void test_guid(void) {
  uint8_t a[16], b[16], c[16];
  static const uint8_t hello[16] = {0x30, 0x89, 0xec, 0x3b, 0x0e, 0xce, 0x62, 0x5e,
                                    0x80, 0x6e, 0xf7, 0xed, 0x78, 0x3f, 0xf2, 0x23};
  HR(plat_NameToGuid("hello", a), PLAT_S_OK);
  HR(plat_NameToGuid("hello", b), PLAT_S_OK);
  HR(plat_NameToGuid("hellp", c), PLAT_S_OK);
  CHECK(memcmp(a, b, 16) == 0, "deterministic");
  CHECK(memcmp(a, c, 16) != 0, "distinct");
  CHECK((a[7] >> 4) == 5, "version nibble %x", a[7] >> 4);
  CHECK((a[8] & 0xc0) == 0x80, "variant %x", a[8]);
  /* python3: uuid.uuid5(UUID('e87c6d5e-dd68-4164-a324-6422637ee2c0'), 'hello').bytes_le */
  CHECK(memcmp(a, hello, 16) == 0, "vector");
}

static void test_real_tar(void) {
  char src[512], tarp[512];
  struct stat st, st2;
  uint64_t size = 0;
  char *result = NULL, xv[64];
  ssize_t xn;
  char L[1500];
  snprintf(src, sizeof src, "%s/src", root);
  snprintf(tarp, sizeof tarp, "%s/real.tar.gz", root);
  sh("mkdir -p %s/d/sub && cd %s && printf hello > d/f && printf 12345678 > odd && "
     "ln -s d/f sl && ln -s /etc/passwd abs && ln d/f d/hl && printf x > owned && "
     "mkfifo fifo && chmod 0750 d && chmod 0640 d/f && chmod 04711 odd && chmod 1777 d/sub && "
     "chown 1234:5678 owned && chown -h 42:43 sl && printf xa > xattr",
     src, src);
  CHECK(setxattr(pathf("%s/xattr", src), "user.test", "hello", 5, 0) == 0, "setxattr: %s",
        strerror(errno));
  sh("tar --xattrs --xattrs-include='*' --numeric-owner -czpf %s -C %s .", tarp, src);
  HR(plat_ImportLayerTar(&info, "real", tarp, NULL, 0, NULL, &size, &result), PLAT_S_OK);
  CHECK(result == NULL, "result %s", result);
  free(result);
  /* hello(5) + 12345678(8) + x(1) + xa(2); the hard link counts once */
  CHECK(size == 16, "size %llu", (unsigned long long)size);
  snprintf(L, sizeof L, "%s/real/rootfs", home);
  CHECK(lstat(pathf("%s/d", L), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
        "d mode %o", st.st_mode);
  CHECK(lstat(pathf("%s/d/f", L), &st) == 0 && (st.st_mode & 07777) == 0640, "f mode %o",
        st.st_mode);
  CHECK(lstat(pathf("%s/d/hl", L), &st2) == 0 && st2.st_ino == st.st_ino && st.st_nlink == 2,
        "hard link");
  CHECK(lstat(pathf("%s/odd", L), &st) == 0 && (st.st_mode & 07777) == 04711, "odd mode %o",
        st.st_mode);
  CHECK(lstat(pathf("%s/d/sub", L), &st) == 0 && (st.st_mode & 07777) == 01777, "sticky %o",
        st.st_mode);
  CHECK(lstat(pathf("%s/owned", L), &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
        "owner %u:%u", st.st_uid, st.st_gid);
  CHECK(lstat(pathf("%s/sl", L), &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid == 42, "symlink");
  {
    char t[64] = "";
    CHECK(readlink(pathf("%s/sl", L), t, sizeof t - 1) > 0 && strcmp(t, "d/f") == 0, "sl -> %s", t);
    memset(t, 0, sizeof t);
    CHECK(readlink(pathf("%s/abs", L), t, sizeof t - 1) > 0 && strcmp(t, "/etc/passwd") == 0,
          "abs -> %s", t);
  }
  CHECK(lstat(pathf("%s/fifo", L), &st) == 0 && S_ISFIFO(st.st_mode), "fifo");
  xn = getxattr(pathf("%s/xattr", L), "user.test", xv, sizeof xv);
  CHECK(xn == 5 && memcmp(xv, "hello", 5) == 0, "xattr %zd", xn);
  CHECK(lstat(L, &st) == 0 && (st.st_mode & 07777) == 0755, "root mode %o", st.st_mode);
  HR(plat_ImportLayerTar(&info, "real", tarp, NULL, 0, NULL, &size, &result),
     PLAT_E_ALREADY_EXISTS);
  free(result);
  HR(plat_DestroyLayer(&info, "real"), PLAT_S_OK);
  /* other compressions: xz and zstd (if the tools exist), plain */
  {
    static const char *const flags[] = {"-J", "--zstd", ""};
    for (int i = 0; i < 3; i++) {
      if (i == 1 && system("command -v zstd >/dev/null") != 0) continue;
      sh("tar %s --numeric-owner -cpf %s/c.tar -C %s .", flags[i], root, src);
      result = NULL;
      HR(plat_ImportLayerTar(&info, "comp", pathf("%s/c.tar", root), NULL, 0, NULL, &size, &result),
         PLAT_S_OK);
      CHECK(size == 16 && exists(pathf("%s/comp/rootfs/d/hl", home)), "%s", flags[i]);
      free(result);
      HR(plat_DestroyLayer(&info, "comp"), PLAT_S_OK);
    }
  }
}

static void test_whiteouts(void) {
  static const ent low[] = {{"keep.txt", 'f', "keep"}, {"gone.txt", 'f', "gone"},
                            {"opq/", 'd', NULL},       {"opq/old.txt", 'f', "old"},
                            {"dir/", 'd', NULL},       {"dir/x", 'f', "x"}};
  static const ent up[] = {{"./.wh.gone.txt", 'f', ""},   {"opq/", 'd', NULL},
                           {"opq/.wh..wh..opq", 'f', ""}, {"opq/new.txt", 'f', "new"},
                           {"dir/.wh.x", 'f', ""},        {"nodir/.wh.y", 'f', ""}};
  plat_layer_descriptor ds[2];
  uint64_t size;
  char *result = NULL, buf[4096], v[8];
  size_t len = 0;
  struct stat st;
  char M[1500];
  write_tar(pathf("%s/low.tar", root), low, sizeof low / sizeof *low);
  write_tar(pathf("%s/up.tar", root), up, sizeof up / sizeof *up);
  HR(plat_ImportLayerTar(&info, "low", pathf("%s/low.tar", root), NULL, 0, NULL, &size, &result),
     PLAT_S_OK);
  ds[0] = desc("low");
  HR(plat_ImportLayerTar(&info, "up", pathf("%s/up.tar", root), ds, 1, NULL, &size, &result),
     PLAT_S_OK);
  free_descs(ds, 1);
  CHECK(lstat(pathf("%s/up/rootfs/gone.txt", home), &st) == 0 && S_ISCHR(st.st_mode) &&
            st.st_rdev == makedev(0, 0),
        "whiteout device");
  CHECK(!exists(pathf("%s/up/rootfs/.wh.gone.txt", home)), "no .wh. file");
  CHECK(!exists(pathf("%s/up/rootfs/opq/.wh..wh..opq", home)), "no .wh..wh..opq file");
  CHECK(lgetxattr(pathf("%s/up/rootfs/opq", home), "trusted.overlay.opaque", v, sizeof v) == 1 &&
            v[0] == 'y',
        "opaque xattr");
  CHECK(lstat(pathf("%s/up/rootfs/nodir/y", home), &st) == 0 && S_ISCHR(st.st_mode),
        "whiteout in implicit dir");

  ds[0] = desc("up");
  ds[1] = desc("low");
  HR(plat_CreateSandboxLayer(&info, "sb", "up", ds, 2), PLAT_S_OK);
  CHECK(exists(pathf("%s/sb/layerchain.json", home)), "layerchain.json");
  HR(plat_ExpandSandboxSize(&info, "sb", 1 << 30), PLAT_S_OK);
  HR(plat_GetLayerMountPath(&info, "sb", &len, NULL), PLAT_S_OK);
  CHECK(len == 0, "inactive sandbox has no mount path (%zu)", len);
  HR(plat_ActivateLayer(&info, "sb"), PLAT_S_OK);
  HR(plat_ActivateLayer(&info, "sb"), PLAT_S_OK); /* idempotent */
  HR(plat_PrepareLayer(&info, "sb", ds, 2), PLAT_S_OK);
  HR(plat_PrepareLayer(&info, "sb", ds, 2), PLAT_E_BUSY);
  len = 0;
  HR(plat_GetLayerMountPath(&info, "sb", &len, NULL), PLAT_S_OK);
  snprintf(M, sizeof M, "%s/sb/mount", home);
  CHECK(len == strlen(M) + 1, "length %zu", len);
  len -= 1;
  HR(plat_GetLayerMountPath(&info, "sb", &len, buf), PLAT_E_INVALIDARG); /* too small */
  HR(plat_GetLayerMountPath(&info, "sb", &len, buf), PLAT_S_OK);
  CHECK(strcmp(buf, M) == 0, "mount path %s", buf);
  CHECK(exists(pathf("%s/keep.txt", M)), "keep.txt visible");
  CHECK(!exists(pathf("%s/gone.txt", M)), "gone.txt hidden");
  CHECK(!exists(pathf("%s/opq/old.txt", M)), "opaque dir hides old.txt");
  CHECK(exists(pathf("%s/opq/new.txt", M)), "new.txt visible");
  CHECK(exists(pathf("%s/dir", M)) && !exists(pathf("%s/dir/x", M)), "dir/x hidden");
  spit(pathf("%s/written", M), "w");
  CHECK(exists(pathf("%s/sb/upper/written", home)), "writes land in upper");
  HR(plat_DestroyLayer(&info, "sb"), PLAT_E_BUSY);
  HR(plat_DestroyLayer(&info, "low"), PLAT_E_BUSY); /* a lower layer of a mounted sandbox */
  HR(plat_DeactivateLayer(&info, "sb"), PLAT_S_OK); /* unmounts first */
  HR(plat_DestroyLayer(&info, "low"), PLAT_S_OK);   /* no longer in use */
  len = 99;
  HR(plat_GetLayerMountPath(&info, "sb", &len, NULL), PLAT_S_OK);
  CHECK(len == 0, "deactivated: %zu", len);
  HR(plat_DeactivateLayer(&info, "sb"), PLAT_S_OK);
  HR(plat_UnprepareLayer(&info, "sb"), PLAT_S_OK);
  /* read-only layer: mount path is its rootfs */
  len = 0;
  HR(plat_GetLayerMountPath(&info, "up", &len, NULL), PLAT_S_OK);
  CHECK(len == strlen(pathf("%s/up/rootfs", home)) + 1, "ro length %zu", len);
  HR(plat_DestroyLayer(&info, "sb"), PLAT_S_OK);
  HR(plat_DestroyLayer(&info, "up"), PLAT_S_OK);
  free_descs(ds, 2);
  CHECK(home_entries() == 0, "home has %d entries", home_entries());
}

static void hostile(const char *name, const ent *es, size_t n, const char *needle) {
  char tarp[512], *result = NULL;
  uint64_t size = 7;
  plat_hresult hr;
  snprintf(tarp, sizeof tarp, "%s/%s.tar", root, name);
  write_tar(tarp, es, n);
  hr = plat_ImportLayerTar(&info, name, tarp, NULL, 0, NULL, &size, &result);
  CHECK(hr == PLAT_E_BAD_FORMAT, "%s: hr 0x%08x", name, (unsigned)hr);
  {
    json_t *doc = result ? json_loads(result, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(doc, "ErrorMessage"));
    CHECK(json_integer_value(json_object_get(doc, "Error")) == (json_int_t)PLAT_E_BAD_FORMAT &&
              msg && strstr(msg, needle),
          "%s: result %s", name, result ? result : "(null)");
    json_decref(doc);
  }
  CHECK(strstr(lay_last_error(), needle) != NULL, "%s: message", name);
  CHECK(size == 0, "%s size", name);
  CHECK(home_entries() == 0, "%s left %d entries in home", name, home_entries());
  free(result);
}

static void test_hostile(void) {
  char canary[512], link[600];
  struct stat before, after;
  snprintf(canary, sizeof canary, "%s/canary", root);
  CHECK(mkdir(canary, 0755) == 0, "canary");
  {
    ent e[] = {{"ok", 'f', "fine"}, {"../evil", 'f', "evil"}};
    hostile("dotdot", e, 2, "entry \"../evil\": path has a \"..\" component");
  }
  {
    ent e[] = {{"/abs", 'f', "evil"}};
    hostile("abs", e, 1, "entry \"/abs\": absolute path");
  }
  {
    ent e[] = {{"link", 'l', canary}, {"link/evil", 'f', "evil"}};
    hostile("symlinkdir", e, 2, "entry \"link/evil\": parent is a symlink");
  }
  {
    ent e[] = {{"a/", 'd', NULL}, {"a/link", 'l', "../.."}, {"a/link/b/evil", 'f', "evil"}};
    hostile("deepsymlink", e, 3, "entry \"a/link/b/evil\": parent is a symlink");
  }
  CHECK(lstat("/etc/passwd", &before) == 0, "stat passwd");
  {
    ent e[] = {{"hl", 'h', "../../etc/passwd"}};
    hostile("hardlink", e, 1, "entry \"hl\": hard link target");
  }
  {
    ent e[] = {{"hl", 'h', "/etc/passwd"}};
    hostile("hardlinkabs", e, 1, "entry \"hl\": hard link target");
  }
  {
    ent e[] = {{"sl", 'l', "/etc"}, {"h2", 'h', "sl/passwd"}};
    hostile("hardlinksym", e, 2, "entry \"h2\": hard link target: parent is a symlink");
  }
  CHECK(lstat("/etc/passwd", &after) == 0 && after.st_nlink == before.st_nlink, "passwd untouched");
  snprintf(link, sizeof link, "%s/evil", canary);
  CHECK(!exists(link) && !exists(pathf("%s/evil", root)) && !exists(pathf("%s/evil", home)),
        "nothing written outside");
  {
    char *result = NULL;
    uint64_t size;
    spit(pathf("%s/garbage.tar", root), "this is not a tar archive at all, not even close......");
    HR(plat_ImportLayerTar(&info, "garbage", pathf("%s/garbage.tar", root), NULL, 0, NULL, &size,
                           &result),
       PLAT_E_BAD_FORMAT);
    free(result);
    result = NULL;
    HR(plat_ImportLayerTar(&info, "missing", pathf("%s/missing.tar", root), NULL, 0, NULL, &size,
                           &result),
       PLAT_E_FILE_NOT_FOUND);
    CHECK(result && strstr(result, "missing.tar"), "missing result %s", result ? result : "");
    free(result);
    CHECK(home_entries() == 0, "home has %d entries", home_entries());
  }
}

static void test_implicit_parents(void) {
  ent e[] = {{"a/b/file", 'f', "data"}};
  char *result = NULL;
  uint64_t size = 0;
  struct stat st;
  write_tar(pathf("%s/implicit.tar", root), e, 1);
  HR(plat_ImportLayerTar(&info, "implicit", pathf("%s/implicit.tar", root), NULL, 0, NULL, &size,
                         &result),
     PLAT_S_OK);
  CHECK(size == 4, "size %llu", (unsigned long long)size);
  CHECK(lstat(pathf("%s/implicit/rootfs/a", home), &st) == 0 && (st.st_mode & 07777) == 0755,
        "a mode %o", st.st_mode);
  CHECK(lstat(pathf("%s/implicit/rootfs/a/b", home), &st) == 0 && (st.st_mode & 07777) == 0755,
        "a/b mode %o", st.st_mode);
  CHECK(exists(pathf("%s/implicit/rootfs/a/b/file", home)), "file");
  free(result);
  HR(plat_DestroyLayer(&info, "implicit"), PLAT_S_OK);
  {
    /* a later entry replaces a symlink instead of writing through it */
    ent r[] = {{"x", 'l', pathf("%s/canary/target", root)}, {"x", 'f', "plain"}};
    write_tar(pathf("%s/replace.tar", root), r, 2);
    HR(plat_ImportLayerTar(&info, "replace", pathf("%s/replace.tar", root), NULL, 0, NULL, &size,
                           &result),
       PLAT_S_OK);
    CHECK(lstat(pathf("%s/replace/rootfs/x", home), &st) == 0 && S_ISREG(st.st_mode),
          "x is a file");
    CHECK(!exists(pathf("%s/canary/target", root)), "nothing written through the symlink");
    free(result);
    HR(plat_DestroyLayer(&info, "replace"), PLAT_S_OK);
  }
}

static void test_no_parents(void) {
  size_t len = 0;
  HR(plat_CreateSandboxLayer(&info, "lonely", NULL, NULL, 0), PLAT_S_OK);
  HR(plat_PrepareLayer(&info, "lonely", NULL, 0), PLAT_S_OK); /* activates implicitly */
  HR(plat_GetLayerMountPath(&info, "lonely", &len, NULL), PLAT_S_OK);
  CHECK(len > 0, "mount path");
  spit(pathf("%s/lonely/mount/f", home), "x");
  CHECK(exists(pathf("%s/lonely/upper/f", home)), "upper");
  HR(plat_UnprepareLayer(&info, "lonely"), PLAT_S_OK);
  HR(plat_UnprepareLayer(&info, "lonely"), PLAT_S_OK);
  HR(plat_DeactivateLayer(&info, "lonely"), PLAT_S_OK);
  HR(plat_DestroyLayer(&info, "lonely"), PLAT_S_OK);
}

static void test_many_layers(void) {
  enum { N = 60 };
  plat_layer_descriptor ds[N];
  char id[64];
  char *c;
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "layer-%02d-%s", i,
             "padding-to-make-the-paths-long-enough-for-the-limit");
    HR(plat_CreateLayer(&info, id, NULL), PLAT_S_OK);
    spit(pathf("%s/%s/rootfs/f%02d", home, id, i), "x");
    spit(pathf("%s/%s/rootfs/common", home, id), pathf("%d", i));
    ds[N - 1 - i] = desc(id); /* top (newest) first */
  }
  HR(plat_CreateSandboxLayer(&info, "many", NULL, ds, N), PLAT_S_OK);
  HR(plat_ActivateLayer(&info, "many"), PLAT_S_OK);
  HR(plat_PrepareLayer(&info, "many", NULL, 0), PLAT_S_OK); /* recorded parents */
  c = slurp(pathf("%s/many/mount/common", home));
  CHECK(c && strcmp(c, "59") == 0, "top layer wins: %s", c ? c : "(none)");
  CHECK(exists(pathf("%s/many/mount/f00", home)) && exists(pathf("%s/many/mount/f59", home)),
        "all layers visible");
  HR(plat_UnprepareLayer(&info, "many"), PLAT_S_OK);
  HR(plat_PrepareLayer(&info, "many", ds, N), PLAT_S_OK); /* explicit descriptors */
  HR(plat_UnprepareLayer(&info, "many"), PLAT_S_OK);
  HR(plat_DeactivateLayer(&info, "many"), PLAT_S_OK);
  HR(plat_DestroyLayer(&info, "many"), PLAT_S_OK);
  for (int i = 0; i < N; i++) {
    const char *slash = strrchr(ds[i].Path, '/');
    HR(plat_DestroyLayer(&info, slash + 1), PLAT_S_OK);
  }
  free_descs(ds, N);
  CHECK(home_entries() == 0, "home has %d entries", home_entries());
}

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "layer_test: needs root (overlay mounts, chown, mknod)\n");
    return 77;
  }
  snprintf(root, sizeof root, "/tmp/layer-test-XXXXXX");
  if (!mkdtemp(root)) return 2;
  /* a long HomeDir: 60 absolute lowerdirs would not fit one page */
  snprintf(home, sizeof home, "%s/home-with-a-rather-long-name-%s", root,
           "0123456789012345678901234567890123456789012345678901234567890123456789");
  info.Flavour = 1;
  info.HomeDir = home;
  test_validation();
  test_guid();
  test_create_destroy();
  test_real_tar();
  test_whiteouts();
  test_hostile();
  test_implicit_parents();
  test_no_parents();
  test_many_layers();
  sh("grep -q ' %s' /proc/self/mountinfo && echo 'LEFT MOUNTS' && exit 1; rm -rf %s", root, root);
  printf("layer_test: %d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
