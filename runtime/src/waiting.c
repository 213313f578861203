/* waiting.c: gather, wait, as_completed, wait_for and shield.
 *
 * Each of these parks the calling task until some of the tasks it names have
 * finished. It hears about them through finish watchers (async__watch_t),
 * put on the unfinished tasks for the length of the call: one per task, in a
 * single malloc'd array. A watcher counts the finish and wakes the caller
 * only once its condition holds, so waiting for n tasks costs O(n) in all,
 * not a rescan of the array at every wakeup. A deadline is one runtime timer
 * entry on the caller's stack.
 *
 * Rejected: a helper task per awaited task that joins it and reports back,
 * the way asyncio builds gather out of done callbacks: a stack per awaited
 * task for what a 40-byte watcher does, and helpers that would themselves
 * have to be cancelled and joined.
 *
 * Cancellation follows asyncio. gather and wait_for pass the caller's
 * interruption (a cancellation or an expired timeout scope) on to the tasks
 * they await and wait for them to unwind, as `await task` does
 * (async_task_join); wait, as_completed and shield leave the tasks alone.
 */
#include "internal.h"
#include "check.h"

#include <math.h>

/* ---- Checks shared by every call ---- */

static int check_in_task(const char *call) {
  if (async__rt == NULL || async__rt->current == NULL)
    return async__misuse(call, UV_EPERM, "called outside a task");
  return 0;
}

/* UV_EINVAL for a NULL array or task, ASYNC_EDEADLK for the caller itself:
 * it would wait for its own end. */
static int check_tasks(const char *call, async_task_t *const *tasks,
                       size_t count) {
  if (tasks == NULL && count != 0)
    return async__misuse(call, UV_EINVAL, "tasks is NULL");
  async_task_t *self = async__rt != NULL ? async__rt->current : NULL;
  for (size_t i = 0; i < count; i++) {
    if (tasks[i] == NULL)
      return async__misuse(call, UV_EINVAL, "tasks[] holds a NULL task");
    if (tasks[i] == self)
      return async__misuse(call, ASYNC_EDEADLK,
                           "a task cannot wait for itself");
  }
  return 0;
}

/* ---- Waiting for several tasks ---- */

typedef struct waiting waiting_t;

/* Watches one task that had not finished when the wait began. */
typedef struct slot {
  async__watch_t watch; /* data: the waiting_t */
  async_task_t *task;
} slot_t;

/* A task waiting for some of `count` tasks, with an optional deadline. */
struct waiting {
  async_task_t *self;
  slot_t *slots; /* one per unfinished task; NULL if there was none */
  size_t watched;
  size_t finished;      /* of all the tasks, including those done at first */
  size_t wake_at;       /* the caller wants to run once this many finished */
  bool wake_on_failure; /* ... or once one has failed */
  async_task_t *first_failure; /* the earliest to fail, in finish order */
  struct async__timer_entry timer;
  bool timed_out;
};

static bool satisfied(const waiting_t *w) {
  return w->finished >= w->wake_at ||
         (w->wake_on_failure && w->first_failure != NULL);
}

static void on_finish(async__watch_t *watch, async_task_t *finished) {
  waiting_t *w = watch->data;
  w->finished++;
  /* Later finishes have later finish_order: the first one seen stays. */
  if (finished->result < 0 && w->first_failure == NULL)
    w->first_failure = finished;
  /* Waking only when the condition holds spares the caller a switch per
   * finished task. */
  if (satisfied(w)) async__wake(w->self);
}

static void on_deadline(struct async__timer_entry *entry) {
  waiting_t *w = async__container_of(entry, waiting_t, timer);
  w->timed_out = true;
  async__wake(w->self);
}

/* Counts what has finished already and watches the rest. UV_ENOMEM, having
 * changed nothing. */
