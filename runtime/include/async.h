/* async.h: a small asynchronous runtime on libuv, shaped like Python's asyncio.
 *
 * ======================================================================
 * Conventions
 * ======================================================================
 *
 * Names.   Every public name starts with async_ (ASYNC_ for macros). Names
 *          with a double underscore (async__) are private to the runtime.
 *
 * Errors.  Functions that can fail return 0 (or a count, or a value >= 0) on
 *          success and a negative libuv error code on failure: UV_ECANCELED
 *          when the calling task was cancelled, UV_ETIMEDOUT when a timeout
 *          expired, UV_EINVAL for a bad argument, UV_EPERM for a call made
 *          outside a task or against the object's state, UV_ENOMEM, and the
 *          runtime's own ASYNC_EDEADLK (libuv has no deadlock code). Print
 *          one with async_strerror(). When a call fails it has changed
 *          nothing.
 *
 * Blocks.  A function marked "Blocks" may suspend the calling task and run
 *          others until it can return, so it may only be called from inside
 *          a task (outside one it returns UV_EPERM). It is the C spelling of
 *          asyncio's `await`. Any other function returns at once.
 *
 * Cancellation.  async_task_cancel() makes the task's current blocking call
 *          (or its next one) return UV_ECANCELED, and every later blocking
 *          call too: cancellation is sticky until the task returns. A task
 *          cancelled before it first ran never runs. A timeout scope expiring
 *          works the same way with UV_ETIMEDOUT, but only inside the scope.
 *
 * Results. A task is a function `int fn(void *arg)`. What it returns is its
 *          result: >= 0 is a value, < 0 an error (the task "failed"). A
 *          failure that nobody retrieved (join, result, gather, wait_for,
 *          group) is reported on stderr when the task is released or the run
 *          ends, like asyncio's "Task exception was never retrieved".
 *
 * Ownership.  async_spawn() hands you a reference to the task; give it back
 *          with async_task_release() when you no longer need the handle (the
 *          task runs on regardless). References not given back are dropped
 *          when async_run() returns. Structs the caller allocates (locks,
 *          events, queues, timeouts, futures, groups) show their fields under
 *          a private comment: use only the functions.
 *
 * Threads. One runtime per thread; every async_* call comes from the thread
 *          that runs it. Use async_to_thread() for blocking work.
 *
 * Call sites. Blocking calls are wrapped in macros that note the caller's
 *          file and line, so that reports can point at your code. Call the
 *          function itself with parentheses, e.g. (async_sleep)(1.0), to skip.
 */
#ifndef ASYNC_H
#define ASYNC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A deadlock: waiting for yourself, or for something no task can bring. */
#define ASYNC_EDEADLK (-EDEADLK) /* negated errno, as libuv spells errors */

/* uv_strerror() and uv_err_name() that also know ASYNC_EDEADLK. */
const char *async_strerror(int error);
const char *async_err_name(int error);

/* A timeout meaning "no timeout". Negative or NaN timeouts are UV_EINVAL. */
#define ASYNC_FOREVER (__builtin_inf())

typedef struct async_task async_task_t; /* opaque handle */

/* Private building blocks of the structs below; not part of the API. */
struct async__list {
  struct async__list *prev, *next;
};
struct async__timer_entry {
  uint64_t deadline; /* ns on the loop clock */
  uint64_t sequence; /* ties broken in arming order */
  size_t heap_index; /* SIZE_MAX while not armed */
  void (*fire)(struct async__timer_entry *entry);
};
struct async__scope {
  struct async__scope *outer;
  int interrupt; /* 0, or the code the scope was cancelled with */
  /* Undoes the scope if its task returns without leaving it. */
  void (*abandon)(struct async__scope *scope);
};
typedef int (*async_fn)(void *arg);

