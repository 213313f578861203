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
#include <stdio.h>
#include <sys/types.h>
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
 * lock is not reentrant), or in check mode if waiting would close a cycle
 * of tasks waiting for each other's locks; UV_ECANCELED, UV_ETIMEDOUT. */
int async_lock_acquire(async_lock_t *lock);
#define async_lock_acquire(lock) ASYNC__AT(async_lock_acquire(lock))
/* Takes the lock if it is free and nobody waits; never blocks. (A macro
 * too, so that check mode knows where a lock taken this way was taken.) */
bool async_lock_try_acquire(async_lock_t *lock);
#define async_lock_try_acquire(lock) ASYNC__AT(async_lock_try_acquire(lock))
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
#define async_semaphore_try_acquire(sem)                                       \
  ASYNC__AT(async_semaphore_try_acquire(sem))
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

/* ======================================================================
 * Streams: asyncio.start_server, open_connection, StreamReader/Writer
 *
 * A stream is one connected byte stream (a TCP connection, or a pipe to a
 * child process) with a read buffer and a write buffer. Reads block until
 * data is there; writes are buffered and never block, and drain blocks
 * while more than the high-water mark waits to be sent (back-pressure).
 * Writes made in one pass of the loop are sent together.
 *
 * One task reads a stream at a time (a second gets UV_EBUSY); any number
 * may write and drain. If a task closes a stream while another is blocked
 * reading or draining it, that call returns UV_ECANCELED, and so does any
 * later read of it. Writing to a peer that has gone is UV_EPIPE (or
 * UV_ECONNRESET), never a crash: the runtime ignores SIGPIPE once it has
 * made a stream, as Python does (children get the default back).
 * ====================================================================== */

typedef struct async_stream async_stream_t; /* opaque */
typedef struct async_server async_server_t; /* opaque */

/* Longest line readline accepts unless async_stream_set_limit says
 * otherwise, counted before the '\n' (asyncio's default limit and rule):
 * 65,536 bytes and a '\n' are a line, one byte more is UV_ENOBUFS. */
#define ASYNC_STREAM_DEFAULT_LIMIT (64 * 1024)
/* drain blocks while more than this many bytes wait to be sent. */
#define ASYNC_STREAM_DEFAULT_HIGH_WATER (64 * 1024)

/* Runs once per accepted connection, as its own task (named after the
 * peer, "127.0.0.1:50312"). When it returns, the runtime closes the stream
 * if it is still open (as async_stream_close), and frees it; until then the
 * stream stays valid, even closed. A negative result other than
 * UV_ECANCELED is printed on stderr, naming the peer. */
typedef int (*async_connection_fn)(async_stream_t *stream, void *arg);

/* Blocks (while `host` is resolved). Listens on host:port (port 0: any
 * free port; host may be a name, an IPv4 or an IPv6 address, NULL for
 * every IPv4 interface) and runs handler(stream, arg) for each connection.
 * A name that resolves to several addresses listens on the first that
 * works. UV_EADDRINUSE, UV_EADDRNOTAVAIL, UV_EAI_*. */
int async_server_start(async_server_t **server, const char *host, int port,
                       async_connection_fn handler, void *arg);
#define async_server_start(server, host, port, handler, arg)                   \
  ASYNC__AT(async_server_start(server, host, port, handler, arg))
/* The port actually bound (useful after port 0). */
int async_server_port(const async_server_t *server);
/* "HOST:PORT" as bound, e.g. "127.0.0.1:41234" or "[::1]:41234": what a
 * server prints in its "listening on HOST:PORT" line. */
const char *async_server_address(const async_server_t *server);
/* Blocks until the server is closed (by another task) or the caller is
 * cancelled: asyncio's serve_forever. */
int async_server_wait(async_server_t *server);
#define async_server_wait(server) ASYNC__AT(async_server_wait(server))
/* Blocks: stops accepting; with cancel_handlers, cancels the running
 * handlers; waits for every handler to return; frees the server, even when
 * the caller is cancelled meanwhile (the handlers are then cancelled and
 * waited for, and UV_ECANCELED returned). A handler cannot close its own
 * server (ASYNC_EDEADLK): have another task do it. */
