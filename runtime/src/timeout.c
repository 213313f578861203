/* timeout.c: timeout scopes, asyncio.timeout(): a deadline over a block.
 *
 * A timeout is a cancel scope (see task.c) and a runtime timer entry, both
 * inside the caller's async_timeout_t, so entering one allocates nothing.
 * When the timer fires it cancels the scope with UV_ETIMEDOUT: the blocking
 * call the task is in returns that code, and so does every later one until
 * the task leaves the scope, which pops it and so ends its interrupt. Scopes
 * nest; when several have expired the outermost owns the unwinding (task.c
 * computes that), so an inner exit reports only its own deadline.
 *
 * Rejected: cancelling the task itself and "uncancelling" it on exit, as
 * asyncio does. Cancellation here is sticky and carries no count: undoing a
 * timeout's cancellation would also undo a real one that arrived in the
 * meantime. A scope keeps the two apart.
 */
#include "internal.h"

static void timeout_fire(struct async__timer_entry *entry) {
  async_timeout_t *scope = async__container_of(entry, async_timeout_t, entry);
  async__scope_cancel(scope->task, &scope->scope, UV_ETIMEDOUT);
}

static void timeout_abandon(struct async__scope *abandoned) {
  async_timeout_t *scope =
      async__container_of(abandoned, async_timeout_t, scope);
  async__misuse("async_timeout_enter", UV_EINVAL,
                "the task returned inside a timeout scope: call "
                "async_timeout_exit before returning");
  async__timer_stop(&scope->entry);
  scope->task = NULL;
}

int async_timeout_enter(async_timeout_t *scope, double seconds) {
  if (async__rt == NULL || async__rt->current == NULL)
    return async__misuse("async_timeout_enter", UV_EPERM,
                         "called outside a task");
  if (scope == NULL)
    return async__misuse("async_timeout_enter", UV_EINVAL, "scope is NULL");
  uint64_t deadline;
  int rc = async__deadline("async_timeout_enter", seconds, &deadline);
  if (rc != 0) return rc;
  async_task_t *self = async__rt->current;
  scope->task = self;
  async__timer_init(&scope->entry, timeout_fire);
  async__scope_push(self, &scope->scope, timeout_abandon);
  /* ASYNC_FOREVER: a scope that never expires, like asyncio.timeout(None). */
  if (deadline != ASYNC__NO_DEADLINE)
    async__timer_start(&scope->entry, deadline);
  return 0;
}

int async_timeout_exit(async_timeout_t *scope) {
  if (async__rt == NULL || async__rt->current == NULL)
    return async__misuse("async_timeout_exit", UV_EPERM,
                         "called outside a task");
  if (scope == NULL)
    return async__misuse("async_timeout_exit", UV_EINVAL, "scope is NULL");
  async_task_t *self = async__rt->current;
  /* Either mistake would leave the task's scope list pointing at a scope
   * that is gone, or a live scope unlinked: refuse, and change nothing. */
  if (scope->task != self)
    return async__misuse("async_timeout_exit", UV_EINVAL,
                         "this task did not enter the scope (or left it "
                         "already)");
  if (self->scopes != &scope->scope)
    return async__misuse("async_timeout_exit", UV_EINVAL,
                         "scopes must be left in reverse order of entry: "
                         "leave the one entered after it first");
  async__timer_stop(&scope->entry);
  scope->task = NULL;
  async__scope_pop(self, &scope->scope);
  /* The scope keeps its interrupt code, for async_timeout_expired. */
  return scope->scope.interrupt != 0 ? UV_ETIMEDOUT : 0;
}

bool async_timeout_expired(const async_timeout_t *scope) {
  return scope != NULL && scope->scope.interrupt != 0;
}
