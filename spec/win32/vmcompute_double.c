/* A test double of vmcompute.dll (TEST CODE ONLY, never shipped).
 *
 * It implements the HCS v1 / HNS / layer ABI that hcsshim binds with an
 * in-memory state machine:
 *   - async operations (create, start, pause, resume, shutdown, terminate)
 *     return HCS_E_OPERATION_PENDING and complete through a notification
 *     delivered from the double's own thread after a delay the test sets;
 *   - HcsUnregister*Callback blocks until an in-flight callback returned,
 *     as vmcompute does;
 *   - processes are tiny programs on threads with real pipes for stdio;
 *   - every callee-allocated string comes from CoTaskMemAlloc and an
 *     IMallocSpy counts the CoTaskMemFree of each one;
 *   - every call is counted and the last request of each function kept.
 * (The backend's missing-export path is exercised by the C harness, which
 * gets Wine's own iphlpapi.dll, without SetCurrentThreadCompartmentId.)
 * The test drives it through DoubleCtl (see spec/win32/doublectl.c). */
#define COBJMACROS
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <objbase.h>
#include <objidl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "double_folder.h"

#define API __declspec(dllexport) HRESULT WINAPI

#define S_PENDING ((HRESULT)0xC0370103)
#define E_NOTFOUND ((HRESULT)0xC037010E)
#define E_EXISTS ((HRESULT)0xC037010F)
#define E_STOPPED ((HRESULT)0xC0370110)
#define E_STATE ((HRESULT)0xC0370105)
#define E_SYS_STOPPED ((HRESULT)0x80370110)
#define E_HANDLE_ ((HRESULT)0x80070006)

typedef void(CALLBACK *hcs_cb_fn)(DWORD, void *, HRESULT, PCWSTR);

/* ---------------------------------------------------------------- state */

static CRITICAL_SECTION G;
static CRITICAL_SECTION LIVE; /* the CoTaskMem set: never held while taking another lock */
static CONDITION_VARIABLE CV;
static INIT_ONCE init_once = INIT_ONCE_STATIC_INIT;
static DWORD notifier_tid;
static int delay_ms = 10;

enum { ST_CREATED, ST_RUNNING, ST_PAUSED, ST_STOPPED };

typedef struct proc proc;
typedef struct sys {
  int num;
  char id[256];
  char *config;
  int state;
  int gone;
  int handles;
  int storm;
  int hold_start;
  struct sys *next;
} sys;

struct proc {
  DWORD pid;
  sys *s;
  int exited;
  DWORD exit_code;
  HANDLE kill_ev;
  HANDLE in_r, out_w, err_w; /* the double's (server) ends, overlapped */
  HANDLE cin, cout, cerr;    /* client ends HCS keeps; callers get duplicates */
  HANDLE given[3];           /* the duplicates handed out last (for "inheritable") */
  HANDLE stdin_closed_ev;    /* set by HcsModifyProcess CloseHandle StdIn */
  int stdin_closed;
  DWORD stdin_left; /* bytes the process still reads after that */
  char *cmd;
  struct proc *next;
};

typedef struct handle {
  int kind; /* 1 system, 2 process */
  sys *s;
  proc *p;
  int closed;
} handle;

typedef struct cb {
  int kind; /* 1 system, 2 process */
  sys *s;
  proc *p;
  hcs_cb_fn fn;
  void *ctx;
  int in_flight;
  int dead;
  struct cb *next;
} cb;

typedef struct event {
  ULONGLONG due;
  ULONGLONG give_up;
  int kind;
  sys *s;
  proc *p;
  DWORD type;
  HRESULT status;
  struct event *next;
} event;

static sys *systems;
static proc *procs;
static cb *cbs;
/* every registration ever unregistered: HCS may still call one late */
typedef struct late_cb {
  hcs_cb_fn fn;
  void *ctx;
  struct late_cb *next;
} late_cb;
static late_cb *late_cbs;
static int fail_unreg; /* "failunreg N": the next N unregisters fail */
static LONG preparing, prepare_overlaps;
static event *events;
static int next_sys = 1;
static DWORD next_pid = 100;

/* accounting */
typedef struct counter {
  char name[48];
  long calls;
  char *last;
  struct counter *next;
} counter;
static counter *counters;
static void **live;
static size_t live_len, live_cap;
static long n_allocs, n_frees, n_foreign_frees;
static int spy_ok;
/* injected failure: next call of fail_name returns fail_hr */
static char fail_name[48];
static HRESULT fail_hr;

static counter *counter_of(const char *name) {
  counter *c;
  for (c = counters; c; c = c->next)
    if (strcmp(c->name, name) == 0) return c;
  c = calloc(1, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->next = counters;
  counters = c;
  return c;
}

static char *u8(LPCWSTR w) {
  int n;
  char *s;
  if (!w) return NULL;
  n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  s = malloc(n > 0 ? (size_t)n : 1);
  if (n > 0) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  else s[0] = 0;
  return s;
}

/* records a call; the caller holds G */
static void record(const char *name, const char *fmt, ...) {
  counter *c = counter_of(name);
  c->calls++;
  if (fmt) {
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(c->last);
    c->last = _strdup(buf);
  }
}

static HRESULT injected(const char *name) {
  if (fail_name[0] && strcmp(fail_name, name) == 0) {
    fail_name[0] = 0;
    return fail_hr;
  }
  return S_OK;
}

/* ---- CoTaskMem accounting through an IMallocSpy ---- */

static HRESULT STDMETHODCALLTYPE spy_qi(IMallocSpy *This, REFIID riid, void **ppv) {
  if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IMallocSpy)) {
    *ppv = This;
    return S_OK;
  }
  *ppv = NULL;
  return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE spy_addref(IMallocSpy *This) {
  (void)This;
  return 2;
}
static ULONG STDMETHODCALLTYPE spy_release(IMallocSpy *This) {
  (void)This;
  return 1;
}
static SIZE_T STDMETHODCALLTYPE spy_prealloc(IMallocSpy *This, SIZE_T cb_) {
  (void)This;
  return cb_;
}
static void *STDMETHODCALLTYPE spy_postalloc(IMallocSpy *This, void *p) {
  (void)This;
  return p;
}
static void *STDMETHODCALLTYPE spy_prefree(IMallocSpy *This, void *p, BOOL spyed) {
  size_t i;
  (void)This;
  (void)spyed;
  if (!p) return p;
  EnterCriticalSection(&LIVE);
  for (i = 0; i < live_len; i++)
    if (live[i] == p) {
      live[i] = live[--live_len];
      n_frees++;
      LeaveCriticalSection(&LIVE);
      return p;
    }
  n_foreign_frees++;
  LeaveCriticalSection(&LIVE);
  return p;
}
static void STDMETHODCALLTYPE spy_postfree(IMallocSpy *This, BOOL spyed) {
  (void)This;
  (void)spyed;
}
static SIZE_T STDMETHODCALLTYPE spy_prerealloc(IMallocSpy *This, void *p, SIZE_T n, void **out,
                                               BOOL spyed) {
  (void)This;
  (void)spyed;
  *out = p;
  return n;
}
static void *STDMETHODCALLTYPE spy_postrealloc(IMallocSpy *This, void *p, BOOL spyed) {
  (void)This;
  (void)spyed;
  return p;
}
static void *STDMETHODCALLTYPE spy_pregetsize(IMallocSpy *This, void *p, BOOL spyed) {
  (void)This;
  (void)spyed;
  return p;
}
static SIZE_T STDMETHODCALLTYPE spy_postgetsize(IMallocSpy *This, SIZE_T n, BOOL spyed) {
  (void)This;
  (void)spyed;
  return n;
}
static void *STDMETHODCALLTYPE spy_predidalloc(IMallocSpy *This, void *p, BOOL spyed) {
  (void)This;
  (void)spyed;
  return p;
}
static int STDMETHODCALLTYPE spy_postdidalloc(IMallocSpy *This, void *p, BOOL spyed, int actual) {
  (void)This;
  (void)p;
  (void)spyed;
  return actual;
}
static void STDMETHODCALLTYPE spy_preheapmin(IMallocSpy *This) { (void)This; }
static void STDMETHODCALLTYPE spy_postheapmin(IMallocSpy *This) { (void)This; }

static IMallocSpyVtbl spy_vtbl = {
    spy_qi,          spy_addref,      spy_release,      spy_prealloc,    spy_postalloc,
    spy_prefree,     spy_postfree,    spy_prerealloc,   spy_postrealloc, spy_pregetsize,
    spy_postgetsize, spy_predidalloc, spy_postdidalloc, spy_preheapmin,  spy_postheapmin};
static IMallocSpy spy = {&spy_vtbl};

static DWORD WINAPI notifier(void *arg);

static BOOL CALLBACK do_init(PINIT_ONCE once, void *param, void **ctx) {
  (void)once;
  (void)param;
  (void)ctx;
  InitializeCriticalSection(&G);
  InitializeCriticalSection(&LIVE);
  InitializeConditionVariable(&CV);
  spy_ok = SUCCEEDED(CoRegisterMallocSpy(&spy));
  CloseHandle(CreateThread(NULL, 0, notifier, NULL, 0, &notifier_tid));
  return TRUE;
}

static void init(void) { InitOnceExecuteOnce(&init_once, do_init, NULL, NULL); }

