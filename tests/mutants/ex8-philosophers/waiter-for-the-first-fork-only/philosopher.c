/* philosopher.c: ex8-philosophers, a known-wrong variant: a waiter lock,
 * but released as soon as the left fork is taken, so that each
 * philosopher still holds its left fork while waiting for the right one.
 * The ring can still close.
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
  async_lock_release(&waiter); /* too early: the right fork is not ours */
  if (rc != 0) return rc;
  rc = async_lock_acquire(seat->right);
  if (rc != 0) async_lock_release(seat->left);
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