static int waiting_start(waiting_t *w, async_task_t *const *tasks, size_t count,
                         size_t wake_at, bool wake_on_failure,
                         uint64_t deadline) {
  *w = (waiting_t){.self = async__rt->current,
                   .wake_at = wake_at,
                   .wake_on_failure = wake_on_failure};
  size_t unfinished = 0;
  for (size_t i = 0; i < count; i++) {
    async_task_t *task = tasks[i];
    if (task->state != ASYNC__TASK_DONE) {
      unfinished++;
      continue;
    }
    w->finished++;
    if (task->result < 0 &&
        (w->first_failure == NULL ||
         task->finish_order < w->first_failure->finish_order))
      w->first_failure = task;
  }
  if (unfinished != 0) {
    w->slots = malloc(unfinished * sizeof *w->slots);
    if (w->slots == NULL) return UV_ENOMEM;
  }
  for (size_t i = 0; i < count; i++) {
    if (tasks[i]->state == ASYNC__TASK_DONE) continue;
    slot_t *slot = &w->slots[w->watched++];
    slot->task = tasks[i];
    slot->watch.notify = on_finish;
    slot->watch.data = w;
    async__watch(tasks[i], &slot->watch);
  }
  async__timer_init(&w->timer, on_deadline);
  if (deadline != ASYNC__NO_DEADLINE) async__timer_start(&w->timer, deadline);
  return 0;
}

/* Parks until the condition holds or the deadline passes: 0. Returns the
 * caller's interrupt if it has one, even when the tasks finished too (as
 * async_task_join does: the interruption is news the caller must not miss). */
static int waiting_park(waiting_t *w, const char *what, const void *object) {
  while (!satisfied(w) && !w->timed_out) {
    int rc = async__park(what, object, true);
    if (rc != 0) return rc;
  }
  return w->self->interrupt;
}

static void waiting_end(waiting_t *w) {
  async__timer_stop(&w->timer);
  for (size_t i = 0; i < w->watched; i++) async__unwatch(&w->slots[i].watch);
  free(w->slots);
  w->slots = NULL;
  w->watched = 0;
}

/* The caller was interrupted: pass it on, as `await task` does, and wait
 * (uninterruptibly: the caller is interrupted for good) until every task has
 * unwound, so that none outlives the call. Their results count as seen, as
 * asyncio's gather marks them. */
static void cancel_and_wait(async_task_t *const *tasks, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (tasks[i]->state != ASYNC__TASK_DONE) async_task_cancel(tasks[i]);
  for (size_t i = 0; i < count; i++) {
    async__join_uninterruptibly(tasks[i]);
    async__retrieve(tasks[i]);
  }
}

/* ---- gather ---- */

int(async_gather)(async_task_t *const *tasks, size_t count, int *results,
                  int flags) {
  /* Not async__enter_blocking: like async_task_join, a caller that is
   * interrupted already still passes that on to the tasks and waits. */
  int rc = check_in_task("async_gather");
  if (rc != 0) return rc;
  rc = check_tasks("async_gather", tasks, count);
  if (rc != 0) return rc;
  if ((flags & ~ASYNC_RETURN_ERRORS) != 0)
    return async__misuse("async_gather", UV_EINVAL, "unknown flags");
  bool collect = (flags & ASYNC_RETURN_ERRORS) != 0;
  if (async__rt->check != NULL) async__check_yield(); /* a choice point */

  waiting_t w;
  rc = waiting_start(&w, tasks, count, count, !collect, ASYNC__NO_DEADLINE);
  if (rc != 0) return rc;
  rc = waiting_park(&w, "tasks to finish (gather)", tasks);
  waiting_end(&w);
  if (rc != 0) {
    cancel_and_wait(tasks, count);
    return rc;
  }
  /* Without ASYNC_RETURN_ERRORS the first failure ends the gather; the other
   * tasks run on, theirs to join or cancel. */
  if (!collect && w.first_failure != NULL)
    return async__retrieve(w.first_failure);
  for (size_t i = 0; i < count; i++) {
    int result = async__retrieve(tasks[i]);
    if (results != NULL) results[i] = result;
  }
  return 0;
}

/* ---- wait ---- */

