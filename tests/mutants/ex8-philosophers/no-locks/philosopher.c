/* philosopher.c: ex8-philosophers, a known-wrong variant: no forks taken at
 * all. Never deadlocks, because neighbours simply eat together.
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  (void)seat;
  return 0;
}

void put_forks(seat_t *seat) {
  (void)seat;
}

int philosopher(void *arg) {
  seat_t *seat = arg;
  for (int meal = 0; meal < seat->table->meals; meal++) {
    int rc = take_forks(seat);
    if (rc != 0) return rc;
    rc = eat(seat);
    put_forks(seat);
    if (rc != 0) return rc;
    rc = think(seat);
    if (rc != 0) return rc;
  }
  return 0;
}
