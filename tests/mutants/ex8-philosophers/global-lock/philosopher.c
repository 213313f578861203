/* philosopher.c: ex8-philosophers, a known-wrong variant: one lock for the
 * whole meal. No deadlock, but only one philosopher eats at a time.
 */
#include <async.h>

#include "philosopher.h"

static async_lock_t everyone;

int dinner_prepare(table_t *table) {
  (void)table;
  async_lock_init(&everyone);
  async_lock_set_name(&everyone, "everyone");
  return 0;
}

int take_forks(seat_t *seat) {
  int rc = async_lock_acquire(&everyone);
  if (rc != 0) return rc;
  rc = async_lock_acquire(seat->left);
  if (rc == 0) {
    rc = async_lock_acquire(seat->right);
    if (rc != 0) async_lock_release(seat->left);
  }
  if (rc != 0) async_lock_release(&everyone);
  return rc;
}

void put_forks(seat_t *seat) {
  async_lock_release(seat->right);
  async_lock_release(seat->left);
  async_lock_release(&everyone); /* held through the whole meal */
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
