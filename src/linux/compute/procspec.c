/* ProcessConfig (HCS schema v1) -> OCI process for `crun exec --process`.
 * Users and executables are looked up inside the container's own root
 * (RESOLVE_IN_ROOT), never on the host. */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BAD PLAT_E_INVALIDARG

int hl_shell_split(const char *s, json_t *out, char **errmsg) {
  size_t n = strlen(s);
  char *w = malloc(n + 1);
  size_t len = 0;
  int inword = 0;
  if (!w) return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (inword) {
        w[len] = 0;
        json_array_append_new(out, json_string(w));
        len = 0;
        inword = 0;
      }
      continue;
    }
    inword = 1;
    if (ch == '\\') {
      if (i + 1 >= n) { *errmsg = strdup("CommandLine: trailing backslash"); free(w); return -1; }
      if (s[i + 1] != '\n') w[len++] = s[i + 1];
      i++;
    } else if (ch == '\'') {
      size_t j = i + 1;
      while (j < n && s[j] != '\'') w[len++] = s[j++];
      if (j >= n) { *errmsg = strdup("CommandLine: unterminated single quote"); free(w); return -1; }
      i = j;
    } else if (ch == '"') {
      size_t j = i + 1;
      while (j < n && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < n && strchr("$`\"\\\n", s[j + 1])) {
          if (s[j + 1] != '\n') w[len++] = s[j + 1];
          j += 2;
        } else {
          w[len++] = s[j++];
        }
      }
      if (j >= n) { *errmsg = strdup("CommandLine: unterminated double quote"); free(w); return -1; }
      i = j;
    } else {
      w[len++] = ch;
    }
  }
  if (inword) {
    w[len] = 0;
    json_array_append_new(out, json_string(w));
  }
  free(w);
  return 0;
}

typedef struct pwent {
  char name[256], home[PATH_MAX];
  long uid, gid;
} pwent;

static int parse_num(const char *s, long *v) {
  char *end;
  if (!*s) return 0;
  errno = 0;
  *v = strtol(s, &end, 10);
  return *end == 0 && errno == 0 && *v >= 0 && *v <= 0x7fffffff;
}