/* CoTaskMem copy of UTF-8 text as UTF-16; the caller holds G */
static PWSTR cotask(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  PWSTR w = CoTaskMemAlloc((size_t)n * sizeof(WCHAR));
  if (!w) return NULL;
  MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  EnterCriticalSection(&LIVE);
  if (live_len == live_cap) {
    live_cap = live_cap ? live_cap * 2 : 64;
    live = realloc(live, live_cap * sizeof *live);
  }
  live[live_len++] = w;
  n_allocs++;
  LeaveCriticalSection(&LIVE);
  return w;
}

/* a result document with ErrorEvents for failures */
static void fail_doc(PWSTR *result, HRESULT hr, const char *msg) {
  char buf[1024];
  if (!result) return;
  snprintf(
      buf, sizeof buf,
      "{\"Error\":%ld,\"ErrorMessage\":\"%s\",\"ErrorEvents\":[{\"Message\":\"double: %s\","
      "\"StackTrace\":\"at double\",\"Provider\":\"vmcompute-double\",\"EventId\":42,\"Flags\":1,"
      "\"Source\":\"double.c\"}]}",
      (long)hr, msg, msg);
  *result = cotask(buf);
}

static HRESULT fail(PWSTR *result, HRESULT hr, const char *msg) {
  fail_doc(result, hr, msg);
  return hr;
}

/* ---------------------------------------------------------------- events */

static void schedule(int kind, sys *s, proc *p, DWORD type, HRESULT status, int delay) {
  event *e = calloc(1, sizeof *e);
  event **pp;
  e->due = GetTickCount64() + (ULONGLONG)(delay < 0 ? 0 : delay);
  e->give_up = e->due + 2000;
  e->kind = kind;
  e->s = s;
  e->p = p;
  e->type = type;
  e->status = status;
  for (pp = &events; *pp; pp = &(*pp)->next) {}
  *pp = e;
  WakeAllConditionVariable(&CV);
}

static int has_cb(int kind, sys *s, proc *p) {
  cb *c;
  for (c = cbs; c; c = c->next)
    if (!c->dead && c->kind == kind && (kind == 1 ? c->s == s : c->p == p)) return 1;
  return 0;
}

/* delivers to every live callback of the target; G held, released around calls */
static void deliver(int kind, sys *s, proc *p, DWORD type, HRESULT status) {
  cb *c;
  for (c = cbs; c; c = c->next) {
    if (c->dead || c->kind != kind || (kind == 1 ? c->s != s : c->p != p)) continue;
    c->in_flight++;
    LeaveCriticalSection(&G);
    c->fn(type, c->ctx, status, NULL);
    EnterCriticalSection(&G);
    c->in_flight--;
    WakeAllConditionVariable(&CV);
  }
}

static DWORD WINAPI notifier(void *arg) {
  (void)arg;
  EnterCriticalSection(&G);
  for (;;) {
    ULONGLONG now = GetTickCount64(), next = now + 50;
    event **pp = &events;
    sys *s;
    int stormed = 0;
    while (*pp) {
      event *e = *pp;
      if (e->due <= now) {
        /* Assumption: the caller registers its callback only after the
         * create/open call returns (hcsshim's order: HcsCreateComputeSystem,
         * then HcsRegisterComputeSystemCallback; the same for processes).
         * A notification due before any callback exists is therefore
         * re-queued every 2 ms until one is registered; at give_up (2 s)
         * it is delivered to nobody, i.e. dropped.  How real vmcompute
         * treats a notification raised before registration is not
         * documented in the reference; the double assumes it is kept, so
         * its short test delays never race hcsshim's ordering. */
        if (!has_cb(e->kind, e->s, e->p) && now < e->give_up) {
          e->due = now + 2; /* nobody registered yet: a little later */
        } else {
          *pp = e->next;
          deliver(e->kind, e->s, e->p, e->type, e->status);
          free(e);
          pp = &events; /* the list may have changed while unlocked */
          now = GetTickCount64();
          continue;
        }
      }
      if (e->due < next) next = e->due;
      pp = &e->next;
    }
    for (s = systems; s; s = s->next)
      if (s->storm) {
        /* a storm of notifications, known and unknown, for the race tests */
        deliver(1, s, NULL, 0x00000004, 0);
        deliver(1, s, NULL, 0x0000000B, 0);
        stormed = 1;
      }
    if (stormed) continue;
    now = GetTickCount64();
    if (next > now) SleepConditionVariableCS(&CV, &G, (DWORD)(next - now));
  }
  return 0;
}

/* ---------------------------------------------------------------- helpers */

static sys *find_sys(const char *id) {
  sys *s;
  for (s = systems; s; s = s->next)
    if (!s->gone && strcmp(s->id, id) == 0) return s;
  return NULL;
}

static sys *sys_of(HANDLE h) {
  handle *x = (handle *)h;
  if (!x || x->kind != 1 || x->closed) return NULL;
  return x->s;
}

static proc *proc_of(HANDLE h) {
  handle *x = (handle *)h;
  if (!x || x->kind != 2 || x->closed) return NULL;
  return x->p;
}

static HANDLE new_handle(int kind, sys *s, proc *p) {
  handle *x = calloc(1, sizeof *x);
  x->kind = kind;
  x->s = s;
  x->p = p;
  if (s && kind == 1) s->handles++;
  return x;
}

/* naive field readers for the compact JSON our encoder emits */
static char *json_str(const char *doc, const char *key) {
  char pat[80];
  const char *p;
  char *out, *o;
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  p = doc ? strstr(doc, pat) : NULL;
  if (!p) return _strdup("");
  p += strlen(pat);
  out = o = malloc(strlen(p) + 1);
  while (*p && *p != '"') {
    if (*p == '\\' && p[1]) {
      p++;
      if (*p == 'n') *o++ = '\n';
      else if (*p == 't') *o++ = '\t';
      else *o++ = *p;
      p++;
    } else {
      *o++ = *p++;
    }
  }
  *o = 0;
  return out;
}

static int json_true(const char *doc, const char *key) {
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\":true", key);
  return doc && strstr(doc, pat) != NULL;
}

/* ---------------------------------------------------------------- processes */

/* One overlapped read or write on a pipe end, as HCS drives its named
 * pipes; `stop` (optional) abandons a pending read.  0 on failure or stop. */
static int pipe_io(HANDLE h, void *buf, DWORD n, DWORD *done, int write, HANDLE stop) {
  OVERLAPPED o;
  BOOL ok;
  memset(&o, 0, sizeof o);
  o.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  *done = 0;
  ok = write ? WriteFile(h, buf, n, NULL, &o) : ReadFile(h, buf, n, NULL, &o);
  if (!ok && GetLastError() == ERROR_IO_PENDING) {
    HANDLE hs[2];
    hs[0] = o.hEvent;
    hs[1] = stop;
    if (WaitForMultipleObjects(stop ? 2 : 1, hs, FALSE, INFINITE) != WAIT_OBJECT_0)
      CancelIoEx(h, &o);
    ok = TRUE;
  }
  if (ok) ok = GetOverlappedResult(h, &o, done, TRUE);
  CloseHandle(o.hEvent);
  return ok && *done > 0;
}

static void write_all(HANDLE h, const char *s, size_t n) {
  DWORD w;
  while (n > 0 && pipe_io(h, (void *)s, (DWORD)n, &w, 1, NULL)) {
    s += w;
    n -= w;
  }
}

/* A named pipe pair as HCS makes them: our end overlapped, the client end
 * overlapped and (strictly) inheritable, so that a caller must clear the
 * flag itself.  inbound: data flows from the caller to the process. */
static HANDLE pipe_pair(HANDLE *client, int inbound) {
  static LONG seq;
  WCHAR name[128];
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE server;
  OVERLAPPED o;
  swprintf(name, 128, L"\\\\.\\pipe\\vmcompute-double-%lu-%ld",
           (unsigned long)GetCurrentProcessId(), InterlockedIncrement(&seq));
  server = CreateNamedPipeW(name,
                            (inbound ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
                                FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                            PIPE_TYPE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
  if (server == INVALID_HANDLE_VALUE) return NULL;
  memset(&o, 0, sizeof o);
  o.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ConnectNamedPipe(server, &o); /* pending until the client below opens */
  *client = CreateFileW(name, inbound ? GENERIC_WRITE : GENERIC_READ, 0, &sa, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED, NULL);
  if (*client == INVALID_HANDLE_VALUE) {
    *client = NULL;
    CancelIoEx(server, &o);
  }
  {
    DWORD n;
    GetOverlappedResult(server, &o, &n, TRUE);
  }
  CloseHandle(o.hEvent);
  if (!*client) {
    CloseHandle(server);
    return NULL;
  }
  return server;
}

/* A fresh inheritable duplicate of a client end (NULL stays NULL). */
static HANDLE dup_client(HANDLE h) {
  HANDLE d = NULL;
  if (!h) return NULL;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, TRUE,
                       DUPLICATE_SAME_ACCESS))
    return NULL;
  return d;
}

typedef struct procinfo procinfo;
static void give_stdio(proc *p, procinfo *info);

static void close_h(HANDLE *h) {
  if (*h) CloseHandle(*h);
  *h = NULL;
}

static void close_ends(proc *p) {
  EnterCriticalSection(&G);
  close_h(&p->in_r);
  close_h(&p->out_w);
  close_h(&p->err_w);
  close_h(&p->cin);
  close_h(&p->cout);
  close_h(&p->cerr);
  LeaveCriticalSection(&G);
}

