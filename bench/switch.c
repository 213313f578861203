/* switch.c: the bare task switch, two tasks yielding to each other.
 *
 * Each task calls async_yield() n times; with nobody else ready, every
 * yield hands the thread to the other task: 2n switches, reported in ns per
 * switch. This is the floor under every other hand-off.
 */
#include "bench.h"

#include "async.h"

#include <stdlib.h>

static int yielder(void *arg) {
  long n = *(const long *)arg;
  for (long i = 0; i < n; i++) {
    int rc = async_yield();
    if (rc < 0) return rc;
  }
  return 0;
}

int bench_switch(void *arg) {
  const bench_options_t *options = arg;
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  if (samples == NULL) return bench_failed("calloc", UV_ENOMEM);
  long n = options->n;
  int rc = 0;
  for (int round = 0; round < options->reps && rc == 0; round++) {
    uint64_t start = bench_now_ns();
    async_task_t *a = async_spawn("yielder-a", yielder, &n);
    async_task_t *b = async_spawn("yielder-b", yielder, &n);
    if (a == NULL || b == NULL) {
      rc = bench_failed("async_spawn", UV_ENOMEM);
      break;
    }
    int rc_a = async_task_join(a);
    int rc_b = async_task_join(b);
    uint64_t elapsed = bench_now_ns() - start;
    async_task_release(a);
    async_task_release(b);
    if (rc_a < 0 || rc_b < 0)
      rc = bench_failed("a yielding task", rc_a < 0 ? rc_a : rc_b);
    samples[round] = (double)elapsed / (2.0 * (double)n);
  }
  if (rc == 0) bench_report("switch", samples, options->reps, "ns");
  free(samples);
  return rc;
}
