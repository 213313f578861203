/* spawn.c: spawn n tasks that each yield once, then join them all.
 *
 * All n tasks are alive at once. Reported in ns per task (spawn, first run,
 * yield, finish, join, release). The first round pays for touching fresh
 * stack pages; later rounds reuse the pooled stacks, as a long-running
 * program does. The first round is reported apart ("spawn-first") and the
 * median covers the rounds after it.
 */
#include "bench.h"

#include "async.h"

#include <stdlib.h>

static int yield_once(void *arg) {
  (void)arg;
  return async_yield();
}

/* One round: the ns per task, or < 0 on failure. */
static double spawn_and_join(async_task_t **tasks, long n) {
  uint64_t start = bench_now_ns();
  for (long i = 0; i < n; i++) {
    tasks[i] = async_spawn(NULL, yield_once, NULL);
    if (tasks[i] == NULL) {
      bench_failed("async_spawn", UV_ENOMEM);
      return -1; /* async_run cancels and frees what was spawned */
    }
  }
  int failed = 0;
  for (long i = 0; i < n; i++) {
    int rc = async_task_join(tasks[i]);
    if (rc < 0 && failed == 0) failed = rc;
    async_task_release(tasks[i]);
  }
  uint64_t elapsed = bench_now_ns() - start;
  if (failed < 0) {
    bench_failed("a spawned task", failed);
    return -1;
  }
  return (double)elapsed / (double)n;
}

int bench_spawn(void *arg) {
  const bench_options_t *options = arg;
  async_task_t **tasks = calloc((size_t)options->n, sizeof *tasks);
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  if (tasks == NULL || samples == NULL) {
    free(tasks);
    free(samples);
    return bench_failed("calloc", UV_ENOMEM);
  }
  int rc = 0;
  double first = spawn_and_join(tasks, options->n);
  if (first < 0) rc = UV_EINVAL;
  for (int round = 0; round < options->reps && rc == 0; round++) {
    samples[round] = spawn_and_join(tasks, options->n);
    if (samples[round] < 0) rc = UV_EINVAL;
  }
  if (rc == 0) {
    bench_report("spawn-first", &first, 1, "ns");
    bench_report("spawn", samples, options->reps, "ns");
  }
  free(tasks);
  free(samples);
  return rc;
}
