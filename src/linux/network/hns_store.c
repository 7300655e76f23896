/* The HNS store: networks and endpoints as rows of one SQLite database in
 * the data root (<HCSSHIM_DATA_ROOT or /var/lib/hcsshim>/hns/hns.db).
 *
 * WAL mode, a 60 s busy timeout, and every change inside BEGIN IMMEDIATE:
 * concurrent creators serialise on the write lock, so reservations (IP,
 * MAC, name) never race, and a client killed mid-create leaves the
 * transaction either committed whole or not at all.
 *
 * Each row keeps the HNS document as JSON ("doc") next to the indexed
 * columns that uniqueness and lookups need. */
#include "linux/network/hns.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS networks ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, doc TEXT NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS networks_name ON networks(name) WHERE name != '';"
    "CREATE TABLE IF NOT EXISTS endpoints ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, network TEXT NOT NULL REFERENCES networks(id),"
    " ip TEXT NOT NULL, mac TEXT NOT NULL,"
    " container TEXT NOT NULL DEFAULT '', ifname TEXT NOT NULL DEFAULT '',"
    " conf TEXT, result TEXT, doc TEXT NOT NULL,"
    " UNIQUE(network, ip), UNIQUE(network, mac));"
    "CREATE UNIQUE INDEX IF NOT EXISTS endpoints_name ON endpoints(name) WHERE name != '';"
    "CREATE INDEX IF NOT EXISTS endpoints_container ON endpoints(container);";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *the_db;
static pid_t the_pid;

const char *hns_data_root(void) {
  const char *e = getenv("HCSSHIM_DATA_ROOT");
  return e && *e ? e : "/var/lib/hcsshim";
}

void hns_lock(void) { pthread_mutex_lock(&mu); }
void hns_unlock(void) { pthread_mutex_unlock(&mu); }

plat_hresult hns_fail(char **err, plat_hresult hr, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  free(*err);
  *err = s;
  return hr;
}

void hns_db_close(void) {
  pthread_mutex_lock(&mu);
  if (the_db && the_pid == getpid()) sqlite3_close(the_db);
  the_db = NULL;
  pthread_mutex_unlock(&mu);
}

sqlite3 *hns_db(char **err) {
  char dir[PATH_MAX], path[PATH_MAX + 16];
  sqlite3 *db = NULL;
  char *emsg = NULL;
  if (the_db && the_pid == getpid()) return the_db;
  the_db = NULL; /* a forked child never reuses its parent's connection */
  snprintf(dir, sizeof dir, "%s/hns", hns_data_root());
  if (cmn_mkdir_p(dir, 0700) < 0) {
    *err = cmn_printf("cannot create the HNS store directory `%s`: %s", dir, strerror(errno));
    return NULL;
  }
  snprintf(path, sizeof path, "%s/hns.db", dir);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    *err = cmn_printf("cannot open the HNS store `%s`: %s", path,
                      db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 60000);
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                   NULL, NULL, &emsg) != SQLITE_OK ||
      sqlite3_exec(db, schema_sql, NULL, NULL, &emsg) != SQLITE_OK) {
    *err = cmn_printf("cannot initialise the HNS store `%s`: %s", path,
                      emsg ? emsg : sqlite3_errmsg(db));
    sqlite3_free(emsg);
    sqlite3_close(db);
    return NULL;
  }
  the_db = db;
  the_pid = getpid();
  return db;
}

int hns_begin(sqlite3 *db, char **err) {
  char *emsg = NULL;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &emsg) != SQLITE_OK) {
    *err =
        cmn_printf("HNS store: cannot begin a transaction: %s", emsg ? emsg : sqlite3_errmsg(db));
    sqlite3_free(emsg);
    return -1;
  }
  return 0;
}

int hns_commit(sqlite3 *db, char **err) {
  char *emsg = NULL;
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, &emsg) != SQLITE_OK) {
    *err = cmn_printf("HNS store: commit failed: %s", emsg ? emsg : sqlite3_errmsg(db));
    sqlite3_free(emsg);
    hns_rollback(db);
    return -1;
  }
  return 0;
}

void hns_rollback(sqlite3 *db) {
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, int n, const char *const *params) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
  for (int i = 0; i < n; i++) {
    if (params[i]) sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i + 1);
  }
  return st;
}

int hns_exec(sqlite3 *db, char **err, const char *sql, int n, const char *const *params) {
  sqlite3_stmt *st = prepare(db, sql, n, params);
  int rc;
  if (!st) {
    *err = cmn_printf("HNS store: %s", sqlite3_errmsg(db));
    return -1;
  }
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    *err = cmn_printf("HNS store: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -1;
  }
  sqlite3_finalize(st);
  return 0;
}

json_t *hns_query_docs(sqlite3 *db, const char *sql, const char *param, char **err) {
  sqlite3_stmt *st = prepare(db, sql, param ? 1 : 0, &param);
  json_t *out;
  int rc;
  if (!st) {
    if (err) {
      free(*err);
      *err = cmn_printf("HNS store: %s", sqlite3_errmsg(db));
    }
    return NULL;
  }
  out = json_array();
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    json_error_t je;
    json_t *d = t ? json_loads(t, 0, &je) : NULL;
    if (!json_is_object(d)) {
      /* a row that does not decode is reported, never hidden */
      if (err) {
        free(*err);
        *err = cmn_printf("HNS store: a record does not decode (%s): the store is damaged",
                          t ? je.text : "no document");
      }
      json_decref(d);
      json_decref(out);
      sqlite3_finalize(st);
      return NULL;
    }
    json_array_append_new(out, d);
  }
  if (rc != SQLITE_DONE) {
    if (err) {
      free(*err);
      *err = cmn_printf("HNS store: %s", sqlite3_errmsg(db));
    }
    json_decref(out);
    out = NULL;
  }
  sqlite3_finalize(st);
  return out;
}