int async_server_close(async_server_t *server, bool cancel_handlers);
#define async_server_close(server, cancel_handlers)                            \
  ASYNC__AT(async_server_close(server, cancel_handlers))

/* Blocks: resolves host (a name, or an IPv4 or IPv6 address, brackets
 * allowed), connects to each address in turn until one accepts, and gives a
 * stream. UV_ECONNREFUSED, UV_ETIMEDOUT, UV_EAI_NONAME... (the last
 * address's error). Close it with async_stream_close. */
int async_connect(async_stream_t **stream, const char *host, int port);
#define async_connect(stream, host, port)                                      \
  ASYNC__AT(async_connect(stream, host, port))

/* Blocks until some data is there: copies up to `size` bytes, returns how
 * many; 0 at end of stream; a negative error (UV_ECONNRESET...). */
ssize_t async_stream_read(async_stream_t *stream, void *buffer, size_t size);
#define async_stream_read(stream, buffer, size)                                \
  ASYNC__AT(async_stream_read(stream, buffer, size))
/* Blocks until a whole line (up to and including '\n') is there, copies it
 * and a terminating NUL into line[size], and returns its length. At end of
 * stream: the last, unterminated line, then 0. A line with more than the
 * stream's limit before its '\n' (or longer than size - 1 with it) returns
 * UV_ENOBUFS, once; the stream skips the rest of that line, and the next
 * call reads the line after it. So to take every line the limit allows,
 * give size = limit + 2. UV_EINVAL if size < 2. */
ssize_t async_stream_readline(async_stream_t *stream, char *line, size_t size);
#define async_stream_readline(stream, line, size)                              \
  ASYNC__AT(async_stream_readline(stream, line, size))
/* Blocks until exactly `size` bytes are there and copies them. UV_EOF if
 * the stream ends first (what was there is consumed). */
int async_stream_readexactly(async_stream_t *stream, void *buffer,
                             size_t size);
#define async_stream_readexactly(stream, buffer, size)                         \
  ASYNC__AT(async_stream_readexactly(stream, buffer, size))
/* Blocks until `separator` (a non-empty string) has arrived; copies
 * everything up to and including it (and a NUL) into buffer[size]; returns
 * the length. UV_EOF if the stream ends first (what was there is
 * consumed); UV_ENOBUFS as readline. */
ssize_t async_stream_readuntil(async_stream_t *stream, const char *separator,
                               char *buffer, size_t size);
#define async_stream_readuntil(stream, separator, buffer, size)                \
  ASYNC__AT(async_stream_readuntil(stream, separator, buffer, size))
/* True once the peer has finished sending and the buffer is empty. */
bool async_stream_at_eof(const async_stream_t *stream);
/* Sets readline's limit (bytes, >= 1; reading ahead pauses past 4 times
 * the limit unread) and drain's high-water mark (0: drain waits until all
 * is handed to the system). */
int async_stream_set_limit(async_stream_t *stream, size_t limit);
int async_stream_set_high_water(async_stream_t *stream, size_t bytes);

/* Queues bytes to send (copied). Never blocks. UV_EPIPE once the stream is
 * shut down, closed, or the peer is gone. */
int async_stream_write(async_stream_t *stream, const void *data, size_t size);
/* Blocks while more than the high-water mark waits to be sent. Returns the
 * first write error, if any (every later drain returns it too). */
int async_stream_drain(async_stream_t *stream);
#define async_stream_drain(stream) ASYNC__AT(async_stream_drain(stream))
/* Bytes written and not yet taken by the system (asyncio's
 * get_write_buffer_size): how far behind a slow reader is. */
size_t async_stream_write_buffer_size(const async_stream_t *stream);
/* Sends what is queued, then shuts the write side (asyncio's write_eof):
 * the peer reads end of stream; this side can still read. */
int async_stream_shutdown(async_stream_t *stream);
/* Blocks: sends what is queued (unless the peer is gone), closes the
 * connection and frees the stream: asyncio's close + wait_closed. If the
 * caller is cancelled (or times out) meanwhile, what is not sent yet is
 * dropped. Returns 0, the write error that lost queued bytes, or
 * UV_ECANCELED / UV_ETIMEDOUT; the stream is closed and freed whatever it
 * returns (a server connection's stream is freed when its handler
 * returns; a process's pipe when the process is released). */
