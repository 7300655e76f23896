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
      if (i + 1 >= n) {
        *errmsg = strdup("CommandLine: trailing backslash");
        free(w);
        return -1;
      }
      if (s[i + 1] != '\n') w[len++] = s[i + 1];
      i++;
    } else if (ch == '\'') {
      size_t j = i + 1;
      while (j < n && s[j] != '\'') w[len++] = s[j++];
      if (j >= n) {
        *errmsg = strdup("CommandLine: unterminated single "
                         "quote");
        free(w);
        return -1;
      }
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
      if (j >= n) {
        *errmsg = strdup("CommandLine: unterminated double "
                         "quote");
        free(w);
        return -1;
      }
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
static int lookup_group(const char *text, const char *gname, long *gid, const char *user,
                        json_t *arr) {
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
        if (gname && strcmp(f[0], gname) == 0) {
          *gid = g;
          return 1;
        }
        if (user) {
          char *m = f[3], *tok;
          while ((tok = strsep(&m, ","))) {
            if (strcmp(tok, user) == 0) {
              json_array_append_new(arr, json_integer(g));
              found = 1;
              break;
            }
          }
        }
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  return found;
}

static const char *const known[] = {
    "ApplicationName",  "CommandLine",      "CommandArgs",    "User",
    "WorkingDirectory", "Environment",      "EmulateConsole", "CreateStdInPipe",
    "CreateStdOutPipe", "CreateStdErrPipe", "ConsoleSize",    "CreateInUtilityVm",
    "OCISpecification"};

/* What one ProcessConfig becomes, step by step. */
typedef struct pstate {
  json_t *cfg, *args, *env, *user;
  const char *cwd;
  char *path_env;
  pwent pw;
} pstate;

/* What a candidate for the executable is, as execve(2) would see it. */
enum { EXE_MISSING, EXE_OK, EXE_NOT_EXEC, EXE_DIR };

/* A dangling symlink fails to open and reads as missing, as for execve. */
static int exe_kind(int rootfd, const char *path) {
  struct stat st;
  int fd, kind = EXE_MISSING;
  fd = cmn_open_in_root(rootfd, path, O_PATH);
  if (fd < 0) return EXE_MISSING;
  if (fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) kind = EXE_DIR;
    else kind = S_ISREG(st.st_mode) && (st.st_mode & 0111) ? EXE_OK : EXE_NOT_EXEC;
  }
  close(fd);
  return kind;
}

/* Like execvp: the first executable candidate on PATH wins; if none is,
 * a candidate that exists but cannot be run is what gets reported (its
 * kind, its path in *found), else EXE_MISSING. */
static int find_exec(int rootfd, const char *exe, const char *cwd, const char *path, char *found,
                     size_t flen) {
  char buf[PATH_MAX * 2];
  int kind, seen = EXE_MISSING;
  if (strchr(exe, '/')) {
    if (exe[0] == '/') snprintf(buf, sizeof buf, "%s", exe);
    else snprintf(buf, sizeof buf, "%s/%s", cwd, exe);
    snprintf(found, flen, "%s", buf);
    return exe_kind(rootfd, buf);
  }
  while (path) {
    const char *colon = strchr(path, ':');
    size_t dl = colon ? (size_t)(colon - path) : strlen(path);
    if (dl == 0) snprintf(buf, sizeof buf, "%s/%s", cwd, exe);
    else snprintf(buf, sizeof buf, "%.*s/%s", (int)dl, path, exe);
    kind = exe_kind(rootfd, buf);
    if (kind == EXE_OK) return EXE_OK;
    if (kind != EXE_MISSING && seen == EXE_MISSING) {
      seen = kind;
      snprintf(found, flen, "%s", buf);
    }
    path = colon ? colon + 1 : NULL;
  }
  return seen;
}

/* HCS answers E_ACCESSDENIED for a file it cannot run and
 * ERROR_FILE_NOT_FOUND for one that is not there. */
