/* philosopher.c: ex8-philosophers, solved another way: even seats take
 * left then right, odd seats right then left.
 *
 * Two neighbours then reach first for the fork between them (or last for
 * both outer ones), so the ring of "hold left, wait for right" breaks at
 * every other seat. With an odd number of seats the last and the first
 * are both even and compete for fork 0 first, which is harmless.
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  async_lock_t *first = seat->left, *second = seat->right;
  if (seat->index % 2 == 1) {
    first = seat->right;
    second = seat->left;
  }
  int rc = async_lock_acquire(first);
  if (rc != 0) return rc;
  rc = async_lock_acquire(second);
  if (rc != 0) async_lock_release(first);
  return rc;
}

void put_forks(seat_t *seat) {
  async_lock_release(seat->right);
  async_lock_release(seat->left);
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
