/* test_wait.c: async_wait and async_as_completed (asyncio.wait and
 * asyncio.as_completed).
 *
 * Tasks record what happened in structs the test function checks after the
 * run: a cmocka assertion must not fail on a task's stack. Tasks are ordered
 * with yields (the ready queue is FIFO); the only timed test gives each
 * deadline 100 ms of margin.
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

static int sleep_until_cancelled(void *arg) {
  (void)arg;
  return async_sleep(ASYNC_FOREVER);
}

typedef struct nap {
  double seconds;
  int result;
} nap_t;

static int nap_then_return(void *arg) {
  nap_t *nap = arg;
  int rc = async_sleep(nap->seconds);
  return rc != 0 ? rc : nap->result;
}

static int await_future(void *arg) {
  return async_future_await((async_future_t *)arg);
}

static void spawn_plans(async_task_t **tasks, plan_t *plans, size_t count) {
  for (size_t i = 0; i < count; i++)
    tasks[i] = async_spawn("plan", run_plan, &plans[i]);
}

/* Joins (so looks at) and releases every task. */
static void join_all(async_task_t **tasks, size_t count) {
  for (size_t i = 0; i < count; i++) {
    async_task_join(tasks[i]);
    async_task_release(tasks[i]);
  }
}

/* ---- wait ---- */

typedef struct partition {
  int rc;
  async_task_t *spawned[4];
  async_task_t *after[4];
} partition_t;

static int wait_first_completed(void *arg) {
  partition_t *t = arg;
  plan_t plans[3] = {{5, 1}, {0, 2}, {5, 3}};
  async_task_t *tasks[3];
  spawn_plans(tasks, plans, 3);
  memcpy(t->spawned, tasks, sizeof tasks);
  t->rc = async_wait(tasks, 3, ASYNC_FIRST_COMPLETED, ASYNC_FOREVER);
  memcpy(t->after, tasks, sizeof tasks);
  join_all(tasks, 3);
  return 0;
}

static void
test_wait_first_completed_partitions_done_and_pending(void **state) {
  (void)state;
  partition_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_first_completed, &t), 0);
  assert_int_equal(t.rc, 1);
  assert_ptr_equal(t.after[0], t.spawned[1]);
  assert_ptr_equal(t.after[1], t.spawned[0]);
  assert_ptr_equal(t.after[2], t.spawned[2]);
}

static int wait_with_two_done(void *arg) {
  partition_t *t = arg;
  plan_t plans[2] = {{0, 1}, {0, 2}};
  async_task_t *tasks[4];
  tasks[0] = async_spawn("pending", sleep_until_cancelled, NULL);
  tasks[1] = async_spawn("done", run_plan, &plans[0]);
  tasks[2] = async_spawn("pending", sleep_until_cancelled, NULL);
  tasks[3] = async_spawn("done", run_plan, &plans[1]);
  memcpy(t->spawned, tasks, sizeof tasks);
  while (!async_task_done(tasks[1]) || !async_task_done(tasks[3]))
    async_yield();
  t->rc = async_wait(tasks, 4, ASYNC_FIRST_COMPLETED, ASYNC_FOREVER);
  memcpy(t->after, tasks, sizeof tasks);
  async_task_cancel(t->spawned[0]);
  async_task_cancel(t->spawned[2]);
  join_all(tasks, 4);
  return 0;
}

static void test_wait_partition_keeps_each_part_in_order(void **state) {
  (void)state;
  partition_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_with_two_done, &t), 0);
  assert_int_equal(t.rc, 2);
  assert_ptr_equal(t.after[0], t.spawned[1]);
  assert_ptr_equal(t.after[1], t.spawned[3]);
  assert_ptr_equal(t.after[2], t.spawned[0]);
  assert_ptr_equal(t.after[3], t.spawned[2]);
}

