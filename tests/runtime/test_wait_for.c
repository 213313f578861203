/* test_wait_for.c: async_wait_for, timeout scopes and async_shield
 * (asyncio.wait_for, asyncio.timeout and asyncio.shield).
 *
 * Tasks record what happened in structs the test function checks after the
 * run: a cmocka assertion must not fail on a task's stack. Timeouts are
 * 10 ms against sleeps that only a cancellation ends, so no test depends on
 * how fast the machine is.
 */
#include "harness.h"

#include <math.h>
#include <stdbool.h>

/* A task that yields `yields` times, then returns `result`. */
typedef struct plan {
  int yields;
  int result;
} plan_t;

static int run_plan(void *arg) {
  plan_t *plan = arg;
  for (int i = 0; i < plan->yields; i++) {
    int rc = async_yield();
    if (rc != 0) return rc;
  }
  return plan->result;
}

/* A task that sleeps until interrupted, records what its sleep returned,
 * then returns `answer` (0: the sleep's code). */
typedef struct sleeper {
  bool started;
  int rc;
  int answer;
} sleeper_t;

static int sleep_until_interrupted(void *arg) {
  sleeper_t *sleeper = arg;
  sleeper->started = true;
  sleeper->rc = async_sleep(ASYNC_FOREVER);
  return sleeper->answer != 0 ? sleeper->answer : sleeper->rc;
}

static int await_future(void *arg) {
  return async_future_await((async_future_t *)arg);
}

/* ---- wait_for ---- */

typedef struct waited {
  sleeper_t sleeper;
  int rc;
  bool done_at_return;
  bool cancelled;
} waited_t;

static int wait_for_the_sleeper(void *arg) {
  waited_t *t = arg;
  async_task_t *task =
      async_spawn("sleeper", sleep_until_interrupted, &t->sleeper);
  t->rc = async_wait_for(task, 0.01);
  t->done_at_return = async_task_done(task);
  t->cancelled = async_task_cancelled(task);
  async_task_release(task);
  return 0;
}

typedef struct in_time {
  int rc;
} in_time_t;

static int wait_for_a_quick_task(void *arg) {
  in_time_t *t = arg;
  plan_t plan = {2, 9};
  async_task_t *task = async_spawn("quick", run_plan, &plan);
  t->rc = async_wait_for(task, 10.0);
  async_task_release(task);
  return 0;
}

static void test_wait_for_returns_the_result_in_time(void **state) {
  (void)state;
  in_time_t t = {-1};
  assert_int_equal(harness_run(wait_for_a_quick_task, &t), 0);
  assert_int_equal(t.rc, 9);
}

static void test_wait_for_times_out_and_cancels_the_task(void **state) {
  (void)state;
  waited_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_for_the_sleeper, &t), 0);
  assert_int_equal(t.rc, UV_ETIMEDOUT);
  /* Cancelled, and waited for before wait_for returned. */
  assert_true(t.done_at_return);
  assert_true(t.cancelled);
  assert_int_equal(t.sleeper.rc, UV_ECANCELED);
}

static void test_wait_for_keeps_a_result_that_wins_the_race(void **state) {
  (void)state;
  /* The task answers its cancellation with a value: that value is kept. */
  waited_t t = {.sleeper = {.answer = 42}, .rc = -1};
  assert_int_equal(harness_run(wait_for_the_sleeper, &t), 0);
  assert_int_equal(t.sleeper.rc, UV_ECANCELED);
  assert_int_equal(t.rc, 42);
}

static void
test_wait_for_returns_the_error_a_timed_out_task_ends_with(void **state) {
  (void)state;
  waited_t t = {.sleeper = {.answer = UV_EIO}, .rc = -1};
  assert_int_equal(harness_run(wait_for_the_sleeper, &t), 0);
  assert_int_equal(t.rc, UV_EIO);
}

typedef struct finished {
  int rc;
} finished_t;

static int wait_for_a_finished_task(void *arg) {
  finished_t *t = arg;
  plan_t plan = {0, UV_EPIPE};
  async_task_t *task = async_spawn("finished", run_plan, &plan);
  while (!async_task_done(task)) async_yield();
  /* Even a zero timeout: the result is there already. */
  t->rc = async_wait_for(task, 0);
  async_task_release(task);
  return 0;
}