json_t *hns_query_doc(sqlite3 *db, const char *sql, const char *param) {
  json_t *a = hns_query_docs(db, sql, param, NULL), *d = json_array_get(a, 0);
  json_incref(d);
  json_decref(a);
  return d;
}

/* Test hooks (spec/c/hcs_linux_test.c, spec/hns_spec.lua), inert unless
 * the variables are set:
 *   HCSSHIM_TEST_HNS_PAUSE=<point>:<ms>  sleeps at <point> (a race window)
 *   HCSSHIM_TEST_HNS_FAIL=<point>        makes <point> fail */
void hns_test_pause(const char *point) {
  const char *e = getenv("HCSSHIM_TEST_HNS_PAUSE"), *colon;
  size_t n = strlen(point);
  if (!e || strncmp(e, point, n) || e[n] != ':') return;
  colon = e + n;
  usleep((useconds_t)(atoi(colon + 1) * 1000));
}

int hns_test_fail(const char *point) {
  const char *e = getenv("HCSSHIM_TEST_HNS_FAIL");
  return e && strcmp(e, point) == 0;
}

char *hns_new_id(void) {
  uint8_t b[16];
  if (cmn_random(b, sizeof b) < 0) return NULL;
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  return cmn_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                    b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                    b[13], b[14], b[15]);
}

/* The ids of networks and endpoints are GUIDs: 8-4-4-4-12 hex digits,
 * optionally in braces; out gets them lower case without braces. */
int hns_canon_guid(const char *s, char out[37]) {
  size_t n = s ? strlen(s) : 0;
  if (n == 38 && s[0] == '{' && s[37] == '}') {
    s++;
    n = 36;
  }
  if (n != 36) return -1;
  for (size_t i = 0; i < 36; i++) {
    char ch = s[i];
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    int hex = (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'f');
    if (dash ? ch != '-' : !hex) return -1;
    out[i] = dash ? '-' : (char)(ch >= 'A' && ch <= 'F' ? ch | 32 : ch);
  }
  out[36] = '\0';
  return 0;
}

/* ---- addresses ---- */

int hns_parse_ip(const char *s, uint32_t *ip) {
  unsigned a, b, c, d;
  char tail;
  if (!s || sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
      c > 255 || d > 255)
    return -1;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.')) return -1;
  *ip = (a << 24) | (b << 16) | (c << 8) | d;
  return 0;
}

void hns_format_ip(uint32_t ip, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t hns_mask(int prefix) {
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int hns_parse_cidr(const char *s, uint32_t *net, int *prefix) {
  char buf[64], *slash, *end;
  long p;
  if (!s || strlen(s) >= sizeof buf) return -1;
  snprintf(buf, sizeof buf, "%s", s);
  slash = strchr(buf, '/');
  if (!slash) return -1;
  *slash = 0;
  errno = 0;
  p = strtol(slash + 1, &end, 10);
  if (!slash[1] || *end || errno || p < 0 || p > 32) return -1;
  if (hns_parse_ip(buf, net) < 0) return -1;
  *prefix = (int)p;
  return (*net & ~hns_mask(*prefix)) ? -1 : 0;
}

int hns_parse_mac(const char *s, uint64_t *mac) {
  unsigned v[6];
  char sep, tail;
  if (!s || strlen(s) != 17) return -1;
  sep = s[2];
  if (sep != '-' && sep != ':') return -1;
  for (int i = 0; i < 17; i++) {
    char ch = s[i];
    if (i % 3 == 2) {
      if (ch != sep) return -1;
    } else if (!((ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'f'))) {
      return -1;
    }
  }
  if (sscanf(s, "%2x%*c%2x%*c%2x%*c%2x%*c%2x%*c%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
             &tail) != 6)
    return -1;
  *mac = 0;
  for (int i = 0; i < 6; i++) *mac = (*mac << 8) | v[i];
  return 0;
}

void hns_format_mac(uint64_t mac, char out[18], char sep) {
  snprintf(out, 18, "%02X%c%02X%c%02X%c%02X%c%02X%c%02X", (unsigned)(mac >> 40) & 255, sep,
           (unsigned)(mac >> 32) & 255, sep, (unsigned)(mac >> 24) & 255, sep,
           (unsigned)(mac >> 16) & 255, sep, (unsigned)(mac >> 8) & 255, sep, (unsigned)mac & 255);
}

json_t *hns_endpoint_get(sqlite3 *db, const char *id) {
  return hns_query_doc(db, "SELECT doc FROM endpoints WHERE id = lower(?1)", id);
}

/* rows of (col0, col1) as an array of [s, s] */
json_t *hns_query_pairs(sqlite3 *db, const char *sql, const char *param) {
  sqlite3_stmt *st = NULL;
  json_t *out = json_array();
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return out;
  if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *a = (const char *)sqlite3_column_text(st, 0),
               *b = (const char *)sqlite3_column_text(st, 1);
    json_array_append_new(out, json_pack("[s,s]", a ? a : "", b ? b : ""));
  }
  sqlite3_finalize(st);
  return out;
}
