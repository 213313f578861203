/* test_thread.c: async_to_thread and async_thread_pool_size
 * (asyncio.to_thread on libuv's thread pool).
 *
 * Pool threads are made to wait for each other, or for the test, with a
 * gate (a mutex and a condition variable) whose waits give up after
 * GIVE_UP seconds: a wrong implementation makes a test fail, never hang.
 * No test relies on timing when the implementation is right.
 *
 * libuv's pool is one per process and keeps the size it started with, so
 * every test asks for the same size, POOL; the first test checks that the
 * request takes effect, and must stay first for `test_thread` without
 * arguments (all tests in one process) to pass.
 */
#include "harness.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum { POOL = 3 };
static const double GIVE_UP = 5.0;

/* Sets the pool size for this process (the pool may already run if an
 * earlier test in this process used it: then it already has POOL). */
static void use_pool_of_three(void) {
  int rc = async_thread_pool_size(POOL);
  if (rc != 0 && rc != UV_EBUSY)
    fail_msg("async_thread_pool_size(%d) returned %s", POOL,
             async_err_name(rc));
}

/* ---- A gate threads and the test can wait on ---- */

typedef struct gate {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  int arrived;  /* threads that reached the gate */
  bool open;    /* the test let them through */
  bool gave_up; /* a wait ran out of time */
} gate_t;

static void gate_init(gate_t *gate) {
  pthread_condattr_t attributes;
  pthread_condattr_init(&attributes);
  pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
  pthread_cond_init(&gate->changed, &attributes);
  pthread_condattr_destroy(&attributes);
  pthread_mutex_init(&gate->mutex, NULL);
  gate->arrived = 0;
  gate->open = false;
  gate->gave_up = false;
}

static void gate_destroy(gate_t *gate) {
  pthread_cond_destroy(&gate->changed);
  pthread_mutex_destroy(&gate->mutex);
}

static struct timespec give_up_time(void) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += (time_t)GIVE_UP;
  return deadline;
}

/* With the mutex held: waits until `done(gate, n)`; false if it gave up. */
static bool gate_wait_locked(gate_t *gate, bool (*done)(gate_t *, int), int n) {
  struct timespec deadline = give_up_time();
  while (!done(gate, n)) {
    if (pthread_cond_timedwait(&gate->changed, &gate->mutex, &deadline) != 0) {
      gate->gave_up = true;
      return false;
    }
  }
  return true;
}

static bool enough_arrived(gate_t *gate, int n) {
  return gate->arrived >= n;
}

static bool is_open(gate_t *gate, int n) {
  (void)n;
  return gate->open;
}

/* A thread arrives, then waits until the gate opens. */
static bool gate_arrive_and_wait(gate_t *gate) {
  pthread_mutex_lock(&gate->mutex);
  gate->arrived++;
  pthread_cond_broadcast(&gate->changed);
  bool opened = gate_wait_locked(gate, is_open, 0);
  pthread_mutex_unlock(&gate->mutex);
  return opened;
}

/* A thread arrives, then waits until n have arrived: a barrier. */
static bool gate_arrive_and_wait_for(gate_t *gate, int n) {
  pthread_mutex_lock(&gate->mutex);
  gate->arrived++;
  pthread_cond_broadcast(&gate->changed);
  bool all = gate_wait_locked(gate, enough_arrived, n);
  pthread_mutex_unlock(&gate->mutex);
  return all;
}

/* Blocks the calling thread (the loop's, in a task) until n arrived. */
static bool gate_wait_for_arrivals(gate_t *gate, int n) {
  pthread_mutex_lock(&gate->mutex);
  bool all = gate_wait_locked(gate, enough_arrived, n);
  pthread_mutex_unlock(&gate->mutex);
  return all;
}

static void gate_open(gate_t *gate) {
  pthread_mutex_lock(&gate->mutex);
  gate->open = true;
  pthread_cond_broadcast(&gate->changed);
  pthread_mutex_unlock(&gate->mutex);
}

/* ---- Pool size ---- */

static int count_threads(void) {
  DIR *dir = opendir("/proc/self/task");
  assert_non_null(dir);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL)
    if (entry->d_name[0] != '.') count++;
  closedir(dir);
  return count;
}

static int return_arg(void *arg) {
  return (int)(intptr_t)arg;
}

typedef struct pool_use {
  int rc;
  int threads_after_first_use;
  int resize_after_use;
} pool_use_t;

static int use_the_pool(void *arg) {
  pool_use_t *use = arg;
  use->rc = async_to_thread(return_arg, (void *)(intptr_t)5);
  /* libuv starts every pool thread before the first work is queued. */
  use->threads_after_first_use = count_threads();
  use->resize_after_use = async_thread_pool_size(POOL + 1);
  return 0;
}