static plat_hresult check_exec(int rootfd, pstate *s, char **result) {
  const char *exe = json_string_value(json_array_get(s->args, 0)),
             *path = s->path_env ? s->path_env : CMN_DEFAULT_PATH;
  char found[PATH_MAX * 2] = "";
  switch (find_exec(rootfd, exe, s->cwd, path, found, sizeof found)) {
  case EXE_OK: return PLAT_S_OK;
  case EXE_DIR:
    return cmn_fail(result, PLAT_E_ACCESSDENIED,
                    "executable file `%s` cannot be run: %s in the container is a directory", exe,
                    found);
  case EXE_NOT_EXEC:
    return cmn_fail(result, PLAT_E_ACCESSDENIED,
                    "executable file `%s` cannot be run: %s in the container is not executable "
                    "(permission denied)",
                    exe, found);
  default:
    return cmn_fail(result, PLAT_E_FILE_NOT_FOUND,
                    "executable file `%s` not found in the container (PATH=%s)", exe, path);
  }
}

static plat_hresult check_fields(json_t *cfg, char **result) {
  const char *key;
  json_t *v;
  json_object_foreach(cfg, key, v) {
    size_t i;
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
      if (strcasecmp(key, known[i]) == 0) break;
    if (i == sizeof known / sizeof known[0])
      return cmn_fail(result, BAD, "unknown ProcessConfig field `%s`", key);
    if (i <= 4 && !json_is_string(v) && !json_is_null(v) && i != 2)
      return cmn_fail(result, BAD, "%s: expected a string", known[i]);
    if (i >= 6 && i <= 9 && !json_is_boolean(v) && !json_is_null(v))
      return cmn_fail(result, BAD, "%s: expected a boolean", known[i]);
    if (i == 11 && json_is_true(v))
      return cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                      "CreateInUtilityVm is not supported on this platform");
    if (i == 12 && !json_is_null(v))
      return cmn_fail(result, PLAT_E_NOT_SUPPORTED,
                      "OCISpecification is not supported on this platform");
  }
  return PLAT_S_OK;
}

static plat_hresult take_stdio(json_t *cfg, hl_procconf *p, char **result) {
  json_t *v = cmn_get(cfg, "ConsoleSize");
  p->console = json_is_true(cmn_get(cfg, "EmulateConsole"));
  p->in = json_is_true(cmn_get(cfg, "CreateStdInPipe"));
  p->out = json_is_true(cmn_get(cfg, "CreateStdOutPipe"));
  p->err = json_is_true(cmn_get(cfg, "CreateStdErrPipe"));
  if (!v || json_is_null(v)) return PLAT_S_OK;
  if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(json_array_get(v, 0)) ||
      !json_is_integer(json_array_get(v, 1)) || json_integer_value(json_array_get(v, 0)) < 0 ||
      json_integer_value(json_array_get(v, 1)) < 0 ||
      json_integer_value(json_array_get(v, 0)) > 65535 ||
      json_integer_value(json_array_get(v, 1)) > 65535)
    return cmn_fail(result, BAD, "ConsoleSize: expected [Height, Width] with values 0..65535");
  p->rows = (unsigned)json_integer_value(json_array_get(v, 0));
  p->cols = (unsigned)json_integer_value(json_array_get(v, 1));
  return PLAT_S_OK;
}

/* argv: CommandArgs, else CommandLine split as a shell would; then
 * ApplicationName replaces argv[0]. */
static plat_hresult take_args(pstate *s, char **result) {
  json_t *v = cmn_get(s->cfg, "CommandArgs"), *a;
  const char *cmdline = cmn_str(s->cfg, "CommandLine"), *app = cmn_str(s->cfg, "ApplicationName");
  size_t i;
  if (v && !json_is_null(v)) {
    if (!json_is_array(v))
      return cmn_fail(result, BAD, "CommandArgs: expected an array of strings");
    json_array_foreach(v, i, a) {
      if (!json_is_string(a))
        return cmn_fail(result, BAD, "CommandArgs[%zu]: expected a string", i + 1);
      json_array_append(s->args, a);
    }
  }
  if (json_array_size(s->args) == 0 && cmdline && *cmdline) {
    char *msg = NULL;
    if (hl_shell_split(cmdline, s->args, &msg) < 0) {
      plat_hresult hr = cmn_fail(result, BAD, "%s", msg ? msg : "CommandLine: cannot split");
      free(msg);
      return hr;
    }
  }
  if (app && *app) {
    if (json_array_size(s->args) == 0) json_array_append_new(s->args, json_string(app));
    else json_array_set_new(s->args, 0, json_string(app));
  }
  if (json_array_size(s->args) == 0)
    return cmn_fail(result, BAD, "CommandLine, CommandArgs or ApplicationName is required");
  s->cwd = cmn_str(s->cfg, "WorkingDirectory");
  if (!s->cwd || !*s->cwd) s->cwd = "/";
  if (s->cwd[0] != '/')
    return cmn_fail(result, BAD, "WorkingDirectory `%s`: must be an absolute path", s->cwd);
  return PLAT_S_OK;
}

