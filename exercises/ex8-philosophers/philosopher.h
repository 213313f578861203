/* philosopher.h: the functions of ex8 that you write, in philosopher.c
 * (kit-owned; do not edit). */
#ifndef PHILOSOPHER_H
#define PHILOSOPHER_H

#include "table.h"

/* Called once per dinner, in the dinner's task, after the forks are laid
 * and before any philosopher sits down: set up whatever your way of taking
 * forks needs besides the forks themselves. Returns 0 or a negative
 * error, which cancels the dinner. */
int dinner_prepare(table_t *table);

/* Blocks until the philosopher at `seat` may eat: usually, once it holds
 * both its forks. Returns 0, or a negative error (ASYNC_EDEADLK,
 * UV_ECANCELED...) having given back whatever it had taken. */
int take_forks(seat_t *seat);

/* Gives back what take_forks took. */
void put_forks(seat_t *seat);

/* One philosopher's task (its argument is its seat_t): eats the table's
 * meals, each with take_forks, eat, put_forks, then think. Returns 0, or
 * the first error. */
int philosopher(void *seat);

#endif /* PHILOSOPHER_H */
