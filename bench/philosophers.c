/* philosophers.c: n dining philosophers, each eating `meals` times.
 *
 * n tasks and n locks (forks) around one table. Philosopher i takes the
 * lower-numbered of forks i and (i+1)%n first, then the other, so there is
 * no cycle and no deadlock. Thinking and eating are each one async_yield(),
 * so the figure is the cost of the locks and switches, not of sleeping.
 * The checked dinner (bench_check_philosophers) is the same table timed
 * under check mode.
 * Reported in ms for the whole dinner (spawn to the last join).
 */
#include "bench.h"

#include "async.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum { MEALS = 100, CHECKED_MEALS = 10 };

typedef struct table {
  async_lock_t *forks;
  long seats;
  long meals_eaten;
  int meals;    /* each */
  bool checked; /* the dinner check mode is timed on (check_mode.c) */
} table_t;

typedef struct philosopher {
  table_t *table;
  long seat;
} philosopher_t;

static int dine(void *arg) {
  philosopher_t *self = arg;
  table_t *table = self->table;
  long left = self->seat, right = (self->seat + 1) % table->seats;
  async_lock_t *first = &table->forks[left < right ? left : right];
  async_lock_t *second = &table->forks[left < right ? right : left];
  for (int meal = 0; meal < table->meals; meal++) {
    /* The checked dinner sleeps (free on the virtual clock) and says who
     * is hungry and who ate, so that every detector has work. */
    int rc = table->checked ? async_sleep(0.1) : async_yield(); /* think */
    if (table->checked) async_check_want("to eat");
    if (rc == 0) rc = async_lock_acquire(first);
    if (rc < 0) return rc;
    rc = async_lock_acquire(second);
    if (rc < 0) {
      async_lock_release(first);
      return rc;
    }
    if (table->checked) async_check_progress("ate");
    rc = table->checked ? async_sleep(0.1) : async_yield(); /* eat */
    table->meals_eaten++;
    async_lock_release(second);
    async_lock_release(first);
    if (rc < 0) return rc;
  }
  return 0;
}

/* One dinner: its length in ms, or < 0 on failure. */
static double dinner(table_t *table, philosopher_t *seats,
                     async_task_t **tasks) {
  table->meals_eaten = 0;
  for (long i = 0; i < table->seats; i++) async_lock_init(&table->forks[i]);
  uint64_t start = bench_now_ns();
  for (long i = 0; i < table->seats; i++) {
    seats[i] = (philosopher_t){.table = table, .seat = i};
    tasks[i] = async_spawn("philosopher", dine, &seats[i]);
    if (tasks[i] == NULL) {
      bench_failed("async_spawn", UV_ENOMEM);
      return -1;
    }
  }
  int failed = 0;
  for (long i = 0; i < table->seats; i++) {
    int rc = async_task_join(tasks[i]);
    if (rc < 0 && failed == 0) failed = rc;
    async_task_release(tasks[i]);
  }
  uint64_t elapsed = bench_now_ns() - start;
  if (failed < 0) {
    bench_failed("a philosopher", failed);
    return -1;
  }
  if (table->meals_eaten != table->seats * table->meals) {
    bench_failed("counting the meals", 0);
    return -1;
  }
  return (double)elapsed / 1e6;
}

/* Runs options->reps dinners and reports their median as `name`. */
static int dinners(const bench_options_t *options, int meals, bool checked,
                   const char *name) {
  table_t table = {.seats = options->n, .meals = meals, .checked = checked};
  table.forks = calloc((size_t)options->n, sizeof *table.forks);
  philosopher_t *seats = calloc((size_t)options->n, sizeof *seats);
  async_task_t **tasks = calloc((size_t)options->n, sizeof *tasks);
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  int rc = 0;
  if (table.forks == NULL || seats == NULL || tasks == NULL || samples == NULL)
    rc = bench_failed("calloc", UV_ENOMEM);
  for (int round = 0; round < options->reps && rc == 0; round++) {
    samples[round] = dinner(&table, seats, tasks);
    if (samples[round] < 0) rc = UV_EINVAL;
  }
  if (rc == 0) bench_report(name, samples, options->reps, "ms");
  free(table.forks);
  free(seats);
  free(tasks);
  free(samples);
  return rc;
}

int bench_philosophers(void *arg) {
  return dinners(arg, MEALS, false, "philosophers");
}

/* What check mode costs: the dinner the grader runs for exercise 8, 10
 * meals each, sleeping to think and eat, with the hunger hooks. Run under
 * ASYNC_CHECK=1 and a schedule, every detector is on and the virtual clock
 * makes the sleeps free, so the figure is the checking itself (without
 * check mode the sleeps are real: bench/run.sh always sets it). */
int bench_check_philosophers(void *arg) {
  if (!async_check_enabled())
    fprintf(stderr, "note: check mode is off (ASYNC_CHECK unset): the "
                    "sleeps are real\n");
  return dinners(arg, CHECKED_MEALS, true, "check-philosophers");
}
