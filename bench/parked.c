/* parked.c: memory per parked task, and n live tasks with default stacks.
 *
 * Spawns n tasks (default stack size) that each wait on one shared event,
 * lets them all run up to the wait, and reads the resident set before and
 * after: the difference over n is what a parked task costs (its struct, the
 * stack pages it touched, its share of the ready queue). Then sets the
 * event and checks that every task wakes and finishes: n tasks were alive at
 * once. Run it in a fresh process: memory freed by an earlier workload would
 * be reused and hide the cost.
 */
#include "bench.h"

#include "async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parked_state {
  async_event_t go;
  long parked; /* tasks that reached the wait */
  long woken;  /* tasks that came back from it */
} parked_state_t;

static int park_on_event(void *arg) {
  parked_state_t *state = arg;
  state->parked++;
  int rc = async_event_wait(&state->go);
  if (rc < 0) return rc;
  state->woken++;
  return 0;
}

int bench_parked(void *arg) {
  const bench_options_t *options = arg;
  long n = options->n;
  async_task_t **tasks = calloc((size_t)n, sizeof *tasks);
  if (tasks == NULL) return bench_failed("calloc", UV_ENOMEM);
  /* Touch the handle array now so that it is not counted as the tasks'. */
  memset(tasks, 0xff, (size_t)n * sizeof *tasks);
  parked_state_t state = {.parked = 0};
  async_event_init(&state.go);

  size_t before = bench_rss_bytes();
  for (long i = 0; i < n; i++) {
    tasks[i] = async_spawn(NULL, park_on_event, &state);
    if (tasks[i] == NULL) {
      free(tasks);
      return bench_failed("async_spawn", UV_ENOMEM);
    }
  }
  /* One yield lets every ready task run once: each reaches its wait. */
  while (state.parked < n) {
    int rc = async_yield();
    if (rc < 0) {
      free(tasks);
      return bench_failed("async_yield", rc);
    }
  }
  size_t after = bench_rss_bytes();
  if (before == 0 || after == 0) {
    free(tasks);
    return bench_failed("reading /proc/self/statm", UV_ENOSYS);
  }

  async_event_set(&state.go);
  int failed = 0;
  for (long i = 0; i < n; i++) {
    int rc = async_task_join(tasks[i]);
    if (rc < 0 && failed == 0) failed = rc;
    async_task_release(tasks[i]);
  }
  free(tasks);
  if (failed < 0) return bench_failed("a parked task", failed);
  if (state.woken != n) return bench_failed("waking every parked task", 0);

  double per_task = (double)(after > before ? after - before : 0) / (double)n;
  fprintf(stderr, "parked: RSS %.1f MiB before, %.1f MiB with %ld parked\n",
          (double)before / 1048576.0, (double)after / 1048576.0, n);
  bench_report("parked-rss", &per_task, 1, "bytes");
  printf("RESULT live-tasks %ld tasks\n", n);
  return 0;
}