static int wait_first_exception(void *arg) {
  partition_t *t = arg;
  plan_t plans[2] = {{0, 1}, {2, UV_EIO}};
  async_task_t *tasks[3];
  spawn_plans(tasks, plans, 2);
  tasks[2] = async_spawn("sleeper", sleep_until_cancelled, NULL);
  memcpy(t->spawned, tasks, sizeof tasks);
  t->rc = async_wait(tasks, 3, ASYNC_FIRST_EXCEPTION, ASYNC_FOREVER);
  memcpy(t->after, tasks, sizeof tasks);
  async_task_cancel(t->spawned[2]);
  join_all(tasks, 3);
  return 0;
}

static void test_wait_first_exception(void **state) {
  (void)state;
  partition_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_first_exception, &t), 0);
  /* The failure ended the wait although a task still sleeps. */
  assert_int_equal(t.rc, 2);
  assert_ptr_equal(t.after[0], t.spawned[0]);
  assert_ptr_equal(t.after[1], t.spawned[1]);
  assert_ptr_equal(t.after[2], t.spawned[2]);
}

typedef struct counted {
  plan_t plans[2];
  async_return_when_t when;
  int rc;
} counted_t;

static int wait_counted(void *arg) {
  counted_t *t = arg;
  async_task_t *tasks[2];
  spawn_plans(tasks, t->plans, 2);
  t->rc = async_wait(tasks, 2, t->when, ASYNC_FOREVER);
  join_all(tasks, 2);
  return 0;
}

static void
test_wait_first_exception_without_failure_waits_for_all(void **state) {
  (void)state;
  counted_t t = {{{1, 1}, {3, 2}}, ASYNC_FIRST_EXCEPTION, -1};
  assert_int_equal(harness_run(wait_counted, &t), 0);
  assert_int_equal(t.rc, 2);
}

static void test_wait_all_completed_waits_for_every_task(void **state) {
  (void)state;
  counted_t t = {{{3, 1}, {1, UV_EIO}}, ASYNC_ALL_COMPLETED, -1};
  assert_int_equal(harness_run(wait_counted, &t), 0);
  assert_int_equal(t.rc, 2);
}

typedef struct timed_out {
  int rc;
  async_task_t *spawned[2];
  async_task_t *after[2];
  bool sleeper_done_after;
} timed_out_t;

static int wait_with_timeout(void *arg) {
  timed_out_t *t = arg;
  plan_t quick = {0, 5};
  async_task_t *tasks[2];
  tasks[0] = async_spawn("sleeper", sleep_until_cancelled, NULL);
  tasks[1] = async_spawn("quick", run_plan, &quick);
  memcpy(t->spawned, tasks, sizeof tasks);
  t->rc = async_wait(tasks, 2, ASYNC_ALL_COMPLETED, 0.02);
  memcpy(t->after, tasks, sizeof tasks);
  t->sleeper_done_after = async_task_done(t->spawned[0]);
  async_task_cancel(t->spawned[0]);
  join_all(tasks, 2);
  return 0;
}

static void test_wait_timeout_is_not_an_error(void **state) {
  (void)state;
  timed_out_t t = {.rc = -1};
  assert_int_equal(harness_run(wait_with_timeout, &t), 0);
  assert_int_equal(t.rc, 1);
  assert_ptr_equal(t.after[0], t.spawned[1]);
  assert_ptr_equal(t.after[1], t.spawned[0]);
  /* The timeout does not cancel what is still pending. */
  assert_false(t.sleeper_done_after);
}

typedef struct left_running {
  async_future_t future;
  async_task_t *child;
  bool waiting;
  int rc;
  bool child_done_after;
  int child_result;
} left_running_t;

static int wait_for_the_child(void *arg) {
  left_running_t *t = arg;
  t->waiting = true;
  t->rc = async_wait(&t->child, 1, ASYNC_ALL_COMPLETED, ASYNC_FOREVER);
  return 0;
}

