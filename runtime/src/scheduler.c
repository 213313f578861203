/* scheduler.c: the run loop, the ready queue, parking and waking.
 *
 * async_run() turns the calling thread's stack into the scheduler: it pops
 * a ready task, switches to it, and gets control back when the task parks,
 * yields or finishes. Only when the ready queue is empty does it block in
 * uv_run(UV_RUN_ONCE), with the uv timer armed for the earliest runtime
 * timer; libuv callbacks then wake tasks, which run on the next pass. While
 * tasks stay ready, I/O is still polled (without blocking) every
 * POLL_INTERVAL task steps, so a busy loop of yields cannot starve sockets.
 * Polling after every step, as asyncio does, would put a system call on the
 * hand-off path and cost more than the switch itself.
 *
 * Rejected: letting libuv callbacks switch into tasks directly (a task could
 * then run inside uv_run and re-enter it), and zero-length uv timers as a
 * yield (libuv 1.44 runs those without polling I/O).
 */
#include "internal.h"
#include "check.h"

#include <inttypes.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASYNC__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNC__ASAN 1
#endif
#endif
#ifdef ASYNC__ASAN
#include <sanitizer/common_interface_defs.h>
#endif

enum { POLL_INTERVAL = 256 };

_Thread_local async__runtime_t *async__rt;
_Thread_local async_site_t async__site;
static _Thread_local async_run_stats_t last_run_stats;

#ifdef ASYNC__ASAN
/* ASan must be told which stack is current, or it reports false overflows. */
static _Thread_local const void *scheduler_stack_bottom;
static _Thread_local size_t scheduler_stack_size;
#endif

int async__misuse(const char *call, int code, const char *why) {
#ifndef NDEBUG
  fprintf(stderr, "async: %s: %s (%s)\n", call, why, async_err_name(code));
#else
  (void)call;
  (void)why;
#endif
  return code;
}

const char *async_strerror(int error) {
  if (error == ASYNC_EDEADLK) return "deadlock: the task would wait forever";
  return uv_strerror(error);
}

const char *async_err_name(int error) {
  if (error == ASYNC_EDEADLK) return "EDEADLK";
  return uv_err_name(error);
}

/* ---- Ready queue ---- */

void async__ready_grow(async__runtime_t *rt) {
  size_t capacity = rt->ready_capacity ? rt->ready_capacity * 2 : 256;
  async_task_t **ring = malloc(capacity * sizeof *ring);
  if (ring == NULL) abort(); /* one pointer per task: out of memory */
  for (size_t i = 0; i < rt->ready_count; i++)
    ring[i] = rt->ready[(rt->ready_head + i) % rt->ready_capacity];
  free(rt->ready);
  rt->ready = ring;
  rt->ready_head = 0;
  rt->ready_capacity = capacity;
}

#define ready_push async__ready_push

/* call_soon callbacks share the ready queue with tasks, so that they run in
 * asyncio's order: after whatever was ready before them. The ring holds
 * them as tagged pointers (low bit set); tasks are at least 8-byte aligned. */
#define CALLBACK_TAG ((uintptr_t)1)

void async__ready_callback(async_callback_t *cb) {
  ready_push(async__rt, (async_task_t *)((uintptr_t)cb | CALLBACK_TAG));
}

void async__ready_callback_remove(async_callback_t *cb) {
  async__runtime_t *rt = async__rt;
  async_task_t *tagged = (async_task_t *)((uintptr_t)cb | CALLBACK_TAG);
  size_t kept = 0;
  for (size_t i = 0; i < rt->ready_count; i++) {
    async_task_t *entry = rt->ready[(rt->ready_head + i) % rt->ready_capacity];
    if (entry != tagged)
      rt->ready[(rt->ready_head + kept++) % rt->ready_capacity] = entry;
  }
  rt->ready_count = kept;
}

static void run_callback(async_task_t *tagged) {
  async_callback_t *cb =
      (async_callback_t *)((uintptr_t)tagged & ~CALLBACK_TAG);
  cb->scheduled = false;
  cb->fn(cb->arg);
}