int async_stream_close(async_stream_t *stream);
#define async_stream_close(stream) ASYNC__AT(async_stream_close(stream))
/* Closes at once, dropping what is queued (asyncio's transport.abort()):
 * for a peer that stopped reading. Never blocks; frees as close does. */
int async_stream_abort(async_stream_t *stream);
/* The peer's and this side's address as "HOST:PORT" ("" for a pipe). */
const char *async_stream_peername(const async_stream_t *stream);
const char *async_stream_sockname(const async_stream_t *stream);

/* ======================================================================
 * Subprocesses: asyncio.create_subprocess_exec / _shell
 * ====================================================================== */

typedef struct async_process async_process_t; /* opaque */

typedef enum async_stdio {
  ASYNC_STDIO_INHERIT, /* the child shares this process's descriptor */
  ASYNC_STDIO_PIPE,    /* a stream to or from the child */
  ASYNC_STDIO_DEVNULL, /* /dev/null */
  ASYNC_STDIO_STDOUT   /* stderr only: into the same pipe as stdout */
} async_stdio_t;

typedef struct async_process_options {
  const char *const *argv; /* exec: argv[0] is looked up in PATH (env's
                              PATH when env is given), NULL-terminated */
  const char *shell;       /* or: a command line for /bin/sh -c */
  const char *cwd;         /* NULL: this process's */
  const char *const *env;  /* NULL: this process's; else NAME=VALUE, NULL */
  async_stdio_t stdin_mode, stdout_mode, stderr_mode; /* 0: INHERIT */
  /* The child leads a process group of its own. It is started in a new
   * session (setsid(), libuv's UV_PROCESS_DETACHED), so it also leaves
   * this terminal: Ctrl-C typed there does not reach it. When the run ends
   * the whole group is killed; to signal the group yourself, use
   * kill(-async_process_pid(p), signum). */
  bool new_process_group;
} async_process_options_t;

/* Starts a child process. Not blocking. UV_ENOENT (no such program or
 * cwd), UV_EACCES, UV_EINVAL (neither or both of argv and shell, a bad
 * mode), UV_EPERM outside async_run(). The runtime reaps every child, even
 * one nobody waits for: when the run ends, children still running are
 * killed (SIGKILL) and reaped, and every process is released. */
int async_process_spawn(async_process_t **process,
                        const async_process_options_t *options);
/* Its pipes, or NULL where the mode was not ASYNC_STDIO_PIPE. The process
 * owns them: do not close them with async_stream_close (shutdown stdin to
 * send end of input). */
async_stream_t *async_process_stdin(async_process_t *process);
async_stream_t *async_process_stdout(async_process_t *process);
async_stream_t *async_process_stderr(async_process_t *process);
int async_process_pid(const async_process_t *process);
/* Blocks until the child exits. Returns its exit status (0-255), or
 * 128 + the signal that killed it, like a shell's $?. Cancelling the caller
 * does not kill the child. */
int async_process_wait(async_process_t *process);
#define async_process_wait(process) ASYNC__AT(async_process_wait(process))
/* Sends SIGTERM / SIGKILL / any signal to the child (not to its group).
 * UV_ESRCH once it has exited. */
int async_process_terminate(async_process_t *process);
int async_process_kill(async_process_t *process);
int async_process_send_signal(async_process_t *process, int signum);
/* Blocks: writes input to stdin (then shuts it), reads stdout and stderr
 * to the end (whichever are pipes) without deadlocking on full pipes, and
 * waits for the exit. The outputs are malloc'd and NUL-terminated (free
 * them); pass NULL for what you do not need; an output that is not a pipe
 * comes back NULL. Input needs a stdin pipe (else UV_EINVAL); with no
 * input, stdin is just shut. Returns as async_process_wait; when the caller
 * is cancelled, UV_ECANCELED and the child runs on. */
int async_process_communicate(async_process_t *process, const void *input,
                              size_t input_size, char **out, size_t *out_size,
                              char **err, size_t *err_size);
#define async_process_communicate(process, input, input_size, out, out_size, \
                                  err, err_size)                             \
  ASYNC__AT(async_process_communicate(process, input, input_size, out,       \
                                      out_size, err, err_size))