static int cancel_the_waiter(void *arg) {
  left_running_t *t = arg;
  async_future_init(&t->future);
  t->child = async_spawn("child", await_future, &t->future);
  async_task_t *waiter = async_spawn("waiter", wait_for_the_child, t);
  while (!t->waiting) async_yield();
  async_task_cancel(waiter);
  async_task_join(waiter);
  async_task_release(waiter);
  t->child_done_after = async_task_done(t->child);
  async_future_set_result(&t->future, 5);
  t->child_result = async_task_join(t->child);
  async_task_release(t->child);
  async_future_destroy(&t->future);
  return 0;
}

static void test_wait_cancelled_caller_leaves_tasks_running(void **state) {
  (void)state;
  left_running_t t = {.rc = -1};
  assert_int_equal(harness_run(cancel_the_waiter, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_false(t.child_done_after);
  assert_int_equal(t.child_result, 5);
}

typedef struct bad_wait {
  int negative, not_a_number, bad_when, null_array, null_task, itself;
  int no_tasks;
} bad_wait_t;

static int wait_badly(void *arg) {
  bad_wait_t *t = arg;
  plan_t plan = {0, 1};
  async_task_t *task = async_spawn("plan", run_plan, &plan);
  async_task_t *with_null[2] = {task, NULL};
  async_task_t *self = async_current_task();
  t->negative = async_wait(&task, 1, ASYNC_ALL_COMPLETED, -1.0);
  t->not_a_number = async_wait(&task, 1, ASYNC_ALL_COMPLETED, NAN);
  t->bad_when = async_wait(&task, 1, (async_return_when_t)7, ASYNC_FOREVER);
  t->null_array = async_wait(NULL, 1, ASYNC_ALL_COMPLETED, ASYNC_FOREVER);
  t->null_task = async_wait(with_null, 2, ASYNC_ALL_COMPLETED, 1.0);
  t->itself = async_wait(&self, 1, ASYNC_FIRST_COMPLETED, 1.0);
  t->no_tasks = async_wait(NULL, 0, ASYNC_ALL_COMPLETED, ASYNC_FOREVER);
  join_all(&task, 1);
  return 0;
}

static void test_wait_rejects_bad_arguments(void **state) {
  (void)state;
  bad_wait_t t = {0, 0, 0, 0, 0, 0, -1};
  assert_int_equal(harness_run(wait_badly, &t), 0);
  assert_int_equal(t.negative, UV_EINVAL);
  assert_int_equal(t.not_a_number, UV_EINVAL);
  assert_int_equal(t.bad_when, UV_EINVAL);
  assert_int_equal(t.null_array, UV_EINVAL);
  assert_int_equal(t.null_task, UV_EINVAL);
  assert_int_equal(t.itself, ASYNC_EDEADLK);
  assert_int_equal(t.no_tasks, 0);
}

static void test_wait_outside_a_task_is_eperm(void **state) {
  (void)state;
  assert_int_equal(async_wait(NULL, 0, ASYNC_ALL_COMPLETED, 1.0), UV_EPERM);
}

/* ---- as_completed ---- */

typedef struct handed_back {
  async_task_t *spawned[3];
  async_task_t *order[3];
  int rcs[3];
  int end;
} handed_back_t;

/* Hands back every task of `tasks`, recording the order, then the code
 * that ends the iteration. */
static void take_all(handed_back_t *t, async_task_t **tasks, size_t count) {
  async_as_completed_t it;
  async_as_completed_init(&it, tasks, count, ASYNC_FOREVER);
  for (size_t i = 0; i < count; i++)
    t->rcs[i] = async_as_completed_next(&it, &t->order[i]);
  async_task_t *none = NULL;
  t->end = async_as_completed_next(&it, &none);
}

static int as_completed_in_finish_order(void *arg) {
  handed_back_t *t = arg;
  plan_t plans[3] = {{3, 1}, {1, 2}, {2, 3}};
  async_task_t *tasks[3];
  spawn_plans(tasks, plans, 3);
  memcpy(t->spawned, tasks, sizeof tasks);
  take_all(t, tasks, 3);
  join_all(t->spawned, 3);
  return 0;
}

static void test_as_completed_yields_in_finish_order(void **state) {
  (void)state;
  handed_back_t t = {.end = 0};
  assert_int_equal(harness_run(as_completed_in_finish_order, &t), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(t.rcs[i], 0);
  assert_ptr_equal(t.order[0], t.spawned[1]);
  assert_ptr_equal(t.order[1], t.spawned[2]);
  assert_ptr_equal(t.order[2], t.spawned[0]);
  assert_int_equal(t.end, UV_EOF);
}

static int as_completed_after_some_finished(void *arg) {
  handed_back_t *t = arg;
  plan_t plans[3] = {{2, 1}, {0, 2}, {6, 3}};
  async_task_t *tasks[3];
  spawn_plans(tasks, plans, 3);
  memcpy(t->spawned, tasks, sizeof tasks);
  while (!async_task_done(tasks[0]) || !async_task_done(tasks[1]))
    async_yield();
  take_all(t, tasks, 3);
  join_all(t->spawned, 3);
  return 0;
}

static void
test_as_completed_includes_tasks_finished_before_it_started(void **state) {
  (void)state;
  handed_back_t t = {.end = 0};
  assert_int_equal(harness_run(as_completed_after_some_finished, &t), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(t.rcs[i], 0);
  /* Finished before the iteration: in their finish order, then the rest. */
  assert_ptr_equal(t.order[0], t.spawned[1]);
  assert_ptr_equal(t.order[1], t.spawned[0]);
  assert_ptr_equal(t.order[2], t.spawned[2]);
  assert_int_equal(t.end, UV_EOF);
}

typedef struct expiring {
  int first, second;
  bool first_is_quick;
  bool slow_done_at_expiry;
  int slow_result;
} expiring_t;

static int as_completed_with_timeout(void *arg) {
  expiring_t *t = arg;
  /* The deadline (0.4 s) falls between the two finishes, and before the
   * slow task's finish even counted from the first hand-back (0.2 + 0.4):
   * a timeout restarted at every next() would not expire. */
  nap_t quick = {0.2, 1}, slow = {0.5, 2};
  async_task_t *tasks[2];
  tasks[0] = async_spawn("slow", nap_then_return, &slow);
  tasks[1] = async_spawn("quick", nap_then_return, &quick);
  async_task_t *quick_task = tasks[1], *slow_task = tasks[0];
  async_as_completed_t it;
  async_as_completed_init(&it, tasks, 2, 0.4);
  async_task_t *got = NULL;
  t->first = async_as_completed_next(&it, &got);
  t->first_is_quick = got == quick_task;
  t->second = async_as_completed_next(&it, &got);
  t->slow_done_at_expiry = async_task_done(slow_task);
  t->slow_result = async_task_join(slow_task);
  async_task_join(quick_task);
  async_task_release(slow_task);
  async_task_release(quick_task);
  return 0;
}

static void test_as_completed_timeout(void **state) {
  (void)state;
  expiring_t t = {.first = -1};
  assert_int_equal(harness_run(as_completed_with_timeout, &t), 0);
  assert_int_equal(t.first, 0);
  assert_true(t.first_is_quick);
  assert_int_equal(t.second, UV_ETIMEDOUT);
  /* The timeout only ends the iteration; the task runs on. */
  assert_false(t.slow_done_at_expiry);
  assert_int_equal(t.slow_result, 2);
}

typedef struct cancelled_iteration {
  async_future_t future;
  async_task_t *child;
  bool iterating;
  int rc;
  bool child_done_after;
  int child_result;
} cancelled_iteration_t;

static int iterate_over_the_child(void *arg) {
  cancelled_iteration_t *t = arg;
  async_as_completed_t it;
  async_as_completed_init(&it, &t->child, 1, ASYNC_FOREVER);
  async_task_t *got = NULL;
  t->iterating = true;
  t->rc = async_as_completed_next(&it, &got);
  return 0;
}

static int cancel_the_iterator(void *arg) {
  cancelled_iteration_t *t = arg;
  async_future_init(&t->future);
  t->child = async_spawn("child", await_future, &t->future);
  async_task_t *iterator = async_spawn("iterator", iterate_over_the_child, t);
  while (!t->iterating) async_yield();
  async_task_cancel(iterator);
  async_task_join(iterator);
  async_task_release(iterator);
  t->child_done_after = async_task_done(t->child);
  async_future_set_result(&t->future, 6);
  t->child_result = async_task_join(t->child);
  async_task_release(t->child);
  async_future_destroy(&t->future);
  return 0;
}

static void test_as_completed_cancelled_leaves_tasks_running(void **state) {
  (void)state;
  cancelled_iteration_t t = {.rc = -1};
  assert_int_equal(harness_run(cancel_the_iterator, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_false(t.child_done_after);
  assert_int_equal(t.child_result, 6);
}

typedef struct bad_iteration {
  int negative, not_a_number, null_it, null_tasks, null_out, empty_init;
  int empty_next;
} bad_iteration_t;

static int iterate_badly(void *arg) {
  bad_iteration_t *t = arg;
  plan_t plan = {0, 1};
  async_task_t *task = async_spawn("plan", run_plan, &plan);
  async_as_completed_t it;
  t->negative = async_as_completed_init(&it, &task, 1, -0.5);
  t->not_a_number = async_as_completed_init(&it, &task, 1, NAN);
  t->null_it = async_as_completed_init(NULL, &task, 1, 1.0);
  t->null_tasks = async_as_completed_init(&it, NULL, 1, 1.0);
  async_as_completed_init(&it, &task, 1, 1.0);
  t->null_out = async_as_completed_next(&it, NULL);
  t->empty_init = async_as_completed_init(&it, NULL, 0, 1.0);
  async_task_t *got = NULL;
  t->empty_next = async_as_completed_next(&it, &got);
  join_all(&task, 1);
  return 0;
}

static void test_as_completed_rejects_bad_arguments(void **state) {
  (void)state;
  bad_iteration_t t = {0, 0, 0, 0, 0, -1, 0};
  assert_int_equal(harness_run(iterate_badly, &t), 0);
  assert_int_equal(t.negative, UV_EINVAL);
  assert_int_equal(t.not_a_number, UV_EINVAL);
  assert_int_equal(t.null_it, UV_EINVAL);
  assert_int_equal(t.null_tasks, UV_EINVAL);
  assert_int_equal(t.null_out, UV_EINVAL);
  assert_int_equal(t.empty_init, 0);
  assert_int_equal(t.empty_next, UV_EOF);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_wait_first_completed_partitions_done_and_pending),
    cmocka_unit_test(test_wait_partition_keeps_each_part_in_order),
    cmocka_unit_test(test_wait_first_exception),
    cmocka_unit_test(test_wait_first_exception_without_failure_waits_for_all),
    cmocka_unit_test(test_wait_all_completed_waits_for_every_task),
    cmocka_unit_test(test_wait_timeout_is_not_an_error),
    cmocka_unit_test(test_wait_cancelled_caller_leaves_tasks_running),
    cmocka_unit_test(test_wait_rejects_bad_arguments),
    cmocka_unit_test(test_wait_outside_a_task_is_eperm),
    cmocka_unit_test(test_as_completed_yields_in_finish_order),
    cmocka_unit_test(
        test_as_completed_includes_tasks_finished_before_it_started),
    cmocka_unit_test(test_as_completed_timeout),
    cmocka_unit_test(test_as_completed_cancelled_leaves_tasks_running),
    cmocka_unit_test(test_as_completed_rejects_bad_arguments))
