/* philosopher.c: ex8-philosophers, the file you edit: how a philosopher
 * takes the forks.
 *
 * As it stands, every philosopher picks up the fork on the left, then the
 * one on the right. It often works. But if all of them pick up their left
 * fork at the same moment, each waits for ever for the right one, which
 * the neighbour holds: a deadlock. Run it in check mode to see it:
 *
 *   ASYNC_CHECK=1 ASYNC_SCHEDULE=fifo-yield make run-ex8
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  /* TODO(ex8): if your way of taking forks needs something shared besides
   * the forks (a lock, a semaphore...), set it up here. */
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  /* TODO(ex8): every philosopher takes left, then right: a cycle of
   * philosophers, each holding one fork and waiting for the next. Take the
   * two forks so that no such cycle can form. */
  int rc = async_lock_acquire(seat->left);
  if (rc != 0) return rc;
  rc = async_lock_acquire(seat->right);
  if (rc != 0) {
    async_lock_release(seat->left); /* give back what we took */
    return rc;
  }
  return 0;
}

void put_forks(seat_t *seat) {
  /* TODO(ex8): give back everything take_forks took. */
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