/* A file of the container's root into *text (NULL if absent); anything but
 * a regular file of bounded size is refused, naming the file. */
plat_hresult hl_root_file(int rootfd, const char *path, char **text, char **result) {
  *text = cmn_read_fileat(rootfd, path, CMN_ROOT_FILE_MAX, NULL);
  if (*text || errno == ENOENT || errno == ENOTDIR) return PLAT_S_OK;
  return cmn_fail(result, BAD, "the container's %s: %s", path, cmn_read_why(errno));
}

/* User "name", "uid", "name:group" or "uid:gid", looked up in the
 * container's own /etc/passwd and /etc/group. */
static plat_hresult take_user(pstate *s, int rootfd, char **result) {
  const char *uspec = cmn_str(s->cfg, "User");
  char *passwd = NULL, *group = NULL;
  long uid = 0, gid = 0;
  int named = 0, gid_given = 0;
  plat_hresult hr = PLAT_S_OK;
  snprintf(s->pw.home, sizeof s->pw.home, "/");
  if ((hr = hl_root_file(rootfd, "/etc/passwd", &passwd, result)) < 0 ||
      (hr = hl_root_file(rootfd, "/etc/group", &group, result)) < 0) {
    free(passwd);
    return hr;
  }
  if (uspec && *uspec) {
    char ubuf[512], *colon;
    snprintf(ubuf, sizeof ubuf, "%s", uspec);
    colon = strchr(ubuf, ':');
    if (colon) *colon++ = 0;
    if (parse_num(ubuf, &uid)) {
      if (passwd && lookup_passwd(passwd, NULL, uid, &s->pw)) {
        gid = s->pw.gid;
        named = 1;
      }
    } else if (passwd && lookup_passwd(passwd, ubuf, 0, &s->pw)) {
      uid = s->pw.uid;
      gid = s->pw.gid;
      named = 1;
    } else {
      hr = cmn_fail(result, BAD, "User `%s`: no such user in the container's /etc/passwd", uspec);
    }
    if (hr >= 0 && colon) {
      gid_given = 1;
      if (!parse_num(colon, &gid) && !(group && lookup_group(group, colon, &gid, NULL, NULL)))
        hr = cmn_fail(result, BAD, "User `%s`: no such group `%s` in the container's /etc/group",
                      uspec, colon);
    }
  } else if (passwd) {
    lookup_passwd(passwd, NULL, 0, &s->pw);
    named = s->pw.name[0] != 0;
  }
  json_object_set_new(s->user, "uid", json_integer(uid));
  json_object_set_new(s->user, "gid", json_integer(gid));
  if (hr >= 0 && named && !gid_given && group) {
    json_t *extra = json_array();
    if (lookup_group(group, NULL, NULL, s->pw.name, extra))
      json_object_set(s->user, "additionalGids", extra);
    json_decref(extra);
  }
  free(passwd);
  free(group);
  return hr;
}

/* Environment, plus PATH, HOME and (with a console) TERM unless given. */
static plat_hresult take_env(pstate *s, int console, char **result) {
  json_t *v = cmn_get(s->cfg, "Environment"), *ev;
  const char *k;
  int has_path = 0, has_home = 0, has_term = 0;
  char *kv;
  if (v && !json_is_null(v) && !json_is_object(v))
    return cmn_fail(result, BAD, "Environment: expected an object of strings");
  json_object_foreach(v, k, ev) {
    if (!json_is_string(ev)) return cmn_fail(result, BAD, "Environment.%s: expected a string", k);
    if (!*k || strchr(k, '='))
      return cmn_fail(result, BAD, "Environment: invalid variable name `%s`", k);
    kv = cmn_printf("%s=%s", k, json_string_value(ev));
    json_array_append_new(s->env, json_string(kv));
    free(kv);
    if (strcmp(k, "PATH") == 0) {
      has_path = 1;
      free(s->path_env);
      s->path_env = strdup(json_string_value(ev));
    }
    if (strcmp(k, "HOME") == 0) has_home = 1;
    if (strcmp(k, "TERM") == 0) has_term = 1;
  }
  if (!has_path) json_array_append_new(s->env, json_string("PATH=" CMN_DEFAULT_PATH));
  if (!has_home) {
    kv = cmn_printf("HOME=%s", s->pw.home[0] ? s->pw.home : "/");
    json_array_append_new(s->env, json_string(kv));
    free(kv);
  }
  if (console && !has_term) json_array_append_new(s->env, json_string("TERM=xterm"));
  return PLAT_S_OK;
}