/* Where a blocking call was made from; see "Call sites" above. */
typedef struct async_site {
  const char *file;
  int line;
} async_site_t;
extern _Thread_local async_site_t async__site;
#ifdef ASYNC__RUNTIME_SOURCE
#define ASYNC__AT(call) (call) /* the runtime keeps its caller's site */
#else
#define ASYNC__AT(call) (async__site = (async_site_t){__FILE__, __LINE__}, call)
#endif

/* ======================================================================
 * Running: asyncio.run
 * ====================================================================== */

/* Runs `main(arg)` as the first task on a fresh libuv loop and returns its
 * result. When main returns, every task still running is cancelled and
 * waited for, every handle closed, every stack freed. Returns UV_EBUSY if
 * called from inside a task, UV_ENOMEM if the runtime cannot start. */
int async_run(async_fn main, void *arg);

/* What the last async_run() on this thread left behind: tasks it had to
 * cancel because main returned before them, failures nobody retrieved,
 * libuv handles it had to close. All zero for a tidy program. */
typedef struct async_run_stats {
  size_t tasks_spawned;
  size_t tasks_cancelled_at_exit;
  size_t failures_unretrieved;
  size_t handles_left_open;
} async_run_stats_t;
void async_run_stats(async_run_stats_t *out);

/* The libuv loop the runtime drives, for code that needs a raw handle. NULL
 * outside async_run(). Do not call uv_run() on it from a task. */
uv_loop_t *async_loop(void);

/* ======================================================================
 * Tasks: asyncio.create_task, Task, current_task, all_tasks
 * ====================================================================== */

/* Default stack size of a task: 256 KiB of address space, of which only the
 * pages a task touches take memory (about 8 KiB for a task that parks
 * shallowly), so 100,000 live tasks fit in under 1 GiB of RAM. Override it
 * for all tasks with the environment variable ASYNC_STACK_SIZE (bytes, or
 * with a k or m suffix), or per task with async_spawn_options_t. */
#define ASYNC_DEFAULT_STACK_SIZE (256 * 1024)

typedef struct async_spawn_options {
  const char *name;  /* copied; NULL gives "task-<id>" */
  size_t stack_size; /* 0 for the default */
} async_spawn_options_t;

/* Starts `fn(arg)` as a new task named `name` (copied; at most 47 bytes are
 * kept). It first runs once the caller blocks or yields. Returns NULL
 * outside async_run() or when out of memory. Release the handle when done. */
async_task_t *async_spawn(const char *name, async_fn fn, void *arg);
async_task_t *async_spawn_with(const async_spawn_options_t *options,
                               async_fn fn, void *arg);
/* Not blocking: these note where a task was created, for task dumps. */
#define async_spawn(name, fn, arg) ASYNC__AT(async_spawn(name, fn, arg))
#define async_spawn_with(options, fn, arg)                                     \
  ASYNC__AT(async_spawn_with(options, fn, arg))

/* Requests cancellation (see Conventions). Returns true if the request was
 * made, false if the task had already finished (or task is NULL). */
bool async_task_cancel(async_task_t *task);

/* Blocks until the task finishes, then returns its result. If the caller is
 * cancelled meanwhile, the awaited task is cancelled too (as `await task`
 * does in asyncio); the caller still waits for it, then gets UV_ECANCELED.
 * Joining yourself is ASYNC_EDEADLK. */
int async_task_join(async_task_t *task);
#define async_task_join(task) ASYNC__AT(async_task_join(task))

/* The result of a finished task; UV_EAGAIN while it runs. Marks a failure
 * as retrieved. */
int async_task_result(async_task_t *task);

bool async_task_done(const async_task_t *task);
/* True if the task finished with UV_ECANCELED. */
bool async_task_cancelled(const async_task_t *task);
const char *async_task_name(const async_task_t *task);
/* A number unique within the run, starting at 1 for main. */
uint64_t async_task_id(const async_task_t *task);

/* Takes another reference to the handle; each needs an async_task_release. */
async_task_t *async_task_retain(async_task_t *task);
/* Gives back a reference. The task keeps running; its memory goes when it
 * has finished and every reference is back. */
