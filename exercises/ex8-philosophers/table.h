/* table.h: ex8's dining table: forks, seats, eat() and think() (kit-owned;
 * do not edit).
 *
 * N philosophers sit around a table with N forks between them: philosopher
 * i eats with fork i (on the left) and fork (i + 1) % N (on the right), so
 * each fork is shared by two neighbours. The forks are locks. The kit lays
 * the table, runs one task per philosopher and checks the dinner; how a
 * philosopher takes the forks is yours (philosopher.c).
 *
 * eat() and think() print, sleep, count the meals, notice neighbours
 * eating at once, and tell check mode who is hungry (async_check_want) and
 * who ate (async_check_progress), which is how the starvation and livelock
 * reports know what progress means here.
 */
#ifndef TABLE_H
#define TABLE_H

#include <async.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct table table_t;

/* One philosopher's place at the table. */
typedef struct seat {
  /* public, read-only */
  table_t *table;
  int index;           /* 0 .. size - 1 */
  char name[16];       /* "Kant", or "P17" at a table that is not of five */
  async_lock_t *left;  /* fork `index` */
  async_lock_t *right; /* fork (index + 1) % size */
  /* private: kept by the kit */
  int meals_eaten;
  int result;      /* what philosopher() returned */
  bool left_table; /* philosopher() has returned */
  bool eating;
  double hungry_since; /* on the loop clock */
  double longest_wait; /* the longest a meal kept it waiting, in seconds */
} seat_t;

struct table {
  /* public, read-only */
  int size;             /* philosophers, and forks */
  int meals;            /* meals each philosopher eats */
  double eat_seconds;   /* how long a meal takes */
  double think_seconds; /* how long a philosopher thinks after each meal */
  async_lock_t *forks;  /* size locks: fork i is forks[i] */
  seat_t *seats;        /* size seats */
  /* private: kept by the kit */
  FILE *out;      /* where "NAME eating" lines go; NULL: nowhere */
  int *fork_user; /* the seat eating with each fork, or -1 */
  int clashes;    /* times a philosopher began eating beside one eating */
  char first_clash[256];
  double start;         /* when the dinner began, on the loop clock */
  double duration;      /* virtual (or real) seconds the dinner took */
  int unfinished;       /* philosophers who did not eat exactly `meals` meals */
  int forks_left_taken; /* forks still locked once everyone has left */
};

/* Sets a table for `size` philosophers (2 or more) who each eat `meals`
 * meals; lines go to `out` (NULL: nowhere). 0, UV_EINVAL or UV_ENOMEM. */
int table_init(table_t *table, int size, int meals, double eat_seconds,
               double think_seconds, FILE *out);
void table_free(table_t *table);

/* The task body of one dinner (pass the table as its argument): lays the
 * forks, calls dinner_prepare(), runs one philosopher task per seat, waits
 * for them all and checks the dinner: every philosopher ate exactly
 * `meals` meals and put its forks back, and no two neighbours ever ate at
 * once. Then prints
 * "All philosophers are done eating now." and returns 0; otherwise says
 * what went wrong on stderr and returns 1. */
int dinner(void *table);

/* A meal: prints "NAME eating" and sleeps eat_seconds. Call it holding
 * both of the seat's forks. Returns 0, or the sleep's error
 * (UV_ECANCELED...). */
int eat(seat_t *seat);

/* Prints "NAME thinking" and sleeps think_seconds; the philosopher is
 * hungry again afterwards. Returns 0, or the sleep's error. */
int think(seat_t *seat);

#endif /* TABLE_H */
