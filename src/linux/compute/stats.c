/* Statistics and process list of a compute system from its v1 cgroups and
 * /proc (never `crun ps`: it segfaults on stopped containers in 1.8.1). */
#include "linux/compute/hcs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *cgfile(const char *ctl, const char *cg, const char *file) {
  char p[4400];
  snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s/%s", ctl, cg[0] == '/' ? cg + 1 : cg, file);
  return cmn_read_file(p, NULL);
}

static int64_t cgint(const char *ctl, const char *cg, const char *file) {
  char *t = cgfile(ctl, cg, file);
  int64_t v = t ? strtoll(t, NULL, 10) : 0;
  free(t);
  return v;
}

/* "key value" lines (memory.stat); 0 when absent */
static int64_t keyed(const char *text, const char *key) {
  int64_t v = cmn_keyed_value(text, key);
  return v < 0 ? 0 : v;
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

json_t *hl_statistics(const char *cg, int64_t start_sec, long start_nsec) {
  struct timespec now;
  char ts[64], st[64];
  char *mstat = cgfile("memory", cg, "memory.stat");
  char *ios = cgfile("blkio", cg, "blkio.throttle.io_serviced_recursive");
  char *iob = cgfile("blkio", cg, "blkio.throttle.io_service_bytes_recursive");
  int64_t up;
  json_t *j;
  if (!ios) ios = cgfile("blkio", cg, "blkio.throttle.io_serviced");
  if (!iob) iob = cgfile("blkio", cg, "blkio.throttle.io_service_bytes");
  clock_gettime(CLOCK_REALTIME, &now);
  cmn_rfc3339(ts, sizeof ts, now.tv_sec, now.tv_nsec);
  cmn_rfc3339(st, sizeof st, start_sec, start_nsec);
  up = ((int64_t)now.tv_sec - start_sec) * 10000000 + ((int64_t)now.tv_nsec - start_nsec) / 100;
  if (up < 0) up = 0;
  j = json_pack(
      "{s:s,s:s,s:I,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I},s:[]}", "Timestamp", ts,
      "ContainerStartTime", st, "Uptime100ns", (json_int_t)up, "Memory", "MemoryUsageCommitBytes",
      (json_int_t)cgint("memory", cg, "memory.usage_in_bytes"), "MemoryUsageCommitPeakBytes",
      (json_int_t)cgint("memory", cg, "memory.max_usage_in_bytes"),
      "MemoryUsagePrivateWorkingSetBytes", (json_int_t)(mstat ? keyed(mstat, "total_rss") : 0),
      "Processor", "TotalRuntime100ns", (json_int_t)(cgint("cpuacct", cg, "cpuacct.usage") / 100),
      "RuntimeUser100ns", (json_int_t)(cgint("cpuacct", cg, "cpuacct.usage_user") / 100),
      "RuntimeKernel100ns", (json_int_t)(cgint("cpuacct", cg, "cpuacct.usage_sys") / 100),
      "Storage", "ReadCountNormalized", (json_int_t)blkio_sum(ios, "Read"), "ReadSizeBytes",
      (json_int_t)blkio_sum(iob, "Read"), "WriteCountNormalized",
      (json_int_t)blkio_sum(ios, "Write"), "WriteSizeBytes", (json_int_t)blkio_sum(iob, "Write"),
      "Network");
  {
    /* where the cgroup counts them (docker's OOM events) */
    int64_t oom = cmn_cgroup_oom_kills(cg);
    if (oom >= 0)
      json_object_set_new(json_object_get(j, "Memory"), "OOMKillCount", json_integer(oom));
  }
  free(mstat);
  free(ios);
  free(iob);
  return j;
}

static int64_t status_kb(const char *text, const char *key) {
  const char *p = text ? strstr(text, key) : NULL;
  return p ? strtoll(p + strlen(key), NULL, 10) * 1024 : 0;
}

json_t *hl_process_list(const char *cg) {
  char *procs = cgfile("memory", cg, "cgroup.procs");
  char *pstat = cmn_read_file("/proc/stat", NULL);
  const char *bt = pstat ? strstr(pstat, "\nbtime ") : NULL;
  long long btime = bt ? atoll(bt + 7) : 0;
  long hz = sysconf(_SC_CLK_TCK);
  json_t *list = json_array();
  free(pstat);
  for (char *s = procs, *tok; s && (tok = strsep(&s, "\n"));) {
    int pid = atoi(tok);
    char path[64], *stat, *status, *rp, comm[64] = "";
    unsigned long long ut = 0, kt = 0, start = 0;
    char ts[64];
    if (pid <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    stat = cmn_read_file(path, NULL);
    if (!stat) continue; /* exited meanwhile */
    rp = strrchr(stat, ')');
    {
      char *lp = strchr(stat, '(');
      if (lp && rp && rp > lp) snprintf(comm, sizeof comm, "%.*s", (int)(rp - lp - 1), lp + 1);
    }
    /* after ") ": state(3) ... utime(14) stime(15) ... starttime(22) */
    if (rp)
      sscanf(rp + 2,
             "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
             &ut, &kt, &start);
    free(stat);
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    status = cmn_read_file(path, NULL);
    {
      long long ns = (long long)(start % (unsigned long long)hz) * (1000000000LL / hz);
      cmn_rfc3339(ts, sizeof ts, btime + (long long)(start / (unsigned long long)hz), (long)ns);
    }
    json_array_append_new(
        list,
        json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "ProcessId", pid, "ImageName", comm,
                  "CreateTimestamp", ts, "UserTime100ns",
                  (json_int_t)(ut * (10000000ULL / (unsigned long long)hz)), "KernelTime100ns",
                  (json_int_t)(kt * (10000000ULL / (unsigned long long)hz)), "MemoryCommitBytes",
                  (json_int_t)status_kb(status, "VmSize:"), "MemoryWorkingSetPrivateBytes",
                  (json_int_t)status_kb(status, "RssAnon:"), "MemoryWorkingSetSharedBytes",
                  (json_int_t)(status_kb(status, "RssFile:") + status_kb(status, "RssShmem:"))));
    free(status);
  }
  free(procs);
  return list;
}
