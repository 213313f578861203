/* runtime_bench.c: the runtime's benchmarks, one workload per invocation.
 *
 *   runtime_bench WORKLOAD [N [REPS]]
 *
 * runs WORKLOAD (see the table below) as the main task of async_run() and
 * prints "RESULT <name> <median> <unit>" lines; every round goes to stderr.
 * bench/run.sh runs each workload in a process of its own, next to the
 * peers in bench/peers/, which take the same arguments.
 */
#include "bench.h"

#include "async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct workload {
  const char *name;
  async_fn run;
  long default_n;
  int default_reps;
  const char *what;
} workload_t;

static const workload_t workloads[] = {
    {"handoff-queue", bench_handoff_queue, 1000000, 5,
     "N ints through a queue of maxsize 1 (ns per hand-off)"},
    {"handoff-event", bench_handoff_event, 1000000, 5,
     "N ping-pong round trips on two events (ns per hand-off)"},
    {"switch", bench_switch, 1000000, 5,
     "two tasks yielding N times each (ns per switch)"},
    {"spawn", bench_spawn, 100000, 5,
     "spawn and join N tasks that yield once (ns per task)"},
    {"parked", bench_parked, 100000, 1,
     "N tasks parked on one event (RSS bytes per task)"},
    {"philosophers", bench_philosophers, 1000, 5,
     "N philosophers, 100 meals each, N forks (ms in all)"},
    {"check-philosophers", bench_check_philosophers, 1000, 5,
     "N philosophers, 10 meals each, under ASYNC_CHECK=1 (ms in all)"},
};
enum { WORKLOAD_COUNT = sizeof workloads / sizeof workloads[0] };

static void usage(void) {
  fprintf(stderr, "usage: runtime_bench WORKLOAD [N [REPS]]\n");
  for (int i = 0; i < WORKLOAD_COUNT; i++)
    fprintf(stderr, "  %-14s %s; N=%ld, REPS=%d\n", workloads[i].name,
            workloads[i].what, workloads[i].default_n,
            workloads[i].default_reps);
}

/* Parses a positive number; 0 if `text` is not one. */
static long positive(const char *text) {
  char *end;
  long value = strtol(text, &end, 10);
  return *text != '\0' && *end == '\0' && value > 0 ? value : 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    usage();
    return 2;
  }
  const workload_t *workload = NULL;
  for (int i = 0; i < WORKLOAD_COUNT; i++)
    if (strcmp(argv[1], workloads[i].name) == 0) workload = &workloads[i];
  if (workload == NULL) {
    fprintf(stderr, "runtime_bench: no workload named '%s'\n", argv[1]);
    usage();
    return 2;
  }
  bench_options_t options = {.n = workload->default_n,
                             .reps = workload->default_reps};
  if (argc > 2) options.n = positive(argv[2]);
  if (argc > 3) options.reps = (int)positive(argv[3]);
  if (options.n == 0 || options.reps == 0) {
    fprintf(stderr, "runtime_bench: N and REPS must be positive numbers\n");
    return 2;
  }
  int rc = async_run(workload->run, &options);
  return rc < 0 ? 1 : 0;
}