static async_task_t *ready_pop(async__runtime_t *rt) {
  async_task_t *task = rt->ready[rt->ready_head];
  if (++rt->ready_head == rt->ready_capacity) rt->ready_head = 0;
  rt->ready_count--;
  return task;
}

/* ---- Switching ----
 *
 * A task that parks, yields or finishes hands the CPU straight to the next
 * ready task when it can: one stack switch instead of two through the
 * scheduler. It goes back to the scheduler instead when the next entry is a
 * call_soon callback, when I/O is due for a poll, when the queue is empty,
 * or once main has finished. A finished task cannot free the stack it runs
 * on, so it leaves itself in rt->finished for whoever runs next to reap.
 */

#ifdef ASYNC__ASAN
/* Tells ASan about each stack switch; `to` NULL is the scheduler. Whoever
 * lands learns the stack it came from; the scheduler's is remembered. */
static void switch_context(async__runtime_t *rt, async__context_t *from,
                           async_task_t *to, bool from_finished) {
  void *fake_stack = NULL;
  rt->switch_from_scheduler = from == &rt->scheduler_context;
  __sanitizer_start_switch_fiber(from_finished ? NULL : &fake_stack,
                                 to ? (const void *)to->stack->base
                                    : scheduler_stack_bottom,
                                 to ? to->stack->size : scheduler_stack_size);
  async__context_switch(from, to ? &to->context : &rt->scheduler_context);
  const void *came_from_bottom;
  size_t came_from_size;
  __sanitizer_finish_switch_fiber(fake_stack, &came_from_bottom,
                                  &came_from_size);
  if (rt->switch_from_scheduler) {
    scheduler_stack_bottom = came_from_bottom;
    scheduler_stack_size = came_from_size;
  }
}
#else
static inline void switch_context(async__runtime_t *rt, async__context_t *from,
                                  async_task_t *to, bool from_finished) {
  (void)from_finished;
  async__context_switch(from, to ? &to->context : &rt->scheduler_context);
}
#endif

/* Returns the stack of a task that finished just before this switch. */
static inline void reap_finished(async__runtime_t *rt) {
  async_task_t *task = rt->finished;
  if (task == NULL) return;
  rt->finished = NULL;
  async__stack_put(&rt->stacks, task->stack);
  task->stack = NULL;
  async__task_unref(task); /* the reference the runtime held */
}

/* ---- Finishing ---- */

void async__watch(async_task_t *task, async__watch_t *watch) {
  async__list_push(&task->watchers, &watch->link);
}

void async__unwatch(async__watch_t *watch) {
  if (async__list_linked(&watch->link)) async__list_remove(&watch->link);
}

static void task_finish(async__runtime_t *rt, async_task_t *task, int result) {
  /* A scope left open points into the stack that is about to be reused: its
   * owner undoes it (and says so). */
  while (task->scopes != NULL) {
    struct async__scope *scope = task->scopes;
    task->scopes = scope->outer;
    scope->abandon(scope);
  }
  task->result = result;
  task->state = ASYNC__TASK_DONE;
  /* Locks it still holds stop naming it: it is about to be freed. */
  if (rt->check != NULL && task->check != NULL) async__check_task_finished(task);
  task->finish_order = ++rt->finish_counter;
  rt->unfinished--;
  if (task == rt->main_task) rt->main_finished = true;
  while (!async__list_empty(&task->watchers)) {
    struct async__list *link = task->watchers.next;
    async__list_remove(link);
    async__watch_t *watch = async__container_of(link, async__watch_t, link);
    watch->notify(watch, task);
  }
}

static void task_entry(void);

/* Gives a task that never ran its stack. Returns false if it cannot run:
 * cancelled before it started (it never runs, as in asyncio), or no
 * memory for a stack; either way it has finished. */