static void test_wait_for_a_finished_task_returns_its_result(void **state) {
  (void)state;
  finished_t t = {-1};
  assert_int_equal(harness_run(wait_for_a_finished_task, &t), 0);
  assert_int_equal(t.rc, UV_EPIPE);
}

typedef struct cancelled_caller {
  sleeper_t sleeper;
  int rc;
  bool child_done_at_return;
} cancelled_caller_t;

static int wait_for_with_long_timeout(void *arg) {
  cancelled_caller_t *t = arg;
  async_task_t *child =
      async_spawn("child", sleep_until_interrupted, &t->sleeper);
  t->rc = async_wait_for(child, 10.0);
  t->child_done_at_return = async_task_done(child);
  async_task_release(child);
  return 0;
}

static int cancel_the_caller(void *arg) {
  cancelled_caller_t *t = arg;
  async_task_t *caller = async_spawn("caller", wait_for_with_long_timeout, t);
  while (!t->sleeper.started) async_yield();
  async_task_cancel(caller);
  async_task_join(caller);
  async_task_release(caller);
  return 0;
}

static void test_wait_for_cancelled_caller_cancels_the_task(void **state) {
  (void)state;
  cancelled_caller_t t = {.rc = -1};
  assert_int_equal(harness_run(cancel_the_caller, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_true(t.child_done_at_return);
  assert_int_equal(t.sleeper.rc, UV_ECANCELED);
}

static int wait_for_in_a_timeout_scope(void *arg) {
  cancelled_caller_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.01);
  wait_for_with_long_timeout(t);
  return async_timeout_exit(&scope);
}

static void
test_wait_for_interrupted_by_a_timeout_scope_cancels_the_task(void **state) {
  (void)state;
  cancelled_caller_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_for_in_a_timeout_scope, &t), UV_ETIMEDOUT);
  assert_int_equal(t.rc, UV_ETIMEDOUT);
  assert_true(t.child_done_at_return);
  assert_int_equal(t.sleeper.rc, UV_ECANCELED);
}

typedef struct bad_wait_for {
  int negative, not_a_number, null_task, itself;
} bad_wait_for_t;

static int wait_for_badly(void *arg) {
  bad_wait_for_t *t = arg;
  plan_t plan = {0, 1};
  async_task_t *task = async_spawn("plan", run_plan, &plan);
  t->negative = async_wait_for(task, -1.0);
  t->not_a_number = async_wait_for(task, NAN);
  t->null_task = async_wait_for(NULL, 1.0);
  t->itself = async_wait_for(async_current_task(), 1.0);
  async_task_join(task);
  async_task_release(task);
  return 0;
}

static void test_wait_for_rejects_bad_arguments(void **state) {
  (void)state;
  bad_wait_for_t t = {0, 0, 0, 0};
  assert_int_equal(harness_run(wait_for_badly, &t), 0);
  assert_int_equal(t.negative, UV_EINVAL);
  assert_int_equal(t.not_a_number, UV_EINVAL);
  assert_int_equal(t.null_task, UV_EINVAL);
  assert_int_equal(t.itself, ASYNC_EDEADLK);
  assert_int_equal(async_wait_for(NULL, 1.0), UV_EPERM); /* outside a task */
}

/* ---- Timeout scopes ---- */

typedef struct scoped {
  int sleep_rc, later_rc, exit_rc, after_exit_rc;
  bool expired_inside, expired_after;
} scoped_t;

static int sleep_in_a_short_scope(void *arg) {
  scoped_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.01);
  t->sleep_rc = async_sleep(10.0);
  t->later_rc = async_yield();
  t->expired_inside = async_timeout_expired(&scope);
  t->exit_rc = async_timeout_exit(&scope);
  t->expired_after = async_timeout_expired(&scope);
  t->after_exit_rc = async_sleep(0.001);
  return 0;
}

static void test_timeout_scope_interrupts_a_sleep(void **state) {
  (void)state;
  scoped_t t = {-1, -1, -1, -1, false, false};
  assert_int_equal(harness_run(sleep_in_a_short_scope, &t), 0);
  assert_int_equal(t.sleep_rc, UV_ETIMEDOUT);
  /* Every later blocking call in the scope is interrupted too. */
  assert_int_equal(t.later_rc, UV_ETIMEDOUT);
  assert_true(t.expired_inside);
  assert_int_equal(t.exit_rc, UV_ETIMEDOUT);
  assert_true(t.expired_after);
}