static void test_pool_size_sets_how_many_threads_the_pool_starts(void **state) {
  (void)state;
  int before = count_threads();
  assert_int_equal(async_thread_pool_size(POOL), 0);
  pool_use_t use = {0};
  assert_int_equal(harness_run(use_the_pool, &use), 0);
  assert_int_equal(use.rc, 5);
  assert_int_equal(use.threads_after_first_use, before + POOL);
}

static void test_pool_size_after_the_pool_started_is_ebusy(void **state) {
  (void)state;
  use_pool_of_three();
  pool_use_t use = {0};
  assert_int_equal(harness_run(use_the_pool, &use), 0);
  assert_int_equal(use.resize_after_use, UV_EBUSY);
  assert_int_equal(async_thread_pool_size(POOL), UV_EBUSY);
}

static void test_pool_size_outside_1_to_1024_is_einval(void **state) {
  (void)state;
  assert_int_equal(async_thread_pool_size(0), UV_EINVAL);
  assert_int_equal(async_thread_pool_size(-1), UV_EINVAL);
  assert_int_equal(async_thread_pool_size(1025), UV_EINVAL);
  use_pool_of_three();
}

/* ---- Results ---- */

typedef struct square {
  int input;
  pthread_t ran_on;
} square_t;

static int square_on_pool(void *arg) {
  square_t *square = arg;
  square->ran_on = pthread_self();
  return square->input * square->input;
}

typedef struct result_check {
  square_t square;
  int rc;
} result_check_t;

static int compute_square(void *arg) {
  result_check_t *check = arg;
  check->rc = async_to_thread(square_on_pool, &check->square);
  return 0;
}

static void
test_to_thread_returns_the_function_result_from_a_pool_thread(void **state) {
  (void)state;
  use_pool_of_three();
  result_check_t check = {.square = {.input = 7}};
  assert_int_equal(harness_run(compute_square, &check), 0);
  assert_int_equal(check.rc, 49);
  assert_false(pthread_equal(check.square.ran_on, pthread_self()));
}

static int fail_with_eio(void *arg) {
  (void)arg;
  return UV_EIO;
}

static int call_failing_function(void *arg) {
  *(int *)arg = async_to_thread(fail_with_eio, NULL);
  return 0;
}

static void
test_to_thread_passes_a_negative_result_back_as_the_error(void **state) {
  (void)state;
  use_pool_of_three();
  int rc = 0;
  assert_int_equal(harness_run(call_failing_function, &rc), 0);
  assert_int_equal(rc, UV_EIO);
}

enum { MANY = 200 };

typedef struct many {
  atomic_int calls;
  int results[MANY];
} many_t;

static many_t many;

static int count_and_echo(void *arg) {
  atomic_fetch_add(&many.calls, 1);
  return (int)(intptr_t)arg;
}

static int echo_through_pool(void *arg) {
  int index = (int)(intptr_t)arg;
  many.results[index] =
      async_to_thread(count_and_echo, (void *)(intptr_t)(index * 3));
  return 0;
}

static int run_many(void *arg) {
  (void)arg;
  async_task_t *tasks[MANY];
  for (int i = 0; i < MANY; i++)
    tasks[i] = async_spawn("caller", echo_through_pool, (void *)(intptr_t)i);
  int rc = async_gather(tasks, MANY, NULL, 0);
  for (int i = 0; i < MANY; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_many_concurrent_to_thread_calls_all_complete(void **state) {
  (void)state;
  use_pool_of_three();
  memset(&many, 0, sizeof many);
  assert_int_equal(harness_run(run_many, NULL), 0);
  assert_int_equal(atomic_load(&many.calls), MANY);
  for (int i = 0; i < MANY; i++) assert_int_equal(many.results[i], i * 3);
}

/* ---- Parallelism ---- */

static gate_t barrier;

/* Returns 1 only if POOL workers were inside at the same time. */
static int meet_the_others(void *arg) {
  (void)arg;
  return gate_arrive_and_wait_for(&barrier, POOL) ? 1 : 0;
}

static int call_meet(void *arg) {
  (void)arg;
  return async_to_thread(meet_the_others, NULL);
}

static int run_meetings(void *arg) {
  int *met = arg;
  async_task_t *tasks[POOL];
  int results[POOL];
  for (int i = 0; i < POOL; i++)
    tasks[i] = async_spawn("meet", call_meet, NULL);
  int rc = async_gather(tasks, POOL, results, 0);
  for (int i = 0; i < POOL; i++) {
    *met += results[i];
    async_task_release(tasks[i]);
  }
  return rc;
}

static void test_to_thread_calls_run_in_parallel_on_the_pool(void **state) {
  (void)state;
  use_pool_of_three();
  gate_init(&barrier);
  int met = 0;
  assert_int_equal(harness_run(run_meetings, &met), 0);
  gate_destroy(&barrier);
  if (met != POOL)
    fail_msg("expected %d functions on the pool at the same time; only %d "
             "saw the others within %.0f s (do they run one at a time, or "
             "on the loop's thread?)",
             POOL, met, GIVE_UP);
}

typedef struct loop_free {
  atomic_bool flag;
  int pool_rc;
  bool setter_ran;
} loop_free_t;

static loop_free_t loop_free;

/* Waits on the pool for a flag that only a task on the loop can set. */
static int wait_for_flag(void *arg) {
  (void)arg;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!atomic_load(&loop_free.flag)) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > (time_t)GIVE_UP) return UV_ETIMEDOUT;
    sched_yield();
  }
  return 0;
}

