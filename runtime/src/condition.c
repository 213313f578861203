/* condition.c: async_condition_t, asyncio.Condition.
 *
 * A condition is a lock (the caller's, or one of its own) and a queue of
 * waiters. wait() releases the lock, parks until notified, then takes the
 * lock again before returning, even when the task was cancelled meanwhile:
 * the caller wrote `acquire; while (!ready) wait; ...; release` and must
 * never reach its release without holding the lock. So the re-acquisition
 * ignores interrupts, and the interrupt is returned once the lock is back.
 *
 * A notification is a hand-off like the lock's: notify() unlinks waiters and
 * marks them woken. If such a waiter is cancelled before it returns, the
 * notification would be lost with it, so it passes one on to the next
 * waiter, as asyncio does. A spurious wakeup for that next waiter is
 * allowed by the protocol; a lost one would be a hang.
 *
 * Rejected: an interruptible re-acquisition that returns UV_ECANCELED
 * without the lock. It saves a cancelled task a wait, but the caller could
 * not tell whether it holds the lock, and the usual unlock-on-exit path
 * would then release somebody else's lock.
 */
#include "internal.h"

void async_condition_init(async_condition_t *cond, async_lock_t *lock) {
  if (cond == NULL) {
    async__misuse("async_condition_init", UV_EINVAL, "cond is NULL");
    return;
  }
  async_lock_init(&cond->own_lock);
  cond->lock = lock != NULL ? lock : &cond->own_lock;
  async__list_init(&cond->waiters);
}

int(async_condition_acquire)(async_condition_t *cond) {
  int rc = async__enter_blocking("async_condition_acquire");
  if (rc != 0) return rc;
  if (cond == NULL)
    return async__misuse("async_condition_acquire", UV_EINVAL, "cond is NULL");
  return async_lock_acquire(cond->lock);
}

int async_condition_release(async_condition_t *cond) {
  if (cond == NULL)
    return async__misuse("async_condition_release", UV_EINVAL, "cond is NULL");
  return async_lock_release(cond->lock);
}

/* Whether the running task holds the condition's lock. asyncio only asks
 * whether the lock is locked; asking who holds it also catches a task
 * that notifies under a lock another task holds, a lost-wakeup bug. */
static bool caller_holds_lock(const async_condition_t *cond) {
  async_task_t *self = async__rt != NULL ? async__rt->current : NULL;
  return self != NULL && cond->lock->owner == self;
}

int(async_condition_wait)(async_condition_t *cond) {
  int rc = async__enter_blocking("async_condition_wait");
  if (rc != 0) return rc;
  if (cond == NULL)
    return async__misuse("async_condition_wait", UV_EINVAL, "cond is NULL");
  if (!caller_holds_lock(cond))
    return async__misuse("async_condition_wait", UV_EPERM,
                         "the task does not hold the condition's lock");
  /* Reports should name the caller's wait, not whichever call ran last. */
  async_site_t site = async__site;
  async_task_t *self = async__rt->current;

  async_lock_release(cond->lock);
  async__waiter_t waiter;
  async__waiter_enqueue(&cond->waiters, &waiter);
  do {
    rc = async__park("a condition", cond, true);
  } while (rc == 0 && !waiter.woken);
  if (!waiter.woken) async__list_remove(&waiter.link);

  async__site = site;
  async__lock_acquire_uninterruptibly(cond->lock);
  /* Re-read: the task may have been cancelled while it waited for the
   * lock. Then a notification it consumed goes to the next waiter. */
  rc = self->interrupt;
  if (rc != 0 && waiter.woken) async__wake_first(&cond->waiters);
  return rc;
}

int(async_condition_wait_for)(async_condition_t *cond,
                              bool (*predicate)(void *arg), void *arg) {
  int rc = async__enter_blocking("async_condition_wait_for");
  if (rc != 0) return rc;
  if (cond == NULL || predicate == NULL)
    return async__misuse("async_condition_wait_for", UV_EINVAL,
                         "cond or predicate is NULL");
  /* Checked before the predicate, so that the mistake shows up even on
   * the runs where the predicate happens to hold already. */
  if (!caller_holds_lock(cond))
    return async__misuse("async_condition_wait_for", UV_EPERM,
                         "the task does not hold the condition's lock");
  async_site_t site = async__site;
  while (!predicate(arg)) {
    async__site = site;
    rc = async_condition_wait(cond);
    if (rc != 0) return rc;
  }
  return 0;
}

int async_condition_notify(async_condition_t *cond, int n) {
  if (cond == NULL)
    return async__misuse("async_condition_notify", UV_EINVAL, "cond is NULL");
  if (n < 0)
    return async__misuse("async_condition_notify", UV_EINVAL, "n must be >= 0");
  if (!caller_holds_lock(cond))
    return async__misuse("async_condition_notify", UV_EPERM,
                         "the task does not hold the condition's lock");
  for (int i = 0; i < n && async__wake_first(&cond->waiters); i++) {
  }
  return 0;
}

int async_condition_notify_all(async_condition_t *cond) {
  if (cond == NULL)
    return async__misuse("async_condition_notify_all", UV_EINVAL,
                         "cond is NULL");
  if (!caller_holds_lock(cond))
    return async__misuse("async_condition_notify_all", UV_EPERM,
                         "the task does not hold the condition's lock");
  async__wake_all(&cond->waiters);
  return 0;
}
