/* task.c: creating, cancelling, joining and freeing tasks; cancel scopes.
 *
 * A task is freed when it has finished and nobody holds a reference: the
 * runtime holds one until the task finishes, async_spawn() hands one to the
 * caller. Its stack is allocated when it first runs and returned to the pool
 * the moment it finishes, so a finished task costs only its small struct.
 *
 * Cancellation is a sticky code on the task (task->cancelled_with); timeout
 * and group scopes add codes that hold only while the scope is entered.
 * task->interrupt caches the code that applies now, so the hot path of every
 * blocking call reads one int. The outermost cancelled scope wins: when an
 * outer timeout and an inner one have both expired, the outer one owns the
 * unwinding.
 */
#include "internal.h"
#include "check.h"

#include <inttypes.h>

static async_task_t *task_new(async__runtime_t *rt, const char *name,
                              async_fn fn, void *arg) {
  async_task_t *task = calloc(1, sizeof *task);
  if (task == NULL) return NULL;
  task->fn = fn;
  task->arg = arg;
  task->id = ++rt->next_task_id;
  task->refs = 1; /* the runtime's, until the task finishes */
  task->created_at = async__site;
  async__list_init(&task->watchers);
  async__list_push(&rt->all_tasks, &task->all_link);
  /* Unnamed tasks get "task-<id>" when first asked: formatting it here
   * would cost more than the rest of a spawn. */
  if (name != NULL) {
    size_t length = strnlen(name, sizeof task->name - 1);
    memcpy(task->name, name, length);
    task->name[length] = '\0';
  }
  rt->unfinished++;
  rt->stats.tasks_spawned++;
  /* A new task is "parked" until its first wake puts it in the ready
   * queue: the same path every later wake takes. */
  task->state = ASYNC__TASK_PARKED;
  async__wake(task);
  return task;
}

async_task_t *async__spawn_main(async_fn fn, void *arg) {
  async_task_t *task = task_new(async__rt, "main", fn, arg);
  /* async_run's reference: it reads main's result after main finished. */
  if (task != NULL) task->refs++;
  return task;
}

async_task_t *(async_spawn_with)(const async_spawn_options_t *options,
                                 async_fn fn, void *arg) {
  async__runtime_t *rt = async__rt;
  if (rt == NULL) {
    async__misuse("async_spawn", UV_EPERM,
                  "called outside async_run() (or after it ended)");
    return NULL;
  }
  if (fn == NULL) {
    async__misuse("async_spawn", UV_EINVAL, "the task function is NULL");
    return NULL;
  }
  if (options != NULL && options->stack_size != 0 &&
      options->stack_size < 16 * 1024) {
    async__misuse("async_spawn", UV_EINVAL, "stack_size below 16 KiB");
    return NULL;
  }
  async_task_t *task = task_new(rt, options ? options->name : NULL, fn, arg);
  if (task == NULL) return NULL;
  if (options != NULL && options->stack_size != 0)
    task->stack_size = options->stack_size;
  task->refs++; /* the caller's */
  return task;
}

async_task_t *(async_spawn)(const char *name, async_fn fn, void *arg) {
  async_spawn_options_t options = {.name = name};
  return async_spawn_with(&options, fn, arg);
}

/* ---- Freeing ---- */

static void report_unretrieved(async__runtime_t *rt, async_task_t *task) {
  if (task->state != ASYNC__TASK_DONE || task->retrieved || task->result >= 0 ||
      task->result == UV_ECANCELED || task->result == task->cancelled_with)
    return;
  rt->stats.failures_unretrieved++;
  fprintf(stderr,
          "async: task '%s' failed with %s (%s) and nobody retrieved the "
          "error (join, gather or async_task_result would have)\n",
          async_task_name(task), async_err_name(task->result),
          async_strerror(task->result));
}

static void task_free(async__runtime_t *rt, async_task_t *task) {
  report_unretrieved(rt, task);
  if (task->check != NULL) async__check_task_free(task);
  async__list_remove(&task->all_link);
  if (task->stack != NULL) async__stack_put(&rt->stacks, task->stack);
  free(task);
}

void async__task_unref(async_task_t *task) {
  if (--task->refs == 0) task_free(async__rt, task);
}

void async__tasks_free_all(async__runtime_t *rt) {
  while (!async__list_empty(&rt->all_tasks)) {
    async_task_t *task =
        async__container_of(rt->all_tasks.next, async_task_t, all_link);
    task_free(rt, task);
  }
}

async_task_t *async_task_retain(async_task_t *task) {
  if (task != NULL) task->refs++;
  return task;
}

void async_task_release(async_task_t *task) {
  if (task == NULL || async__rt == NULL) return;
  if (task->refs == 0 || (task->refs == 1 && task->state != ASYNC__TASK_DONE)) {
    async__misuse("async_task_release", UV_EINVAL,
                  "released more often than retained");
    return;
  }
  async__task_unref(task);
}

