/* internal.h: what the runtime's source files share and nobody else sees.
 *
 * The model in one paragraph: a runtime (one per thread) owns a libuv loop,
 * a ready queue of tasks, a heap of timers and a pool of stacks. The
 * scheduler runs on the thread's own stack; it pops a ready task and
 * switches to it; the task runs until it parks (waits for something) or
 * finishes, and switches back. Whatever wakes a task (a lock release, a
 * timer, a libuv callback) only puts it on the ready queue; nothing but the
 * scheduler switches into a task, and no task ever calls uv_run.
 */
#ifndef ASYNC_INTERNAL_H
#define ASYNC_INTERNAL_H

#ifndef ASYNC__RUNTIME_SOURCE
#define ASYNC__RUNTIME_SOURCE
#endif
#include "async.h"
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Intrusive doubly-linked lists (circular, with a sentinel head) ---- */

static inline void async__list_init(struct async__list *head) {
  head->prev = head->next = head;
}
static inline bool async__list_empty(const struct async__list *head) {
  return head->next == head;
}
static inline void async__list_push(struct async__list *head,
                                    struct async__list *node) {
  node->prev = head->prev;
  node->next = head;
  head->prev->next = node;
  head->prev = node;
}
static inline void async__list_remove(struct async__list *node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = node->next = node;
}
static inline bool async__list_linked(const struct async__list *node) {
  return node->next != node;
}
#define async__container_of(ptr, type, member)                                 \
  ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- Stacks (stack.c) ---- */

typedef struct async__stack {
  char *base;   /* lowest usable address, just above the guard page */
  size_t size;  /* usable bytes */
  size_t color; /* bytes left unused at the top; see stack.c */
  struct async__stack *next_free;
  unsigned valgrind_id;
} async__stack_t;

typedef struct async__stack_pool {
  size_t stack_size;
  size_t stacks_made;
  async__stack_t *free_list; /* stacks of stack_size, ready for reuse */
  struct async__slab *slabs;
} async__stack_pool_t;

void async__stack_pool_init(async__stack_pool_t *pool, size_t stack_size);
/* A stack of pool->stack_size, or of `size` when it differs (not pooled). */
async__stack_t *async__stack_get(async__stack_pool_t *pool, size_t size);
void async__stack_put(async__stack_pool_t *pool, async__stack_t *stack);
void async__stack_pool_destroy(async__stack_pool_t *pool);
/* Installs the handler that names a task whose stack overflowed. */
void async__stack_overflow_handler_install(void);
/* Parses ASYNC_STACK_SIZE; returns the default when unset, 0 when invalid. */
size_t async__stack_size_from_env(void);

/* ---- Tasks ---- */

typedef enum async__task_state {
  ASYNC__TASK_READY,   /* in the ready queue (or about to be) */
  ASYNC__TASK_RUNNING, /* the current task */
  ASYNC__TASK_PARKED,  /* waiting for something to wake it */
  ASYNC__TASK_DONE     /* returned; result is final */
} async__task_state_t;

/* Someone who wants to hear when a task finishes (join, gather, wait...).
 * notify runs in the finishing task's last moment: it may only wake tasks. */
typedef struct async__watch {
  struct async__list link;
  void (*notify)(struct async__watch *watch, async_task_t *finished);
  void *data;
} async__watch_t;

/* A task parked in a wait queue (lock, event, queue...). Lives on the
 * waiting task's stack. */
typedef struct async__waiter {
  struct async__list link;
  async_task_t *task;
  bool woken; /* set by the waker: the resource was handed over */
} async__waiter_t;

struct async_task {
  async__context_t context;
  async__stack_t *stack;
  async_fn fn;
  void *arg;
  async__task_state_t state;
  int result;
  bool started;
  bool interruptible; /* parked where an interrupt may wake it */
  bool retrieved;     /* someone looked at the result */
  int cancelled_with; /* 0, or the sticky code the task was cancelled with */
  int interrupt;      /* cached: what a blocking call returns now (0: go) */
  struct async__scope *scopes; /* innermost scope first */
  unsigned refs;
  size_t stack_size; /* 0: the runtime's default */
  uint64_t id;
  uint64_t finish_order;
  struct async__list watchers;
  struct async__list all_link; /* in runtime->all_tasks */
  /* What it waits for, for reports. */
  const char *waiting_for;
  const void *waiting_on;
  async_site_t waiting_at;
  uint64_t waiting_since;
  async_site_t created_at;
  struct async__check_task *check; /* check mode's data, or NULL */
  char name[48];
};