/* a killed process reads no more input either; G held */
static void kill_proc(proc *p) {
  p->stdin_closed = 1;
  p->stdin_left = 0;
  SetEvent(p->stdin_closed_ev);
  SetEvent(p->kill_ev);
}

/* cat: copies stdin to stdout.  After CloseHandle StdIn it reads only what
 * was in the pipe at that moment and then sees the end of its input: HCS
 * ends the process's input at once, whatever the caller still sends. */
static void cat(proc *p) {
  char buf[65536];
  for (;;) {
    DWORD want = sizeof buf, n;
    int closed;
    EnterCriticalSection(&G);
    closed = p->stdin_closed;
    if (closed && p->stdin_left < want) want = p->stdin_left;
    LeaveCriticalSection(&G);
    if (!p->in_r || want == 0) break;
    if (!pipe_io(p->in_r, buf, want, &n, 0, closed ? NULL : p->stdin_closed_ev)) {
      if (!closed && WaitForSingleObject(p->stdin_closed_ev, 0) == WAIT_OBJECT_0) continue;
      break;
    }
    if (closed) {
      EnterCriticalSection(&G);
      p->stdin_left -= n;
      LeaveCriticalSection(&G);
    }
    if (p->out_w) write_all(p->out_w, buf, n);
  }
}

static void proc_exit(proc *p, DWORD code) {
  EnterCriticalSection(&G);
  if (!p->exited) {
    p->exited = 1;
    p->exit_code = code;
    schedule(2, NULL, p, 0x00010000, S_OK, delay_ms);
  }
  LeaveCriticalSection(&G);
}

static DWORD WINAPI program(void *arg) {
  proc *p = arg;
  const char *cmd = p->cmd;
  DWORD code = 0;
  if (strncmp(cmd, "echo ", 5) == 0) {
    if (p->out_w) write_all(p->out_w, cmd + 5, strlen(cmd + 5));
  } else if (strncmp(cmd, "err ", 4) == 0) {
    if (p->err_w) write_all(p->err_w, cmd + 4, strlen(cmd + 4));
  } else if (strcmp(cmd, "cat") == 0) {
    cat(p);
  } else if (strncmp(cmd, "exit ", 5) == 0) {
    code = (DWORD)strtoul(cmd + 5, NULL, 0);
  } else if (strcmp(cmd, "sleep") == 0) {
    WaitForSingleObject(p->kill_ev, INFINITE);
    code = 1;
  } else if (strcmp(cmd, "ctrlc") == 0) {
    code = 0xC000013A;
  }
  close_ends(p);
  proc_exit(p, code);
  return 0;
}

/* ---------------------------------------------------------------- systems */

API HcsEnumerateComputeSystems(LPCWSTR query, PWSTR *systems_out, PWSTR *result) {
  char *q, buf[8192];
  size_t o = 0;
  sys *s;
  HRESULT hr;
  init();
  EnterCriticalSection(&G);
  q = u8(query);
  record("HcsEnumerateComputeSystems", "%s", q);
  if ((hr = injected("HcsEnumerateComputeSystems")) < 0) {
    free(q);
    LeaveCriticalSection(&G);
    return fail(result, hr, "injected failure");
  }
  o += (size_t)snprintf(buf + o, sizeof buf - o, "[");
  for (s = systems; s; s = s->next) {
    char *name;
    char idpat[300];
    if (s->gone) continue;
    snprintf(idpat, sizeof idpat, "\"%s\"", s->id);
    if (strstr(q, "\"Ids\"") && !strstr(q, idpat)) continue;
    name = json_str(s->config, "Name");
    o += (size_t)snprintf(buf + o, sizeof buf - o,
                          "%s{\"Id\":\"%s\",\"Name\":\"%s\",\"SystemType\":\"Container\",\"Owner\":"
                          "\"\",\"State\":\"%s\"}",
                          o > 1 ? "," : "", s->id, name,
                          s->state == ST_STOPPED ? "Stopped" : "Running");
    free(name);
  }
  snprintf(buf + o, sizeof buf - o, "]");
  *systems_out = cotask(buf);
  if (result) *result = NULL;
  free(q);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsCreateComputeSystem(LPCWSTR id, LPCWSTR configuration, HANDLE identity, HANDLE *system,
                           PWSTR *result) {
  char *i8, *c8;
  sys *s;
  HRESULT hr;
  init();
  (void)identity;
  EnterCriticalSection(&G);
  i8 = u8(id);
  c8 = u8(configuration);
  record("HcsCreateComputeSystem", "%s", c8);
  record("HcsCreateComputeSystem.id", "%s", i8);
  *system = NULL;
  if ((hr = injected("HcsCreateComputeSystem")) < 0) {
    free(i8);
    free(c8);
    LeaveCriticalSection(&G);
    return fail(result, hr, "injected failure");
  }
  if (find_sys(i8)) {
    free(i8);
    free(c8);
    LeaveCriticalSection(&G);
    return fail(result, E_EXISTS, "A compute system with this id already exists");
  }
  if (c8[0] != '{') {
    free(i8);
    free(c8);
    LeaveCriticalSection(&G);
    return fail(result, (HRESULT)0xC037010D, "invalid JSON");
  }
  s = calloc(1, sizeof *s);
  s->num = next_sys++;
  snprintf(s->id, sizeof s->id, "%s", i8);
  s->config = c8;
  s->state = ST_CREATED;
  s->next = systems;
  systems = s;
  *system = new_handle(1, s, NULL);
  schedule(1, s, NULL, 0x00000002, S_OK, delay_ms);
  free(i8);
  LeaveCriticalSection(&G);
  return S_PENDING;
}

API HcsOpenComputeSystem(LPCWSTR id, HANDLE *system, PWSTR *result) {
  char *i8;
  sys *s;
  init();
  EnterCriticalSection(&G);
  i8 = u8(id);
  record("HcsOpenComputeSystem", "%s", i8);
  *system = NULL;
  s = find_sys(i8);
  free(i8);
  if (!s) {
    LeaveCriticalSection(&G);
    return fail(result, E_NOTFOUND, "A compute system with this id does not exist");
  }
  *system = new_handle(1, s, NULL);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsCloseComputeSystem(HANDLE system) {
  handle *x = (handle *)system;
  init();
  EnterCriticalSection(&G);
  record("HcsCloseComputeSystem", NULL);
  if (!x || x->kind != 1 || x->closed) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  x->closed = 1;
  x->s->handles--;
  if (x->s->handles == 0 && x->s->state == ST_STOPPED) x->s->gone = 1;
  LeaveCriticalSection(&G);
  return S_OK;
}

static HRESULT sys_op(const char *name, HANDLE h, LPCWSTR options, PWSTR *result) {
  sys *s;
  char *o8;
  HRESULT hr;
  init();
  EnterCriticalSection(&G);
  o8 = u8(options);
  record(name, "%s", options ? o8 : "(NULL)");
  free(o8);
  if (result) *result = NULL;
  s = sys_of(h);
  if (!s) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if ((hr = injected(name)) < 0) {
    LeaveCriticalSection(&G);
    return fail(result, hr, "injected failure");
  }
  if (strcmp(name, "HcsStartComputeSystem") == 0) {
    if (s->state != ST_CREATED) hr = E_STATE;
    else {
      s->state = ST_RUNNING;
      if (!s->hold_start) schedule(1, s, NULL, 0x00000003, S_OK, delay_ms);
      hr = S_PENDING;
    }
  } else if (strcmp(name, "HcsPauseComputeSystem") == 0) {
    if (s->state != ST_RUNNING) hr = E_STATE;
    else {
      s->state = ST_PAUSED;
      schedule(1, s, NULL, 0x00000004, S_OK, delay_ms);
      hr = S_PENDING;
    }
  } else if (strcmp(name, "HcsResumeComputeSystem") == 0) {
    if (s->state != ST_PAUSED) hr = E_STATE;
    else {
      s->state = ST_RUNNING;
      schedule(1, s, NULL, 0x00000005, S_OK, delay_ms);
      hr = S_PENDING;
    }
  } else { /* shutdown, terminate */
    if (s->state == ST_STOPPED) hr = E_STOPPED;
    else {
      proc *p;
      s->state = ST_STOPPED;
      for (p = procs; p; p = p->next)
        if (p->s == s && !p->exited) kill_proc(p);
      schedule(1, s, NULL, 0x00000001, S_OK, delay_ms);
      hr = S_PENDING;
    }
  }
  LeaveCriticalSection(&G);
  if (hr < 0 && hr != S_PENDING) return fail(result, hr, "operation refused by the double");
  return hr;
}

API HcsStartComputeSystem(HANDLE h, LPCWSTR o, PWSTR *r) {
  return sys_op("HcsStartComputeSystem", h, o, r);
}
API HcsShutdownComputeSystem(HANDLE h, LPCWSTR o, PWSTR *r) {
  return sys_op("HcsShutdownComputeSystem", h, o, r);
}
API HcsTerminateComputeSystem(HANDLE h, LPCWSTR o, PWSTR *r) {
  return sys_op("HcsTerminateComputeSystem", h, o, r);
}
API HcsPauseComputeSystem(HANDLE h, LPCWSTR o, PWSTR *r) {
  return sys_op("HcsPauseComputeSystem", h, o, r);
}
API HcsResumeComputeSystem(HANDLE h, LPCWSTR o, PWSTR *r) {
  return sys_op("HcsResumeComputeSystem", h, o, r);
}

API HcsGetComputeSystemProperties(HANDLE h, LPCWSTR query, PWSTR *properties, PWSTR *result) {
  sys *s;
  char *q, buf[4096], *name;
  proc *p;
  size_t o;
  init();
  EnterCriticalSection(&G);
  q = u8(query);
  record("HcsGetComputeSystemProperties", "%s", q);
  *properties = NULL;
  if (result) *result = NULL;
  s = sys_of(h);
  if (!s) {
    free(q);
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  name = json_str(s->config, "Name");
  o = (size_t)snprintf(buf, sizeof buf,
                       "{\"Id\":\"%s\",\"Name\":\"%s\",\"SystemType\":\"Container\",\"Owner\":\"\"",
                       s->id, name);
  free(name);
  if (strstr(q, "PendingUpdates"))
    o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"AreUpdatesPending\":true");
  if (strstr(q, "Statistics"))
    o += (size_t)snprintf(
        buf + o, sizeof buf - o,
        ",\"Statistics\":{\"Timestamp\":\"2024-01-01T00:00:00Z\",\"Uptime100ns\":"
        "132549434331374447,"
        "\"Memory\":{\"MemoryUsageCommitBytes\":9007199254740993,\"MemoryUsageCommitPeakBytes\":2,"
        "\"MemoryUsagePrivateWorkingSetBytes\":3},\"Processor\":{\"TotalRuntime100ns\":4,"
        "\"RuntimeUser100ns\":5,\"RuntimeKernel100ns\":6},\"Storage\":{\"ReadCountNormalized\":7,"
        "\"ReadSizeBytes\":8,\"WriteCountNormalized\":9,\"WriteSizeBytes\":10}}");
  if (strstr(q, "ProcessList")) {
    int first = 1;
    o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"ProcessList\":[");
    for (p = procs; p; p = p->next)
      if (p->s == s && !p->exited) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"ProcessId\":%lu,\"ImageName\":\"%s\"}",
                              first ? "" : ",", (unsigned long)p->pid, p->cmd);
        first = 0;
      }
    o += (size_t)snprintf(buf + o, sizeof buf - o, "]");
  }
  snprintf(buf + o, sizeof buf - o, "}");
  *properties = cotask(buf);
  free(q);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsModifyComputeSystem(HANDLE h, LPCWSTR configuration, PWSTR *result) {
  char *c8;
  init();
  EnterCriticalSection(&G);
  c8 = u8(configuration);
  record("HcsModifyComputeSystem", "%s", c8);
  free(c8);
  if (result) *result = NULL;
  if (!sys_of(h)) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if (sys_of(h)->state == ST_STOPPED) {
    /* modifying a stopped system: the SDK form 0x80370110, which hcsshim
     * names ErrVmcomputeSystemAlreadyStopped */
    LeaveCriticalSection(&G);
    return fail(result, E_SYS_STOPPED, "The system is not running.");
  }
  LeaveCriticalSection(&G);
  return S_OK;
}