int(async_wait)(async_task_t **tasks, size_t count, async_return_when_t when,
                double timeout) {
  int rc = async__enter_blocking("async_wait");
  if (rc != 0) return rc;
  rc = check_tasks("async_wait", tasks, count);
  if (rc != 0) return rc;
  if (count > INT32_MAX)
    return async__misuse("async_wait", UV_EINVAL, "too many tasks");
  uint64_t deadline;
  rc = async__deadline("async_wait", timeout, &deadline);
  if (rc != 0) return rc;
  size_t wake_at;
  bool wake_on_failure = false;
  switch (when) {
  case ASYNC_FIRST_COMPLETED:
    wake_at = count != 0 ? 1 : 0;
    break;
  case ASYNC_FIRST_EXCEPTION:
    wake_at = count;
    wake_on_failure = true;
    break;
  case ASYNC_ALL_COMPLETED:
    wake_at = count;
    break;
  default:
    return async__misuse("async_wait", UV_EINVAL,
                         "`when` is not an async_return_when_t");
  }
  if (count == 0) return 0;

  waiting_t w;
  rc = waiting_start(&w, tasks, count, wake_at, wake_on_failure, deadline);
  if (rc != 0) return rc;
  rc = waiting_park(&w, "tasks to finish (wait)", tasks);
  size_t done = 0;
  if (rc == 0) {
    /* A stable partition, done first. The pending tasks, in their order,
     * are those of the slots (one per task unfinished at the start) that
     * are still unfinished; the done ones can be packed in place, since
     * their index never passes the one being read. */
    for (size_t i = 0; i < count; i++)
      if (tasks[i]->state == ASYNC__TASK_DONE) tasks[done++] = tasks[i];
    size_t next = done;
    for (size_t i = 0; i < w.watched; i++)
      if (w.slots[i].task->state != ASYNC__TASK_DONE)
        tasks[next++] = w.slots[i].task;
  }
  waiting_end(&w);
  return rc != 0 ? rc : (int)done;
}

/* ---- as_completed ---- */

/* The deadline is kept in ns, in the struct's double: exact up to 2^53 ns
 * (104 days of uptime), and rounded up beyond, never early. */
static double deadline_to_double(uint64_t deadline) {
  if (deadline == ASYNC__NO_DEADLINE) return INFINITY;
  double d = (double)deadline;
  if ((uint64_t)d < deadline) d = nextafter(d, INFINITY);
  return d;
}

static uint64_t deadline_from_double(double d) {
  if (!(d < 18446744073709551615.0)) return ASYNC__NO_DEADLINE;
  return (uint64_t)d;
}

int async_as_completed_init(async_as_completed_t *it, async_task_t **tasks,
                            size_t count, double timeout) {
  if (it == NULL)
    return async__misuse("async_as_completed_init", UV_EINVAL, "it is NULL");
  int rc = check_tasks("async_as_completed_init", tasks, count);
  if (rc != 0) return rc;
  uint64_t deadline;
  rc = async__deadline("async_as_completed_init", timeout, &deadline);
  if (rc != 0) return rc;
  *it = (async_as_completed_t){.tasks = tasks,
                               .count = count,
                               .handed = 0,
                               .deadline = deadline_to_double(deadline)};
  return 0;
}

/* The index of the task in tasks[0..count) that finished first, or
 * SIZE_MAX if none has. */
static size_t earliest_finished(async_task_t *const *tasks, size_t count) {
  size_t earliest = SIZE_MAX;
  for (size_t i = 0; i < count; i++) {
    if (tasks[i]->state != ASYNC__TASK_DONE) continue;
    if (earliest == SIZE_MAX ||
        tasks[i]->finish_order < tasks[earliest]->finish_order)
      earliest = i;
  }
  return earliest;
}

