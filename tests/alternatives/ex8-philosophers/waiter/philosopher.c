/* philosopher.c: ex8-philosophers, solved another way: a waiter (one lock)
 * is held while a philosopher takes both forks.
 *
 * Nobody can hold one fork while another philosopher picks up a pair, so
 * no ring of half-served philosophers can form. Check mode's lock-order
 * graph knows this pattern: the waiter is held around every fork
 * acquisition, so the fork-to-fork edges form no cycle it reports. It is
 * correct, but slower with many philosophers: whoever holds the waiter
 * while a fork is busy keeps everyone else from trying.
 */
#include <async.h>

#include "philosopher.h"

static async_lock_t waiter;

int dinner_prepare(table_t *table) {
  (void)table;
  async_lock_init(&waiter);
  async_lock_set_name(&waiter, "waiter");
  return 0;
}

int take_forks(seat_t *seat) {
  int rc = async_lock_acquire(&waiter);
  if (rc != 0) return rc;
  rc = async_lock_acquire(seat->left);
  if (rc == 0) {
    rc = async_lock_acquire(seat->right);
    if (rc != 0) async_lock_release(seat->left);
  }
  /* The waiter is needed only while forks are being picked up, not while
   * eating. */
  async_lock_release(&waiter);
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
