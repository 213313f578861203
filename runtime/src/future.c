/* future.c: futures, asyncio.Future: a result that some code sets later.
 *
 * A future is pending, then done exactly once: with a result, an error, or
 * cancelled. Tasks that await it park in a wait queue of async__waiter_t, as
 * they do on an event, and are all woken when it completes. Done callbacks
 * are a malloc'd list kept in the order they were added; when the future
 * completes, each node is scheduled with async_call_soon through the
 * async_callback_t inside it, so the callbacks run on the loop, in order,
 * after the code that completed the future has carried on.
 *
 * Rejected: calling the callbacks inside set_result. asyncio never does,
 * and for good reason: a callback would run in the middle of its caller's
 * state change, could complete other futures recursively without bound, or
 * free the very future being set under the caller's feet.
 */
#include "internal.h"

enum { PENDING = 0, HAS_RESULT = 1, HAS_ERROR = 2, CANCELLED = 3 };

struct async__future_callback {
  struct async__future_callback *next;
  async_future_t *future;
  async_future_callback_fn fn;
  void *arg;
  async_callback_t soon; /* scheduled once the future is done */
};

void async_future_init(async_future_t *future) {
  if (future == NULL) {
    async__misuse("async_future_init", UV_EINVAL, "future is NULL");
    return;
  }
  future->state = PENDING;
  future->value = 0;
  async__list_init(&future->waiters);
  future->callbacks = NULL;
}

/* Runs on the loop: the node goes before the callback runs, so that the
 * callback may destroy the future or add callbacks to it. */
static void run_callback(void *arg) {
  struct async__future_callback *node = arg;
  async_future_t *future = node->future;
  async_future_callback_fn fn = node->fn;
  void *fn_arg = node->arg;
  struct async__future_callback **link = &future->callbacks;
  while (*link != node) link = &(*link)->next;
  *link = node->next;
  free(node);
  fn(future, fn_arg);
}

static void complete(async_future_t *future, int state, int value) {
  future->state = state;
  future->value = value;
  async__wake_all(&future->waiters);
  /* Outside async_run() there is no loop to run them on: they stay until
   * async_future_destroy. */
  for (struct async__future_callback *node = future->callbacks; node != NULL;
       node = node->next)
    async_call_soon(&node->soon, run_callback, node);
}

int async_future_set_result(async_future_t *future, int value) {
  if (future == NULL)
    return async__misuse("async_future_set_result", UV_EINVAL,
                         "future is NULL");
  if (value < 0)
    return async__misuse("async_future_set_result", UV_EINVAL,
                         "a result is >= 0; use async_future_set_error for "
                         "an error");
  if (future->state != PENDING)
    return async__misuse("async_future_set_result", UV_EPERM,
                         "the future is done already");
  complete(future, HAS_RESULT, value);
  return 0;
}

int async_future_set_error(async_future_t *future, int error) {
  if (future == NULL)
    return async__misuse("async_future_set_error", UV_EINVAL, "future is NULL");
  if (error >= 0)
    return async__misuse("async_future_set_error", UV_EINVAL,
                         "an error is a negative UV_E* code");
  if (future->state != PENDING)
    return async__misuse("async_future_set_error", UV_EPERM,
                         "the future is done already");
  complete(future, HAS_ERROR, error);
  return 0;
}

bool async_future_cancel(async_future_t *future) {
  if (future == NULL || future->state != PENDING) return false;
  complete(future, CANCELLED, UV_ECANCELED);
  return true;
}

bool async_future_done(const async_future_t *future) {
  return future != NULL && future->state != PENDING;
}

bool async_future_cancelled(const async_future_t *future) {
  return future != NULL && future->state == CANCELLED;
}

int async_future_result(const async_future_t *future) {
  if (future == NULL)
    return async__misuse("async_future_result", UV_EINVAL, "future is NULL");
  return future->state == PENDING ? UV_EAGAIN : future->value;
}

int(async_future_await)(async_future_t *future) {
  int rc = async__enter_blocking("async_future_await");
  if (rc != 0) return rc;
  if (future == NULL)
    return async__misuse("async_future_await", UV_EINVAL, "future is NULL");
  while (future->state == PENDING) {
    async__waiter_t waiter;
    async__waiter_enqueue(&future->waiters, &waiter);
    rc = async__park("a future", future, true);
    if (async__list_linked(&waiter.link)) async__list_remove(&waiter.link);
    if (rc != 0) {
      /* As asyncio does: the awaiter's cancellation reaches the future (a
       * no-op if it completed meanwhile). */
      async_future_cancel(future);
      return rc;
    }
  }
  return future->value;
}

int async_future_add_done_callback(async_future_t *future,
                                   async_future_callback_fn fn, void *arg) {
  if (future == NULL || fn == NULL)
    return async__misuse("async_future_add_done_callback", UV_EINVAL,
                         "future or fn is NULL");
  struct async__future_callback *node = calloc(1, sizeof *node);
  if (node == NULL) return UV_ENOMEM;
  node->future = future;
  node->fn = fn;
  node->arg = arg;
  if (future->state != PENDING) {
    int rc = async_call_soon(&node->soon, run_callback, node);
    if (rc != 0) {
      free(node);
      return rc;
    }
  }
  struct async__future_callback **link = &future->callbacks;
  while (*link != NULL) link = &(*link)->next;
  *link = node;
  return 0;
}

void async_future_destroy(async_future_t *future) {
  if (future == NULL) return;
  if (!async__list_empty(&future->waiters))
    async__misuse("async_future_destroy", UV_EBUSY,
                  "tasks still wait for the future");
  while (future->callbacks != NULL) {
    struct async__future_callback *node = future->callbacks;
    future->callbacks = node->next;
    async_callback_cancel(&node->soon);
    free(node);
  }
}