void async_task_release(async_task_t *task);

/* The running task, or NULL outside a task. */
async_task_t *async_current_task(void);

/* Stores up to `capacity` unfinished tasks into `tasks` (in spawn order) and
 * returns how many unfinished tasks there are. The handles are borrowed. */
size_t async_all_tasks(async_task_t **tasks, size_t capacity);

/* ======================================================================
 * Time: asyncio.sleep, loop.time, loop.call_soon, loop.call_later
 * ====================================================================== */

/* Blocks for `seconds` (never less) on the loop's monotonic clock. */
int async_sleep(double seconds);
#define async_sleep(seconds) ASYNC__AT(async_sleep(seconds))

/* Blocks just long enough to let every other ready task run once:
 * asyncio.sleep(0). Returns 0, or UV_ECANCELED / UV_ETIMEDOUT. */
int async_yield(void);
#define async_yield() ASYNC__AT(async_yield())

/* The loop's clock in seconds: monotonic, with an arbitrary origin. */
double async_time(void);

/* A callback scheduled with call_soon or call_later. Zero it before its
 * first use (async_callback_t cb = {0};), and keep it alive until it has
 * run or been cancelled; it can then be scheduled again. */
typedef void (*async_callback_fn)(void *arg);
typedef struct async_callback {
  /* private */
  struct async__timer_entry entry;
  async_callback_fn fn;
  void *arg;
  bool scheduled;
} async_callback_t;

/* Runs fn(arg) on the loop, after the tasks that are ready now (in the
 * ready queue's order, as asyncio's call_soon). */
int async_call_soon(async_callback_t *cb, async_callback_fn fn, void *arg);
/* Runs fn(arg) on the loop after `delay` seconds (never earlier). */
int async_call_later(async_callback_t *cb, double delay, async_callback_fn fn,
                     void *arg);
/* Unschedules a callback that has not run yet; harmless otherwise. */
void async_callback_cancel(async_callback_t *cb);

/* ======================================================================
 * Waiting: gather, wait, as_completed, wait_for, timeout, shield
 * ====================================================================== */

/* Flags for async_gather. */
enum {
  /* Collect every task's result, errors included, into results[]: the
   * gather itself then returns 0 (asyncio's return_exceptions=True). */
  ASYNC_RETURN_ERRORS = 1
};

/* Blocks until all `count` tasks have finished and stores their results in
 * order into results[] (may be NULL). Without ASYNC_RETURN_ERRORS the first
 * task to fail makes gather return its error at once; the other tasks keep
 * running. If the caller is cancelled, every task is cancelled and waited
 * for, then UV_ECANCELED is returned. */
int async_gather(async_task_t *const *tasks, size_t count, int *results,
                 int flags);
#define async_gather(tasks, count, results, flags)                             \
  ASYNC__AT(async_gather(tasks, count, results, flags))

typedef enum async_return_when {
  ASYNC_FIRST_COMPLETED,
  ASYNC_FIRST_EXCEPTION, /* first task to fail, or all done */
  ASYNC_ALL_COMPLETED
} async_return_when_t;

/* Blocks until `when` is met or `timeout` seconds pass, then reorders
 * tasks[] so that the finished ones come first (each part keeps its order)
 * and returns how many finished: the done set is tasks[0..n), the pending
 * set the rest. A timeout is not an error. Cancelling the caller does not
 * cancel the tasks. */
int async_wait(async_task_t **tasks, size_t count, async_return_when_t when,
               double timeout);
#define async_wait(tasks, count, when, timeout)                                \
  ASYNC__AT(async_wait(tasks, count, when, timeout))

/* Hands tasks back in the order they finish:
 *
 *   async_as_completed_t it;
 *   async_as_completed_init(&it, tasks, n, 10.0);
 *   async_task_t *t;
 *   while (async_as_completed_next(&it, &t) == 0) use(async_task_result(t));
 *
 * The timeout covers the whole iteration. */
