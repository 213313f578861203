/* test_future.c: futures, the C spelling of asyncio.Future.
 *
 * Tasks record what happened in structs the test function checks after the
 * run: a cmocka assertion must not fail on a task's stack. Done callbacks run
 * from the loop when no task is ready, so a test that wants them to have run
 * parks its task briefly in a 1 ms sleep.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdlib.h>

/* A task that awaits a future and records what the await returned. */
typedef struct awaiter {
  async_future_t *future;
  bool started;
  int rc;
} awaiter_t;

static int await_and_record(void *arg) {
  awaiter_t *awaiter = arg;
  awaiter->started = true;
  awaiter->rc = async_future_await(awaiter->future);
  return 0;
}

/* Spawns awaiters, lets each reach its await, and hands back the tasks. */
static void start_awaiters(awaiter_t *awaiters, async_task_t **tasks,
                           size_t count, async_future_t *future) {
  for (size_t i = 0; i < count; i++) {
    awaiters[i] = (awaiter_t){.future = future, .rc = 1};
    tasks[i] = async_spawn("awaiter", await_and_record, &awaiters[i]);
  }
  for (size_t i = 0; i < count; i++)
    while (!awaiters[i].started) async_yield();
}

static void join_all(async_task_t **tasks, size_t count) {
  for (size_t i = 0; i < count; i++) {
    async_task_join(tasks[i]);
    async_task_release(tasks[i]);
  }
}

/* ---- Completing and awaiting ---- */

typedef struct completion {
  int how; /* 0: set_result(7), 1: set_error(UV_EIO), 2: cancel */
  awaiter_t awaiters[3];
  bool done_before, done_after, cancelled_after;
  int result_before, result_after;
} completion_t;

static int complete_while_awaited(void *arg) {
  completion_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  async_task_t *tasks[3];
  start_awaiters(t->awaiters, tasks, 3, &future);
  t->done_before = async_future_done(&future);
  t->result_before = async_future_result(&future);
  if (t->how == 0) async_future_set_result(&future, 7);
  if (t->how == 1) async_future_set_error(&future, UV_EIO);
  if (t->how == 2) async_future_cancel(&future);
  t->done_after = async_future_done(&future);
  t->cancelled_after = async_future_cancelled(&future);
  t->result_after = async_future_result(&future);
  join_all(tasks, 3);
  async_future_destroy(&future);
  return 0;
}

static void test_future_await_returns_the_result(void **state) {
  (void)state;
  completion_t t = {.how = 0};
  assert_int_equal(harness_run(complete_while_awaited, &t), 0);
  assert_int_equal(t.result_after, 7);
  assert_false(t.cancelled_after);
  /* Every awaiter is woken, not just the first. */
  for (int i = 0; i < 3; i++) assert_int_equal(t.awaiters[i].rc, 7);
}

static void test_future_await_returns_the_error(void **state) {
  (void)state;
  completion_t t = {.how = 1};
  assert_int_equal(harness_run(complete_while_awaited, &t), 0);
  assert_int_equal(t.result_after, UV_EIO);
  assert_false(t.cancelled_after);
  for (int i = 0; i < 3; i++) assert_int_equal(t.awaiters[i].rc, UV_EIO);
}

static void test_future_cancel_wakes_awaiters_with_ecanceled(void **state) {
  (void)state;
  completion_t t = {.how = 2};
  assert_int_equal(harness_run(complete_while_awaited, &t), 0);
  assert_true(t.cancelled_after);
  assert_int_equal(t.result_after, UV_ECANCELED);
  for (int i = 0; i < 3; i++) assert_int_equal(t.awaiters[i].rc, UV_ECANCELED);
}

static void test_future_result_is_eagain_while_pending(void **state) {
  (void)state;
  completion_t t = {.how = 0};
  assert_int_equal(harness_run(complete_while_awaited, &t), 0);
  assert_false(t.done_before);
  assert_int_equal(t.result_before, UV_EAGAIN);
  assert_true(t.done_after);
}

typedef struct already_done {
  int rc;
} already_done_t;

static int await_a_done_future(void *arg) {
  already_done_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  async_future_set_result(&future, 3);
  t->rc = async_future_await(&future);
  async_future_destroy(&future);
  return 0;
}

static void
test_future_await_of_a_done_future_returns_its_result(void **state) {
  (void)state;
  already_done_t t = {-1};
  assert_int_equal(harness_run(await_a_done_future, &t), 0);
  assert_int_equal(t.rc, 3);
}

typedef struct twice {
  int second_result, error_after, cancel_after, result;
} twice_t;

