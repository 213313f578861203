/* lock.c: async_lock_t, asyncio.Lock with strict FIFO hand-off.
 *
 * A lock is an owner (the task holding it, NULL when free) and a queue of
 * waiters. Release never leaves the lock free while someone waits: it makes
 * the first waiter the owner before that waiter even runs. So a task that
 * asks later, even one asking while the woken waiter is still in the ready
 * queue, finds the lock taken and queues behind: no barging, and a waiter is
 * served in the order it arrived. The price is one rule for cancellation: a
 * waiter that was handed the lock and then cancelled before it ran must hand
 * it on, since it already owns it.
 *
 * Rejected: waking the first waiter and letting it re-check a free lock (the
 * classic condition-variable lock), which lets whoever runs first take the
 * lock and can starve a waiter forever. asyncio gets the same fairness by
 * keeping the woken waiter in its queue until it runs; the hand-off says it
 * directly and needs no scan for cancelled waiters.
 *
 * The owner and the call site of the acquire are recorded for reports; as in
 * asyncio, any task may release the lock, the owner only matters to
 * ASYNC_EDEADLK and to Condition.
 */
#include "internal.h"
#include "check.h"

/* Check mode watches who holds what (lockorder.c). */
static inline bool checking(void) {
  return async__rt != NULL && async__rt->check != NULL;
}

void async_lock_init(async_lock_t *lock) {
  if (lock == NULL) {
    async__misuse("async_lock_init", UV_EINVAL, "lock is NULL");
    return;
  }
  lock->owner = NULL;
  async__list_init(&lock->waiters);
  lock->acquired_at = (async_site_t){NULL, 0};
  if (checking()) async__check_object_init(lock);
}

static void take(async_lock_t *lock, async_task_t *task, async_site_t site) {
  if (checking()) async__check_lock_moved(lock, lock->owner, task, site);
  lock->owner = task;
  lock->acquired_at = site;
}

/* The lock is free and nobody is queued for it: asking now may take it. */
static bool free_for_the_asking(const async_lock_t *lock) {
  return lock->owner == NULL && async__list_empty(&lock->waiters);
}

int(async_lock_acquire)(async_lock_t *lock) {
  int rc = async__enter_blocking("async_lock_acquire");
  if (rc != 0) return rc;
  if (lock == NULL)
    return async__misuse("async_lock_acquire", UV_EINVAL, "lock is NULL");
  async_task_t *self = async__rt->current;
  if (lock->owner == self)
    return async__misuse("async_lock_acquire", ASYNC_EDEADLK,
                         "the task already holds this lock (it is not "
                         "reentrant)");
  if (checking()) { /* lock order; ASYNC_EDEADLK if waiting closes a cycle */
    rc = async__check_lock_acquire(lock, true);
    if (rc != 0) return rc;
  }
  if (free_for_the_asking(lock)) {
    take(lock, self, async__site);
    return 0;
  }
  async__waiter_t waiter;
  async__waiter_enqueue(&lock->waiters, &waiter);
  /* Loop: only a release (woken) or an interrupt (rc) ends the wait. */
  do {
    rc = async__park("a lock", lock, true);
  } while (rc == 0 && !waiter.woken);
  if (!waiter.woken) {
    async__list_remove(&waiter.link);
    return rc;
  }
  /* The releaser made us the owner. Cancelled before we could use it: the
   * lock is ours to give back, to the next in line. */
  if (rc != 0) {
    async_lock_release(lock);
    return rc;
  }
  return 0;
}

int async__lock_acquire_uninterruptibly(async_lock_t *lock) {
  async_task_t *self = async__rt->current;
  if (lock->owner == self) return ASYNC_EDEADLK;
  if (checking()) async__check_lock_acquire(lock, false);
  if (free_for_the_asking(lock)) {
    take(lock, self, async__site);
    return 0;
  }
  async__waiter_t waiter;
  async__waiter_enqueue(&lock->waiters, &waiter);
  while (!waiter.woken) async__park("a lock", lock, false);
  return 0;
}

bool(async_lock_try_acquire)(async_lock_t *lock) {
  if (lock == NULL) {
    async__misuse("async_lock_try_acquire", UV_EINVAL, "lock is NULL");
    return false;
  }
  async_task_t *self = async__rt != NULL ? async__rt->current : NULL;
  /* The owner is a task; outside one there is nobody to own the lock (and
   * a NULL owner would read as "free"). */
  if (self == NULL) {
    async__misuse("async_lock_try_acquire", UV_EPERM, "called outside a task");
    return false;
  }
  if (!free_for_the_asking(lock)) return false;
  /* Its macro noted the caller's site, as for a blocking call. */
  take(lock, self, async__site);
  return true;
}

int async_lock_release(async_lock_t *lock) {
  if (lock == NULL)
    return async__misuse("async_lock_release", UV_EINVAL, "lock is NULL");
  if (lock->owner == NULL)
    return async__misuse("async_lock_release", UV_EPERM,
                         "the lock is not locked");
  if (async__list_empty(&lock->waiters)) {
    if (checking())
      async__check_lock_moved(lock, lock->owner, NULL, lock->acquired_at);
    lock->owner = NULL;
    return 0;
  }
  /* Hand over: the first waiter owns the lock from this moment, and the
   * site it parked at (its acquire) is where it acquired it. */
  async__waiter_t *next =
      async__container_of(lock->waiters.next, async__waiter_t, link);
  take(lock, next->task, next->task->waiting_at);
  async__wake_first(&lock->waiters);
  return 0;
}

bool async_lock_locked(const async_lock_t *lock) {
  if (lock == NULL) {
    async__misuse("async_lock_locked", UV_EINVAL, "lock is NULL");
    return false;
  }
  return lock->owner != NULL;
}