int(async_as_completed_next)(async_as_completed_t *it, async_task_t **task) {
  int rc = async__enter_blocking("async_as_completed_next");
  if (rc != 0) return rc;
  if (it == NULL || task == NULL)
    return async__misuse("async_as_completed_next", UV_EINVAL,
                         "it or task is NULL");
  if (it->handed >= it->count) return UV_EOF;
  /* tasks[0..handed) went back already; the rest wait their turn. */
  async_task_t **rest = it->tasks + it->handed;
  size_t left = it->count - it->handed;
  size_t index = earliest_finished(rest, left);
  if (index == SIZE_MAX) {
    uint64_t deadline = deadline_from_double(it->deadline);
    if (deadline != ASYNC__NO_DEADLINE && async__now() >= deadline)
      return UV_ETIMEDOUT;
    waiting_t w;
    rc = waiting_start(&w, rest, left, 1, false, deadline);
    if (rc != 0) return rc;
    rc = waiting_park(&w, "a task to finish (as_completed)", rest);
    waiting_end(&w);
    if (rc != 0) return rc;
    /* A task that finished by the time the caller runs again is handed
     * back, even if the deadline passed meanwhile. */
    index = earliest_finished(rest, left);
    if (index == SIZE_MAX) return UV_ETIMEDOUT;
  }
  /* Move it to the front of the rest, keeping the others in order. */
  async_task_t *chosen = rest[index];
  memmove(rest + 1, rest, index * sizeof *rest);
  rest[0] = chosen;
  it->handed++;
  *task = chosen;
  return 0;
}

/* ---- wait_for and shield: one task ---- */

static void wake_waiting_task(async__watch_t *watch, async_task_t *finished) {
  (void)finished;
  async__wake(watch->data);
}

typedef struct alarm {
  struct async__timer_entry entry;
  async_task_t *task;
  bool rang;
} alarm_t;

static void alarm_ring(struct async__timer_entry *entry) {
  alarm_t *alarm = async__container_of(entry, alarm_t, entry);
  alarm->rang = true;
  async__wake(alarm->task);
}

/* Checks the awaited task of wait_for and shield. */
static int check_task(const char *call, const async_task_t *task) {
  if (task == NULL) return async__misuse(call, UV_EINVAL, "task is NULL");
  if (task == async__rt->current)
    return async__misuse(call, ASYNC_EDEADLK, "a task cannot wait for itself");
  return 0;
}

int(async_wait_for)(async_task_t *task, double timeout) {
  /* Not async__enter_blocking: like async_task_join, a caller that is
   * interrupted already still passes that on to the task and waits. */
  int rc = check_in_task("async_wait_for");
  if (rc != 0) return rc;
  rc = check_task("async_wait_for", task);
  if (rc != 0) return rc;
  uint64_t deadline;
  rc = async__deadline("async_wait_for", timeout, &deadline);
  if (rc != 0) return rc;
  if (async__rt->check != NULL) async__check_yield(); /* a choice point */
  async_task_t *self = async__rt->current;
  if (task->state != ASYNC__TASK_DONE) {
    alarm_t alarm = {.task = self};
    async__timer_init(&alarm.entry, alarm_ring);
    if (deadline != ASYNC__NO_DEADLINE)
      async__timer_start(&alarm.entry, deadline);
    async__watch_t watch = {.notify = wake_waiting_task, .data = self};
    async__watch(task, &watch);
    while (task->state != ASYNC__TASK_DONE && !alarm.rang)
      if (async__park("a task to finish (wait_for)", task, true) != 0) break;
    async__timer_stop(&alarm.entry);
    async__unwatch(&watch);
    if (task->state != ASYNC__TASK_DONE) {
      /* Out of time, or interrupted: either way the task is cancelled and
       * waited for, so that nothing outlives the call. */
      async_task_cancel(task);
      async__join_uninterruptibly(task);
      /* A task that answers the cancellation with a result of its own wins
       * the race: that result is kept, as asyncio keeps it. */
      if (self->interrupt == 0 && task->result == UV_ECANCELED) {
        async__retrieve(task);
        return UV_ETIMEDOUT;
      }
    }
  }
  if (self->interrupt != 0) return self->interrupt;
  return async__retrieve(task);
}

int(async_shield)(async_task_t *task) {
  int rc = async__enter_blocking("async_shield");
  if (rc != 0) return rc;
  rc = check_task("async_shield", task);
  if (rc != 0) return rc;
  if (task->state != ASYNC__TASK_DONE) {
    async__watch_t watch = {.notify = wake_waiting_task,
                            .data = async__rt->current};
    async__watch(task, &watch);
    while (task->state != ASYNC__TASK_DONE) {
      rc = async__park("a shielded task to finish", task, true);
      if (rc != 0) break;
    }
    async__unwatch(&watch);
    /* The whole point: the task is not told, and runs on. */
    if (rc != 0) return rc;
  }
  return async__retrieve(task);
}
