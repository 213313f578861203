/* philosopher.c: ex8-philosophers, a known-wrong variant: ordered forks, but
 * the loop counts one meal too many (<= instead of <).
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  async_lock_t *first = seat->left, *second = seat->right;
  if (second < first) {
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
  for (int meal = 0; meal <= seat->table->meals; meal++) {
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