/* Frees the handle and its pipes (closing stdin: the child reads end of
 * input), once no task uses them. A child still running is left to run;
 * the runtime reaps it when it exits (or kills it when the run ends). */
void async_process_release(async_process_t *process);

/* ======================================================================
 * Threads: asyncio.to_thread, loop.run_in_executor
 * ====================================================================== */

typedef int (*async_blocking_fn)(void *arg);

/* Blocks: runs fn(arg) on libuv's thread pool and returns its result. If
 * the caller is cancelled before fn started, fn never runs; once it has
 * started it cannot be stopped: the caller waits for it to finish (so that
 * arg stays valid) and then gets UV_ECANCELED. fn must not call async_*. */
int async_to_thread(async_blocking_fn fn, void *arg);
#define async_to_thread(fn, arg) ASYNC__AT(async_to_thread(fn, arg))
/* Sets the pool's size (1-1024, else UV_EINVAL; libuv's default is 4)
 * before its first use; UV_EBUSY after. The pool is one per process, kept
 * from one async_run to the next, and name resolution uses it too. */
int async_thread_pool_size(int threads);

/* ======================================================================
 * Signals: loop.add_signal_handler
 *
 * A task waits for a signal as it waits for anything else. While at least
 * one task waits for a signal, the runtime catches it, and one delivery
 * wakes every task waiting for it (tasks are the handlers). While none
 * waits, the signal has its default action again (SIG_DFL: SIGINT and
 * SIGTERM terminate the program), even if a handler had been installed with
 * sigaction before. A delivery nobody waits for is not kept for a later
 * wait; deliveries that come after a task was woken and before it returned
 * from its wait are merged into the one that woke it.
 *
 * Graceful shutdown, the usual pattern (asyncio's add_signal_handler that
 * closes the server): one task waits for SIGINT or SIGTERM and closes the
 * server; main serves until the server is closed, then collects that task
 * and returns 0 (#include <signal.h> for the names):
 *
 *   static const int stop_signals[] = {SIGINT, SIGTERM};
 *
 *   static int stop_on_signal(void *server) {
 *     int signum = async_signal_wait_any(stop_signals, 2);
 *     if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
 *     // Stop accepting, cancel the connections' handlers, wait for them.
 *     return async_server_close(server, true);
 *   }
 *
 *   static int serve(void *arg) { // main's task, which nobody cancels
 *     async_server_t *server;
 *     int rc = async_server_start(&server, "127.0.0.1", 12345, on_client,
 *                                 arg);
 *     if (rc != 0) return rc;
 *     async_task_t *stopper = async_spawn("stopper", stop_on_signal, server);
 *     async_server_wait(server); // until the stopper has closed it
 *     rc = async_task_join(stopper);
 *     async_task_release(stopper);
 *     return rc;
 *   }
 * ====================================================================== */

/* Blocks until the signal arrives; returns its number. While a task waits,
 * the signal's default action (such as terminating) is replaced. UV_EINVAL
 * for a number that is not a signal, and for SIGKILL and SIGSTOP. */
int async_signal_wait(int signum);
#define async_signal_wait(signum) ASYNC__AT(async_signal_wait(signum))
/* Blocks until one of `count` signals arrives; returns its number. */
int async_signal_wait_any(const int *signums, size_t count);
#define async_signal_wait_any(signums, count)                                  \
  ASYNC__AT(async_signal_wait_any(signums, count))

/* ======================================================================
 * HTTP client: aiohttp's ClientSession.get, on libcurl
 * ====================================================================== */

typedef struct async_http_options {
  const char *method;        /* NULL: "GET"; also "HEAD", "POST" */
  const void *body;          /* for POST */
  size_t body_size;
  double connect_timeout;    /* seconds; 0: 10 */
  double timeout;            /* whole transfer, seconds; 0: none */
  int max_redirects;         /* 0: do not follow; < 0: follow up to 20 */
  size_t max_body;           /* 0: no limit; past it: UV_E2BIG */
  const char *output_path;   /* stream the body into this file instead of
                                memory; removed again if the transfer fails */
} async_http_options_t;