typedef struct async_as_completed {
  /* private */
  async_task_t **tasks;
  size_t count;
  size_t handed;
  double deadline;
} async_as_completed_t;
int async_as_completed_init(async_as_completed_t *it, async_task_t **tasks,
                            size_t count, double timeout);
/* Blocks. 0 and *task set; UV_EOF once every task was handed back;
 * UV_ETIMEDOUT, UV_ECANCELED. */
int async_as_completed_next(async_as_completed_t *it, async_task_t **task);
#define async_as_completed_next(it, task)                                      \
  ASYNC__AT(async_as_completed_next(it, task))

/* Blocks like async_task_join for at most `timeout` seconds. On expiry the
 * task is cancelled and waited for, then UV_ETIMEDOUT is returned, unless
 * the task finished with a result after all: a result that wins the race is
 * kept. */
int async_wait_for(async_task_t *task, double timeout);
#define async_wait_for(task, timeout) ASYNC__AT(async_wait_for(task, timeout))

/* Joins a task without letting the caller's cancellation reach it: if the
 * caller is cancelled, this returns UV_ECANCELED at once and the task runs
 * on. */
int async_shield(async_task_t *task);
#define async_shield(task) ASYNC__AT(async_shield(task))

/* A timeout over a whole block of code, asyncio.timeout():
 *
 *   async_timeout_t scope;
 *   async_timeout_enter(&scope, 2.0);
 *   rc = read_request(conn);               // UV_ETIMEDOUT once expired
 *   if (async_timeout_exit(&scope) == UV_ETIMEDOUT) ...
 *
 * Once the deadline passes, the blocking call the task is in, and every
 * later one until the exit, returns UV_ETIMEDOUT. Scopes nest, and must be
 * exited in reverse order of entry, by the task that entered them; a task
 * that returns inside a scope gets a message and the scope is dropped. */
typedef struct async_timeout {
  /* private */
  struct async__timer_entry entry;
  struct async__scope scope;
  async_task_t *task;
} async_timeout_t;
int async_timeout_enter(async_timeout_t *scope, double seconds);
/* Leaves the scope: UV_ETIMEDOUT if it expired, else 0. */
int async_timeout_exit(async_timeout_t *scope);
bool async_timeout_expired(const async_timeout_t *scope);

/* ======================================================================
 * Task groups: asyncio.TaskGroup
 * ====================================================================== */

/* Structured concurrency: the tasks spawned into a group are all finished
 * when async_group_wait returns. The first failing task cancels its
 * siblings and the body (the task that owns the group, until it reaches
 * async_group_wait); the wait then returns that first error, and
 * async_group_errors lists every failure. */
typedef struct async_group {
  /* private */
  async_task_t *owner;
  async_task_t **tasks;
  size_t count, capacity;
  int *errors;
  size_t error_count;
  bool aborting;
  bool waiting;
  struct async__scope scope;
} async_group_t;

/* Starts a group owned by the calling task. */
int async_group_init(async_group_t *group);
/* Spawns into the group. The handle is borrowed: valid until
 * async_group_wait returns, unless you async_task_retain it. NULL if the
 * group is aborting, on bad use, or out of memory. */
async_task_t *async_group_spawn(async_group_t *group, const char *name,
                                async_fn fn, void *arg);
#define async_group_spawn(group, name, fn, arg)                                \
  ASYNC__AT(async_group_spawn(group, name, fn, arg))
/* Blocks until every task in the group has finished. Returns 0, the first
 * error, or UV_ECANCELED when the caller itself was cancelled (its tasks are
 * cancelled and waited for). Releases the group's tasks; the list of errors
 * stays readable until the owner task returns. A task that returns without
 * waiting for its group gets its group's tasks cancelled, and a message. */
int async_group_wait(async_group_t *group);
#define async_group_wait(group) ASYNC__AT(async_group_wait(group))
/* Copies up to `capacity` failures in the order they happened; returns how
 * many there were. Valid after async_group_wait, in the owner task. */
