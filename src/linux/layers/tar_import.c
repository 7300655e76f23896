/* ImportLayerTar: an OCI layer tar (plain, gzip, xz, zstd, ...) into a new
 * read-only layer's rootfs/.
 *
 * libarchive's archive_write_disk resolves entry paths against the current
 * directory, which is process-wide, and our caller may be multi-threaded; so
 * the extraction runs in the extract program (extract.c), started in the
 * staging rootfs, which reports one fixed-size message back on its stdout.
 * Before any entry is written it checks the entry itself, so a refusal names the entry:
 * absolute paths, ".." components, parents that are symlinks (or not
 * directories) already on disk, and hard links whose target fails the same
 * checks.  libarchive's SECURE_* flags stay on as a second line of defence.
 * OCI whiteouts become overlay whiteouts: ".wh.<name>" -> char device 0:0
 * <name>, ".wh..wh..opq" -> trusted.overlay.opaque=y on the directory,
 * applied after the last entry so they hide only lower layers' entries
 * (a same-layer directory that is whited out becomes opaque instead).
 * The layer is assembled in a staging folder and renamed into place only on
 * success, so a failed import leaves nothing behind. */
#include "linux/common/common.h"
#include "linux/common/json.h"
#include "linux/layers/extract.h"
#include "linux/layers/layer_store.h"
#include "linux/layers/layers.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads the extract program's records as they arrive: progress goes to
 * the caller's callback, the result is kept. */
typedef struct records {
  const plat_progress *progress;
  size_t off;
  int cancelled, done;
  xmsg result;
} records;

static int on_records(void *ctx, const char *buf, size_t len) {
  records *r = ctx;
  uint32_t kind;
  while (!r->done && len - r->off >= sizeof kind) {
    size_t need;
    memcpy(&kind, buf + r->off, sizeof kind);
    need = kind == XREC_PROGRESS ? sizeof(xprog) : sizeof(xmsg);
    if (len - r->off < need) break;
    if (kind == XREC_PROGRESS) {
      xprog p;
      memcpy(&p, buf + r->off, sizeof p);
      if (r->progress && r->progress->report(r->progress->ctx, p.bytes, p.entries))
        return r->cancelled = 1;
    } else {
      memcpy(&r->result, buf + r->off, sizeof r->result);
      r->done = kind == XREC_RESULT;
    }
    r->off += need;
  }
  return 0;
}

/* Runs the extract program with the tar on stdin, the report on stdout and
 * cwd = rootfs; fills *m. */
static void run_child(xmsg *m, const char *rootfs, int tarfd, const plat_progress *progress) {
  char *exe = cmn_program_path("extract", "HCSSHIM_EXTRACT"), *out = NULL;
  const char *argv[] = {"hcsshim-extract", NULL};
  cmn_cmd c = CMN_CMD_INIT;
  records r;
  size_t got = 0;
  int st;
  memset(m, 0, sizeof *m);
  memset(&r, 0, sizeof r);
  r.progress = progress;
  if (!exe) {
    lay_xfail(m, PLAT_E_OUTOFMEMORY, NULL, "out of memory");
    return;
  }
  c.prog = exe;
  c.argv = argv;
  c.cwd = rootfs;
  c.fds[0] = tarfd;
  c.out = &out;
  c.out_len = &got;
  c.on_out = on_records;
  c.out_ctx = &r;
  st = cmn_run(&c);
  if (r.cancelled) lay_xfail(m, PLAT_E_ABORT, NULL, "cancelled by the progress callback");
  else if (r.done && r.off == got) *m = r.result;
  else if (st < 0)
    lay_xfail(m, PLAT_E_FAIL, NULL, "cannot run the extractor `%s`: %s (set HCSSHIM_EXTRACT)", exe,
              strerror(-st));
  else if (WIFSIGNALED(st))
    lay_xfail(m, PLAT_E_FAIL, NULL, "extraction process died of signal %s",
              strsignal(WTERMSIG(st)));
  else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
    lay_xfail(m, PLAT_E_FAIL, NULL, "cannot run the extractor `%s` (set HCSSHIM_EXTRACT)", exe);
  else if (WIFEXITED(st) && WEXITSTATUS(st) == 125)
    lay_xfail(m, PLAT_E_FAIL, NULL, "chdir %s failed", rootfs);
  else lay_xfail(m, PLAT_E_FAIL, NULL, "extraction process exited without a report");
  m->text[sizeof m->text - 1] = '\0';
  free(out);
  free(exe);
}