static HRESULT reg(const char *name, int kind, HANDLE h, hcs_cb_fn fn, void *ctx, HANDLE *out) {
  cb *c;
  init();
  EnterCriticalSection(&G);
  record(name, NULL);
  *out = NULL;
  if ((kind == 1 && !sys_of(h)) || (kind == 2 && !proc_of(h)) || !fn) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  c = calloc(1, sizeof *c);
  c->kind = kind;
  c->s = kind == 1 ? sys_of(h) : NULL;
  c->p = kind == 2 ? proc_of(h) : NULL;
  c->fn = fn;
  c->ctx = ctx;
  c->next = cbs;
  cbs = c;
  *out = c;
  /* a late registration still learns of an exit that already happened */
  if (kind == 1 && c->s->state == ST_STOPPED) schedule(1, c->s, NULL, 0x00000001, S_OK, 0);
  if (kind == 2 && c->p->exited) schedule(2, NULL, c->p, 0x00010000, S_OK, 0);
  WakeAllConditionVariable(&CV);
  LeaveCriticalSection(&G);
  return S_OK;
}

/* blocks until an in-flight callback has returned (not from the callback) */
static HRESULT unreg(const char *name, HANDLE h) {
  cb *c = (cb *)h, **pp;
  init();
  EnterCriticalSection(&G);
  record(name, NULL);
  for (pp = &cbs; *pp && *pp != c; pp = &(*pp)->next) {}
  if (!*pp || c->dead) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if (fail_unreg > 0) {
    /* the registration stays: HCS goes on calling it */
    fail_unreg--;
    LeaveCriticalSection(&G);
    return E_FAIL;
  }
  {
    late_cb *l = calloc(1, sizeof *l);
    l->fn = c->fn;
    l->ctx = c->ctx;
    l->next = late_cbs;
    late_cbs = l;
  }
  c->dead = 1;
  if (GetCurrentThreadId() != notifier_tid)
    while (c->in_flight > 0) SleepConditionVariableCS(&CV, &G, INFINITE);
  if (c->in_flight == 0) {
    for (pp = &cbs; *pp && *pp != c; pp = &(*pp)->next) {}
    if (*pp) *pp = c->next;
    free(c);
  }
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsRegisterComputeSystemCallback(HANDLE h, hcs_cb_fn fn, void *ctx, HANDLE *out) {
  return reg("HcsRegisterComputeSystemCallback", 1, h, fn, ctx, out);
}
API HcsUnregisterComputeSystemCallback(HANDLE c) {
  return unreg("HcsUnregisterComputeSystemCallback", c);
}
API HcsRegisterProcessCallback(HANDLE h, hcs_cb_fn fn, void *ctx, HANDLE *out) {
  return reg("HcsRegisterProcessCallback", 2, h, fn, ctx, out);
}
API HcsUnregisterProcessCallback(HANDLE c) { return unreg("HcsUnregisterProcessCallback", c); }

struct procinfo {
  DWORD ProcessId;
  DWORD Reserved;
  HANDLE StdInput, StdOutput, StdError;
};

/* fresh inheritable duplicates of the pipes HCS keeps, remembered */
static void give_stdio(proc *p, procinfo *info) {
  info->StdInput = p->given[0] = dup_client(p->cin);
  info->StdOutput = p->given[1] = dup_client(p->cout);
  info->StdError = p->given[2] = dup_client(p->cerr);
}

API HcsCreateProcess(HANDLE h, LPCWSTR params, procinfo *info, HANDLE *process, PWSTR *result) {
  sys *s;
  proc *p;
  char *p8;
  HRESULT hr;
  init();
  EnterCriticalSection(&G);
  p8 = u8(params);
  record("HcsCreateProcess", "%s", p8);
  *process = NULL;
  memset(info, 0, sizeof *info);
  if (result) *result = NULL;
  s = sys_of(h);
  if (!s) {
    free(p8);
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if ((hr = injected("HcsCreateProcess")) < 0) {
    free(p8);
    LeaveCriticalSection(&G);
    return fail(result, hr, "injected failure");
  }
  if (s->state != ST_RUNNING) {
    free(p8);
    LeaveCriticalSection(&G);
    return fail(result, E_STATE, "the system is not running");
  }
  p = calloc(1, sizeof *p);
  p->pid = next_pid++;
  p->s = s;
  p->cmd = json_str(p8, "CommandLine");
  p->kill_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  p->stdin_closed_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (json_true(p8, "CreateStdInPipe")) p->in_r = pipe_pair(&p->cin, 1);
  if (json_true(p8, "CreateStdOutPipe")) p->out_w = pipe_pair(&p->cout, 0);
  if (json_true(p8, "CreateStdErrPipe")) p->err_w = pipe_pair(&p->cerr, 0);
  give_stdio(p, info);
  /* a console process without a stdin pipe dies at start (Windows does this) */
  if (json_true(p8, "EmulateConsole") && !json_true(p8, "CreateStdInPipe")) {
    free(p->cmd);
    p->cmd = _strdup("ctrlc");
  }
  info->ProcessId = p->pid;
  p->next = procs;
  procs = p;
  *process = new_handle(2, s, p);
  free(p8);
  LeaveCriticalSection(&G);
  CloseHandle(CreateThread(NULL, 0, program, p, 0, NULL));
  return S_OK;
}

API HcsOpenProcess(HANDLE h, DWORD pid, HANDLE *process, PWSTR *result) {
  sys *s;
  proc *p;
  init();
  EnterCriticalSection(&G);
  record("HcsOpenProcess", "%lu", (unsigned long)pid);
  *process = NULL;
  if (result) *result = NULL;
  s = sys_of(h);
  for (p = procs; p; p = p->next)
    if (p->s == s && p->pid == pid) break;
  if (!s || !p) {
    LeaveCriticalSection(&G);
    return fail(result, (HRESULT)0x80070490, "Element not found.");
  }
  *process = new_handle(2, s, p);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsCloseProcess(HANDLE process) {
  handle *x = (handle *)process;
  init();
  EnterCriticalSection(&G);
  record("HcsCloseProcess", NULL);
  if (!x || x->kind != 2 || x->closed) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  x->closed = 1;
  LeaveCriticalSection(&G);
  return S_OK;
}

/* Ends the process behind a handle (called with G held, after the call was
 * recorded; releases G).  An exited process gets the caller's answer:
 * terminate and signal differ there. */
static HRESULT end_proc(HANDLE process, PWSTR *result, HRESULT gone, const char *gone_msg) {
  proc *p;
  if (result) *result = NULL;
  p = proc_of(process);
  if (!p) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if (p->exited) {
    LeaveCriticalSection(&G);
    return fail(result, gone, gone_msg);
  }
  kill_proc(p);
  LeaveCriticalSection(&G);
  return S_OK;
}

/* HcsTerminateProcess ends in TerminateProcess, which answers an exited
 * process with ERROR_ACCESS_DENIED (hcsshim's Kill says so). */
API HcsTerminateProcess(HANDLE process, PWSTR *result) {
  init();
  EnterCriticalSection(&G);
  record("HcsTerminateProcess", NULL);
  return end_proc(process, result, (HRESULT)0x80070005, "Access is denied.");
}

/* Any signal ends the double's programs.  An exited process refuses it as
 * not valid in its state, which hcsshim's processSignalResult expects. */
API HcsSignalProcess(HANDLE process, LPCWSTR options, PWSTR *result) {
  char *o8;
  init();
  EnterCriticalSection(&G);
  o8 = u8(options);
  record("HcsSignalProcess", "%s", o8);
  free(o8);
  return end_proc(process, result, E_STATE, "The process is not running.");
}

API HcsGetProcessInfo(HANDLE process, procinfo *info, PWSTR *result) {
  proc *p;
  init();
  EnterCriticalSection(&G);
  record("HcsGetProcessInfo", NULL);
  memset(info, 0, sizeof *info);
  if (result) *result = NULL;
  p = proc_of(process);
  if (!p) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  info->ProcessId = p->pid;
  /* fresh duplicates of the pipes HCS keeps (none once the process ended) */
  give_stdio(p, info);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsGetProcessProperties(HANDLE process, PWSTR *props, PWSTR *result) {
  proc *p;
  char buf[256];
  init();
  EnterCriticalSection(&G);
  record("HcsGetProcessProperties", NULL);
  *props = NULL;
  if (result) *result = NULL;
  p = proc_of(process);
  if (!p) {
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  snprintf(buf, sizeof buf,
           "{\"ProcessId\":%lu,\"Exited\":%s,\"ExitCode\":%lu,\"LastWaitResult\":0}",
           (unsigned long)p->pid, p->exited ? "true" : "false", (unsigned long)p->exit_code);
  *props = cotask(buf);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsModifyProcess(HANDLE process, LPCWSTR settings, PWSTR *result) {
  proc *p;
  char *s8;
  init();
  EnterCriticalSection(&G);
  s8 = u8(settings);
  record("HcsModifyProcess", "%s", s8);
  if (result) *result = NULL;
  p = proc_of(process);
  if (!p) {
    free(s8);
    LeaveCriticalSection(&G);
    return E_HANDLE_;
  }
  if (p->exited) {
    free(s8);
    /* "HcsModifyProcess request to close stdin will fail if the process
     * has already exited" (hcsshim); the code is the double's choice */
    LeaveCriticalSection(&G);
    return fail(result, E_STATE, "The process has already exited.");
  }
  if (strstr(s8, "\"Handle\":\"StdIn\"")) {
    /* the process's input ends now: what is in the pipe is still read,
     * nothing sent later; HCS lets go of its copy of the pipe */
    DWORD avail = 0;
    if (p->in_r) PeekNamedPipe(p->in_r, NULL, 0, NULL, &avail, NULL);
    p->stdin_left = avail;
    p->stdin_closed = 1;
    close_h(&p->cin);
    SetEvent(p->stdin_closed_ev);
  }
  free(s8);
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsGetServiceProperties(LPCWSTR query, PWSTR *props, PWSTR *result) {
  char *q;
  init();
  EnterCriticalSection(&G);
  q = u8(query);
  record("HcsGetServiceProperties", "%s", q);
  free(q);
  if (result) *result = NULL;
  *props = cotask("{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":1}]}");
  LeaveCriticalSection(&G);
  return S_OK;
}

API HcsModifyServiceSettings(LPCWSTR settings, PWSTR *result) {
  char *s8;
  init();
  EnterCriticalSection(&G);
  s8 = u8(settings);
  record("HcsModifyServiceSettings", "%s", s8);
  free(s8);
  *result = cotask("{}"); /* a result on success too: it must be freed as well */
  LeaveCriticalSection(&G);
  return S_OK;
}

/* ---------------------------------------------------------------- HNS */

typedef struct hobj {
  char kind[16];
  char id[40];
  char *json;
  struct hobj *next;
} hobj;
static hobj *hobjs;
static int hns_seq;

API HNSCall(LPCWSTR method, LPCWSTR path, LPCWSTR request, PWSTR *response) {
  char *m, *p, *r, kind[16] = "", id[64] = "", *buf;
  hobj *o, **pp;
  size_t cap;
  init();
  EnterCriticalSection(&G);
  m = u8(method);
  p = u8(path);
  r = u8(request);
  record("HNSCall", "%s %s %s", m, p, request ? r : "(NULL)");
  cap = strlen(r) + 65536;
  buf = malloc(cap);
  sscanf(p, "/%15[a-z]/%63s", kind, id);
  if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 && strcmp(m, "DELETE") != 0) {
    free(m);
    free(p);
    free(r);
    free(buf);
    LeaveCriticalSection(&G);
    return E_INVALIDARG;
  }
  if (strcmp(kind, "networks") != 0 && strcmp(kind, "endpoints") != 0) {
    snprintf(buf, cap, "{\"Success\":false,\"Error\":\"unsupported path %s\"}", p);
  } else if (strcmp(m, "POST") == 0 && id[0] == 0) {
    o = calloc(1, sizeof *o);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->id, sizeof o->id, "%08x-0000-4000-8000-00000000%04x", 0xd0db1eu ^ (unsigned)hns_seq,
             (unsigned)(hns_seq + 1));
    hns_seq++;
    o->json = malloc(strlen(r) + 64);
    if (strcmp(r, "{}") == 0 || r[0] != '{') sprintf(o->json, "{\"ID\":\"%s\"}", o->id);
    else sprintf(o->json, "{\"ID\":\"%s\",%s", o->id, r + 1);
    o->next = hobjs;
    hobjs = o;
    snprintf(buf, cap, "{\"Success\":true,\"Output\":%s}", o->json);
  } else if (strcmp(m, "GET") == 0 && id[0] == 0) {
    size_t n = (size_t)snprintf(buf, cap, "{\"Success\":true,\"Output\":[");
    int first = 1;
    for (o = hobjs; o; o = o->next)
      if (strcmp(o->kind, kind) == 0) {
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", first ? "" : ",", o->json);
        first = 0;
      }
    snprintf(buf + n, cap - n, "]}");
  } else {
    for (pp = &hobjs; *pp; pp = &(*pp)->next)
      if (strcmp((*pp)->kind, kind) == 0 && _stricmp((*pp)->id, id) == 0) break;
    if (!*pp) {
      snprintf(buf, cap, "{\"Success\":false,\"Error\":\"%s %s not found\"}",
               strcmp(kind, "networks") == 0 ? "Network" : "Endpoint", id);
    } else if (strcmp(m, "DELETE") == 0) {
      o = *pp;
      *pp = o->next;
      free(o->json);
      free(o);
      snprintf(buf, cap, "{\"Success\":true}");
    } else {
      snprintf(buf, cap, "{\"Success\":true,\"Output\":%s}", (*pp)->json);
    }
  }
  *response = cotask(buf);
  free(buf);
  free(m);
  free(p);
  free(r);
  LeaveCriticalSection(&G);
  return S_OK;
}

/* ---------------------------------------------------------------- layers */

typedef struct driver_info {
  int Flavour;
  LPCWSTR HomeDir;
} driver_info;
typedef struct layer_desc {
  GUID LayerId;
  ULONG Flags;
  PCWSTR Path;
} layer_desc;
typedef struct fbi {
  LARGE_INTEGER c, a, w, ch;
  DWORD attr;
} fbi;

typedef struct layer {
  char key[600];
  int active, prepared, sandbox;
  WCHAR *store; /* a copy of the folder ImportLayer took, for ExportLayer */
  struct layer *next;
} layer;
static layer *layers;
static int grow_paths, path_growth;

static void info_text(char *out, size_t n, const driver_info *info) {
  char *h = u8(info ? info->HomeDir : NULL);
  snprintf(out, n, "flavour=%d home=%s", info ? info->Flavour : -1, h ? h : "(NULL)");
  free(h);
}

static void descs_text(char *out, size_t n, const layer_desc *d, ULONG count) {
  size_t o = (size_t)snprintf(out, n, "[");
  ULONG i;
  for (i = 0; i < count; i++) {
    const unsigned char *g = (const unsigned char *)&d[i].LayerId;
    char *p = u8(d[i].Path);
    o += (size_t)snprintf(
        out + o, n - o,
        "%s{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x flags=%lu %s}",
        i ? " " : "", g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11],
        g[12], g[13], g[14], g[15], (unsigned long)d[i].Flags, p);
    free(p);
  }
  snprintf(out + o, n - o, "]");
}

static layer *find_layer(const driver_info *info, LPCWSTR id, int create) {
  char key[600], *h = u8(info->HomeDir), *i = u8(id);
  layer *l;
  snprintf(key, sizeof key, "%s|%s", h, i);
  free(h);
  free(i);
  for (l = layers; l; l = l->next)
    if (strcmp(l->key, key) == 0) return l;
  if (!create) return NULL;
  l = calloc(1, sizeof *l);
  snprintf(l->key, sizeof l->key, "%s", key);
  l->next = layers;
  layers = l;
  return l;
}

static void forget_layer(layer *x) {
  layer **pp;
  for (pp = &layers; *pp; pp = &(*pp)->next)
    if (*pp == x) {
      *pp = x->next;
      if (x->store) folder_remove(x->store);
      free(x->store);
      free(x);
      return;
    }
}

#define LAYER_ENTER(name, idw)         \
  char it[300], *id8;                  \
  HRESULT hr;                          \
  init();                              \
  EnterCriticalSection(&G);            \
  info_text(it, sizeof it, info);      \
  id8 = u8(idw);                       \
  if ((hr = injected(name)) < 0) {     \
    record(name, "%s id=%s", it, id8); \
    free(id8);                         \
    LeaveCriticalSection(&G);          \
    return hr;                         \
  }

/* Layer import, export and destroy need SeBackupPrivilege (and for import
 * and destroy SeRestorePrivilege) enabled in the caller's token, which an
 * elevated token holds but has switched off: ERROR_PRIVILEGE_NOT_HELD. */
static int privilege_enabled(const WCHAR *name) {
  HANDLE tok;
  LUID luid;
  BYTE buf[4096];
  TOKEN_PRIVILEGES *tp = (TOKEN_PRIVILEGES *)buf;
  DWORD n = 0, i;
  int on = 0;
  if (!LookupPrivilegeValueW(NULL, name, &luid)) return 0;
  if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok) &&
      !OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
    return 0;
  if (GetTokenInformation(tok, TokenPrivileges, buf, sizeof buf, &n))
    for (i = 0; i < tp->PrivilegeCount; i++)
      if (tp->Privileges[i].Luid.LowPart == luid.LowPart &&
          tp->Privileges[i].Luid.HighPart == luid.HighPart)
        on = (tp->Privileges[i].Attributes & SE_PRIVILEGE_ENABLED) != 0;
  CloseHandle(tok);
  return on;
}

#define E_PRIVILEGE ((HRESULT)0x80070522)
#define NEED_BACKUP() \
  if (!privilege_enabled(L"SeBackupPrivilege")) LAYER_LEAVE(E_PRIVILEGE)
#define NEED_BACKUP_RESTORE()                                                                \
  if (!privilege_enabled(L"SeBackupPrivilege") || !privilege_enabled(L"SeRestorePrivilege")) \
  LAYER_LEAVE(E_PRIVILEGE)

/* switches both privileges off again (DoubleCtl "dropprivileges") */
static void drop_privileges(void) {
  HANDLE tok;
  BYTE buf[sizeof(TOKEN_PRIVILEGES) + sizeof(LUID_AND_ATTRIBUTES)];
  TOKEN_PRIVILEGES *tp = (TOKEN_PRIVILEGES *)buf;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok)) return;
  tp->PrivilegeCount = 2;
  LookupPrivilegeValueW(NULL, L"SeBackupPrivilege", &tp->Privileges[0].Luid);
  LookupPrivilegeValueW(NULL, L"SeRestorePrivilege", &tp->Privileges[1].Luid);
  tp->Privileges[0].Attributes = tp->Privileges[1].Attributes = 0;
  AdjustTokenPrivileges(tok, FALSE, tp, 0, NULL, NULL);
  CloseHandle(tok);
}

