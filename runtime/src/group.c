/* group.c: task groups, asyncio.TaskGroup: structured concurrency.
 *
 * A group holds the tasks spawned into it until async_group_wait, which
 * returns only once all of them have finished. Each child carries a finish
 * watcher (a small malloc'd async__watch_t that frees itself when it fires)
 * which records a failure and, on the first one, aborts the group: it
 * cancels every sibling and the body. The body is the owner task, cancelled
 * through a cancel scope pushed at init: its blocking calls return
 * UV_ECANCELED until async_group_wait pops the scope. Popping it absorbs the
 * group's own cancellation (asyncio "uncancels"), while a cancellation from
 * outside, being the task's own, stays and is reported.
 *
 * The public struct has no field for the count of unfinished children, so
 * the errors array is the tail of a private block (group_state_t) whose head
 * holds that count. It is sized at spawn time for every child to fail, so a
 * watcher never allocates. If the wait ends with failures, the block goes to
 * the owner task (on a watcher of its own) and is freed when that task
 * returns: async_group_errors stays valid after the wait without a destroy
 * call for the user to forget.
 *
 * Rejected: cancelling the owner with async_task_cancel and undoing it at the
 * wait, asyncio's cancel/uncancel pair. Cancellation here is sticky and has
 * no count; undoing it would also undo a real cancellation that arrived in
 * the meantime. A scope keeps the two apart.
 */
#include "internal.h"
#include "check.h"

typedef struct group_state {
  async__watch_t owner_watch; /* after the wait: frees this block */
  size_t unfinished;          /* children that have not finished */
  int errors[];               /* group->errors points here */
} group_state_t;

static group_state_t *state_of(const async_group_t *group) {
  return async__container_of(group->errors, group_state_t, errors);
}

static bool in_task(void) {
  return async__rt != NULL && async__rt->current != NULL;
}

/* The owner returned without async_group_wait: the group's memory is on a
 * stack about to be reused. Detach the children from it and cancel them. */
static void group_abandon(struct async__scope *scope) {
  async_group_t *group = async__container_of(scope, async_group_t, scope);
  async__misuse("async_group_init", UV_EINVAL,
                "the task returned without calling async_group_wait; "
                "cancelling the group's tasks");
  for (size_t i = 0; i < group->count; i++) {
    async_task_t *child = group->tasks[i];
    struct async__list *link = child->watchers.next;
    while (link != &child->watchers) {
      async__watch_t *watch = async__container_of(link, async__watch_t, link);
      link = link->next;
      if (watch->data == group) {
        async__unwatch(watch);
        free(watch);
      }
    }
    async_task_cancel(child);
    async__task_unref(child);
  }
  free(group->tasks);
  free(state_of(group));
  group->owner = NULL;
}

int async_group_init(async_group_t *group) {
  if (!in_task())
    return async__misuse("async_group_init", UV_EPERM, "called outside a task");
  if (group == NULL)
    return async__misuse("async_group_init", UV_EINVAL, "group is NULL");
  group_state_t *state = malloc(sizeof *state);
  if (state == NULL) return UV_ENOMEM;
  state->unfinished = 0;
  *group =
      (async_group_t){.owner = async__rt->current, .errors = state->errors};
  async__scope_push(group->owner, &group->scope, group_abandon);
  return 0;
}

/* Cancels whatever still runs: the children and, until it waits, the body. */
static void group_abort(async_group_t *group) {
  group->aborting = true;
  for (size_t i = 0; i < group->count; i++)
    if (group->tasks[i]->state != ASYNC__TASK_DONE)
      async_task_cancel(group->tasks[i]);
  if (!group->waiting)
    async__scope_cancel(group->owner, &group->scope, UV_ECANCELED);
}

static void child_finished(async__watch_t *watch, async_task_t *child) {
  async_group_t *group = watch->data;
  group_state_t *state = state_of(group);
  free(watch);
  int result = async__retrieve(child); /* the group reports it */
  /* Cancelling its children is how an aborting group stops them, not a
   * failure of theirs. */
  if (result < 0 && !(group->aborting && result == UV_ECANCELED)) {
    group->errors[group->error_count++] = result;
    if (!group->aborting) group_abort(group);
  }
  if (--state->unfinished == 0 && group->waiting) async__wake(group->owner);
}

