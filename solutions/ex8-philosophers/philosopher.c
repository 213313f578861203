/* philosopher.c: ex8-philosophers, solved: every philosopher takes the
 * lower-numbered of its two forks first.
 *
 * Why the stub deadlocks. A deadlock needs four things at once (Coffman's
 * conditions): forks that only one philosopher can hold (mutual
 * exclusion), a philosopher holding one fork while it waits for the other
 * (hold and wait), nobody taking a fork away from its holder (no
 * preemption), and a cycle of philosophers, each waiting for a fork the
 * next one holds (circular wait). Left-then-right has all four: if all N
 * pick up their left fork before anyone picks up a right one, philosopher
 * i waits for i + 1, who waits for i + 2, ..., who waits for i.
 *
 * The fix removes the cycle. Number the forks 0 .. N-1 and let everyone
 * take the lower-numbered of their two forks first. A cycle of waiters
 * would need someone holding a higher-numbered fork while waiting for a
 * lower one, and nobody ever does that. Philosophers 0 .. N-2 still take
 * left then right (fork i, then i + 1); only the last one, whose right
 * fork is fork 0, takes its right fork first. One philosopher with
 * different manners is enough to break the ring.
 *
 * This is the lock-order rule of every large program (the Linux kernel's
 * lockdep checks it at run time): agree on one order for locks and always
 * take them in that order. Check mode's lock-order graph is that check:
 * it records "fork a was held while fork b was taken" for every
 * acquisition, and reports a cycle in those edges as a potential deadlock
 * even on a run that happened to finish. Ordered forks make no cycle, so
 * it stays quiet under every schedule, not only the lucky ones.
 *
 * Other correct ways (the kit's tests accept each of them):
 *   - a waiter: one lock held while taking both forks, so that nobody
 *     holds one fork while someone else takes a pair. Simple, but whoever
 *     holds the waiter while waiting for a busy fork stops everyone else
 *     from even trying: with a thousand philosophers it is several times
 *     slower.
 *   - N - 1 seats: a semaphore lets at most N - 1 philosophers compete;
 *     with one empty chair the ring of N waiters cannot close.
 *   - odd/even: odd seats take right then left, even seats left then
 *     right; neighbours then reach first for the fork between them.
 *   A single lock around the whole meal is also deadlock-free, but it
 *   lets one philosopher eat at a time: a thousand philosophers then take
 *   two hundred times as long as five. That is what the "not served one
 *   at a time" check catches.
 *
 * Fairness comes from the runtime: its locks serve waiters first come,
 * first served, so a hungry philosopher waiting for a fork gets it when
 * the neighbour puts it down, rather than losing it to someone who asked
 * later.
 */
#include <async.h>

#include "philosopher.h"

int dinner_prepare(table_t *table) {
  /* The forks are all this way needs: nothing else is shared. */
  (void)table;
  return 0;
}

int take_forks(seat_t *seat) {
  /* The forks are one array, so their addresses follow their numbers:
   * comparing the pointers compares the fork numbers. */
  async_lock_t *first = seat->left, *second = seat->right;
  if (second < first) {
    first = seat->right;
    second = seat->left;
  }
  int rc = async_lock_acquire(first);
  if (rc != 0) return rc; /* cancelled: we hold nothing */
  rc = async_lock_acquire(second);
  if (rc != 0) {
    /* Never leave holding half a pair: a fork kept by a philosopher who
     * has stopped eating would starve its neighbour for ever. */
    async_lock_release(first);
    return rc;
  }
  return 0;
}

void put_forks(seat_t *seat) {
  /* The order of releases does not matter for deadlock: releasing never
   * waits. Each release hands the fork to the first philosopher waiting
   * for it. */
  async_lock_release(seat->right);
  async_lock_release(seat->left);
}

int philosopher(void *arg) {
  seat_t *seat = arg;
  for (int meal = 0; meal < seat->table->meals; meal++) {
    int rc = take_forks(seat);
    if (rc != 0) return rc;
    rc = eat(seat);
    /* Put the forks down even if the meal was interrupted (cancelled): a
     * task that ends holding a lock leaves its neighbours waiting. */
    put_forks(seat);
    if (rc != 0) return rc;
    rc = think(seat);
    if (rc != 0) return rc;
  }
  return 0;
}