#define LAYER_LEAVE(ret)      \
  do {                        \
    free(id8);                \
    LeaveCriticalSection(&G); \
    return (ret);             \
  } while (0)

API ActivateLayer(const driver_info *info, LPCWSTR id) {
  layer *l;
  LAYER_ENTER("ActivateLayer", id);
  record("ActivateLayer", "%s id=%s", it, id8);
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  l->active = 1;
  LAYER_LEAVE(S_OK);
}

API DeactivateLayer(const driver_info *info, LPCWSTR id) {
  layer *l;
  LAYER_ENTER("DeactivateLayer", id);
  record("DeactivateLayer", "%s id=%s", it, id8);
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  l->active = 0;
  LAYER_LEAVE(S_OK);
}

/* the layer's folder HomeDir\id, where HCS keeps an imported layer */
static void layer_dir(const driver_info *info, LPCWSTR id, WCHAR *out, size_t n) {
  swprintf(out, n, L"%ls\\%ls", info->HomeDir ? info->HomeDir : L"", id);
}

API DestroyLayer(const driver_info *info, LPCWSTR id) {
  layer *l;
  WCHAR dir[1024];
  LAYER_ENTER("DestroyLayer", id);
  record("DestroyLayer", "%s id=%s", it, id8);
  NEED_BACKUP_RESTORE();
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  forget_layer(l);
  layer_dir(info, id, dir, 1024);
  if (GetFileAttributesW(dir) != INVALID_FILE_ATTRIBUTES) folder_remove(dir);
  LAYER_LEAVE(S_OK);
}