/* ---- Cancellation and scopes ---- */

static int compute_interrupt(const async_task_t *task) {
  if (task->cancelled_with != 0) return task->cancelled_with;
  int code = 0;
  for (const struct async__scope *s = task->scopes; s != NULL; s = s->outer)
    if (s->interrupt != 0) code = s->interrupt;
  return code;
}

void async__interrupt_changed(async_task_t *task) {
  task->interrupt = compute_interrupt(task);
  if (task->interrupt != 0 && task->state == ASYNC__TASK_PARKED &&
      task->interruptible)
    async__wake(task);
}

void async__scope_push(async_task_t *task, struct async__scope *scope,
                       void (*abandon)(struct async__scope *scope)) {
  scope->outer = task->scopes;
  scope->interrupt = 0;
  scope->abandon = abandon;
  task->scopes = scope;
}

void async__scope_pop(async_task_t *task, struct async__scope *scope) {
  task->scopes = scope->outer;
  scope->outer = NULL;
  async__interrupt_changed(task);
}

void async__scope_cancel(async_task_t *task, struct async__scope *scope,
                         int code) {
  if (scope->interrupt != 0) return;
  scope->interrupt = code;
  async__interrupt_changed(task);
}

bool async_task_cancel(async_task_t *task) {
  if (task == NULL) {
    async__misuse("async_task_cancel", UV_EINVAL, "task is NULL");
    return false;
  }
  if (task->state == ASYNC__TASK_DONE) return false;
  if (task->cancelled_with == 0) {
    task->cancelled_with = UV_ECANCELED;
    async__interrupt_changed(task);
  }
  return true;
}

/* ---- Joining ---- */

static void wake_watcher(async__watch_t *watch, async_task_t *finished) {
  (void)finished;
  async__wake(watch->data);
}

void async__join_uninterruptibly(async_task_t *task) {
  async__watch_t watch = {.notify = wake_watcher, .data = async__rt->current};
  async__list_init(&watch.link);
  while (task->state != ASYNC__TASK_DONE) {
    if (!async__list_linked(&watch.link)) async__watch(task, &watch);
    async__park("a task to finish", task, false);
  }
  async__unwatch(&watch);
}

int(async_task_join)(async_task_t *task) {
  /* Not async__enter_blocking: a cancelled caller still passes its
   * cancellation on to the task and waits for it, as asyncio does. */
  if (async__rt == NULL || async__rt->current == NULL)
    return async__misuse("async_task_join", UV_EPERM, "called outside a task");
  if (task == NULL)
    return async__misuse("async_task_join", UV_EINVAL, "task is NULL");
  async_task_t *self = async__rt->current;
  if (task == self)
    return async__misuse("async_task_join", ASYNC_EDEADLK,
                         "a task cannot wait for itself");
  if (async__rt->check != NULL) async__check_yield(); /* a choice point */
  if (task->state != ASYNC__TASK_DONE) {
    async__watch_t watch = {.notify = wake_watcher, .data = self};
    async__watch(task, &watch);
    async__park("a task to finish", task, true);
    async__unwatch(&watch);
    if (task->state != ASYNC__TASK_DONE) {
      /* Interrupted: like `await task`, pass the cancellation on, and wait
       * for the task to unwind so that nothing outlives the caller. */
      async_task_cancel(task);
      async__join_uninterruptibly(task);
    }
  }
  if (self->interrupt != 0) return self->interrupt;
  return async__retrieve(task);
}

int async_task_result(async_task_t *task) {
  if (task == NULL)
    return async__misuse("async_task_result", UV_EINVAL, "task is NULL");
  if (task->state != ASYNC__TASK_DONE) return UV_EAGAIN;
  return async__retrieve(task);
}

bool async_task_done(const async_task_t *task) {
  return task != NULL && task->state == ASYNC__TASK_DONE;
}

bool async_task_cancelled(const async_task_t *task) {
  return async_task_done(task) && task->result == UV_ECANCELED;
}

const char *async_task_name(const async_task_t *task) {
  if (task == NULL) return "(null)";
  if (task->name[0] == '\0') {
    async_task_t *named = (async_task_t *)task; /* a cache, not a change */
    snprintf(named->name, sizeof named->name, "task-%" PRIu64, task->id);
  }
  return task->name;
}

uint64_t async_task_id(const async_task_t *task) {
  return task != NULL ? task->id : 0;
}

async_task_t *async_current_task(void) {
  return async__rt != NULL ? async__rt->current : NULL;
}

size_t async_all_tasks(async_task_t **tasks, size_t capacity) {
  async__runtime_t *rt = async__rt;
  if (rt == NULL) return 0;
  size_t count = 0;
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state == ASYNC__TASK_DONE) continue;
    if (count < capacity) tasks[count] = task;
    count++;
  }
  return count;
}