static int set_twice(void *arg) {
  twice_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  async_future_set_result(&future, 1);
  t->second_result = async_future_set_result(&future, 2);
  t->error_after = async_future_set_error(&future, UV_EIO);
  t->cancel_after = async_future_cancel(&future);
  t->result = async_future_result(&future);
  async_future_destroy(&future);
  return 0;
}

static void test_future_set_twice_is_eperm(void **state) {
  (void)state;
  twice_t t = {0, 0, true, 0};
  assert_int_equal(harness_run(set_twice, &t), 0);
  assert_int_equal(t.second_result, UV_EPERM);
  assert_int_equal(t.error_after, UV_EPERM);
  assert_false(t.cancel_after);
  /* The refused calls changed nothing. */
  assert_int_equal(t.result, 1);
}

typedef struct cancelled_awaiter {
  awaiter_t awaiter;
  bool cancelled;
  int set_after;
} cancelled_awaiter_t;

static int cancel_the_awaiter(void *arg) {
  cancelled_awaiter_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  async_task_t *task;
  start_awaiters(&t->awaiter, &task, 1, &future);
  async_task_cancel(task);
  async_task_join(task);
  async_task_release(task);
  t->cancelled = async_future_cancelled(&future);
  t->set_after = async_future_set_result(&future, 1);
  async_future_destroy(&future);
  return 0;
}

static void test_cancelling_awaiter_cancels_future(void **state) {
  (void)state;
  cancelled_awaiter_t t = {.set_after = 0};
  assert_int_equal(harness_run(cancel_the_awaiter, &t), 0);
  assert_int_equal(t.awaiter.rc, UV_ECANCELED);
  assert_true(t.cancelled);
  assert_int_equal(t.set_after, UV_EPERM);
}

/* ---- Done callbacks ---- */

typedef struct calls {
  async_future_t *expected_future;
  int count;
  int order[4];
  int seen_result;
  bool right_future;
} calls_t;

typedef struct callback_arg {
  calls_t *calls;
  int id;
} callback_arg_t;

static void record_call(async_future_t *future, void *arg) {
  callback_arg_t *a = arg;
  calls_t *calls = a->calls;
  if (calls->count < 4) calls->order[calls->count] = a->id;
  calls->count++;
  calls->right_future = future == calls->expected_future;
  calls->seen_result = async_future_result(future);
}

typedef struct soon {
  calls_t calls;
  bool add_after_done;
  int add_rc;
  int calls_right_after;
} soon_t;

static int complete_with_callbacks(void *arg) {
  soon_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  t->calls.expected_future = &future;
  callback_arg_t args[3] = {{&t->calls, 1}, {&t->calls, 2}, {&t->calls, 3}};
  if (t->add_after_done) async_future_set_result(&future, 9);
  for (int i = 0; i < 3; i++)
    t->add_rc |= async_future_add_done_callback(&future, record_call, &args[i]);
  if (!t->add_after_done) async_future_set_result(&future, 9);
  t->calls_right_after = t->calls.count;
  async_sleep(0.001); /* let the loop run the callbacks */
  async_future_destroy(&future);
  return 0;
}

static void test_future_done_callbacks_run_soon_not_inline(void **state) {
  (void)state;
  soon_t t = {.add_after_done = false};
  assert_int_equal(harness_run(complete_with_callbacks, &t), 0);
  assert_int_equal(t.add_rc, 0);
  assert_int_equal(t.calls_right_after, 0);
  assert_int_equal(t.calls.count, 3);
  assert_true(t.calls.right_future);
  assert_int_equal(t.calls.seen_result, 9);
}

static void test_future_callbacks_added_when_done_run_soon(void **state) {
  (void)state;
  soon_t t = {.add_after_done = true};
  assert_int_equal(harness_run(complete_with_callbacks, &t), 0);
  assert_int_equal(t.add_rc, 0);
  assert_int_equal(t.calls_right_after, 0);
  assert_int_equal(t.calls.count, 3);
  assert_int_equal(t.calls.seen_result, 9);
}

static void test_future_callbacks_run_in_the_order_added(void **state) {
  (void)state;
  soon_t t = {.add_after_done = false};
  assert_int_equal(harness_run(complete_with_callbacks, &t), 0);
  assert_int_equal(t.calls.count, 3);
  assert_int_equal(t.calls.order[0], 1);
  assert_int_equal(t.calls.order[1], 2);
  assert_int_equal(t.calls.order[2], 3);
}

typedef struct destroyed {
  calls_t calls;
} destroyed_t;

