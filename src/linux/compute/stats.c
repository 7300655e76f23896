/* Statistics and process list of a compute system from its cgroup (v2 or
 * v1/hybrid, one interface: cmn_cgroup_*) and /proc (never `crun ps`: it
 * segfaults on stopped containers in 1.8.1).
 *
 * Sources, v2 | v1:
 *   MemoryUsageCommitBytes            memory.current | memory.usage_in_bytes
 *   MemoryUsageCommitPeakBytes        memory.peak | memory.max_usage_in_bytes
 *                                     (absent on v2 kernels before 5.19)
 *   MemoryUsagePrivateWorkingSetBytes memory.stat anon | memory.stat total_rss
 *   Processor (100 ns)                cpu.stat usage/user/system_usec x 10 |
 *                                     cpuacct.usage, usage_user, usage_sys / 100
 *   Storage                           io.stat rios, rbytes, wios, wbytes |
 *                                     blkio.throttle.io_serviced(_recursive),
 *                                     io_service_bytes(_recursive); summed
 *                                     over devices
 * Never a silent zero: a counter that cannot be read fails the query and
 * names the file. */
#include "linux/compute/hcs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct cg_stats {
  int64_t mem, mem_ws, cpu, cpu_user, cpu_sys, rd_n, rd_b, wr_n, wr_b;
  int64_t mem_peak; /* -1: not provided by this kernel */
} cg_stats;

typedef struct cg_reader {
  const char *cg;
  char *why; /* the first file that could not be read */
} cg_reader;

static char *cgtext(cg_reader *r, const char *ctl, const char *file) {
  char *t = cmn_cgroup_read(ctl, r->cg, file);
  if (!t && !r->why) {
    char *p = cmn_cgroup_path(ctl, r->cg, file);
    r->why = cmn_printf("cannot read %s: %s", p ? p : file, strerror(errno));
    free(p);
  }
  return t;
}

static int64_t cgint(cg_reader *r, const char *ctl, const char *file) {
  char *t = cgtext(r, ctl, file);
  int64_t v = t ? strtoll(t, NULL, 10) : 0;
  free(t);
  return v;
}

static int64_t need_key(cg_reader *r, const char *text, const char *key, const char *file) {
  int64_t v = text ? cmn_keyed_value(text, key) : 0;
  if (v >= 0) return v;
  if (!r->why) r->why = cmn_printf("cannot read %s: no `%s` line", file, key);
  return 0;
}

/* blkio "M:m Op value" lines, summed over devices */
static int64_t blkio_sum(const char *text, const char *op) {
  int64_t sum = 0;
  for (const char *l = text; l && *l;) {
    char dev[64], o[32];
    long long v;
    if (sscanf(l, "%63s %31s %lld", dev, o, &v) == 3 && strcmp(o, op) == 0) sum += v;
    l = strchr(l, '\n');
    if (l) l++;
  }
  return sum;
}

/* io.stat "M:m rbytes=N wbytes=N rios=N ..." lines, summed over devices */
static int64_t iostat_sum(const char *text, const char *key) {
  int64_t sum = 0;
  size_t kl = strlen(key);
  for (const char *p = text; p && (p = strstr(p, key));) {
    if ((p == text || p[-1] == ' ') && p[kl] == '=') sum += strtoll(p + kl + 1, NULL, 10);
    p += kl;
  }
  return sum;
}

static void stats_v2(cg_reader *r, cg_stats *s) {
  char *mstat = cgtext(r, "memory", "memory.stat"), *cpu = cgtext(r, "cpu", "cpu.stat");
  char *io = cgtext(r, "blkio", "io.stat"), *peak;
  s->mem = cgint(r, "memory", "memory.current");
  peak = cmn_cgroup_read("memory", r->cg, "memory.peak");
  s->mem_peak = peak ? strtoll(peak, NULL, 10) : -1;
  free(peak);
  s->mem_ws = need_key(r, mstat, "anon", "memory.stat");
  s->cpu = need_key(r, cpu, "usage_usec", "cpu.stat") * 10;
  s->cpu_user = need_key(r, cpu, "user_usec", "cpu.stat") * 10;
  s->cpu_sys = need_key(r, cpu, "system_usec", "cpu.stat") * 10;
  s->rd_n = iostat_sum(io, "rios");
  s->rd_b = iostat_sum(io, "rbytes");
  s->wr_n = iostat_sum(io, "wios");
  s->wr_b = iostat_sum(io, "wbytes");
  free(mstat);
  free(cpu);
  free(io);
}

/* the _recursive files count the cgroup's children too; older kernels
 * have only the flat ones */
static char *blkio_text(cg_reader *r, const char *name) {
  char file[96], *t;
  snprintf(file, sizeof file, "blkio.throttle.%s_recursive", name);
  t = cmn_cgroup_read("blkio", r->cg, file);
  if (t) return t;
  snprintf(file, sizeof file, "blkio.throttle.%s", name);
  return cgtext(r, "blkio", file);
}