API UnprepareLayer(const driver_info *info, LPCWSTR id) {
  layer *l;
  LAYER_ENTER("UnprepareLayer", id);
  record("UnprepareLayer", "%s id=%s", it, id8);
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  l->prepared = 0;
  LAYER_LEAVE(S_OK);
}

API CreateLayer(const driver_info *info, LPCWSTR id, LPCWSTR parent) {
  char *p8;
  LAYER_ENTER("CreateLayer", id);
  p8 = u8(parent);
  record("CreateLayer", "%s id=%s parent=%s", it, id8, parent ? p8 : "(NULL)");
  free(p8);
  if (find_layer(info, id, 0)) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
  find_layer(info, id, 1);
  LAYER_LEAVE(S_OK);
}

API CreateSandboxLayer(const driver_info *info, LPCWSTR id, LPCWSTR parent, const layer_desc *d,
                       ULONG n) {
  char *p8, dt[4096];
  layer *l;
  LAYER_ENTER("CreateSandboxLayer", id);
  p8 = u8(parent);
  descs_text(dt, sizeof dt, d, n);
  record("CreateSandboxLayer", "%s id=%s parent=%s layers=%s", it, id8, parent ? p8 : "(NULL)", dt);
  free(p8);
  if (find_layer(info, id, 0)) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS));
  l = find_layer(info, id, 1);
  l->sandbox = 1;
  LAYER_LEAVE(S_OK);
}

/* ImportLayer keeps the transport folder as the layer's content */
static int keep_folder(layer *l, LPCWSTR folder) {
  static LONG n;
  WCHAR base[MAX_PATH + 1];
  if (l->store) folder_remove(l->store);
  free(l->store);
  l->store = malloc((MAX_PATH + 64) * sizeof(WCHAR));
  GetTempPathW(MAX_PATH + 1, base);
  swprintf(l->store, MAX_PATH + 64, L"%lsvmcompute-double-%lu-%ld", base,
           (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&n));
  /* an earlier run's store of a layer it never destroyed (Wine reuses
   * process ids) */
  folder_remove(l->store);
  return folder_copy(folder, l->store);
}

/* ExportLayer writes the transport folder into an empty (or new) folder:
 * what the layer was imported from, or an empty layer (Files\ only) */
static HRESULT give_folder(layer *l, LPCWSTR folder) {
  WCHAR files[1024];
  if (!CreateDirectoryW(folder, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
    return HRESULT_FROM_WIN32(GetLastError());
  if (!folder_empty(folder)) return HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY);
  if (l->store)
    return folder_copy(l->store, folder) < 0 ? HRESULT_FROM_WIN32(ERROR_DISK_FULL) : S_OK;
  swprintf(files, 1024, L"%ls\\Files", folder);
  return CreateDirectoryW(files, NULL) ? S_OK : HRESULT_FROM_WIN32(GetLastError());
}

static HRESULT two_ids(const char *name, const driver_info *info, LPCWSTR id, LPCWSTR second,
                       const layer_desc *d, ULONG n) {
  char *s8, dt[4096];
  LAYER_ENTER(name, id);
  s8 = u8(second);
  descs_text(dt, sizeof dt, d, n);
  record(name, "%s id=%s second=%s layers=%s", it, id8, s8, dt);
  free(s8);
  if (strcmp(name, "ExportLayer") == 0) NEED_BACKUP();
  if (strcmp(name, "ImportLayer") == 0) NEED_BACKUP_RESTORE();
  if (strcmp(name, "CopyLayer") == 0) {
    if (!find_layer(info, id, 0)) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    find_layer(info, second, 1);
  } else if (strcmp(name, "ImportLayer") == 0) {
    /* HCS reads the whole transport folder: a malformed one is refused */
    char why[300];
    char *manifest = folder_manifest(second, 1, why, sizeof why);
    if (!manifest) {
      record("ImportLayer.folder", "refused: %s", why);
      LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_INVALID_DATA));
    }
    record("ImportLayer.folder", "%s", manifest);
    free(manifest);
    if (keep_folder(find_layer(info, id, 1), second) < 0)
      LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_DISK_FULL));
    /* and the layer's folder, where hcsshim makes hard links afterwards */
    {
      WCHAR dir[1024];
      layer_dir(info, id, dir, 1024);
      if (folder_expand(second, dir) < 0) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_DISK_FULL));
    }
  } else if (strcmp(name, "ExportLayer") == 0) {
    layer *l = find_layer(info, id, 0);
    if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    LAYER_LEAVE(give_folder(l, second));
  } else if (!find_layer(info, id, 0)) {
    LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  }
  LAYER_LEAVE(S_OK);
}