static bool task_start(async__runtime_t *rt, async_task_t *task) {
  task->started = true;
  if (task->cancelled_with == 0) {
    task->stack =
        async__stack_get(&rt->stacks, task->stack_size ? task->stack_size
                                                       : rt->stacks.stack_size);
    if (task->stack != NULL) {
      async__context_make(&task->context, task->stack->base,
                          task->stack->size - task->stack->color, task_entry);
      return true;
    }
  }
  task_finish(rt, task,
              task->cancelled_with ? task->cancelled_with : UV_ENOMEM);
  async__task_unref(task);
  return false;
}

/* The task to switch to directly from a task leaving the CPU, or NULL for
 * the scheduler. */
static async_task_t *next_direct(async__runtime_t *rt) {
  while (rt->ready_count != 0 && !rt->main_finished &&
         ++rt->steps_since_poll < POLL_INTERVAL) {
    if (rt->check != NULL) async__check_pick(rt); /* the schedule's choice */
    async_task_t *next = rt->ready[rt->ready_head];
    if ((uintptr_t)next & CALLBACK_TAG) return NULL;
    ready_pop(rt);
    if (next->started || task_start(rt, next)) return next;
  }
  return NULL;
}

/* Switches away from the current task (parked, ready again, or finished);
 * returns when it is resumed, which a finished task never is. */
static void leave(async__runtime_t *rt, async_task_t *self) {
  bool finished = self->state == ASYNC__TASK_DONE;
  if (finished) rt->finished = self;
  async_task_t *next = next_direct(rt);
  if (next == self) { /* a yield with nobody else ready: carry on */
    self->state = ASYNC__TASK_RUNNING;
    return;
  }
  if (next != NULL) {
    rt->current = next;
    next->state = ASYNC__TASK_RUNNING;
  }
  switch_context(rt, &self->context, next, finished);
  reap_finished(rt);
}

static void task_entry(void) {
  async__runtime_t *rt = async__rt;
  async_task_t *task = rt->current;
#ifdef ASYNC__ASAN
  const void *came_from_bottom;
  size_t came_from_size;
  __sanitizer_finish_switch_fiber(NULL, &came_from_bottom, &came_from_size);
  if (rt->switch_from_scheduler) {
    scheduler_stack_bottom = came_from_bottom;
    scheduler_stack_size = came_from_size;
  }
#endif
  reap_finished(rt);
  int result = task->fn(task->arg);
  task_finish(rt, task, result);
  leave(rt, task);
  abort(); /* a finished task is never resumed */
}

/* Runs a task from the scheduler until it (and any task it hands the CPU
 * to directly) comes back. */
static void run_one(async__runtime_t *rt, async_task_t *task) {
  if (!task->started && !task_start(rt, task)) return;
  rt->current = task;
  task->state = ASYNC__TASK_RUNNING;
  switch_context(rt, &rt->scheduler_context, task, false);
  rt->current = NULL;
  reap_finished(rt);
}

/* ---- Parking and waking ---- */

int async__outside_task(const char *call) {
  return async__misuse(call, UV_EPERM, "called outside a task");
}

int async__park(const char *what, const void *object, bool interruptible) {
  async__runtime_t *rt = async__rt;
  async_task_t *task = rt->current;
  if (interruptible && task->interrupt != 0) return task->interrupt;
  task->state = ASYNC__TASK_PARKED;
  task->interruptible = interruptible;
  task->waiting_for = what;
  task->waiting_on = object;
  task->waiting_at = async__site;
  task->waiting_since = rt->now;
  leave(rt, task);
  /* Other tasks moved the call site meanwhile: put back this task's, for
   * the next park of the same call. */
  async__site = task->waiting_at;
  task->waiting_for = NULL;
  return task->interrupt;
}

int async__yield_now(void) {
  async__runtime_t *rt = async__rt;
  async_task_t *task = rt->current;
  task->state = ASYNC__TASK_READY;
  ready_push(rt, task);
  task->waiting_for = "yield";
  async_site_t site = async__site;
  leave(rt, task);
  async__site = site;
  task->waiting_for = NULL;
  return task->interrupt;
}


void async__wake_all(struct async__list *queue) {
  while (async__wake_first(queue)) {
  }
}