static void stats_v1(cg_reader *r, cg_stats *s) {
  char *mstat = cgtext(r, "memory", "memory.stat");
  char *ios = blkio_text(r, "io_serviced"), *iob = blkio_text(r, "io_service_bytes");
  s->mem = cgint(r, "memory", "memory.usage_in_bytes");
  s->mem_peak = cgint(r, "memory", "memory.max_usage_in_bytes");
  s->mem_ws = need_key(r, mstat, "total_rss", "memory.stat");
  s->cpu = cgint(r, "cpuacct", "cpuacct.usage") / 100;
  s->cpu_user = cgint(r, "cpuacct", "cpuacct.usage_user") / 100;
  s->cpu_sys = cgint(r, "cpuacct", "cpuacct.usage_sys") / 100;
  s->rd_n = blkio_sum(ios, "Read");
  s->rd_b = blkio_sum(iob, "Read");
  s->wr_n = blkio_sum(ios, "Write");
  s->wr_b = blkio_sum(iob, "Write");
  free(mstat);
  free(ios);
  free(iob);
}

json_t *hl_statistics(const char *cg, int64_t start_sec, long start_nsec, char **why) {
  struct timespec now;
  char ts[64], st[64];
  cg_reader r = {cg, NULL};
  cg_stats s;
  int64_t up;
  json_t *j, *mem;
  memset(&s, 0, sizeof s);
  if (cmn_cgroup_v2()) stats_v2(&r, &s);
  else stats_v1(&r, &s);
  if (r.why) {
    *why = r.why;
    return NULL;
  }
  clock_gettime(CLOCK_REALTIME, &now);
  cmn_rfc3339(ts, sizeof ts, now.tv_sec, now.tv_nsec);
  cmn_rfc3339(st, sizeof st, start_sec, start_nsec);
  up = ((int64_t)now.tv_sec - start_sec) * 10000000 + ((int64_t)now.tv_nsec - start_nsec) / 100;
  if (up < 0) up = 0;
  mem = json_pack("{s:I,s:I}", "MemoryUsageCommitBytes", (json_int_t)s.mem,
                  "MemoryUsagePrivateWorkingSetBytes", (json_int_t)s.mem_ws);
  if (s.mem_peak >= 0)
    json_object_set_new(mem, "MemoryUsageCommitPeakBytes", json_integer(s.mem_peak));
  {
    /* where the cgroup counts them (docker's OOM events) */
    int64_t oom = cmn_cgroup_oom_kills(cg);
    if (oom >= 0) json_object_set_new(mem, "OOMKillCount", json_integer(oom));
  }
  j = json_pack("{s:s,s:s,s:I,s:o,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I},s:[]}", "Timestamp", ts,
                "ContainerStartTime", st, "Uptime100ns", (json_int_t)up, "Memory", mem, "Processor",
                "TotalRuntime100ns", (json_int_t)s.cpu, "RuntimeUser100ns", (json_int_t)s.cpu_user,
                "RuntimeKernel100ns", (json_int_t)s.cpu_sys, "Storage", "ReadCountNormalized",
                (json_int_t)s.rd_n, "ReadSizeBytes", (json_int_t)s.rd_b, "WriteCountNormalized",
                (json_int_t)s.wr_n, "WriteSizeBytes", (json_int_t)s.wr_b, "Network");
  if (!j) *why = cmn_printf("out of memory");
  return j;
}

static int64_t status_kb(const char *text, const char *key) {
  const char *p = text ? strstr(text, key) : NULL;
  return p ? strtoll(p + strlen(key), NULL, 10) * 1024 : 0;
}

json_t *hl_process_list(const char *cg, char **why) {
  cg_reader r = {cg, NULL};
  char *procs = cgtext(&r, "memory", "cgroup.procs");
  char *pstat = cmn_read_file("/proc/stat", NULL);
  const char *bt = pstat ? strstr(pstat, "\nbtime ") : NULL;
  long long btime = bt ? atoll(bt + 7) : 0;
  long hz = sysconf(_SC_CLK_TCK);
  json_t *list;
  free(pstat);
  if (!procs) {
    *why = r.why;
    return NULL;
  }
  list = json_array();
  for (char *s = procs, *tok; s && (tok = strsep(&s, "\n"));) {
    int pid = atoi(tok);
    char path[64], *status;
    cmn_proc_stat_t ps;
    char ts[64];
    if (pid <= 0) continue;
    if (cmn_proc_stat(pid, &ps) < 0) continue; /* exited meanwhile */
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    status = cmn_read_file(path, NULL);
    {
      long long ns = (long long)(ps.starttime % (unsigned long long)hz) * (1000000000LL / hz);
      cmn_rfc3339(ts, sizeof ts, btime + (long long)(ps.starttime / (unsigned long long)hz),
                  (long)ns);
    }
    json_array_append_new(
        list,
        json_pack(
            "{s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "ProcessId", pid, "ImageName", ps.comm,
            "CreateTimestamp", ts, "UserTime100ns",
            (json_int_t)(ps.utime * (10000000ULL / (unsigned long long)hz)), "KernelTime100ns",
            (json_int_t)(ps.stime * (10000000ULL / (unsigned long long)hz)), "MemoryCommitBytes",
            (json_int_t)status_kb(status, "VmSize:"), "MemoryWorkingSetPrivateBytes",
            (json_int_t)status_kb(status, "RssAnon:"), "MemoryWorkingSetSharedBytes",
            (json_int_t)(status_kb(status, "RssFile:") + status_kb(status, "RssShmem:"))));
    free(status);
  }
  free(procs);
  return list;
}