static int destroy_before_the_callbacks_run(void *arg) {
  destroyed_t *t = arg;
  callback_arg_t args[2] = {{&t->calls, 1}, {&t->calls, 2}};
  async_future_t done, pending;
  async_future_init(&done);
  async_future_init(&pending);
  async_future_add_done_callback(&done, record_call, &args[0]);
  async_future_add_done_callback(&pending, record_call, &args[1]);
  async_future_set_result(&done, 1); /* its callback is now scheduled */
  async_future_destroy(&done);
  async_future_destroy(&pending);
  async_sleep(0.001); /* the loop would have run it by now */
  return 0;
}

static void test_future_destroy_unschedules_pending_callbacks(void **state) {
  (void)state;
  destroyed_t t = {.calls = {.count = 0}};
  /* Valgrind and ASan runs also check that the nodes were freed, and not
   * touched after. */
  assert_int_equal(harness_run(destroy_before_the_callbacks_run, &t), 0);
  assert_int_equal(t.calls.count, 0);
}

typedef struct self_destroying {
  calls_t calls;
  int count;
} self_destroying_t;

static void destroy_the_future(async_future_t *future, void *arg) {
  self_destroying_t *t = arg;
  t->count++;
  async_future_destroy(future);
  free(future);
}

static int callback_destroys_its_future(void *arg) {
  self_destroying_t *t = arg;
  callback_arg_t after = {&t->calls, 1};
  async_future_t *future = malloc(sizeof *future);
  async_future_init(future);
  async_future_add_done_callback(future, destroy_the_future, t);
  async_future_add_done_callback(future, record_call, &after);
  async_future_set_result(future, 1);
  async_sleep(0.001);
  return 0;
}

static void test_future_callback_may_destroy_its_future(void **state) {
  (void)state;
  self_destroying_t t = {.count = 0};
  assert_int_equal(harness_run(callback_destroys_its_future, &t), 0);
  assert_int_equal(t.count, 1);
  /* Destroying the future unscheduled the callback after it. */
  assert_int_equal(t.calls.count, 0);
}

/* ---- Bad use ---- */

typedef struct bad_future {
  int negative_result, zero_error, positive_error, null_set, null_result;
  int null_await, null_callback, null_future_callback;
} bad_future_t;

static int use_futures_badly(void *arg) {
  bad_future_t *t = arg;
  async_future_t future;
  async_future_init(&future);
  t->negative_result = async_future_set_result(&future, -1);
  t->zero_error = async_future_set_error(&future, 0);
  t->positive_error = async_future_set_error(&future, 5);
  t->null_set = async_future_set_result(NULL, 1);
  t->null_result = async_future_result(NULL);
  t->null_await = async_future_await(NULL);
  t->null_callback = async_future_add_done_callback(&future, NULL, NULL);
  t->null_future_callback = async_future_add_done_callback(NULL, NULL, NULL);
  async_future_destroy(&future);
  return 0;
}

static void test_future_rejects_bad_arguments(void **state) {
  (void)state;
  bad_future_t t = {0};
  assert_int_equal(harness_run(use_futures_badly, &t), 0);
  assert_int_equal(t.negative_result, UV_EINVAL);
  assert_int_equal(t.zero_error, UV_EINVAL);
  assert_int_equal(t.positive_error, UV_EINVAL);
  assert_int_equal(t.null_set, UV_EINVAL);
  assert_int_equal(t.null_result, UV_EINVAL);
  assert_int_equal(t.null_await, UV_EINVAL);
  assert_int_equal(t.null_callback, UV_EINVAL);
  assert_int_equal(t.null_future_callback, UV_EINVAL);
  assert_false(async_future_cancel(NULL));
  assert_false(async_future_done(NULL));
  async_future_t future;
  async_future_init(&future);
  assert_int_equal(async_future_await(&future), UV_EPERM); /* no task */
  async_future_destroy(&future);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_future_await_returns_the_result),
    cmocka_unit_test(test_future_await_returns_the_error),
    cmocka_unit_test(test_future_cancel_wakes_awaiters_with_ecanceled),
    cmocka_unit_test(test_future_result_is_eagain_while_pending),
    cmocka_unit_test(test_future_await_of_a_done_future_returns_its_result),
    cmocka_unit_test(test_future_set_twice_is_eperm),
    cmocka_unit_test(test_cancelling_awaiter_cancels_future),
    cmocka_unit_test(test_future_done_callbacks_run_soon_not_inline),
    cmocka_unit_test(test_future_callbacks_added_when_done_run_soon),
    cmocka_unit_test(test_future_callbacks_run_in_the_order_added),
    cmocka_unit_test(test_future_destroy_unschedules_pending_callbacks),
    cmocka_unit_test(test_future_callback_may_destroy_its_future),
    cmocka_unit_test(test_future_rejects_bad_arguments))