size_t async_group_errors(const async_group_t *group, int *errors,
                          size_t capacity);

/* ======================================================================
 * Futures: asyncio.Future
 * ====================================================================== */

typedef struct async_future async_future_t;
typedef void (*async_future_callback_fn)(async_future_t *future, void *arg);
struct async_future {
  /* private */
  int state; /* 0 pending, 1 result, 2 error, 3 cancelled */
  int value;
  struct async__list waiters;
  struct async__future_callback *callbacks;
};

void async_future_init(async_future_t *future);
/* Completes the future and wakes its waiters; done callbacks run soon after
 * on the loop. UV_EPERM if it is already done. */
int async_future_set_result(async_future_t *future, int value);
int async_future_set_error(async_future_t *future, int error);
/* Completes the future as cancelled; false if it was already done. */
bool async_future_cancel(async_future_t *future);
bool async_future_done(const async_future_t *future);
bool async_future_cancelled(const async_future_t *future);
/* The value, or the error; UV_EAGAIN while pending. */
int async_future_result(const async_future_t *future);
/* Blocks until the future is done, returns its value or error. Cancelling
 * the caller cancels the future too (asyncio does the same). */
int async_future_await(async_future_t *future);
#define async_future_await(future) ASYNC__AT(async_future_await(future))
/* Runs fn(future, arg) on the loop once the future is done (soon, if it is
 * already). UV_ENOMEM. */
int async_future_add_done_callback(async_future_t *future,
                                   async_future_callback_fn fn, void *arg);
/* Frees pending callbacks; call once nobody uses the future any more. */
void async_future_destroy(async_future_t *future);

/* ======================================================================
 * Synchronisation: Lock, Semaphore, BoundedSemaphore, Event, Condition
 *
 * Waiters are served strictly first come, first served: a task that asks
 * later never overtakes one already waiting. A waiter that was woken and
 * then cancelled before it ran passes its wakeup on to the next.
 * ====================================================================== */

typedef struct async_lock {
  /* private */
  async_task_t *owner;
  struct async__list waiters;
  async_site_t acquired_at;
} async_lock_t;

#define ASYNC_LOCK_INITIALIZER(name)                                           \
  {                                                                            \
    NULL, {&(name).waiters, &(name).waiters}, {                                \
      0, 0                                                                     \
    }                                                                          \
  }
void async_lock_init(async_lock_t *lock);
/* Blocks until the lock is the caller's. ASYNC_EDEADLK if it already is (the
 * lock is not reentrant); UV_ECANCELED, UV_ETIMEDOUT. */
int async_lock_acquire(async_lock_t *lock);
#define async_lock_acquire(lock) ASYNC__AT(async_lock_acquire(lock))
/* Takes the lock if it is free and nobody waits; never blocks. */
bool async_lock_try_acquire(async_lock_t *lock);
/* Releases the lock, handing it to the first waiter. UV_EPERM if it is not
 * locked. Like asyncio, any task may release it. */
int async_lock_release(async_lock_t *lock);
bool async_lock_locked(const async_lock_t *lock);

typedef struct async_semaphore {
  /* private */
  int value;
  int bound; /* -1 when unbounded */
  struct async__list waiters;
} async_semaphore_t;

/* value >= 0, else UV_EINVAL. */
int async_semaphore_init(async_semaphore_t *sem, int value);
/* A BoundedSemaphore: releasing above the initial value is UV_EOVERFLOW. */
int async_semaphore_init_bounded(async_semaphore_t *sem, int value);
/* Blocks until a permit is free, then takes it. */
int async_semaphore_acquire(async_semaphore_t *sem);
#define async_semaphore_acquire(sem) ASYNC__AT(async_semaphore_acquire(sem))
bool async_semaphore_try_acquire(async_semaphore_t *sem);
/* Gives a permit back, to the first waiter if any. */
int async_semaphore_release(async_semaphore_t *sem);
/* Free permits now. */
int async_semaphore_value(const async_semaphore_t *sem);
/* True if an acquire would block. */
bool async_semaphore_locked(const async_semaphore_t *sem);

