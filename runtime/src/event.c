/* event.c: async_event_t, asyncio.Event.
 *
 * A flag and a queue of waiters. set() raises the flag and wakes every
 * waiter; a woken waiter returns 0 without looking at the flag again, so a
 * clear() that follows the set() at once does not strand the tasks that the
 * set() released (asyncio behaves the same way).
 *
 * Rejected: having woken waiters re-check the flag in a loop, as with a
 * condition variable: a set() immediately followed by a clear() (a pulse)
 * would then wake nobody.
 */
#include "internal.h"

void async_event_init(async_event_t *event) {
  if (event == NULL) {
    async__misuse("async_event_init", UV_EINVAL, "event is NULL");
    return;
  }
  event->is_set = false;
  async__list_init(&event->waiters);
}

void async_event_set(async_event_t *event) {
  if (event == NULL) {
    async__misuse("async_event_set", UV_EINVAL, "event is NULL");
    return;
  }
  event->is_set = true;
  async__wake_all(&event->waiters);
}

void async_event_clear(async_event_t *event) {
  if (event == NULL) {
    async__misuse("async_event_clear", UV_EINVAL, "event is NULL");
    return;
  }
  event->is_set = false;
}

bool async_event_is_set(const async_event_t *event) {
  if (event == NULL) {
    async__misuse("async_event_is_set", UV_EINVAL, "event is NULL");
    return false;
  }
  return event->is_set;
}

int async__event_wait(async_event_t *event, const char *call, const char *what,
                      const void *object) {
  int rc = async__enter_blocking(call);
  if (rc != 0) return rc;
  if (event == NULL) return async__misuse(call, UV_EINVAL, "event is NULL");
  if (event->is_set) return 0;
  async__waiter_t waiter;
  async__waiter_enqueue(&event->waiters, &waiter);
  do {
    rc = async__park(what, object, true);
  } while (rc == 0 && !waiter.woken);
  /* set() wakes everyone, so a cancelled waiter has nothing to pass on. */
  if (!waiter.woken) async__list_remove(&waiter.link);
  return rc;
}

int(async_event_wait)(async_event_t *event) {
  return async__event_wait(event, "async_event_wait", "an event", event);
}
