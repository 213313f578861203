/* test_gather.c: async_gather, the C spelling of asyncio.gather.
 *
 * Tasks record what happened in structs the test function checks after the
 * run: a cmocka assertion must not fail on a task's stack. Tasks are ordered
 * with yields (the ready queue is FIFO), never with wall-clock races.
 */
#include "harness.h"

#include <stdbool.h>

/* A task that yields `yields` times, then returns `result`. */
typedef struct plan {
  int yields;
  int result;
  int finished_as; /* 1 for the first plan to finish, 2 for the next... */
} plan_t;

static int finished_so_far;

static int run_plan(void *arg) {
  plan_t *plan = arg;
  for (int i = 0; i < plan->yields; i++) {
    int rc = async_yield();
    if (rc != 0) return rc;
  }
  plan->finished_as = ++finished_so_far;
  return plan->result;
}

/* A task that sleeps until cancelled and says what its sleep returned. */
typedef struct sleeper {
  bool started;
  int rc;
} sleeper_t;

static int sleep_until_cancelled(void *arg) {
  sleeper_t *sleeper = arg;
  sleeper->started = true;
  sleeper->rc = async_sleep(ASYNC_FOREVER);
  return sleeper->rc;
}

static void spawn_plans(async_task_t **tasks, plan_t *plans, size_t count) {
  finished_so_far = 0;
  for (size_t i = 0; i < count; i++)
    tasks[i] = async_spawn("plan", run_plan, &plans[i]);
}

static void release_all(async_task_t **tasks, size_t count) {
  for (size_t i = 0; i < count; i++) async_task_release(tasks[i]);
}

/* ---- Results ---- */

typedef struct in_order {
  plan_t plans[3];
  int rc;
  int results[3];
} in_order_t;

static int gather_in_order(void *arg) {
  in_order_t *t = arg;
  async_task_t *tasks[3];
  spawn_plans(tasks, t->plans, 3);
  t->rc = async_gather(tasks, 3, t->results, 0);
  release_all(tasks, 3);
  return 0;
}

static void test_gather_returns_results_in_order(void **state) {
  (void)state;
  /* They finish in reverse order; the results still come in task order. */
  in_order_t t = {.plans = {{3, 10, 0}, {2, 20, 0}, {1, 30, 0}},
                  .results = {-1, -1, -1}};
  assert_int_equal(harness_run(gather_in_order, &t), 0);
  assert_int_equal(t.rc, 0);
  assert_int_equal(t.plans[2].finished_as, 1);
  assert_int_equal(t.plans[0].finished_as, 3);
  assert_int_equal(t.results[0], 10);
  assert_int_equal(t.results[1], 20);
  assert_int_equal(t.results[2], 30);
}

typedef struct null_results {
  plan_t plans[2];
  int rc;
} null_results_t;

static int gather_without_results(void *arg) {
  null_results_t *t = arg;
  async_task_t *tasks[2];
  spawn_plans(tasks, t->plans, 2);
  t->rc = async_gather(tasks, 2, NULL, 0);
  release_all(tasks, 2);
  return 0;
}

static void test_gather_accepts_null_results(void **state) {
  (void)state;
  null_results_t t = {.plans = {{1, 1, 0}, {0, 2, 0}}, .rc = -1};
  assert_int_equal(harness_run(gather_without_results, &t), 0);
  assert_int_equal(t.rc, 0);
  assert_int_not_equal(t.plans[0].finished_as, 0);
  assert_int_not_equal(t.plans[1].finished_as, 0);
}

/* ---- Errors ---- */

typedef struct first_error {
  plan_t plans[3];
  int rc;
  bool slow_failure_done_at_return;
  bool success_done_at_return;
  int slow_failure_join;
  int success_join;
} first_error_t;

static int gather_first_error(void *arg) {
  first_error_t *t = arg;
  async_task_t *tasks[3];
  spawn_plans(tasks, t->plans, 3);
  t->rc = async_gather(tasks, 3, NULL, 0);
  t->slow_failure_done_at_return = async_task_done(tasks[0]);
  t->success_done_at_return = async_task_done(tasks[2]);
  t->slow_failure_join = async_task_join(tasks[0]);
  t->success_join = async_task_join(tasks[2]);
  release_all(tasks, 3);
  return 0;
}

