/* philosophers.h: dining philosophers in every flavour, for the check-mode
 * tests: the classic bug (left fork, then right) and the usual fixes.
 *
 * N philosophers around a table of N forks (locks); philosopher i uses
 * forks i and (i + 1) % N. dinner() runs one dinner as a task body and
 * returns 0 when every philosopher ate every meal. The lines of the two
 * acquires are recorded in the table, so that a test can expect them in a
 * report.
 */
#ifndef PHILOSOPHERS_H
#define PHILOSOPHERS_H

#include <stdio.h>
#include <stdlib.h>

#include "async.h"

typedef enum manners {
  LEFT_THEN_RIGHT,     /* the bug: can deadlock */
  LOWER_FORK_FIRST,    /* one global order */
  ONE_WAITER,          /* a waiter lock held while taking both forks */
  SEATS_FOR_N_MINUS_1, /* a semaphore lets at most N - 1 sit */
  ODD_EVEN,            /* even seats take left first, odd seats right */
  WAITER_FOR_LEFT_ONLY /* wrong: the waiter lock covers the left fork only */
} manners_t;

typedef struct table {
  int seats;
  int meals;
  manners_t manners;
  bool yield_between_forks; /* an explicit yield after the first fork */
  async_lock_t *forks;
  async_lock_t waiter;
  async_semaphore_t room;
  int room_seats;              /* permits of the room: 0 means seats - 1 */
  int first_line, second_line; /* of the two fork acquires */
  int meals_eaten;
  int failures; /* philosophers whose acquire failed (ASYNC_EDEADLK...) */
  int first_error;
} table_t;

typedef struct seat {
  table_t *table;
  int index;
  char name[16];
} seat_t;

static int take_forks(table_t *table, async_lock_t *first,
                      async_lock_t *second) {
  table->first_line = __LINE__ + 1;
  int rc = async_lock_acquire(first);
  if (rc != 0) return rc;
  if (table->yield_between_forks) async_yield();
  table->second_line = __LINE__ + 1;
  rc = async_lock_acquire(second);
  if (rc != 0) async_lock_release(first);
  return rc;
}

static int philosopher(void *arg) {
  seat_t *seat = arg;
  table_t *table = seat->table;
  int left = seat->index, right = (seat->index + 1) % table->seats;
  async_lock_t *first = &table->forks[left], *second = &table->forks[right];
  if (table->manners == LOWER_FORK_FIRST && right < left) {
    first = &table->forks[right];
    second = &table->forks[left];
  }
  if (table->manners == ODD_EVEN && seat->index % 2 == 1) {
    first = &table->forks[right];
    second = &table->forks[left];
  }
  for (int meal = 0; meal < table->meals; meal++) {
    int rc = async_yield(); /* think */
    if (rc != 0) return rc;
    if (table->manners == SEATS_FOR_N_MINUS_1) {
      rc = async_semaphore_acquire(&table->room);
      if (rc != 0) return rc;
    }
    if (table->manners == ONE_WAITER) {
      rc = async_lock_acquire(&table->waiter);
      if (rc != 0) return rc;
    }
    if (table->manners == WAITER_FOR_LEFT_ONLY) {
      rc = async_lock_acquire(&table->waiter);
      if (rc == 0) rc = async_lock_acquire(first);
      async_lock_release(&table->waiter);
      if (rc == 0) rc = async_lock_acquire(second);
      if (rc != 0) async_lock_release(first);
    } else {
      rc = take_forks(table, first, second);
    }
    if (table->manners == ONE_WAITER) async_lock_release(&table->waiter);
    if (rc != 0) {
      if (table->manners == SEATS_FOR_N_MINUS_1)
        async_semaphore_release(&table->room);
      table->failures++;
      if (table->first_error == 0) table->first_error = rc;
      return rc;
    }
    async_yield(); /* eat */
    table->meals_eaten++;
    async_lock_release(second);
    async_lock_release(first);
    if (table->manners == SEATS_FOR_N_MINUS_1)
      async_semaphore_release(&table->room);
  }
  return 0;
}

/* The task body of one dinner: spawns the philosophers, joins them. */
static int dinner(void *arg) {
  table_t *table = arg;
  table->forks = calloc((size_t)table->seats, sizeof *table->forks);
  seat_t *seats = calloc((size_t)table->seats, sizeof *seats);
  async_task_t **tasks = calloc((size_t)table->seats, sizeof *tasks);
  if (table->forks == NULL || seats == NULL || tasks == NULL) abort();
  table->meals_eaten = table->failures = table->first_error = 0;
  async_lock_init(&table->waiter);
  async_semaphore_init(&table->room, table->room_seats ? table->room_seats
                                                       : table->seats - 1);
  async_semaphore_set_name(&table->room, "room");
  for (int i = 0; i < table->seats; i++) {
    async_lock_init(&table->forks[i]);
    char name[16];
    snprintf(name, sizeof name, "fork %d", i);
    async_lock_set_name(&table->forks[i], name);
  }
  for (int i = 0; i < table->seats; i++) {
    seats[i].table = table;
    seats[i].index = i;
    snprintf(seats[i].name, sizeof seats[i].name, "P%d", i);
    tasks[i] = async_spawn(seats[i].name, philosopher, &seats[i]);
  }
  for (int i = 0; i < table->seats; i++) {
    async_task_join(tasks[i]);
    async_task_release(tasks[i]);
  }
  free(table->forks);
  free(seats);
  free(tasks);
  return table->meals_eaten == table->seats * table->meals ? 0 : 1;
}

#endif /* PHILOSOPHERS_H */