static void test_timeout_interrupt_stops_applying_after_exit(void **state) {
  (void)state;
  scoped_t t = {-1, -1, -1, -1, false, false};
  assert_int_equal(harness_run(sleep_in_a_short_scope, &t), 0);
  assert_int_equal(t.exit_rc, UV_ETIMEDOUT);
  assert_int_equal(t.after_exit_rc, 0);
}

typedef struct unexpired {
  int yield_rc, exit_rc, forever_exit_rc;
  bool expired;
} unexpired_t;

static int leave_scopes_in_time(void *arg) {
  unexpired_t *t = arg;
  async_timeout_t scope, forever;
  async_timeout_enter(&scope, 10.0);
  async_timeout_enter(&forever, ASYNC_FOREVER);
  t->yield_rc = async_sleep(0.001);
  t->forever_exit_rc = async_timeout_exit(&forever);
  t->exit_rc = async_timeout_exit(&scope);
  t->expired = async_timeout_expired(&scope);
  return 0;
}

static void test_timeout_scope_left_in_time_exits_with_zero(void **state) {
  (void)state;
  unexpired_t t = {-1, -1, -1, true};
  assert_int_equal(harness_run(leave_scopes_in_time, &t), 0);
  assert_int_equal(t.yield_rc, 0);
  assert_int_equal(t.forever_exit_rc, 0);
  assert_int_equal(t.exit_rc, 0);
  assert_false(t.expired);
}

static int sleep_in_a_zero_scope(void *arg) {
  scoped_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0);
  t->sleep_rc = async_sleep(10.0);
  t->exit_rc = async_timeout_exit(&scope);
  return 0;
}

static void
test_timeout_of_zero_interrupts_the_first_blocking_call(void **state) {
  (void)state;
  scoped_t t = {-1, -1, -1, -1, false, false};
  assert_int_equal(harness_run(sleep_in_a_zero_scope, &t), 0);
  assert_int_equal(t.sleep_rc, UV_ETIMEDOUT);
  assert_int_equal(t.exit_rc, UV_ETIMEDOUT);
}

typedef struct nested {
  double outer_seconds, inner_seconds;
  int sleep_rc, inner_exit_rc, between_rc, outer_exit_rc, after_rc;
} nested_t;

static int sleep_in_nested_scopes(void *arg) {
  nested_t *t = arg;
  async_timeout_t outer, inner;
  async_timeout_enter(&outer, t->outer_seconds);
  async_timeout_enter(&inner, t->inner_seconds);
  t->sleep_rc = async_sleep(10.0);
  t->inner_exit_rc = async_timeout_exit(&inner);
  t->between_rc = async_yield();
  t->outer_exit_rc = async_timeout_exit(&outer);
  t->after_rc = async_yield();
  return 0;
}

static void test_nested_timeout_outer_expires_first(void **state) {
  (void)state;
  nested_t t = {0.01, 10.0, -1, -1, -1, -1, -1};
  assert_int_equal(harness_run(sleep_in_nested_scopes, &t), 0);
  assert_int_equal(t.sleep_rc, UV_ETIMEDOUT);
  /* The inner scope's own deadline did not pass... */
  assert_int_equal(t.inner_exit_rc, 0);
  /* ...and the outer one still interrupts until it is left. */
  assert_int_equal(t.between_rc, UV_ETIMEDOUT);
  assert_int_equal(t.outer_exit_rc, UV_ETIMEDOUT);
  assert_int_equal(t.after_rc, 0);
}

static void test_nested_timeout_inner_expires_first(void **state) {
  (void)state;
  nested_t t = {10.0, 0.01, -1, -1, -1, -1, -1};
  assert_int_equal(harness_run(sleep_in_nested_scopes, &t), 0);
  assert_int_equal(t.sleep_rc, UV_ETIMEDOUT);
  assert_int_equal(t.inner_exit_rc, UV_ETIMEDOUT);
  /* Back in the outer scope, which has not expired: calls work again. */
  assert_int_equal(t.between_rc, 0);
  assert_int_equal(t.outer_exit_rc, 0);
  assert_int_equal(t.after_rc, 0);
}