/* ---- The runtime (scheduler.c) ---- */

typedef struct async__runtime {
  uv_loop_t loop;
  uv_timer_t timer; /* wakes uv_run for the earliest entry of `timers` */
  async__context_t scheduler_context;
  async_task_t *current;
  async_task_t *main_task;

  /* Ready queue: a ring of task pointers. */
  async_task_t **ready;
  size_t ready_head, ready_count, ready_capacity;

  /* Timers: a binary min-heap on (deadline, sequence). */
  struct async__timer_entry **timers;
  size_t timer_count, timer_capacity;
  uint64_t timer_sequence;
  uint64_t now; /* ns; refreshed by async__now() */

  struct async__list all_tasks;
  size_t unfinished;
  uint64_t next_task_id;
  uint64_t finish_counter;
  unsigned steps_since_poll;
  bool shutting_down;
  bool abandoned;     /* deadlocked tasks that could not be interrupted */
  bool main_finished; /* from then on, every switch goes back to
                         the scheduler */
  bool switch_from_scheduler; /* ASan: the last switch left the scheduler */
  async_task_t *finished;     /* finished on its own stack; not reaped yet */

  async__stack_pool_t stacks;
  async_run_stats_t stats;
  struct async__list run_end_hooks; /* of async__run_end_hook_t */
  /* Tasks parked on real events (sockets, children, the thread pool, HTTP
   * transfers, signals): what check mode's virtual clock must not skip. */
  size_t io_waits;
  /* Check mode (check.c), or NULL when it is off: the hooks test this. */
  struct async__check *check;
} async__runtime_t;

extern _Thread_local async__runtime_t *async__rt;

/* A subsystem's clean-up when the run ends: after every task has finished,
 * before the loop's handles are closed. It may run the loop (uv_run) to let
 * its handles close. Register once per run. */
typedef struct async__run_end_hook {
  struct async__list link;
  void (*run_end)(struct async__run_end_hook *hook, async__runtime_t *rt);
} async__run_end_hook_t;
static inline void async__on_run_end(async__runtime_t *rt,
                                     async__run_end_hook_t *hook) {
  async__list_push(&rt->run_end_hooks, &hook->link);
}

/* Brackets a park that waits for a real event (see io_waits). */
static inline void async__io_begin(void) { async__rt->io_waits++; }
static inline void async__io_end(void) { async__rt->io_waits--; }

/* Prints "async: CALL: WHY" on stderr in debug builds and returns code. */
int async__misuse(const char *call, int code, const char *why);

/* The loop clock in ns (refreshes the cached value). */
uint64_t async__now(void);

/* Seconds to a deadline in ns; UV_EINVAL for negative or NaN, UINT64_MAX
 * for ASYNC_FOREVER. */
int async__deadline(const char *call, double seconds, uint64_t *deadline);
#define ASYNC__NO_DEADLINE UINT64_MAX

/* Start of every blocking call: UV_EPERM outside a task, the pending
 * interrupt if any, else 0. Inline: it is on every await. */
int async__outside_task(const char *call);
/* Check mode: a call that may block is a choice point (check.c). */
int async__check_choice_point(void);
static inline int async__enter_blocking(const char *call) {
  async__runtime_t *rt = async__rt;
  if (rt == NULL || rt->current == NULL) return async__outside_task(call);
  if (__builtin_expect(rt->check != NULL, 0))
    return async__check_choice_point();
  return rt->current->interrupt;
}

/* Parks the current task until async__wake() (or, when interruptible, an
 * interrupt). Returns the task's interrupt code (0 if none). `what` and
 * `object` say what it waits for, for reports. */
int async__park(const char *what, const void *object, bool interruptible);

/* The ready queue's growth, kept out of line: pushes are on every wake. */
void async__ready_grow(async__runtime_t *rt) __attribute__((noinline, cold));
static inline void async__ready_push(async__runtime_t *rt, async_task_t *task) {
  if (rt->ready_count == rt->ready_capacity) async__ready_grow(rt);
  size_t tail = rt->ready_head + rt->ready_count;
  if (tail >= rt->ready_capacity) tail -= rt->ready_capacity;
  rt->ready[tail] = task;
  rt->ready_count++;
}

/* Makes a parked task ready; harmless if it is already ready or running. */
static inline void async__wake(async_task_t *task) {
  if (task->state != ASYNC__TASK_PARKED) return;
  task->state = ASYNC__TASK_READY;
  async__ready_push(async__rt, task);
}

/* Queues a call_soon callback behind the tasks ready now; removes it. */
void async__ready_callback(async_callback_t *cb);
void async__ready_callback_remove(async_callback_t *cb);