/* by name (name != NULL) or by uid */
static int lookup_passwd(const char *text, const char *name, long uid, pwent *pw) {
  const char *line = text;
  while (line && *line) {
    const char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    char buf[PATH_MAX + 512], *f[7];
    int nf = 0;
    if (ll < sizeof buf) {
      char *p = buf, *q;
      memcpy(buf, line, ll);
      buf[ll] = 0;
      while (nf < 7 && (q = strsep(&p, ":"))) f[nf++] = q;
      if (nf >= 6 && parse_num(f[2], &pw->uid) && parse_num(f[3], &pw->gid) &&
          (name ? strcmp(f[0], name) == 0 : pw->uid == uid)) {
        snprintf(pw->name, sizeof pw->name, "%s", f[0]);
        snprintf(pw->home, sizeof pw->home, "%s", f[5]);
        return 1;
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  return 0;
}

/* group name -> gid, or gids whose member list holds user (into arr) */
static int lookup_group(const char *text, const char *gname, long *gid, const char *user, json_t *arr) {
  const char *line = text;
  int found = 0;
  while (line && *line) {
    const char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    char buf[8192], *f[4];
    int nf = 0;
    if (ll < sizeof buf) {
      char *p = buf, *q;
      long g;
      memcpy(buf, line, ll);
      buf[ll] = 0;
      while (nf < 4 && (q = strsep(&p, ":"))) f[nf++] = q;
      if (nf == 4 && parse_num(f[2], &g)) {
        if (gname && strcmp(f[0], gname) == 0) { *gid = g; return 1; }
        if (user) {
          char *m = f[3], *tok;
          while ((tok = strsep(&m, ","))) {
            if (strcmp(tok, user) == 0) { json_array_append_new(arr, json_integer(g)); found = 1; break; }
          }
        }
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  return found;
}

static int exists_exec(int rootfd, const char *path) {
  struct stat st;
  int fd, ok;
  fd = cmn_open_in_root(rootfd, path, O_PATH);
  if (fd < 0) return 0;
  ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
  close(fd);
  return ok;
}

static int find_exec(int rootfd, const char *exe, const char *cwd, const char *path) {
  char buf[PATH_MAX * 2];
  if (strchr(exe, '/')) {
    if (exe[0] == '/') return exists_exec(rootfd, exe);
    snprintf(buf, sizeof buf, "%s/%s", cwd, exe);
    return exists_exec(rootfd, buf);
  }
  while (path) {
    const char *colon = strchr(path, ':');
    size_t dl = colon ? (size_t)(colon - path) : strlen(path);
    if (dl == 0) snprintf(buf, sizeof buf, "%s/%s", cwd, exe);
    else snprintf(buf, sizeof buf, "%.*s/%s", (int)dl, path, exe);
    if (exists_exec(rootfd, buf)) return 1;
    path = colon ? colon + 1 : NULL;
  }
  return 0;
}

static const char *const known[] = {
    "ApplicationName", "CommandLine", "CommandArgs", "User", "WorkingDirectory", "Environment",
    "EmulateConsole", "CreateStdInPipe", "CreateStdOutPipe", "CreateStdErrPipe", "ConsoleSize",
    "CreateInUtilityVm", "OCISpecification"};

plat_hresult hl_parse_process(const char *json, int rootfd, hl_procconf *p, char **result) {
  json_error_t je;
  json_t *cfg, *args = json_array(), *env = json_array(), *user = NULL, *v;
  const char *key, *app, *cmdline, *uspec, *cwd;
  char *passwd = NULL, *group = NULL, *path_env = NULL;
  int has_path = 0, has_home = 0, has_term = 0;
  pwent pw;
  plat_hresult hr = PLAT_S_OK;
  memset(p, 0, sizeof *p);
  cfg = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
  if (!cfg || !json_is_object(cfg)) {
    hr = cmn_fail(result, PLAT_HCS_E_INVALID_JSON, "the process configuration is not a valid JSON object: %s",
                 cfg ? "not an object" : je.text);
    goto done;
  }
  json_object_foreach(cfg, key, v) {
    size_t i;
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
      if (strcasecmp(key, known[i]) == 0) break;
    if (i == sizeof known / sizeof known[0]) { hr = cmn_fail(result, BAD, "unknown ProcessConfig field `%s`", key); goto done; }
    if (i <= 4 && !json_is_string(v) && !json_is_null(v) && i != 2) { hr = cmn_fail(result, BAD, "%s: expected a string", known[i]); goto done; }
    if (i >= 6 && i <= 9 && !json_is_boolean(v) && !json_is_null(v)) { hr = cmn_fail(result, BAD, "%s: expected a boolean", known[i]); goto done; }
    if (i == 11 && json_is_true(v)) { hr = cmn_fail(result, PLAT_E_NOT_SUPPORTED, "CreateInUtilityVm is not supported on this platform"); goto done; }
    if (i == 12 && !json_is_null(v)) { hr = cmn_fail(result, PLAT_E_NOT_SUPPORTED, "OCISpecification is not supported on this platform"); goto done; }
  }
  p->console = json_is_true(cmn_get(cfg, "EmulateConsole"));
  p->in = json_is_true(cmn_get(cfg, "CreateStdInPipe"));
  p->out = json_is_true(cmn_get(cfg, "CreateStdOutPipe"));
  p->err = json_is_true(cmn_get(cfg, "CreateStdErrPipe"));
  v = cmn_get(cfg, "ConsoleSize");
  if (v && !json_is_null(v)) {
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(json_array_get(v, 0)) ||
        !json_is_integer(json_array_get(v, 1)) || json_integer_value(json_array_get(v, 0)) < 0 ||
        json_integer_value(json_array_get(v, 1)) < 0 || json_integer_value(json_array_get(v, 0)) > 65535 ||
        json_integer_value(json_array_get(v, 1)) > 65535) {
      hr = cmn_fail(result, BAD, "ConsoleSize: expected [Height, Width] with values 0..65535");
      goto done;
    }
    p->rows = (unsigned)json_integer_value(json_array_get(v, 0));
    p->cols = (unsigned)json_integer_value(json_array_get(v, 1));
  }

  /* argv */
  v = cmn_get(cfg, "CommandArgs");
  if (v && !json_is_null(v)) {
    size_t i;
    json_t *a;
    if (!json_is_array(v)) { hr = cmn_fail(result, BAD, "CommandArgs: expected an array of strings"); goto done; }
    json_array_foreach(v, i, a) {
      if (!json_is_string(a)) { hr = cmn_fail(result, BAD, "CommandArgs[%zu]: expected a string", i); goto done; }
      json_array_append(args, a);
    }
  }
  cmdline = cmn_str(cfg, "CommandLine");
  if (json_array_size(args) == 0 && cmdline && *cmdline) {
    char *msg = NULL;
    if (hl_shell_split(cmdline, args, &msg) < 0) {
      hr = cmn_fail(result, BAD, "%s", msg ? msg : "CommandLine: cannot split");
      free(msg);
      goto done;
    }
  }
  app = cmn_str(cfg, "ApplicationName");
  if (app && *app) {
    if (json_array_size(args) == 0) json_array_append_new(args, json_string(app));
    else json_array_set_new(args, 0, json_string(app));
  }
  if (json_array_size(args) == 0) {
    hr = cmn_fail(result, BAD, "CommandLine, CommandArgs or ApplicationName is required");
    goto done;
  }

  cwd = cmn_str(cfg, "WorkingDirectory");
  if (!cwd || !*cwd) cwd = "/";
  if (cwd[0] != '/') { hr = cmn_fail(result, BAD, "WorkingDirectory `%s`: must be an absolute path", cwd); goto done; }

  /* user */
  uspec = cmn_str(cfg, "User");
  passwd = cmn_read_fileat(rootfd, "/etc/passwd", NULL);
  group = cmn_read_fileat(rootfd, "/etc/group", NULL);
  memset(&pw, 0, sizeof pw);
  snprintf(pw.home, sizeof pw.home, "/");
  user = json_object();
  {
    long uid = 0, gid = 0;
    int named = 0, gid_given = 0;
    if (uspec && *uspec) {
      char ubuf[512], *colon;
      snprintf(ubuf, sizeof ubuf, "%s", uspec);
      colon = strchr(ubuf, ':');
      if (colon) *colon++ = 0;
      if (parse_num(ubuf, &uid)) {
        if (passwd && lookup_passwd(passwd, NULL, uid, &pw)) { gid = pw.gid; named = 1; }
      } else if (passwd && lookup_passwd(passwd, ubuf, 0, &pw)) {
        uid = pw.uid;
        gid = pw.gid;
        named = 1;
      } else {
        hr = cmn_fail(result, BAD, "User `%s`: no such user in the container's /etc/passwd", uspec);
        goto done;
      }
      if (colon) {
        gid_given = 1;
        if (!parse_num(colon, &gid) && !(group && lookup_group(group, colon, &gid, NULL, NULL))) {
          hr = cmn_fail(result, BAD, "User `%s`: no such group `%s` in the container's /etc/group", uspec, colon);
          goto done;
        }
      }
    } else if (passwd) {
      lookup_passwd(passwd, NULL, 0, &pw);
      named = pw.name[0] != 0;
    }
    json_object_set_new(user, "uid", json_integer(uid));
    json_object_set_new(user, "gid", json_integer(gid));
    if (named && !gid_given && group) {
      json_t *extra = json_array();
      if (lookup_group(group, NULL, NULL, pw.name, extra)) json_object_set(user, "additionalGids", extra);
      json_decref(extra);
    }
  }

  /* environment */
  v = cmn_get(cfg, "Environment");
  if (v && !json_is_null(v)) {
    const char *k;
    json_t *ev;
    if (!json_is_object(v)) { hr = cmn_fail(result, BAD, "Environment: expected an object of strings"); goto done; }
    json_object_foreach(v, k, ev) {
      char *kv;
      if (!json_is_string(ev)) { hr = cmn_fail(result, BAD, "Environment.%s: expected a string", k); goto done; }
      if (!*k || strchr(k, '=')) { hr = cmn_fail(result, BAD, "Environment: invalid variable name `%s`", k); goto done; }
      kv = cmn_printf("%s=%s", k, json_string_value(ev));
      json_array_append_new(env, json_string(kv));
      free(kv);
      if (strcmp(k, "PATH") == 0) { has_path = 1; path_env = strdup(json_string_value(ev)); }
      if (strcmp(k, "HOME") == 0) has_home = 1;
      if (strcmp(k, "TERM") == 0) has_term = 1;
    }
  }
  if (!has_path) json_array_append_new(env, json_string("PATH=" CMN_DEFAULT_PATH));
  if (!has_home) {
    char *kv = cmn_printf("HOME=%s", pw.home[0] ? pw.home : "/");
    json_array_append_new(env, json_string(kv));
    free(kv);
  }
  if (p->console && !has_term) json_array_append_new(env, json_string("TERM=xterm"));

  {
    const char *exe = json_string_value(json_array_get(args, 0));
    if (!find_exec(rootfd, exe, cwd, path_env ? path_env : CMN_DEFAULT_PATH)) {
      hr = cmn_fail(result, PLAT_E_FILE_NOT_FOUND, "executable file `%s` not found in the container (PATH=%s)",
                   exe, path_env ? path_env : CMN_DEFAULT_PATH);
      goto done;
    }
  }

  {
    json_t *caps = hl_default_caps();
    /* no ambient capabilities: a non-root User loses them at exec, as
     * under Docker */
    p->process = json_pack("{s:b,s:O,s:O,s:O,s:s,s:{s:O,s:O,s:[],s:O,s:[]},s:b,s:[{s:s,s:i,s:i}]}",
                           "terminal", p->console, "user", user, "args", args, "env", env, "cwd", cwd,
                           "capabilities", "bounding", caps, "effective", caps, "inheritable",
                           "permitted", caps, "ambient", "noNewPrivileges", 1, "rlimits", "type",
                           "RLIMIT_NOFILE", "hard", 1024, "soft", 1024);
    json_decref(caps);
    if (p->console && p->rows && p->cols)
      json_object_set_new(p->process, "consoleSize", json_pack("{s:i,s:i}", "height", (int)p->rows, "width", (int)p->cols));
    if (!p->process) hr = cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
  }
done:
  json_decref(cfg);
  json_decref(args);
  json_decref(env);
  json_decref(user);
  free(passwd);
  free(group);
  free(path_env);
  return hr;
}