typedef struct async_http_response {
  long status;         /* 200, 404... */
  char *body;          /* malloc'd, NUL-terminated; NULL with output_path */
  size_t body_size;    /* bytes received (binary-safe) */
  char *headers;       /* malloc'd: the raw header block of the last hop */
  char *effective_url; /* malloc'd: where the redirects led */
  char error[256];     /* a sentence when the call failed */
} async_http_response_t;

/* Blocks for the whole transfer; many run at once over one libcurl multi
 * handle driven by the loop. Only http:// and https:// URLs (redirects
 * too); options may be NULL (all defaults). Returns 0 once a response
 * arrived, whatever its status (a 404 is a response: with output_path the
 * file then holds the 404's body); or, with the reason in response->error:
 * UV_ETIMEDOUT (connect or total timeout, or a timeout scope),
 * UV_ECONNREFUSED, UV_EAI_NONAME (the name does not resolve),
 * UV_ECONNRESET (reset, or closed without an answer), UV_EIO (the body was
 * cut short, or another transfer failure), UV_E2BIG (over max_body),
 * UV_ELOOP (more redirects than max_redirects), UV_EINVAL (a malformed or
 * non-web URL, bad options), UV_ECANCELED, or the error creating or
 * writing output_path. *response is zeroed first, so async_http_free is
 * always safe; when the call fails it holds no body, headers or URL. The
 * url and options must stay valid until the call returns. */
int async_http_get(const char *url, const async_http_options_t *options,
                   async_http_response_t *response);
#define async_http_get(url, options, response)                                 \
  ASYNC__AT(async_http_get(url, options, response))
/* Finds a header's value in response->headers (case-insensitive name, the
 * first if repeated); copies it, without the surrounding blanks, into
 * value[size]. UV_ENOENT if absent, UV_ENOBUFS if it does not fit. */
int async_http_header(const async_http_response_t *response, const char *name,
                      char *value, size_t size);
/* Frees what the response holds (body, headers, effective_url) and sets
 * them to NULL; harmless on a response already freed. */
void async_http_free(async_http_response_t *response);