/* A console with a size starts through the console stub, when the
 * container has it: `HL_TTY_STUB ROWS COLS -- args...`. */
static plat_hresult via_tty_stub(pstate *s, const hl_procconf *p, int rootfd) {
  json_t *args;
  char n[16];
  if (!p->console || !p->rows || !p->cols || exe_kind(rootfd, HL_TTY_STUB) != EXE_OK)
    return PLAT_S_OK;
  if (!(args = json_array())) return PLAT_E_OUTOFMEMORY;
  json_array_append_new(args, json_string(HL_TTY_STUB));
  snprintf(n, sizeof n, "%u", p->rows);
  json_array_append_new(args, json_string(n));
  snprintf(n, sizeof n, "%u", p->cols);
  json_array_append_new(args, json_string(n));
  json_array_append_new(args, json_string("--"));
  if (json_array_extend(args, s->args) < 0 ||
      json_array_size(args) != json_array_size(s->args) + 4) {
    json_decref(args);
    return PLAT_E_OUTOFMEMORY;
  }
  json_decref(s->args);
  s->args = args;
  return PLAT_S_OK;
}

static plat_hresult make_process(pstate *s, hl_procconf *p, char **result) {
  /* no ambient capabilities: a non-root User loses them at exec, as
   * under Docker */
  json_t *caps = hl_default_caps();
  p->process = json_pack("{s:b,s:O,s:O,s:O,s:s,s:{s:O,s:O,s:[],s:O,s:[]},s:b,s:[{s:s,s:i,s:i}]}",
                         "terminal", p->console, "user", s->user, "args", s->args, "env", s->env,
                         "cwd", s->cwd, "capabilities", "bounding", caps, "effective", caps,
                         "inheritable", "permitted", caps, "ambient", "noNewPrivileges", 1,
                         "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024);
  json_decref(caps);
  if (p->process && p->console && p->rows && p->cols)
    json_object_set_new(p->process, "consoleSize",
                        json_pack("{s:i,s:i}", "height", (int)p->rows, "width", (int)p->cols));
  return p->process ? PLAT_S_OK : cmn_fail(result, PLAT_E_OUTOFMEMORY, "out of memory");
}

plat_hresult hl_parse_process(const char *json, int rootfd, hl_procconf *p, char **result) {
  json_error_t je;
  pstate s;
  plat_hresult hr;
  memset(p, 0, sizeof *p);
  memset(&s, 0, sizeof s);
  s.cfg = cmn_json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
  s.args = json_array();
  s.env = json_array();
  s.user = json_object();
  if (!s.cfg || !json_is_object(s.cfg))
    hr = cmn_fail(result, PLAT_HCS_E_INVALID_JSON,
                  "the process configuration is not a valid JSON object: %s",
                  s.cfg ? "not an object" : je.text);
  else if ((hr = check_fields(s.cfg, result)) >= 0 && (hr = take_stdio(s.cfg, p, result)) >= 0 &&
           (hr = take_args(&s, result)) >= 0 && (hr = take_user(&s, rootfd, result)) >= 0 &&
           (hr = take_env(&s, p->console, result)) >= 0 &&
           (hr = check_exec(rootfd, &s, result)) >= 0) {
    hr = via_tty_stub(&s, p, rootfd);
    hr = hr < 0 ? cmn_fail(result, hr, "out of memory") : make_process(&s, p, result);
  }
  json_decref(s.cfg);
  json_decref(s.args);
  json_decref(s.env);
  json_decref(s.user);
  free(s.path_env);
  return hr;
}