/* ---- The loop ---- */

static void on_uv_timer(uv_timer_t *timer) {
  (void)timer; /* it only ends uv_run; the scheduler fires what is due */
}

/* Blocks in libuv until I/O or the earliest timer. Returns false if
 * nothing at all could ever wake a task. */
static bool wait_for_events(async__runtime_t *rt) {
  if (rt->check != NULL) return async__check_wait_for_events(rt);
  uint64_t next = async__timers_next(rt);
  if (next != ASYNC__NO_DEADLINE) {
    uint64_t now = async__now();
    uint64_t wait_ns = next > now ? next - now : 0;
    /* libuv arms timers from its cached clock, stale by however long tasks
     * just ran: a timer armed from it may already be due, fire before the
     * poll, and leave uv_run blocking with no timeout at all. */
    uv_update_time(&rt->loop);
    uv_timer_start(&rt->timer, on_uv_timer, (wait_ns + 999999) / 1000000, 0);
  } else {
    uv_timer_stop(&rt->timer);
    if (!uv_loop_alive(&rt->loop)) return false;
  }
  uv_run(&rt->loop, UV_RUN_ONCE);
  rt->steps_since_poll = 0;
  async__timers_fire_due(rt);
  return true;
}

static void poll_without_blocking(async__runtime_t *rt) {
  rt->steps_since_poll = 0;
  uv_run(&rt->loop, UV_RUN_NOWAIT);
  async__timers_fire_due(rt);
}

static bool report_stuck_tasks(async__runtime_t *rt);

/* Runs tasks until `done(rt)` holds, or every task is stuck for good. */
static void run_until(async__runtime_t *rt, bool (*done)(async__runtime_t *)) {
  while (!done(rt)) {
    if (rt->ready_count != 0) {
      if (rt->check != NULL) async__check_pick(rt);
      async_task_t *next = ready_pop(rt);
      if ((uintptr_t)next & CALLBACK_TAG)
        run_callback(next);
      else
        run_one(rt, next);
      if (++rt->steps_since_poll >= POLL_INTERVAL) poll_without_blocking(rt);
      continue;
    }
    if (async__timers_fire_due(rt) != 0) continue;
    if (!wait_for_events(rt) && !report_stuck_tasks(rt)) {
      rt->abandoned = true;
      return;
    }
  }
}

static bool main_done(async__runtime_t *rt) {
  return rt->main_finished;
}

static bool all_done(async__runtime_t *rt) {
  return rt->unfinished == 0;
}

/* Every task waits for something nothing can bring: a deadlock. Says so,
 * then interrupts the waiters with ASYNC_EDEADLK so that they unwind. Returns
 * false if none of them could be woken. */
static bool report_stuck_tasks(async__runtime_t *rt) {
  size_t woken = 0;
  struct async__list *link;
  if (rt->check != NULL) /* grouped, with a task dump and a replay line */
    async__check_report_stuck(rt);
  else
    fprintf(stderr,
            "async: deadlock: %zu task(s) wait, and nothing (no ready task, "
            "timer or I/O) can ever wake them:\n",
            rt->unfinished);
  for (link = rt->all_tasks.next; link != &rt->all_tasks && rt->check == NULL;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state != ASYNC__TASK_PARKED) continue;
    if (task->waiting_at.file != NULL)
      fprintf(stderr, "  task '%s' waits for %s at %s:%d\n",
              async_task_name(task),
              task->waiting_for ? task->waiting_for : "?",
              task->waiting_at.file, task->waiting_at.line);
    else
      fprintf(stderr, "  task '%s' waits for %s\n", async_task_name(task),
              task->waiting_for ? task->waiting_for : "?");
  }
  for (link = rt->all_tasks.next; link != &rt->all_tasks; link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state == ASYNC__TASK_DONE || task->cancelled_with != 0) continue;
    task->cancelled_with = ASYNC_EDEADLK;
    async__interrupt_changed(task);
    if (task->state != ASYNC__TASK_PARKED) woken++;
  }
  if (woken == 0)
    fprintf(stderr, "async: none of them can be interrupted; abandoning "
                    "them.\n");
  return woken != 0;
}