static void
test_gather_first_error_returns_at_once_and_others_keep_running(void **state) {
  (void)state;
  /* tasks[0] fails after tasks[1] does: "first" is in completion order. */
  first_error_t t = {.plans = {{3, UV_EPIPE, 0}, {1, UV_EIO, 0}, {5, 7, 0}}};
  assert_int_equal(harness_run(gather_first_error, &t), 0);
  assert_int_equal(t.rc, UV_EIO);
  assert_false(t.slow_failure_done_at_return);
  assert_false(t.success_done_at_return);
  /* The others ran on, uncancelled, to their own ends. */
  assert_int_equal(t.slow_failure_join, UV_EPIPE);
  assert_int_equal(t.success_join, 7);
}

typedef struct collect {
  plan_t plans[3];
  int rc;
  int results[4];
} collect_t;

static int gather_collecting(void *arg) {
  collect_t *t = arg;
  sleeper_t never_runs = {0};
  async_task_t *tasks[4];
  spawn_plans(tasks, t->plans, 2);
  tasks[2] = async_spawn("cancelled", sleep_until_cancelled, &never_runs);
  async_task_cancel(tasks[2]);
  tasks[3] = async_spawn("plan", run_plan, &t->plans[2]);
  t->rc = async_gather(tasks, 4, t->results, ASYNC_RETURN_ERRORS);
  release_all(tasks, 4);
  return 0;
}

static void test_gather_return_errors_collects_all(void **state) {
  (void)state;
  collect_t t = {.plans = {{1, 1, 0}, {0, UV_EIO, 0}, {2, 4, 0}},
                 .rc = -1,
                 .results = {-1, -1, -1, -1}};
  assert_int_equal(harness_run(gather_collecting, &t), 0);
  assert_int_equal(t.rc, 0);
  assert_int_equal(t.results[0], 1);
  assert_int_equal(t.results[1], UV_EIO);
  assert_int_equal(t.results[2], UV_ECANCELED);
  assert_int_equal(t.results[3], 4);
}

typedef struct cancelled_child {
  plan_t plan;
  int rc;
  int other_join;
} cancelled_child_t;

static int gather_with_a_cancelled_child(void *arg) {
  cancelled_child_t *t = arg;
  sleeper_t never_runs = {0};
  async_task_t *tasks[2];
  tasks[0] = async_spawn("cancelled", sleep_until_cancelled, &never_runs);
  async_task_cancel(tasks[0]);
  tasks[1] = async_spawn("plan", run_plan, &t->plan);
  t->rc = async_gather(tasks, 2, NULL, 0);
  t->other_join = async_task_join(tasks[1]);
  release_all(tasks, 2);
  return 0;
}

