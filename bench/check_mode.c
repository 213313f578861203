/* check_mode.c: what check mode costs: n philosophers, 10 meals each.
 *
 * The dinner the grader runs for exercise 8: n tasks, n lock forks taken in
 * a global order, each philosopher saying when it is hungry and when it
 * ate (async_check_want / async_check_progress), thinking and eating with
 * async_sleep(0.1). Run it with ASYNC_CHECK=1 and a schedule: every
 * detector is on (lock graph, lock order, shared state, starvation,
 * livelock, hogs) and the virtual clock makes the sleeps free, so the
 * figure is the checking itself. Without ASYNC_CHECK the sleeps are real
 * and the figure is about two seconds of waiting: bench/run.sh always sets
 * it. Reported in ms for the whole dinner (spawn to the last join).
 */
#include "bench.h"

#include "async.h"

#include <stdio.h>
#include <stdlib.h>

enum { CHECKED_MEALS = 10 };

typedef struct table {
  async_lock_t *forks;
  long seats;
  long meals_eaten;
} table_t;

typedef struct seat {
  table_t *table;
  long number;
} seat_t;

static int dine_checked(void *arg) {
  seat_t *self = arg;
  table_t *table = self->table;
  long left = self->number, right = (self->number + 1) % table->seats;
  async_lock_t *first = &table->forks[left < right ? left : right];
  async_lock_t *second = &table->forks[left < right ? right : left];
  for (int meal = 0; meal < CHECKED_MEALS; meal++) {
    int rc = async_sleep(0.1); /* think */
    if (rc < 0) return rc;
    async_check_want("to eat");
    rc = async_lock_acquire(first);
    if (rc < 0) return rc;
    rc = async_lock_acquire(second);
    if (rc < 0) {
      async_lock_release(first);
      return rc;
    }
    async_check_progress("ate");
    rc = async_sleep(0.1); /* eat */
    table->meals_eaten++;
    async_lock_release(second);
    async_lock_release(first);
    if (rc < 0) return rc;
  }
  return 0;
}

static double checked_dinner(table_t *table, seat_t *seats,
                             async_task_t **tasks) {
  table->meals_eaten = 0;
  for (long i = 0; i < table->seats; i++) async_lock_init(&table->forks[i]);
  uint64_t start = bench_now_ns();
  for (long i = 0; i < table->seats; i++) {
    char name[24];
    snprintf(name, sizeof name, "P%ld", i);
    seats[i] = (seat_t){.table = table, .number = i};
    tasks[i] = async_spawn(name, dine_checked, &seats[i]);
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
  if (table->meals_eaten != table->seats * CHECKED_MEALS) {
    bench_failed("counting the meals", 0);
    return -1;
  }
  return (double)elapsed / 1e6;
}

int bench_check_philosophers(void *arg) {
  const bench_options_t *options = arg;
  if (!async_check_enabled())
    fprintf(stderr, "note: check mode is off (ASYNC_CHECK unset): the "
                    "sleeps are real\n");
  table_t table = {.seats = options->n};
  table.forks = calloc((size_t)options->n, sizeof *table.forks);
  seat_t *seats = calloc((size_t)options->n, sizeof *seats);
  async_task_t **tasks = calloc((size_t)options->n, sizeof *tasks);
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  int rc = 0;
  if (table.forks == NULL || seats == NULL || tasks == NULL || samples == NULL)
    rc = bench_failed("calloc", UV_ENOMEM);
  for (int round = 0; round < options->reps && rc == 0; round++) {
    samples[round] = checked_dinner(&table, seats, tasks);
    if (samples[round] < 0) rc = UV_EINVAL;
  }
  if (rc == 0) bench_report("check-philosophers", samples, options->reps, "ms");
  free(table.forks);
  free(seats);
  free(tasks);
  free(samples);
  return rc;
}
