/* semaphore.c: async_semaphore_t, asyncio.Semaphore and BoundedSemaphore.
 *
 * A semaphore is a count of free permits and a queue of waiters. Like the
 * lock, it hands a released permit straight to the first waiter instead of
 * adding it to the count, so the count never shows a permit that a woken
 * waiter is about to take, and a task that asks later queues behind it:
 * strictly first come, first served. A waiter handed a permit and cancelled
 * before it ran gives the permit back, which passes it to the next waiter.
 *
 * Rejected: counting the permit and waking the first waiter to re-check it
 * (older asyncio releases did so): a new acquirer running before the woken
 * waiter takes the permit, and a stream of them can starve that waiter.
 *
 * A bounded semaphore remembers its initial value; releasing above it is
 * UV_EOVERFLOW, asyncio's "BoundedSemaphore released too many times".
 */
#include "internal.h"
#include "check.h"

#include <limits.h>

/* Check mode watches who holds what (lockorder.c). */
static inline bool checking(void) {
  return async__rt != NULL && async__rt->check != NULL;
}

static int init(async_semaphore_t *sem, int value, int bound,
                const char *call) {
  if (sem == NULL) return async__misuse(call, UV_EINVAL, "sem is NULL");
  if (value < 0)
    return async__misuse(call, UV_EINVAL, "the initial value must be >= 0");
  sem->value = value;
  sem->bound = bound;
  async__list_init(&sem->waiters);
  if (checking()) async__check_object_init(sem);
  return 0;
}

int async_semaphore_init(async_semaphore_t *sem, int value) {
  return init(sem, value, -1, "async_semaphore_init");
}

int async_semaphore_init_bounded(async_semaphore_t *sem, int value) {
  return init(sem, value, value, "async_semaphore_init_bounded");
}

/* A permit is free, and nobody queued before us could claim it. */
static bool free_for_the_asking(const async_semaphore_t *sem) {
  return sem->value > 0 && async__list_empty(&sem->waiters);
}

/* Gives a permit back: to the first waiter if any, else to the count. */
static void give_back(async_semaphore_t *sem) {
  if (!async__wake_first(&sem->waiters)) sem->value++;
}

int(async_semaphore_acquire)(async_semaphore_t *sem) {
  int rc = async__enter_blocking("async_semaphore_acquire");
  if (rc != 0) return rc;
  if (sem == NULL)
    return async__misuse("async_semaphore_acquire", UV_EINVAL, "sem is NULL");
  if (checking()) async__check_semaphore_acquire(sem); /* lock order */
  if (free_for_the_asking(sem)) {
    sem->value--;
    if (checking()) async__check_semaphore_taken(sem);
    return 0;
  }
  async__waiter_t waiter;
  async__waiter_enqueue(&sem->waiters, &waiter);
  do {
    rc = async__park("a semaphore", sem, true);
  } while (rc == 0 && !waiter.woken);
  if (!waiter.woken) {
    async__list_remove(&waiter.link);
    return rc;
  }
  /* The releaser handed us its permit; cancelled, we must pass it on. */
  if (rc != 0) {
    give_back(sem);
    return rc;
  }
  if (checking()) async__check_semaphore_taken(sem);
  return 0;
}

bool(async_semaphore_try_acquire)(async_semaphore_t *sem) {
  if (sem == NULL) {
    async__misuse("async_semaphore_try_acquire", UV_EINVAL, "sem is NULL");
    return false;
  }
  if (!free_for_the_asking(sem)) return false;
  sem->value--;
  if (checking() && async__rt->current != NULL)
    async__check_semaphore_taken(sem);
  return true;
}

int async_semaphore_release(async_semaphore_t *sem) {
  if (sem == NULL)
    return async__misuse("async_semaphore_release", UV_EINVAL, "sem is NULL");
  if (sem->bound >= 0 && sem->value >= sem->bound)
    return async__misuse("async_semaphore_release", UV_EOVERFLOW,
                         "a bounded semaphore was released more often than "
                         "it was acquired");
  if (sem->value == INT_MAX)
    return async__misuse("async_semaphore_release", UV_EOVERFLOW,
                         "the semaphore's count would overflow an int");
  if (checking()) async__check_semaphore_released(sem);
  give_back(sem);
  return 0;
}

int async_semaphore_value(const async_semaphore_t *sem) {
  if (sem == NULL)
    return async__misuse("async_semaphore_value", UV_EINVAL, "sem is NULL");
  return sem->value;
}

bool async_semaphore_locked(const async_semaphore_t *sem) {
  if (sem == NULL) {
    async__misuse("async_semaphore_locked", UV_EINVAL, "sem is NULL");
    return false;
  }
  return !free_for_the_asking(sem);
}