typedef struct out_of_order {
  int outer_first, inner, outer, outer_again;
} out_of_order_t;

static int leave_out_of_order(void *arg) {
  out_of_order_t *t = arg;
  async_timeout_t outer, inner;
  async_timeout_enter(&outer, 10.0);
  async_timeout_enter(&inner, 10.0);
  t->outer_first = async_timeout_exit(&outer);
  t->inner = async_timeout_exit(&inner);
  t->outer = async_timeout_exit(&outer);
  t->outer_again = async_timeout_exit(&outer);
  return 0;
}

static void test_timeout_exit_out_of_order_is_einval(void **state) {
  (void)state;
  out_of_order_t t = {0, -1, -1, 0};
  assert_int_equal(harness_run(leave_out_of_order, &t), 0);
  assert_int_equal(t.outer_first, UV_EINVAL);
  /* The refused exit changed nothing: both scopes are left in order. */
  assert_int_equal(t.inner, 0);
  assert_int_equal(t.outer, 0);
  assert_int_equal(t.outer_again, UV_EINVAL);
}

typedef struct foreign_exit {
  async_timeout_t scope;
  int foreign_rc, own_rc;
} foreign_exit_t;

static int exit_someone_elses_scope(void *arg) {
  foreign_exit_t *t = arg;
  t->foreign_rc = async_timeout_exit(&t->scope);
  return 0;
}

static int enter_and_let_another_task_exit(void *arg) {
  foreign_exit_t *t = arg;
  async_timeout_enter(&t->scope, 10.0);
  async_task_t *other = async_spawn("other", exit_someone_elses_scope, t);
  async_task_join(other);
  async_task_release(other);
  t->own_rc = async_timeout_exit(&t->scope);
  return 0;
}

static void test_timeout_exit_from_another_task_is_einval(void **state) {
  (void)state;
  foreign_exit_t t = {.foreign_rc = 0, .own_rc = -1};
  assert_int_equal(harness_run(enter_and_let_another_task_exit, &t), 0);
  assert_int_equal(t.foreign_rc, UV_EINVAL);
  assert_int_equal(t.own_rc, 0);
}

typedef struct cancelled_in_scope {
  int sleep_rc, exit_rc;
  bool started;
} cancelled_in_scope_t;

static int sleep_in_a_long_scope(void *arg) {
  cancelled_in_scope_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 10.0);
  t->started = true;
  t->sleep_rc = async_sleep(ASYNC_FOREVER);
  t->exit_rc = async_timeout_exit(&scope);
  return 0;
}

static int cancel_the_scoped_task(void *arg) {
  cancelled_in_scope_t *t = arg;
  async_task_t *task = async_spawn("scoped", sleep_in_a_long_scope, t);
  while (!t->started) async_yield();
  async_task_cancel(task);
  async_task_join(task);
  async_task_release(task);
  return 0;
}

static void
test_cancellation_inside_a_timeout_scope_is_ecanceled(void **state) {
  (void)state;
  cancelled_in_scope_t t = {-1, -1, false};
  assert_int_equal(harness_run(cancel_the_scoped_task, &t), 0);
  assert_int_equal(t.sleep_rc, UV_ECANCELED);
  /* Cancelled, not timed out: the scope did not expire. */
  assert_int_equal(t.exit_rc, 0);
}

typedef struct bad_scope {
  int negative, not_a_number, null_enter, null_exit;
} bad_scope_t;

static int use_scopes_badly(void *arg) {
  bad_scope_t *t = arg;
  async_timeout_t scope;
  t->negative = async_timeout_enter(&scope, -0.001);
  t->not_a_number = async_timeout_enter(&scope, NAN);
  t->null_enter = async_timeout_enter(NULL, 1.0);
  t->null_exit = async_timeout_exit(NULL);
  return 0;
}

static void test_timeout_rejects_bad_arguments(void **state) {
  (void)state;
  bad_scope_t t = {0, 0, 0, 0};
  assert_int_equal(harness_run(use_scopes_badly, &t), 0);
  assert_int_equal(t.negative, UV_EINVAL);
  assert_int_equal(t.not_a_number, UV_EINVAL);
  assert_int_equal(t.null_enter, UV_EINVAL);
  assert_int_equal(t.null_exit, UV_EINVAL);
  async_timeout_t scope;
  assert_int_equal(async_timeout_enter(&scope, 1.0), UV_EPERM);
}