/* Room for one more child in tasks[] and errors[]. */
static bool group_grow(async_group_t *group) {
  size_t capacity = group->capacity ? group->capacity * 2 : 4;
  async_task_t **tasks = realloc(group->tasks, capacity * sizeof *tasks);
  if (tasks == NULL) return false;
  group->tasks = tasks;
  group_state_t *state =
      realloc(state_of(group), sizeof *state + capacity * sizeof(int));
  if (state == NULL) return false;
  group->errors = state->errors;
  group->capacity = capacity;
  return true;
}

async_task_t *(async_group_spawn)(async_group_t *group, const char *name,
                                  async_fn fn, void *arg) {
  if (group == NULL || fn == NULL) {
    async__misuse("async_group_spawn", UV_EINVAL, "group or fn is NULL");
    return NULL;
  }
  if (group->owner == NULL) {
    async__misuse("async_group_spawn", UV_EINVAL,
                  "the group was waited for already");
    return NULL;
  }
  /* asyncio refuses too: the group is shutting down. */
  if (group->aborting) return NULL;
  if (group->count == group->capacity && !group_grow(group)) return NULL;
  async__watch_t *watch = malloc(sizeof *watch);
  if (watch == NULL) return NULL;
  async_task_t *task = async_spawn(name, fn, arg);
  if (task == NULL) {
    free(watch);
    return NULL;
  }
  watch->notify = child_finished;
  watch->data = group;
  async__watch(task, watch);
  group->tasks[group->count++] = task; /* the reference async_spawn gave */
  state_of(group)->unfinished++;
  return task;
}

static void free_state(async__watch_t *watch, async_task_t *owner) {
  (void)owner;
  free(async__container_of(watch, group_state_t, owner_watch));
}

int(async_group_wait)(async_group_t *group) {
  if (!in_task())
    return async__misuse("async_group_wait", UV_EPERM, "called outside a task");
  if (group == NULL)
    return async__misuse("async_group_wait", UV_EINVAL, "group is NULL");
  async_task_t *self = async__rt->current;
  if (group->owner != self)
    return async__misuse("async_group_wait", UV_EINVAL,
                         "only the task that started the group may wait for "
                         "it, and only once");
  if (self->scopes != &group->scope)
    return async__misuse("async_group_wait", UV_EINVAL,
                         "a timeout or group entered after this group is "
                         "still open: leave it first");
  if (async__rt->check != NULL) async__check_yield(); /* a choice point */

  group->waiting = true;
  async__scope_pop(self, &group->scope);
  group_state_t *state = state_of(group);
  while (state->unfinished != 0) {
    if (group->aborting) {
      /* Children are unwinding: nothing may cut that short. */
      async__park("the tasks of a group to finish", group, false);
    } else if (async__park("the tasks of a group to finish", group, true) !=
               0) {
      /* The owner was cancelled from outside, or a timeout around the
       * group expired: the children go too. */
      group_abort(group);
    }
  }

  /* asyncio lets the children's errors take priority over the owner's own
   * cancellation, which the owner's next blocking call reports anyway. */
  int rc = group->error_count != 0 ? group->errors[0] : self->interrupt;
  for (size_t i = 0; i < group->count; i++) async__task_unref(group->tasks[i]);
  free(group->tasks);
  group->tasks = NULL;
  group->count = group->capacity = 0;
  if (group->error_count == 0) {
    free(state);
    group->errors = NULL;
  } else {
    group_state_t *smaller =
        realloc(state, sizeof *state + group->error_count * sizeof(int));
    if (smaller != NULL) state = smaller;
    group->errors = state->errors;
    state->owner_watch.notify = free_state;
    state->owner_watch.data = NULL;
    async__watch(self, &state->owner_watch);
  }
  group->owner = NULL;
  group->waiting = false;
  return rc;
}

size_t async_group_errors(const async_group_t *group, int *errors,
                          size_t capacity) {
  if (group == NULL) return 0;
  size_t count = group->error_count;
  if (errors != NULL && count != 0)
    memcpy(errors, group->errors,
           (capacity < count ? capacity : count) * sizeof *errors);
  return count;
}