/* {"Error": hr, "ErrorMessage": msg}; msg quotes entry names, which may
 * hold any bytes */
static char *result_doc(plat_hresult hr, const char *msg) {
  json_t *doc = json_pack("{s:i,s:o}", "Error", (json_int_t)hr, "ErrorMessage",
                          cmn_json_text(msg, strlen(msg)));
  char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  return out;
}

static plat_hresult finish(plat_hresult hr, char **result) {
  if (hr < 0 && result) *result = result_doc(hr, lay_last_error());
  return hr;
}

plat_hresult lay_import_tar(const plat_driver_info *info, const char *id, const char *tar_path,
                            const plat_layer_descriptor *layers, size_t count,
                            const plat_progress *progress, uint64_t *size, char **result) {
  lyr l;
  char staging[LYR_PATH_MAX], rootfs[LYR_PATH_MAX], pname[LYR_PATH_MAX];
  const char *parent = "";
  struct stat st;
  uint64_t tar_bytes;
  xmsg m;
  int fd;
  plat_hresult hr;
  lyr_clear_error();
  if (result) *result = NULL;
  if (size) *size = 0;
  if ((hr = lyr_init(&l, info, id, "import of")) < 0) return finish(hr, result);
  if (!tar_path || !tar_path[0])
    return finish(lyr_fail(PLAT_E_INVALIDARG, "import of layer %s: no tar path", id), result);
  if ((hr = lyr_check_parents(&l, layers, count)) < 0) return finish(hr, result);
  fd = open(tar_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
    int e = fd < 0 ? errno : EISDIR;
    if (fd >= 0) close(fd);
    return finish(lyr_fail(e == ENOENT   ? PLAT_E_FILE_NOT_FOUND
                           : e == EACCES ? PLAT_E_ACCESSDENIED
                                         : PLAT_E_INVALIDARG,
                           "import of layer %s: %s: %s", id, tar_path, strerror(e)),
                  result);
  }
  tar_bytes = (uint64_t)st.st_size;
  hr = lyr_ensure_home(&l);
  if (hr >= 0 && lstat(l.dir, &st) == 0)
    hr = lyr_fail(PLAT_E_ALREADY_EXISTS, "import of layer %s: the layer already exists in %s", id,
                  l.home);
  if (hr < 0) {
    close(fd);
    return finish(hr, result);
  }
  if ((hr = lyr_staging_new(&l, staging)) < 0) {
    close(fd);
    return finish(hr, result);
  }
  if (count > 0) { /* the nearest parent's folder name, as docker passes it */
    size_t n = strlen(layers[0].Path);
    while (n > 1 && layers[0].Path[n - 1] == '/') n--;
    lyr_pathf(pname, "%.*s", (int)n, layers[0].Path);
    parent = strrchr(pname, '/') + 1; /* checked absolute */
  }
  /* cannot truncate: HomeDir and id are bounded well below LYR_PATH_MAX */
  if (snprintf(rootfs, sizeof rootfs, "%s/rootfs", staging) >= (int)sizeof rootfs ||
      mkdir(rootfs, 0755) < 0)
    hr = lyr_fail(PLAT_E_FAIL, "import of layer %s: mkdir %s: %s", id, rootfs, strerror(errno));
  if (hr >= 0) hr = lyr_meta_write(&l, staging, 0, parent, layers, count);
  if (hr >= 0) {
    run_child(&m, rootfs, fd, progress);
    if (m.hr < 0) hr = lyr_fail(m.hr, "import of layer %s: %s", id, m.text);
  }
  close(fd);
  if (hr >= 0) hr = lyr_staging_publish(&l, staging);
  if (hr < 0) {
    int rc = lyr_staging_remove(&l, staging);
    if (rc < 0)
      lyr_fail(hr, "%s (and removing %s failed: %s)", lay_last_error(), staging, strerror(-rc));
    return finish(hr, result);
  }
  if (size) *size = m.size;
  /* the last report: the whole file, every entry */
  if (progress) progress->report(progress->ctx, tar_bytes, m.entries);
  return PLAT_S_OK;
}