/* ---- shield ---- */

typedef struct shielded {
  async_future_t future;
  async_task_t *inner;
  bool shielding;
  int rc;
  bool inner_done_at_return;
  int inner_result;
} shielded_t;

static int shield_the_inner_task(void *arg) {
  shielded_t *t = arg;
  t->shielding = true;
  t->rc = async_shield(t->inner);
  t->inner_done_at_return = async_task_done(t->inner);
  return 0;
}

static int cancel_the_shielding_task(void *arg) {
  shielded_t *t = arg;
  async_future_init(&t->future);
  t->inner = async_spawn("inner", await_future, &t->future);
  async_task_t *outer = async_spawn("outer", shield_the_inner_task, t);
  while (!t->shielding) async_yield();
  async_task_cancel(outer);
  async_task_join(outer);
  async_task_release(outer);
  /* The outer task is gone; the inner one still waits, then completes. */
  async_future_set_result(&t->future, 8);
  t->inner_result = async_task_join(t->inner);
  async_task_release(t->inner);
  async_future_destroy(&t->future);
  return 0;
}

static void test_shield_does_not_cancel_inner_task(void **state) {
  (void)state;
  shielded_t t = {.rc = -1};
  assert_int_equal(harness_run(cancel_the_shielding_task, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_false(t.inner_done_at_return);
  assert_int_equal(t.inner_result, 8);
}

typedef struct shield_results {
  int value, error, null_task, itself;
} shield_results_t;

static int shield_some_tasks(void *arg) {
  shield_results_t *t = arg;
  plan_t value = {2, 3}, error = {0, UV_EIO};
  async_task_t *a = async_spawn("value", run_plan, &value);
  async_task_t *b = async_spawn("error", run_plan, &error);
  t->value = async_shield(a);
  t->error = async_shield(b);
  t->null_task = async_shield(NULL);
  t->itself = async_shield(async_current_task());
  async_task_release(a);
  async_task_release(b);
  return 0;
}

static void test_shield_returns_the_result(void **state) {
  (void)state;
  shield_results_t t = {-1, -1, 0, 0};
  /* The tidy run also proves the shield retrieved the failure. */
  assert_int_equal(harness_run(shield_some_tasks, &t), 0);
  assert_int_equal(t.value, 3);
  assert_int_equal(t.error, UV_EIO);
  assert_int_equal(t.null_task, UV_EINVAL);
  assert_int_equal(t.itself, ASYNC_EDEADLK);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_wait_for_returns_the_result_in_time),
    cmocka_unit_test(test_wait_for_times_out_and_cancels_the_task),
    cmocka_unit_test(test_wait_for_keeps_a_result_that_wins_the_race),
    cmocka_unit_test(
        test_wait_for_returns_the_error_a_timed_out_task_ends_with),
    cmocka_unit_test(test_wait_for_a_finished_task_returns_its_result),
    cmocka_unit_test(test_wait_for_cancelled_caller_cancels_the_task),
    cmocka_unit_test(
        test_wait_for_interrupted_by_a_timeout_scope_cancels_the_task),
    cmocka_unit_test(test_wait_for_rejects_bad_arguments),
    cmocka_unit_test(test_timeout_scope_interrupts_a_sleep),
    cmocka_unit_test(test_timeout_interrupt_stops_applying_after_exit),
    cmocka_unit_test(test_timeout_scope_left_in_time_exits_with_zero),
    cmocka_unit_test(test_timeout_of_zero_interrupts_the_first_blocking_call),
    cmocka_unit_test(test_nested_timeout_outer_expires_first),
    cmocka_unit_test(test_nested_timeout_inner_expires_first),
    cmocka_unit_test(test_timeout_exit_out_of_order_is_einval),
    cmocka_unit_test(test_timeout_exit_from_another_task_is_einval),
    cmocka_unit_test(test_cancellation_inside_a_timeout_scope_is_ecanceled),
    cmocka_unit_test(test_timeout_rejects_bad_arguments),
    cmocka_unit_test(test_shield_does_not_cancel_inner_task),
    cmocka_unit_test(test_shield_returns_the_result))