API CopyLayer(const driver_info *info, LPCWSTR s, LPCWSTR d2, const layer_desc *d, ULONG n) {
  return two_ids("CopyLayer", info, s, d2, d, n);
}
API ExportLayer(const driver_info *info, LPCWSTR id, LPCWSTR folder, const layer_desc *d, ULONG n) {
  return two_ids("ExportLayer", info, id, folder, d, n);
}
API ImportLayer(const driver_info *info, LPCWSTR id, LPCWSTR folder, const layer_desc *d, ULONG n) {
  return two_ids("ImportLayer", info, id, folder, d, n);
}

API PrepareLayer(const driver_info *info, LPCWSTR id, const layer_desc *d, ULONG n) {
  char dt[4096];
  layer *l;
  LAYER_ENTER("PrepareLayer", id);
  descs_text(dt, sizeof dt, d, n);
  record("PrepareLayer", "%s id=%s layers=%s", it, id8, dt);
  /* HCS races in concurrent PrepareLayer calls: count any overlap */
  LeaveCriticalSection(&G);
  if (InterlockedIncrement(&preparing) > 1) InterlockedIncrement(&prepare_overlaps);
  Sleep(2);
  InterlockedDecrement(&preparing);
  EnterCriticalSection(&G);
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  l->prepared = 1;
  LAYER_LEAVE(S_OK);
}

API ExpandSandboxSize(const driver_info *info, LPCWSTR id, ULONGLONG size) {
  LAYER_ENTER("ExpandSandboxSize", id);
  record("ExpandSandboxSize", "%s id=%s size=%llu", it, id8, (unsigned long long)size);
  if (!find_layer(info, id, 0)) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  LAYER_LEAVE(S_OK);
}

API LayerExists(const driver_info *info, LPCWSTR id, BOOL *exists) {
  LAYER_ENTER("LayerExists", id);
  record("LayerExists", "%s id=%s", it, id8);
  *exists = find_layer(info, id, 0) != NULL;
  LAYER_LEAVE(S_OK);
}

/* two-call pattern: buffer NULL -> length (WCHARs, with the NUL) */
API GetLayerMountPath(const driver_info *info, LPCWSTR id, SIZE_T *length, PWSTR buffer) {
  layer *l;
  WCHAR path[200];
  SIZE_T need;
  LAYER_ENTER("GetLayerMountPath", id);
  record(buffer ? "GetLayerMountPath.buffer" : "GetLayerMountPath.length", "%s id=%s in=%lu", it,
         id8, (unsigned long)*length);
  record("GetLayerMountPath", "%s id=%s", it, id8);
  l = find_layer(info, id, 0);
  if (!l) LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
  if (!l->active) {
    *length = 0;
    LAYER_LEAVE(S_OK);
  }
  /* "growpath N": the path grows by a component after each of the next N
   * complete answers, as a path can change between a caller's two calls */
  swprintf(path, 200, L"\\\\?\\Volume{%08x-0000-0000-0000-000000000000}\\",
           (unsigned)(strlen(l->key) * 2654435761u));
  for (need = 0; need < (SIZE_T)path_growth && wcslen(path) < 190; need++) wcscat(path, L"d\\");
  need = wcslen(path) + 1;
  if (!buffer) {
    *length = need;
    LAYER_LEAVE(S_OK);
  }
  if (*length < need) {
    *length = need;
    LAYER_LEAVE(HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER));
  }
  memcpy(buffer, path, need * sizeof(WCHAR));
  *length = need;
  {
    char *p8 = u8(path);
    record("GetLayerMountPath.path", "%s", p8);
    free(p8);
  }
  if (grow_paths > 0) {
    grow_paths--;
    path_growth++;
  }
  LAYER_LEAVE(S_OK);
}

API GetBaseImages(PWSTR *buffer) {
  init();
  EnterCriticalSection(&G);
  record("GetBaseImages", NULL);
  *buffer = cotask("{\"Images\":[{\"Name\":\"microsoft/nanoserver\",\"Version\":\"10.0.14393.0\","
                   "\"Path\":\"C:\\\\ProgramData\\\\Microsoft\\\\Windows\\\\Images\\\\nano\","
                   "\"Size\":1234567890123}]}");
  LeaveCriticalSection(&G);
  return S_OK;
}

/* hcs-api.md section 6 vectors; other names get a stable made-up v5 GUID */
static const struct {
  const char *name;
  const char *guid;
} n2g[] = {
    {"4", "bd9c3ef9-f239-59b5-a27e-15c523b1d149"},
    {"305d84fb4aa7bb0818f672f25e34cf899067db0a9d0b245cdcf9c5d106360954",
     "b7751ac9-9da4-5a04-8f41-2d5e61a8b5b7"},
    {"076e74b17ff6b4b670e466cdc13945303bb7df9b82bf461e756bc729d659da07",
     "aa4fc017-120a-5dc4-b863-36ed05992ba1"},
};