static int call_wait_for_flag(void *arg) {
  (void)arg;
  loop_free.pool_rc = async_to_thread(wait_for_flag, NULL);
  return 0;
}

static int set_flag(void *arg) {
  (void)arg;
  loop_free.setter_ran = true;
  atomic_store(&loop_free.flag, true);
  return 0;
}

static int run_while_pool_busy(void *arg) {
  (void)arg;
  async_task_t *waiter = async_spawn("waiter", call_wait_for_flag, NULL);
  async_yield(); /* the waiter hands its function to the pool */
  async_task_t *setter = async_spawn("setter", set_flag, NULL);
  int rc = async_task_join(setter);
  rc |= async_task_join(waiter);
  async_task_release(setter);
  async_task_release(waiter);
  return rc;
}

static void test_other_tasks_run_while_a_function_is_on_the_pool(void **state) {
  (void)state;
  use_pool_of_three();
  memset(&loop_free, 0, sizeof loop_free);
  assert_int_equal(harness_run(run_while_pool_busy, NULL), 0);
  assert_true(loop_free.setter_ran);
  assert_int_equal(loop_free.pool_rc, 0);
}

/* ---- Cancellation ---- */

static gate_t gate;

static int block_at_gate(void *arg) {
  (void)arg;
  return gate_arrive_and_wait(&gate) ? 0 : UV_ETIMEDOUT;
}

static int call_block_at_gate(void *arg) {
  (void)arg;
  return async_to_thread(block_at_gate, NULL);
}

static atomic_bool victim_ran;

static int note_victim_ran(void *arg) {
  (void)arg;
  atomic_store(&victim_ran, true);
  return 0;
}

static int call_victim(void *arg) {
  (void)arg;
  return async_to_thread(note_victim_ran, NULL);
}

typedef struct queued_cancel {
  bool pool_filled;
  int victim_rc;
  int blockers_rc;
} queued_cancel_t;

static int cancel_queued_work(void *arg) {
  queued_cancel_t *t = arg;
  async_task_t *blockers[POOL];
  for (int i = 0; i < POOL; i++)
    blockers[i] = async_spawn("blocker", call_block_at_gate, NULL);
  async_yield(); /* they queue their work */
  /* Blocks the loop's thread, not the pool's: fine for a test. */
  t->pool_filled = gate_wait_for_arrivals(&gate, POOL);
  async_task_t *victim = async_spawn("victim", call_victim, NULL);
  async_yield(); /* the victim's work waits behind the blockers */
  async_task_cancel(victim);
  t->victim_rc = async_task_join(victim);
  async_task_release(victim);
  gate_open(&gate);
  int results[POOL];
  async_gather(blockers, POOL, results, ASYNC_RETURN_ERRORS);
  for (int i = 0; i < POOL; i++)
    if (results[i] != 0) t->blockers_rc = results[i];
  for (int i = 0; i < POOL; i++) async_task_release(blockers[i]);
  return 0;
}

static void test_to_thread_cancelled_before_its_function_started_never_runs_it(
    void **state) {
  (void)state;
  use_pool_of_three();
  gate_init(&gate);
  atomic_store(&victim_ran, false);
  queued_cancel_t t = {0};
  assert_int_equal(harness_run(cancel_queued_work, &t), 0);
  gate_destroy(&gate);
  assert_true(t.pool_filled);
  if (atomic_load(&victim_ran))
    fail_msg("the function ran although its caller was cancelled while it "
             "still waited in the pool's queue (uv_cancel it)");
  assert_int_equal(t.victim_rc, UV_ECANCELED);
  assert_int_equal(t.blockers_rc, 0);
}

typedef struct started_work {
  atomic_bool finished;
} started_work_t;

static int block_then_finish(void *arg) {
  started_work_t *work = arg;
  bool opened = gate_arrive_and_wait(&gate);
  atomic_store(&work->finished, true);
  return opened ? 7 : UV_ETIMEDOUT;
}