/* ======================================================================
 * Check mode: virtual time, seeded schedules, reports of deadlocks, races,
 * starvation and hogs, task dumps, traces
 *
 * The grader runs programs in check mode; you can too. It is switched on
 * by environment variables, read when async_run() starts, so the same
 * binary runs either way (off, it costs nothing measurable):
 *
 *   ASYNC_CHECK=1        check mode on (unset, empty or 0: off, and the
 *                        variables below are ignored)
 *   ASYNC_SCHEDULE=NAME  which ready task runs next:
 *                          fifo        the order tasks became ready, as
 *                                      without check mode (the default)
 *                          fifo-yield  that order, but every call that may
 *                                      block yields first (see Schedules)
 *                          random      a seeded, uniform choice each time
 *                          pct         probabilistic concurrency testing
 *                                      (Burckhardt et al., ASPLOS 2010)
 *   ASYNC_SEED=N         the seed of random and pct, a decimal number.
 *                        Unset: one is drawn, and shown in replay lines
 *   ASYNC_PCT_DEPTH=D    pct's bug depth: D - 1 priority change points (3)
 *   ASYNC_PCT_STEPS=K    pct's estimate of the steps a run takes; the
 *                        change points are drawn among the first K (1000)
 *   ASYNC_FINDINGS=PATH  also append every finding to PATH, as a JSON line
 *   ASYNC_TRACE=PATH     write a trace of the run to PATH (see Trace)
 *   ASYNC_STARVATION=S   a task that has wanted to progress for S seconds
 *                        of virtual time while others did starves (10)
 *   ASYNC_LIVELOCK=S     no progress at all for S seconds of virtual time
 *                        (60), or ASYNC_LIVELOCK_STEPS=N task steps
 *                        (100000), is a livelock (see async_check_want)
 *   ASYNC_HOG_MS=MS      a task that runs MS milliseconds of real time
 *                        without an await hogs the loop (1000)
 *                        0 switches any of these four watches off
 *
 * A value that makes no sense stops async_run() with UV_EINVAL and a
 * message naming the variable.
 *
 * Virtual clock.  Time stands still while tasks run. When no task is ready
 *          and nothing real is in flight (no task waits for a socket, a
 *          child process, the thread pool, a signal or an HTTP transfer,
 *          and no libuv handle or request is active: a listening server or
 *          a signal handler counts), the clock jumps to the next timer. A
 *          program that only sleeps and synchronises finishes at once, with
 *          the same timestamps every run: async_time() starts at 0.0 and
 *          async_sleep(1.5) ends at exactly 1.5 seconds later. While real
 *          work is in flight the runtime waits for it in real time, and the
 *          clock advances by the time waited. A loop that watches
 *          async_time() and only yields never sees it move: sleep instead.
 *
 * Schedules.  Under fifo-yield, random and pct, every call marked Blocks is
 *          a choice point: it yields first, even when it need not wait (a
 *          free lock, a non-empty queue, async_sleep(0)), so that the
 *          schedule may run another task right there. The same binary,
 *          schedule, seed and input give the same interleaving. pct gives
 *          each task a random priority, always runs the ready task of
 *          highest priority, and at D - 1 random steps lowers the priority
 *          of the task that was running: it finds a bug that needs D
 *          ordering constraints with a probability of at least
 *          1 / (tasks * K^(D-1)) per run.
 *
 * Findings.  Each is printed on stderr for people (what happened, the
 *          tasks and locks involved, the file:line of each call, what to
 *          try), then one line that replays it:
 *
 *            replay: ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=1234 \
 *                    ./philosophers -n 5
 *
 *          Identical entries are grouped: a thousand philosophers stuck the
 *          same way are one line with a count. The kinds:
 *
 *          deadlock  A task is about to wait for a lock held by a task that
 *                    waits for a lock held by ... the first task. Reported
 *                    at once, even while other tasks still run; that
 *                    acquire returns ASYNC_EDEADLK instead of waiting for
 *                    ever, so that the program can unwind. Also when no
 *                    task is ready, no timer is set, nothing is in flight
 *                    and tasks still wait: reported with a task dump, and
 *                    every waiting call returns ASYNC_EDEADLK.
 *          potential-deadlock  Taking lock B while holding lock A records
 *                    "A before B" (for each lock and semaphore, as lockdep
 *                    does); a cycle in that order is a deadlock that
 *                    another schedule can hit, reported even when this run
 *                    went through, with the acquisition that closed it and
 *                    where each lock was taken. Not a cycle: one taken with
 *                    the same other lock held around every acquisition in
 *                    it (one waiter lock), or the same semaphore with fewer
 *                    permits than the cycle has locks (N - 1 seats for N
 *                    philosophers). A try-acquire orders nothing (it cannot
 *                    wait), but what it takes counts as held.
 *          lost-update  A task wrote an async_shared_t from a value it read
 *                    before an await, during which another task wrote it
 *                    (see async_shared_t below).
 *          invariant  A predicate given to async_check_invariant() stopped
 *                    holding after a task step.
 *          starvation  A task that said it wants to progress
 *                    (async_check_want) has not for ASYNC_STARVATION
 *                    seconds, while other tasks did.
 *          livelock  Tasks run but none progresses (async_check_progress)
 *                    for ASYNC_LIVELOCK seconds or ASYNC_LIVELOCK_STEPS
 *                    steps; reported with a task dump, then every waiting
 *                    call returns ASYNC_EDEADLK, as after a deadlock.
 *          loop-hog  A task ran ASYNC_HOG_MS of real time between two
 *                    awaits (named by their lines): the others waited.
 *
 * Findings file.  One JSON object per line, appended (the schema is
 *          stable: fields and kinds may be added, never changed):
 *
 *            {"kind": "deadlock" | "potential-deadlock" | "lost-update"
 *                     | "invariant" | "starvation" | "livelock"
 *                     | "loop-hog",
 *             "message": the report as printed, lines joined by "\n",
 *             "tasks": [names of the tasks involved, at most 64],
 *             "task_count": how many tasks were involved,
 *             "locks": [names of the locks involved, at most 64],
 *             "lock_count": how many locks were involved,
 *             "sites": ["file.c:42", ...: the call sites involved],
 *             "time": the virtual time of the finding, in seconds,
 *             "replay": "ASYNC_CHECK=1 ... ./program args",
 *             "schedule": "fifo" | "fifo-yield" | "random" | "pct",
 *             "seed": the seed, or null under fifo and fifo-yield}
 *
 * Trace.   ASYNC_TRACE writes Chrome trace-event JSON, for Perfetto
 *          (ui.perfetto.dev) or chrome://tracing: {"displayTimeUnit":"ns",
 *          "traceEvents":[...]} with one event per line. Each task is a
 *          thread (tid: its id; a "thread_name" event names it) with
 *          "running" slices (ph "B"/"E") while it has the CPU, "waiting for
 *          ..." slices (args.at: the line) while it is parked, and
 *          instants "spawned" (args.at) and "finished" (args.result). Each
 *          lock hold is an async slice "holds NAME" (ph "b"/"e", cat
 *          "lock", id: the lock's number, args["taken at"]). Timestamps
 *          (ts, microseconds) are the virtual clock, each event at least a
 *          nanosecond after the last: one seed, one schedule, the same
 *          file byte for byte.
 *
 * Task dump.  In check mode, SIGQUIT (Ctrl-\ in a terminal) prints a task
 *          dump on stderr and the program goes on. A grader that times a
 *          program out sends SIGQUIT, waits a moment, then kills it: the
 *          dump shows where every task was stuck.
 * ====================================================================== */