static void test_gather_counts_a_cancelled_child_as_a_failure(void **state) {
  (void)state;
  cancelled_child_t t = {.plan = {1, 5, 0}};
  assert_int_equal(harness_run(gather_with_a_cancelled_child, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_int_equal(t.other_join, 5);
}

typedef struct finished_first {
  plan_t plans[2];
  int rc;
  int later_failure;
} finished_first_t;

static int gather_finished_tasks(void *arg) {
  finished_first_t *t = arg;
  async_task_t *tasks[2];
  spawn_plans(tasks, t->plans, 2);
  while (!async_task_done(tasks[0]) || !async_task_done(tasks[1]))
    async_yield();
  t->rc = async_gather(tasks, 2, NULL, 0);
  t->later_failure = async_task_result(tasks[0]);
  release_all(tasks, 2);
  return 0;
}

static void
test_gather_of_finished_tasks_returns_the_earliest_failure(void **state) {
  (void)state;
  /* tasks[1] failed first, before the gather began. */
  finished_first_t t = {.plans = {{1, UV_EPIPE, 0}, {0, UV_EIO, 0}}};
  assert_int_equal(harness_run(gather_finished_tasks, &t), 0);
  assert_int_equal(t.plans[1].finished_as, 1);
  assert_int_equal(t.rc, UV_EIO);
  assert_int_equal(t.later_failure, UV_EPIPE);
}

/* ---- Cancellation ---- */

typedef struct cancelled_gather {
  sleeper_t children[2];
  int rc;
  bool children_done_at_return[2];
} cancelled_gather_t;

static int gather_sleepers(void *arg) {
  cancelled_gather_t *t = arg;
  async_task_t *tasks[2];
  tasks[0] = async_spawn("child", sleep_until_cancelled, &t->children[0]);
  tasks[1] = async_spawn("child", sleep_until_cancelled, &t->children[1]);
  t->rc = async_gather(tasks, 2, NULL, 0);
  t->children_done_at_return[0] = async_task_done(tasks[0]);
  t->children_done_at_return[1] = async_task_done(tasks[1]);
  release_all(tasks, 2);
  return t->rc;
}

static int cancel_the_gatherer(void *arg) {
  cancelled_gather_t *t = arg;
  async_task_t *gatherer = async_spawn("gatherer", gather_sleepers, t);
  while (!t->children[0].started || !t->children[1].started) async_yield();
  async_task_cancel(gatherer);
  async_task_join(gatherer);
  async_task_release(gatherer);
  return 0;
}

static void test_gather_cancelled_cancels_children(void **state) {
  (void)state;
  cancelled_gather_t t = {.rc = -1};
  assert_int_equal(harness_run(cancel_the_gatherer, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  /* The children were cancelled and waited for before gather returned. */
  assert_true(t.children_done_at_return[0]);
  assert_true(t.children_done_at_return[1]);
  assert_int_equal(t.children[0].rc, UV_ECANCELED);
  assert_int_equal(t.children[1].rc, UV_ECANCELED);
}

static int gather_in_a_timeout(void *arg) {
  cancelled_gather_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.01);
  t->rc = gather_sleepers(t);
  return async_timeout_exit(&scope);
}

static void test_gather_timeout_scope_cancels_children(void **state) {
  (void)state;
  cancelled_gather_t t = {.rc = -1};
  assert_int_equal(harness_run(gather_in_a_timeout, &t), UV_ETIMEDOUT);
  assert_int_equal(t.rc, UV_ETIMEDOUT);
  assert_true(t.children_done_at_return[0]);
  assert_true(t.children_done_at_return[1]);
  assert_int_equal(t.children[0].rc, UV_ECANCELED);
  assert_int_equal(t.children[1].rc, UV_ECANCELED);
}

/* ---- Bad use ---- */

typedef struct bad_use {
  int no_tasks, null_array, null_task, itself, bad_flags;
} bad_use_t;

static int gather_badly(void *arg) {
  bad_use_t *t = arg;
  plan_t plan = {0, 3, 0};
  async_task_t *task = async_spawn("plan", run_plan, &plan);
  async_task_t *with_null[2] = {task, NULL};
  async_task_t *with_self[2] = {task, async_current_task()};
  t->no_tasks = async_gather(NULL, 0, NULL, 0);
  t->null_array = async_gather(NULL, 2, NULL, 0);
  t->null_task = async_gather(with_null, 2, NULL, 0);
  t->itself = async_gather(with_self, 2, NULL, 0);
  t->bad_flags = async_gather(&task, 1, NULL, 4);
  async_task_join(task);
  async_task_release(task);
  return 0;
}

static void test_gather_rejects_bad_arguments(void **state) {
  (void)state;
  bad_use_t t = {-1, 0, 0, 0, 0};
  assert_int_equal(harness_run(gather_badly, &t), 0);
  assert_int_equal(t.no_tasks, 0);
  assert_int_equal(t.null_array, UV_EINVAL);
  assert_int_equal(t.null_task, UV_EINVAL);
  assert_int_equal(t.itself, ASYNC_EDEADLK);
  assert_int_equal(t.bad_flags, UV_EINVAL);
}

static void test_gather_outside_a_task_is_eperm(void **state) {
  (void)state;
  assert_int_equal(async_gather(NULL, 0, NULL, 0), UV_EPERM);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_gather_returns_results_in_order),
    cmocka_unit_test(test_gather_accepts_null_results),
    cmocka_unit_test(
        test_gather_first_error_returns_at_once_and_others_keep_running),
    cmocka_unit_test(test_gather_return_errors_collects_all),
    cmocka_unit_test(test_gather_counts_a_cancelled_child_as_a_failure),
    cmocka_unit_test(
        test_gather_of_finished_tasks_returns_the_earliest_failure),
    cmocka_unit_test(test_gather_cancelled_cancels_children),
    cmocka_unit_test(test_gather_timeout_scope_cancels_children),
    cmocka_unit_test(test_gather_rejects_bad_arguments),
    cmocka_unit_test(test_gather_outside_a_task_is_eperm))