API NameToGuid(LPCWSTR name, GUID *out) {
  char *n8;
  size_t i;
  init();
  EnterCriticalSection(&G);
  n8 = u8(name);
  record("NameToGuid", "%s", n8);
  memset(out, 0, sizeof *out);
  {
    HRESULT hr = injected("NameToGuid");
    if (hr < 0) {
      free(n8);
      LeaveCriticalSection(&G);
      return hr;
    }
  }
  for (i = 0; i < sizeof n2g / sizeof n2g[0]; i++)
    if (strcmp(n2g[i].name, n8) == 0) {
      unsigned d1, d2, d3, b[8];
      sscanf(n2g[i].guid, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &d1, &d2, &d3, &b[0], &b[1],
             &b[2], &b[3], &b[4], &b[5], &b[6], &b[7]);
      out->Data1 = d1;
      out->Data2 = (unsigned short)d2;
      out->Data3 = (unsigned short)d3;
      for (d1 = 0; d1 < 8; d1++) out->Data4[d1] = (unsigned char)b[d1];
      break;
    }
  if (i == sizeof n2g / sizeof n2g[0]) {
    unsigned h = 2166136261u;
    const char *p;
    for (p = n8; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    out->Data1 = h;
    out->Data3 = 0x5000;
    out->Data4[0] = 0x80;
  }
  free(n8);
  LeaveCriticalSection(&G);
  return S_OK;
}

/* ProcessBaseImage reads the base layer's folder (Files\ at least) */
static HRESULT path_only(const char *name, LPCWSTR path) {
  char *p8, why[300], *manifest = NULL;
  HRESULT hr = S_OK;
  init();
  EnterCriticalSection(&G);
  p8 = u8(path);
  record(name, "%s", p8);
  free(p8);
  if (strcmp(name, "ProcessBaseImage") == 0 &&
      GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES) {
    if ((manifest = folder_manifest(path, 0, why, sizeof why)))
      record("ProcessBaseImage.folder", "%s", manifest);
    else
      record("ProcessBaseImage.folder", "refused: %s", why),
          hr = HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
    free(manifest);
  }
  LeaveCriticalSection(&G);
  return hr;
}

API ProcessBaseImage(LPCWSTR path) { return path_only("ProcessBaseImage", path); }
API ProcessUtilityImage(LPCWSTR path) { return path_only("ProcessUtilityImage", path); }

/* ---- streams ---- */

typedef struct stream {
  int export_;
  int index;
  size_t offset;
  char log[4096];
} stream;

static const struct {
  const char *name;
  const char *data;
  int deleted;
  DWORD attr;
} export_files[] = {
    {"\\Files\\hello.txt", "hello, layer", 0, 0x20},
    {"\\Files\\dir", "", 0, 0x10},
    {"\\Files\\gone.txt", "", 1, 0},
};

static HRESULT begin(const char *name, int exp, const driver_info *info, LPCWSTR id,
                     const layer_desc *d, ULONG n, HANDLE *ctx) {
  char dt[4096];
  stream *st;
  LAYER_ENTER(name, id);
  descs_text(dt, sizeof dt, d, n);
  record(name, "%s id=%s layers=%s", it, id8, dt);
  if (exp) {
    NEED_BACKUP();
  } else {
    NEED_BACKUP_RESTORE();
  }
  st = calloc(1, sizeof *st);
  st->export_ = exp;
  st->index = -1;
  *ctx = st;
  LAYER_LEAVE(S_OK);
}

API ImportLayerBegin(const driver_info *info, LPCWSTR id, const layer_desc *d, ULONG n,
                     HANDLE *ctx) {
  return begin("ImportLayerBegin", 0, info, id, d, n, ctx);
}
API ExportLayerBegin(const driver_info *info, LPCWSTR id, const layer_desc *d, ULONG n,
                     HANDLE *ctx) {
  return begin("ExportLayerBegin", 1, info, id, d, n, ctx);
}

API ImportLayerNext(HANDLE ctx, LPCWSTR name, const fbi *info) {
  stream *st = ctx;
  char *n8;
  size_t o;
  init();
  EnterCriticalSection(&G);
  n8 = u8(name);
  record("ImportLayerNext", NULL);
  o = strlen(st->log);
  if (info)
    snprintf(st->log + o, sizeof st->log - o, "next %s attr=%lu c=%lld a=%lld w=%lld ch=%lld;", n8,
             (unsigned long)info->attr, (long long)info->c.QuadPart, (long long)info->a.QuadPart,
             (long long)info->w.QuadPart, (long long)info->ch.QuadPart);
  else snprintf(st->log + o, sizeof st->log - o, "delete %s;", n8);
  free(n8);
  LeaveCriticalSection(&G);
  return (name && name[0] == L'\\') ? S_OK : E_INVALIDARG;
}

API ImportLayerWrite(HANDLE ctx, const BYTE *buf, DWORD len) {
  stream *st = ctx;
  size_t o;
  init();
  EnterCriticalSection(&G);
  record("ImportLayerWrite", NULL);
  o = strlen(st->log);
  snprintf(st->log + o, sizeof st->log - o, "write %lu:%.*s;", (unsigned long)len,
           (int)(len > 64 ? 64 : len), (const char *)buf);
  LeaveCriticalSection(&G);
  return S_OK;
}

API ImportLayerEnd(HANDLE ctx) {
  stream *st = ctx;
  init();
  EnterCriticalSection(&G);
  record("ImportLayerEnd", "%s", st->log);
  free(st);
  LeaveCriticalSection(&G);
  return S_OK;
}

API ExportLayerNext(HANDLE ctx, PWSTR *name, fbi *info, LARGE_INTEGER *size, BOOL *deleted) {
  stream *st = ctx;
  init();
  EnterCriticalSection(&G);
  record("ExportLayerNext", NULL);
  st->index++;
  st->offset = 0;
  if (st->index >= (int)(sizeof export_files / sizeof export_files[0])) {
    LeaveCriticalSection(&G);
    return HRESULT_FROM_WIN32(ERROR_NO_MORE_FILES);
  }
  *name = cotask(export_files[st->index].name);
  memset(info, 0, sizeof *info);
  info->c.QuadPart = 132549434331374447LL;
  info->w.QuadPart = 132549434331374448LL;
  info->attr = export_files[st->index].attr;
  size->QuadPart = (LONGLONG)strlen(export_files[st->index].data);
  *deleted = export_files[st->index].deleted;
  LeaveCriticalSection(&G);
  return S_OK;
}

API ExportLayerRead(HANDLE ctx, BYTE *buf, DWORD len, DWORD *read) {
  stream *st = ctx;
  const char *data;
  size_t left;
  init();
  EnterCriticalSection(&G);
  record("ExportLayerRead", NULL);
  data = export_files[st->index].data;
  left = strlen(data) - st->offset;
  if (left > len) left = len;
  if (left > 5) left = 5; /* short reads on purpose */
  memcpy(buf, data + st->offset, left);
  st->offset += left;
  *read = (DWORD)left;
  LeaveCriticalSection(&G);
  return S_OK;
}

API ExportLayerEnd(HANDLE ctx) {
  init();
  EnterCriticalSection(&G);
  record("ExportLayerEnd", NULL);
  free(ctx);
  LeaveCriticalSection(&G);
  return S_OK;
}

/* ---------------------------------------------------------------- control */

static sys *find_any(const char *id) {
  sys *s;
  for (s = systems; s; s = s->next)
    if (strcmp(s->id, id) == 0) return s;
  return NULL;
}

/* Commands (one per call); the answer goes to out:
 *   delay MS | calls NAME | last NAME | allocs | reset-counts
 *   fail NAME HRESULT | fire SYSID TYPE STATUS | fireproc PID TYPE STATUS
 *   storm SYSID 0|1 | holdstart SYSID 0|1 | callbacks | growpath N
 *   dropprivileges | failunreg N | firelate TYPE | prepareoverlaps
 *   inheritable PID | rmtree PATH | exists PATH */
__declspec(dllexport) int WINAPI DoubleCtl(const char *cmd, char *out, int outlen) {
  char a[256] = "", b[256] = "";
  long long x = 0, y = 0;
  int r = 0;
  init();
  EnterCriticalSection(&G);
  out[0] = 0;
  if (sscanf(cmd, "delay %lld", &x) == 1) {
    delay_ms = (int)x;
  } else if (sscanf(cmd, "calls %255s", a) == 1) {
    snprintf(out, (size_t)outlen, "%ld", counter_of(a)->calls);
  } else if (sscanf(cmd, "last %255s", a) == 1) {
    counter *c = counter_of(a);
    snprintf(out, (size_t)outlen, "%s", c->last ? c->last : "");
  } else if (strcmp(cmd, "allocs") == 0) {
    EnterCriticalSection(&LIVE);
    snprintf(out, (size_t)outlen, "%ld %ld %ld %d", n_allocs, n_frees, n_foreign_frees, spy_ok);
    LeaveCriticalSection(&LIVE);
  } else if (sscanf(cmd, "fail %255s %lli", a, &x) == 2) {
    snprintf(fail_name, sizeof fail_name, "%s", a);
    fail_hr = (HRESULT)(long)x;
  } else if (sscanf(cmd, "fireproc %lli %lli %255s", &x, &y, b) == 3) {
    /* before "fire", whose "%s" would also take "fireproc ..." */
    proc *p;
    for (p = procs; p && p->pid != (DWORD)x; p = p->next) {}
    if (p) schedule(2, NULL, p, (DWORD)y, (HRESULT)strtoll(b, NULL, 0), 0);
    else r = -1;
  } else if (sscanf(cmd, "fire %255s %lli %lli", a, &x, &y) == 3) {
    sys *s = find_any(a);
    if (s) schedule(1, s, NULL, (DWORD)x, (HRESULT)(long)y, 0);
    else r = -1;
  } else if (sscanf(cmd, "storm %255s %lld", a, &x) == 2) {
    sys *s = find_any(a);
    if (s) s->storm = (int)x;
    else r = -1;
    WakeAllConditionVariable(&CV);
  } else if (sscanf(cmd, "holdstart %255s %lld", a, &x) == 2) {
    sys *s = find_any(a);
    if (s) s->hold_start = (int)x;
    else r = -1;
  } else if (sscanf(cmd, "failunreg %lld", &x) == 1) {
    fail_unreg = (int)x;
  } else if (sscanf(cmd, "firelate %lli", &x) == 1) {
    /* calls every unregistered callback once more, from this thread */
    late_cb *l, *all = late_cbs;
    LeaveCriticalSection(&G);
    for (l = all; l; l = l->next) l->fn((DWORD)x, l->ctx, S_OK, NULL);
    EnterCriticalSection(&G);
  } else if (sscanf(cmd, "inheritable %lli", &x) == 1) {
    /* how many stdio handles last given for the process are (still)
     * inheritable: a caller must have cleared the flag */
    proc *p;
    int i, n = 0;
    for (p = procs; p && p->pid != (DWORD)x; p = p->next) {}
    if (!p) r = -1;
    for (i = 0; p && i < 3; i++) {
      DWORD flags = 0;
      if (p->given[i] && GetHandleInformation(p->given[i], &flags) && (flags & HANDLE_FLAG_INHERIT))
        n++;
    }
    snprintf(out, (size_t)outlen, "%d", n);
  } else if (strcmp(cmd, "prepareoverlaps") == 0) {
    snprintf(out, (size_t)outlen, "%ld", (long)prepare_overlaps);
  } else if (sscanf(cmd, "rmtree %255[^\n]", a) == 1) {
    /* removes a folder tree the suite made (through the double: Lua has no rmdir) */
    WCHAR w[256];
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    folder_remove(w);
  } else if (sscanf(cmd, "samefile %255[^|]|%255[^\n]", a, b) == 2) {
    WCHAR w[256], w2[256];
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    MultiByteToWideChar(CP_UTF8, 0, b, -1, w2, 256);
    snprintf(out, (size_t)outlen, "%d", folder_same_file(w, w2));
  } else if (sscanf(cmd, "link %255[^|]|%255[^\n]", a, b) == 2) {
    /* a hard link a of the file b, for the suite's own transport folders */
    WCHAR w[256], w2[256];
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    MultiByteToWideChar(CP_UTF8, 0, b, -1, w2, 256);
    r = CreateHardLinkW(w, w2, NULL) ? 0 : -1;
  } else if (sscanf(cmd, "mkdir %255[^\n]", a) == 1) {
    /* a folder and those above it, for the suite's own parent layers */
    WCHAR w[256];
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    r = folder_make(w);
  } else if (sscanf(cmd, "tree %255[^\n]", a) == 1) {
    /* a layer folder's manifest, as ProcessBaseImage.folder */
    WCHAR w[256];
    char why[300], *m;
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    m = folder_manifest(w, 0, why, sizeof why);
    snprintf(out, (size_t)outlen, "%s", m ? m : why);
    free(m);
  } else if (sscanf(cmd, "exists %255[^\n]", a) == 1) {
    WCHAR w[256];
    MultiByteToWideChar(CP_UTF8, 0, a, -1, w, 256);
    snprintf(out, (size_t)outlen, "%d", GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES);
  } else if (strcmp(cmd, "dropprivileges") == 0) {
    drop_privileges();
  } else if (sscanf(cmd, "growpath %lld", &x) == 1) {
    grow_paths = (int)x;
    path_growth = 0;
  } else if (strcmp(cmd, "callbacks") == 0) {
    cb *c;
    long n = 0;
    for (c = cbs; c; c = c->next) n++;
    snprintf(out, (size_t)outlen, "%ld", n);
  } else {
    r = -1;
  }
  LeaveCriticalSection(&G);
  return r;
}
