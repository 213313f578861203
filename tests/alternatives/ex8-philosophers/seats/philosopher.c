/* philosopher.c: ex8-philosophers, solved another way: N - 1 seats (a
 * semaphore) for N philosophers, who take left then right.
 *
 * With at most N - 1 philosophers competing, the ring of N waiters that a
 * deadlock needs cannot close: at least one of them finds both forks.
 * Check mode's lock-order graph accepts it: a semaphore with fewer
 * permits than the cycle has locks is held around each acquisition.
 */
#include <async.h>

#include "philosopher.h"

static async_semaphore_t seats;

int dinner_prepare(table_t *table) {
  int rc = async_semaphore_init(&seats, table->size - 1);
  if (rc != 0) return rc;
  async_semaphore_set_name(&seats, "seats");
  return 0;
}

int take_forks(seat_t *seat) {
  int rc = async_semaphore_acquire(&seats);
  if (rc != 0) return rc;
  rc = async_lock_acquire(seat->left);
  if (rc == 0) {
    rc = async_lock_acquire(seat->right);
    if (rc != 0) async_lock_release(seat->left);
  }
  if (rc != 0) async_semaphore_release(&seats);
  return rc;
}

void put_forks(seat_t *seat) {
  async_lock_release(seat->right);
  async_lock_release(seat->left);
  async_semaphore_release(&seats);
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