/* Puts the current task at the back of the ready queue and runs others. */
int async__yield_now(void);

/* Wait queues of async__waiter_t. */
static inline void async__waiter_enqueue(struct async__list *queue,
                                         async__waiter_t *waiter) {
  waiter->task = async__rt->current;
  waiter->woken = false;
  async__list_push(queue, &waiter->link);
}
/* Wakes the first waiter and unlinks it; false if there was none. */
static inline bool async__wake_first(struct async__list *queue) {
  if (async__list_empty(queue)) return false;
  async__waiter_t *waiter =
      async__container_of(queue->next, async__waiter_t, link);
  async__list_remove(&waiter->link);
  waiter->woken = true;
  async__wake(waiter->task);
  return true;
}
void async__wake_all(struct async__list *queue);

/* Cancellation and scopes. Recomputes task->interrupt and wakes the task if
 * it is parked interruptibly and now interrupted. */
void async__interrupt_changed(async_task_t *task);
void async__scope_push(async_task_t *task, struct async__scope *scope,
                       void (*abandon)(struct async__scope *scope));
void async__scope_pop(async_task_t *task, struct async__scope *scope);
void async__scope_cancel(async_task_t *task, struct async__scope *scope,
                         int code);

/* Waits, ignoring interrupts, until the task has finished. */
void async__join_uninterruptibly(async_task_t *task);

/* Finish watching. async__watch adds a watcher to an unfinished task. */
void async__watch(async_task_t *task, async__watch_t *watch);
void async__unwatch(async__watch_t *watch);

/* Timers (timer.c). */
void async__timer_init(struct async__timer_entry *entry,
                       void (*fire)(struct async__timer_entry *));
void async__timer_start(struct async__timer_entry *entry, uint64_t deadline);
void async__timer_stop(struct async__timer_entry *entry);
static inline bool async__timer_armed(const struct async__timer_entry *e) {
  return e->heap_index != SIZE_MAX;
}
/* Fires every timer due at `now`; returns how many fired. */
size_t async__timers_fire_due(async__runtime_t *rt);
/* The earliest deadline, or ASYNC__NO_DEADLINE. */
uint64_t async__timers_next(const async__runtime_t *rt);
void async__timers_destroy(async__runtime_t *rt);

/* Creates the main task (task.c) and, at the end, frees every task. */
async_task_t *async__spawn_main(async_fn fn, void *arg);
void async__tasks_free_all(async__runtime_t *rt);

/* Drops a reference; frees a finished task nobody holds any more. */
void async__task_unref(async_task_t *task);

/* Marks a task's failure as seen by somebody. */
static inline int async__retrieve(async_task_t *task) {
  task->retrieved = true;
  return task->result;
}

/* ---- Synchronisation (lock.c, event.c) ---- */

/* Waits for the lock, deaf to interrupts, and takes it (call from a task).
 * Condition wait needs it: the lock is held again when the wait returns,
 * even when cancelled. Returns 0, or ASYNC_EDEADLK if the task holds it. */
int async__lock_acquire_uninterruptibly(async_lock_t *lock);

/* async_event_wait, with the name of the call that waits and what a report
 * should say it waits for (async_queue_join waits on an event). */
int async__event_wait(async_event_t *event, const char *call, const char *what,
                      const void *object);

/* ---- Streams over pipes (stream.c), for subprocesses (process.c) ----
 *
 * A pipe stream wraps a uv_pipe_t the stream owns. For a child's stdio:
 * async__stream_new_pipe() makes the stream with its pipe initialised but
 * not connected; uv_spawn(UV_CREATE_PIPE) connects it; then
 * async__stream_start() starts reading (for the child's stdout/stderr).
 * async__stream_free() closes (after sending what is queued, unless the
 * peer is gone) and frees, without blocking: the handle's close callback
 * frees the memory. */
int async__stream_new_pipe(async_stream_t **stream);
uv_pipe_t *async__stream_pipe(async_stream_t *stream);
int async__stream_start(async_stream_t *stream);
void async__stream_free(async_stream_t *stream);

/* ---- The thread pool (thread.c) ----
 *
 * libuv starts its pool (one per process) on the first uv_queue_work,
 * uv_getaddrinfo, uv_getnameinfo or uv_fs_* call, sized from
 * UV_THREADPOOL_SIZE at that moment. Call this before any such call, so
 * that async_thread_pool_size knows it is too late. */
void async__thread_pool_note_use(void);

#endif /* ASYNC_INTERNAL_H */