/* True inside async_run() when check mode is on. */
bool async_check_enabled(void);

/* Prints every unfinished task on `out` (NULL: stderr), Go style, tasks
 * that look the same grouped with a count: its name, what it waits for
 * (and since when, on the loop clock), at which line, the locks it holds
 * (check mode only) and where it was created. From the runtime's thread. */
void async_dump_tasks(FILE *out);

/* Names a lock or semaphore in check mode's reports ("lock #3" otherwise).
 * The name is copied. Call after init: init starts a new lock. Does
 * nothing outside check mode. */
void async_lock_set_name(async_lock_t *lock, const char *name);
void async_semaphore_set_name(async_semaphore_t *sem, const char *name);

/* Shared state that check mode watches for lost updates: a number read and
 * written only through these calls. In check mode, a write by a task whose
 * last read of the variable was made before an await, during which another
 * task wrote it, is a "lost-update" finding (the other task's write is
 * overwritten by a value computed from a stale read), reported with both
 * tasks, the await and the lines, even when the totals come out right.
 * Read again after the await, or hold a lock across read and write. Off
 * check mode, a plain variable. */
typedef struct async_shared {
  /* private */
  int64_t value;
  const char *name;     /* not copied */
  uint64_t serial;      /* of the last write */
  uint64_t init_serial; /* tells one variable from the next at its address */
  async_site_t written_at;
  char writer[48];
} async_shared_t;

/* name: for reports, kept as given (a string literal). */
void async_shared_init(async_shared_t *shared, const char *name,
                       int64_t value);
int64_t async_shared_read(async_shared_t *shared);
void async_shared_write(async_shared_t *shared, int64_t value);
/* The value, without recording a read: for invariants, reports and
 * end-of-run totals, which must not count as a task's read. */
int64_t async_shared_peek(const async_shared_t *shared);
#define async_shared_read(shared) ASYNC__AT(async_shared_read(shared))
#define async_shared_write(shared, value)                                      \
  ASYNC__AT(async_shared_write(shared, value))

/* Runs holds(arg) after every task step, in check mode, until the run ends;
 * the first time it returns false is an "invariant" finding that names the
 * invariant, the task that ran last and where it was. 0, UV_ENOMEM, or
 * UV_EPERM outside a run in check mode. */
int async_check_invariant(const char *name, bool (*holds)(void *arg),
                          void *arg);

/* Progress hooks, for the starvation and livelock reports: the calling
 * task wants to progress (a philosopher is hungry) / did (it ate). `what`
 * is for reports ("to eat"), kept as given. They do nothing outside check
 * mode; using them switches the livelock watch on. */
void async_check_want(const char *what);
void async_check_progress(const char *what);
#define async_check_want(what) ASYNC__AT(async_check_want(what))
#define async_check_progress(what) ASYNC__AT(async_check_progress(what))

#ifdef __cplusplus
}
#endif
#endif /* ASYNC_H */
