/* thread.c: async_to_thread, asyncio.to_thread on libuv's thread pool.
 *
 * The request lives on the calling task's stack: uv_queue_work runs fn on a
 * pool thread, the after-work callback (on the loop) stores the outcome and
 * wakes the task, which parks in between like any I/O wait. A cancelled
 * caller asks uv_cancel to take the work off the queue; whether that
 * succeeds or fn is already running, libuv still calls the after-work
 * callback, so the caller always parks (deaf to interrupts) until it has
 * come: the request and arg must outlive the pool's use of them.
 *
 * Rejected: a heap request that a cancelled caller abandons, letting fn run
 * on unobserved. fn's arg usually points into the caller's stack, which the
 * runtime reuses the moment the task returns; asyncio can abandon a thread
 * because its arguments are garbage-collected objects.
 *
 * libuv's pool is one per process, started on its first use, sized from
 * UV_THREADPOOL_SIZE at that moment; async_thread_pool_size sets that
 * variable, and refuses once the pool may have started.
 */
#include "internal.h"

#include <stdatomic.h>

/* Per process, as the pool is. */
static atomic_bool pool_used;

void async__thread_pool_note_use(void) {
  atomic_store(&pool_used, true);
}

int async_thread_pool_size(int threads) {
  if (threads < 1 || threads > 1024)
    return async__misuse("async_thread_pool_size", UV_EINVAL,
                         "the pool size must be between 1 and 1024");
  if (atomic_load(&pool_used))
    return async__misuse("async_thread_pool_size", UV_EBUSY,
                         "the thread pool has started already: set its size "
                         "before the first async_to_thread");
  char value[16];
  snprintf(value, sizeof value, "%d", threads);
  if (setenv("UV_THREADPOOL_SIZE", value, 1) != 0) return UV_ENOMEM;
  return 0;
}

typedef struct work {
  uv_work_t request;
  async_blocking_fn fn;
  void *arg;
  int result; /* fn's; written on the pool thread */
  bool done;  /* the after-work callback has run */
  async_task_t *task;
} work_t;

static void work_run(uv_work_t *request) {
  work_t *work = request->data;
  work->result = work->fn(work->arg);
}

/* status is UV_ECANCELED when uv_cancel took the work off the queue. */
static void work_done(uv_work_t *request, int status) {
  (void)status;
  work_t *work = request->data;
  work->done = true;
  async__wake(work->task);
}

int(async_to_thread)(async_blocking_fn fn, void *arg) {
  int rc = async__enter_blocking("async_to_thread");
  if (rc != 0) return rc;
  if (fn == NULL)
    return async__misuse("async_to_thread", UV_EINVAL, "fn is NULL");
  work_t work = {.fn = fn, .arg = arg, .task = async__rt->current};
  work.request.data = &work;
  async__thread_pool_note_use();
  rc = uv_queue_work(&async__rt->loop, &work.request, work_run, work_done);
  if (rc != 0) return rc;
  async__io_begin();
  while (!work.done && rc == 0)
    rc = async__park("a function on the thread pool", &work, true);
  if (!work.done) {
    /* Fails (UV_EBUSY) once fn has started: then it cannot be stopped. */
    uv_cancel((uv_req_t *)&work.request);
    while (!work.done)
      async__park("a cancelled function on the thread pool to finish", &work,
                  false);
  }
  async__io_end();
  return rc != 0 ? rc : work.result;
}
