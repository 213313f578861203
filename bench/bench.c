/* bench.c: the benchmarks' clock, RSS reading, medians and reporting. */
#include "bench.h"

#include "async.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

size_t bench_rss_bytes(void) {
  /* statm gives the current resident set; getrusage's ru_maxrss is only a
   * high-water mark, which earlier allocations could already have raised. */
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm == NULL) return 0;
  unsigned long size_pages = 0, resident_pages = 0;
  int fields = fscanf(statm, "%lu %lu", &size_pages, &resident_pages);
  fclose(statm);
  if (fields != 2) return 0;
  return (size_t)resident_pages * (size_t)sysconf(_SC_PAGESIZE);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *samples, int count) {
  qsort(samples, (size_t)count, sizeof *samples, compare_doubles);
  if (count % 2 == 1) return samples[count / 2];
  return (samples[count / 2 - 1] + samples[count / 2]) / 2;
}

void bench_report(const char *name, double *samples, int count,
                  const char *unit) {
  fprintf(stderr, "%s rounds (%s):", name, unit);
  for (int i = 0; i < count; i++) fprintf(stderr, " %.4g", samples[i]);
  fprintf(stderr, "\n");
  printf("RESULT %s %.6g %s\n", name, bench_median(samples, count), unit);
  fflush(stdout);
}

int bench_failed(const char *what, int error) {
  fprintf(stderr, "runtime_bench: %s failed: %s\n", what,
          error < 0 ? async_strerror(error) : "unexpected result");
  return error < 0 ? error : UV_EINVAL;
}