typedef struct started_cancel {
  int rc;
  bool finished_when_returned;
} started_cancel_t;

static int call_block_then_finish(void *arg) {
  started_cancel_t *t = arg;
  /* On this task's stack, as arguments usually are: it must stay valid
   * until the function has finished. */
  started_work_t work;
  atomic_init(&work.finished, false);
  t->rc = async_to_thread(block_then_finish, &work);
  t->finished_when_returned = atomic_load(&work.finished);
  return 0;
}

typedef struct cancel_started {
  started_cancel_t caller;
  bool started;
  bool done_before_release;
  int join_rc;
} cancel_started_t;

static int cancel_started_work(void *arg) {
  cancel_started_t *t = arg;
  async_task_t *caller =
      async_spawn("caller", call_block_then_finish, &t->caller);
  async_yield();
  t->started = gate_wait_for_arrivals(&gate, 1);
  async_task_cancel(caller);
  for (int i = 0; i < 10; i++) async_yield();
  t->done_before_release = async_task_done(caller);
  gate_open(&gate);
  t->join_rc = async_task_join(caller);
  async_task_release(caller);
  return 0;
}

static void
test_to_thread_cancelled_after_start_waits_for_the_function(void **state) {
  (void)state;
  use_pool_of_three();
  gate_init(&gate);
  cancel_started_t t = {0};
  assert_int_equal(harness_run(cancel_started_work, &t), 0);
  gate_destroy(&gate);
  assert_true(t.started);
  if (t.done_before_release)
    fail_msg("the cancelled caller returned while its function still ran "
             "on the pool; it must wait for it (arg lives on its stack)");
  assert_int_equal(t.caller.rc, UV_ECANCELED);
  assert_true(t.caller.finished_when_returned);
  assert_int_equal(t.join_rc, 0);
}

static int call_in_cancelled_task(void *arg) {
  (void)arg;
  async_task_cancel(async_current_task());
  return async_to_thread(note_victim_ran, NULL);
}

static int run_cancelled_caller(void *arg) {
  async_task_t *task = async_spawn("cancelled", call_in_cancelled_task, NULL);
  *(int *)arg = async_task_join(task);
  async_task_release(task);
  return 0;
}

static void
test_to_thread_in_a_cancelled_task_is_ecanceled_and_never_runs(void **state) {
  (void)state;
  use_pool_of_three();
  atomic_store(&victim_ran, false);
  int rc = 0;
  assert_int_equal(harness_run(run_cancelled_caller, &rc), 0);
  assert_int_equal(rc, UV_ECANCELED);
  assert_false(atomic_load(&victim_ran));
}

/* ---- Misuse ---- */

static int call_with_null(void *arg) {
  *(int *)arg = async_to_thread(NULL, NULL);
  return 0;
}

static void test_to_thread_with_a_null_function_is_einval(void **state) {
  (void)state;
  int rc = 0;
  assert_int_equal(harness_run(call_with_null, &rc), 0);
  assert_int_equal(rc, UV_EINVAL);
}

static void test_to_thread_outside_a_task_is_eperm(void **state) {
  (void)state;
  atomic_store(&victim_ran, false);
  assert_int_equal(async_to_thread(note_victim_ran, NULL), UV_EPERM);
  assert_false(atomic_load(&victim_ran));
}

ASYNC_TEST_MAIN(
    /* First: it needs a process whose pool has not started. */
    cmocka_unit_test(test_pool_size_sets_how_many_threads_the_pool_starts),
    cmocka_unit_test(test_pool_size_after_the_pool_started_is_ebusy),
    cmocka_unit_test(test_pool_size_outside_1_to_1024_is_einval),
    cmocka_unit_test(
        test_to_thread_returns_the_function_result_from_a_pool_thread),
    cmocka_unit_test(test_to_thread_passes_a_negative_result_back_as_the_error),
    cmocka_unit_test(test_many_concurrent_to_thread_calls_all_complete),
    cmocka_unit_test(test_to_thread_calls_run_in_parallel_on_the_pool),
    cmocka_unit_test(test_other_tasks_run_while_a_function_is_on_the_pool),
    cmocka_unit_test(
        test_to_thread_cancelled_before_its_function_started_never_runs_it),
    cmocka_unit_test(
        test_to_thread_cancelled_after_start_waits_for_the_function),
    cmocka_unit_test(
        test_to_thread_in_a_cancelled_task_is_ecanceled_and_never_runs),
    cmocka_unit_test(test_to_thread_with_a_null_function_is_einval),
    cmocka_unit_test(test_to_thread_outside_a_task_is_eperm))