typedef struct async_event {
  /* private */
  bool is_set;
  struct async__list waiters;
} async_event_t;

void async_event_init(async_event_t *event);
/* Sets the flag and wakes every waiter. */
void async_event_set(async_event_t *event);
void async_event_clear(async_event_t *event);
bool async_event_is_set(const async_event_t *event);
/* Blocks until the flag is set (returns at once if it is). */
int async_event_wait(async_event_t *event);
#define async_event_wait(event) ASYNC__AT(async_event_wait(event))

typedef struct async_condition {
  /* private */
  async_lock_t *lock;
  async_lock_t own_lock;
  struct async__list waiters;
} async_condition_t;

/* Uses `lock`, or a lock of its own when lock is NULL. */
void async_condition_init(async_condition_t *cond, async_lock_t *lock);
int async_condition_acquire(async_condition_t *cond);
#define async_condition_acquire(cond) ASYNC__AT(async_condition_acquire(cond))
int async_condition_release(async_condition_t *cond);
/* Blocks: releases the lock, waits for a notify, re-acquires the lock. The
 * lock is held again when this returns, even with UV_ECANCELED. UV_EPERM if
 * the caller does not hold the lock. */
int async_condition_wait(async_condition_t *cond);
#define async_condition_wait(cond) ASYNC__AT(async_condition_wait(cond))
/* Blocks: waits until predicate(arg) is true, checking it under the lock. */
int async_condition_wait_for(async_condition_t *cond,
                             bool (*predicate)(void *arg), void *arg);
#define async_condition_wait_for(cond, predicate, arg)                         \
  ASYNC__AT(async_condition_wait_for(cond, predicate, arg))
/* Wakes up to n waiters (the lock must be held): UV_EPERM otherwise. */
int async_condition_notify(async_condition_t *cond, int n);
int async_condition_notify_all(async_condition_t *cond);

/* ======================================================================
 * Queues: asyncio.Queue
 * ====================================================================== */

typedef struct async_queue {
  /* private */
  void **items;
  size_t head, count, capacity;
  size_t maxsize; /* 0: unbounded */
  size_t unfinished;
  struct async__list getters, putters;
  async_event_t finished;
} async_queue_t;

/* maxsize 0 means unbounded. UV_ENOMEM. */
int async_queue_init(async_queue_t *queue, size_t maxsize);
/* Frees the queue's storage (not the items). */
void async_queue_destroy(async_queue_t *queue);
/* Blocks while the queue is full, then appends item. */
int async_queue_put(async_queue_t *queue, void *item);
#define async_queue_put(queue, item) ASYNC__AT(async_queue_put(queue, item))
/* UV_EAGAIN when full (asyncio.QueueFull). */
int async_queue_put_nowait(async_queue_t *queue, void *item);
/* Blocks while the queue is empty, then takes the oldest item. */
int async_queue_get(async_queue_t *queue, void **item);
#define async_queue_get(queue, item) ASYNC__AT(async_queue_get(queue, item))
/* UV_EAGAIN when empty (asyncio.QueueEmpty). */
int async_queue_get_nowait(async_queue_t *queue, void **item);
size_t async_queue_size(const async_queue_t *queue);
bool async_queue_empty(const async_queue_t *queue);
bool async_queue_full(const async_queue_t *queue);
/* Marks one item taken by get as processed. UV_EINVAL if called more times
 * than items were put. */
int async_queue_task_done(async_queue_t *queue);
/* Blocks until every item put has been marked done. */
int async_queue_join(async_queue_t *queue);
#define async_queue_join(queue) ASYNC__AT(async_queue_join(queue))

#ifdef __cplusplus
}
#endif
#endif /* ASYNC_H */