/* ---- async_run ---- */

static void close_leftover(uv_handle_t *handle, void *arg) {
  async__runtime_t *rt = arg;
  if (uv_is_closing(handle)) return;
  rt->stats.handles_left_open++;
  uv_close(handle, NULL);
}

int async_run(async_fn main, void *arg) {
  if (main == NULL)
    return async__misuse("async_run", UV_EINVAL, "main is NULL");
  if (async__rt != NULL)
    return async__misuse("async_run", UV_EBUSY,
                         "already running on this thread (from a task?)");
  size_t stack_size = async__stack_size_from_env();
  if (stack_size == 0)
    return async__misuse("async_run", UV_EINVAL,
                         "ASYNC_STACK_SIZE must be a size between 16k and 1g, "
                         "like 512k");
  /* Check mode's settings (check.c): bad ones are reported there. */
  if (async__check_read_env() != 0) return UV_EINVAL;
  async__runtime_t *rt = calloc(1, sizeof *rt);
  if (rt == NULL) return UV_ENOMEM;
  int rc = uv_loop_init(&rt->loop);
  if (rc != 0) {
    free(rt);
    return rc;
  }
  /* Stays referenced: armed, it must keep uv_run waiting for it; stopped,
   * it does not count as alive anyway. */
  uv_timer_init(&rt->loop, &rt->timer);
  async__list_init(&rt->all_tasks);
  async__list_init(&rt->run_end_hooks);
  async__stack_pool_init(&rt->stacks, stack_size);
  async__stack_overflow_handler_install();
  async__rt = rt;
  async__check_start(rt); /* if ASYNC_CHECK asked for it */
  async__now();

  rt->main_task = async__spawn_main(main, arg);
  if (rt->main_task == NULL) {
    rc = UV_ENOMEM;
  } else {
    run_until(rt, main_done);
    rc = rt->abandoned ? ASYNC_EDEADLK : async__retrieve(rt->main_task);
    /* asyncio.run: cancel whatever is left and wait for it to unwind. */
    rt->shutting_down = true;
    struct async__list *link;
    for (link = rt->all_tasks.next; link != &rt->all_tasks; link = link->next) {
      async_task_t *task = async__container_of(link, async_task_t, all_link);
      if (task->state == ASYNC__TASK_DONE) continue;
      rt->stats.tasks_cancelled_at_exit++;
      async_task_cancel(task);
    }
    if (!rt->abandoned) run_until(rt, all_done);
  }
  async__tasks_free_all(rt);
  /* Subsystems (processes, HTTP, signals) close their own handles, so that
   * only what user code left open counts as left over. */
  while (!async__list_empty(&rt->run_end_hooks)) {
    struct async__list *link = rt->run_end_hooks.prev; /* last in, first */
    async__list_remove(link);
    async__run_end_hook_t *hook =
        async__container_of(link, async__run_end_hook_t, link);
    hook->run_end(hook, rt);
  }

  uv_close((uv_handle_t *)&rt->timer, NULL);
  uv_walk(&rt->loop, close_leftover, rt);
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&rt->loop) != 0) {
    fprintf(stderr, "async: the loop still had work after closing every "
                    "handle; leaking it\n");
    rt->stats.handles_left_open++;
  }
  if (rt->stats.handles_left_open != 0)
    fprintf(stderr,
            "async: %zu libuv handle(s) were still open when the "
            "run ended\n",
            rt->stats.handles_left_open);
  async__timers_destroy(rt);
  async__stack_pool_destroy(&rt->stacks);
  free(rt->ready);
  last_run_stats = rt->stats;
  async__rt = NULL;
  free(rt);
  return rc;
}

void async_run_stats(async_run_stats_t *out) {
  if (out != NULL) *out = last_run_stats;
}

uv_loop_t *async_loop(void) {
  return async__rt != NULL ? &async__rt->loop : NULL;
}
