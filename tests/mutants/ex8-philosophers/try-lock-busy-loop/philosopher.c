/* philosopher.c: ex8-philosophers, a known-wrong variant: takes the left
 * fork, tries the right one, and when it is busy puts the left one down
 * and tries again at once. No deadlock, but a busy loop: philosophers spin
 * through each other's yields while nobody eats (a livelock), and in
 * virtual time the clock never moves while somebody spins.
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  for (;;) {
    int rc = async_lock_acquire(seat->left);
    if (rc != 0) return rc;
    if (async_lock_try_acquire(seat->right)) return 0;
    async_lock_release(seat->left);
    rc = async_yield(); /* let the neighbour finish, then retry */
    if (rc != 0) return rc;
  }
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
