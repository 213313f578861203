/* test_group.c: task groups, the C spelling of asyncio.TaskGroup.
 *
 * Tasks record what happened in structs the test function checks after the
 * run: a cmocka assertion must not fail on a task's stack. Tasks are ordered
 * with yields (the ready queue is FIFO) and sleeps that only a cancellation
 * ends; the one timeout is 10 ms against such a sleep.
 */
#include "harness.h"

#include <stdbool.h>

/* A task that yields `yields` times, then returns `result`. */
typedef struct plan {
  int yields;
  int result;
  bool finished;
} plan_t;

static int run_plan(void *arg) {
  plan_t *plan = arg;
  for (int i = 0; i < plan->yields; i++) {
    int rc = async_yield();
    if (rc != 0) return rc;
  }
  plan->finished = true;
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

/* ---- Success ---- */

typedef struct all_good {
  plan_t plans[3];
  int rc;
  size_t error_count;
} all_good_t;

static int group_of_good_tasks(void *arg) {
  all_good_t *t = arg;
  async_group_t group;
  async_group_init(&group);
  for (int i = 0; i < 3; i++)
    async_group_spawn(&group, "plan", run_plan, &t->plans[i]);
  t->rc = async_group_wait(&group);
  t->error_count = async_group_errors(&group, NULL, 0);
  return 0;
}

static void test_group_waits_for_every_task(void **state) {
  (void)state;
  all_good_t t = {.plans = {{3, 1, false}, {1, 2, false}, {2, 3, false}},
                  .rc = -1,
                  .error_count = 99};
  /* The tidy run also proves the group gave back every task handle. */
  assert_int_equal(harness_run(group_of_good_tasks, &t), 0);
  assert_int_equal(t.rc, 0);
  for (int i = 0; i < 3; i++) assert_true(t.plans[i].finished);
  assert_int_equal(t.error_count, 0);
}

/* ---- Failures ---- */

typedef struct first_failure {
  plan_t failing;
  sleeper_t sibling;
  int body_sleep_rc, body_later_rc, late_spawn_was_null;
  int rc, after_wait_rc;
  size_t error_count;
  int errors[4];
} first_failure_t;

static int group_with_a_failure(void *arg) {
  first_failure_t *t = arg;
  async_group_t group;
  async_group_init(&group);
  async_group_spawn(&group, "failing", run_plan, &t->failing);
  async_group_spawn(&group, "sibling", sleep_until_interrupted, &t->sibling);
  /* The body: cancelled by the failure, and it stays so until the wait. */
  t->body_sleep_rc = async_sleep(10.0);
  t->body_later_rc = async_yield();
  plan_t never = {0, 0, false};
  t->late_spawn_was_null =
      async_group_spawn(&group, "late", run_plan, &never) == NULL;
  t->rc = async_group_wait(&group);
  t->after_wait_rc = async_yield();
  t->error_count = async_group_errors(&group, t->errors, 4);
  return 0;
}

static void test_group_first_failure_cancels_siblings_and_body(void **state) {
  (void)state;
  first_failure_t t = {.failing = {1, UV_EIO, false}, .rc = -1};
  assert_int_equal(harness_run(group_with_a_failure, &t), 0);
  assert_int_equal(t.rc, UV_EIO);
  assert_int_equal(t.sibling.rc, UV_ECANCELED);
  assert_int_equal(t.body_sleep_rc, UV_ECANCELED);
  assert_int_equal(t.body_later_rc, UV_ECANCELED);
  /* The sibling's cancellation was the group's doing: not a failure. */
  assert_int_equal(t.error_count, 1);
  assert_int_equal(t.errors[0], UV_EIO);
}

static void test_group_wait_absorbs_the_groups_own_cancellation(void **state) {
  (void)state;
  first_failure_t t = {.failing = {1, UV_EIO, false}, .rc = -1};
  assert_int_equal(harness_run(group_with_a_failure, &t), 0);
  assert_int_equal(t.body_later_rc, UV_ECANCELED);
  assert_int_equal(t.after_wait_rc, 0);
}

static void test_group_spawn_on_an_aborting_group_returns_null(void **state) {
  (void)state;
  first_failure_t t = {.failing = {1, UV_EIO, false}, .rc = -1};
  assert_int_equal(harness_run(group_with_a_failure, &t), 0);
  assert_true(t.late_spawn_was_null);
}

typedef struct every_failure {
  plan_t failing, succeeding;
  sleeper_t unwinds_badly, unwinds_cleanly;
  int rc;
  size_t count, count_with_small_buffer;
  int errors[4];
  int first_only[1];
} every_failure_t;

static int group_with_several_failures(void *arg) {
  every_failure_t *t = arg;
  async_group_t group;
  async_group_init(&group);
  async_group_spawn(&group, "succeeding", run_plan, &t->succeeding);
  async_group_spawn(&group, "failing", run_plan, &t->failing);
  async_group_spawn(&group, "unwinds badly", sleep_until_interrupted,
                    &t->unwinds_badly);
  async_group_spawn(&group, "unwinds cleanly", sleep_until_interrupted,
                    &t->unwinds_cleanly);
  t->rc = async_group_wait(&group);
  t->count = async_group_errors(&group, t->errors, 4);
  t->count_with_small_buffer = async_group_errors(&group, t->first_only, 1);
  return 0;
}

static void test_group_reports_every_failure(void **state) {
  (void)state;
  every_failure_t t = {.failing = {1, UV_EIO, false},
                       .succeeding = {0, 5, false},
                       .unwinds_badly = {.answer = UV_EPIPE},
                       .rc = -1,
                       .errors = {0, 0, 0, 0}};
  assert_int_equal(harness_run(group_with_several_failures, &t), 0);
  assert_int_equal(t.rc, UV_EIO);
  assert_true(t.succeeding.finished);
  /* In the order they happened; the clean unwinding is not a failure. */
  assert_int_equal(t.count, 2);
  assert_int_equal(t.errors[0], UV_EIO);
  assert_int_equal(t.errors[1], UV_EPIPE);
  assert_int_equal(t.errors[2], 0);
  assert_int_equal(t.count_with_small_buffer, 2);
  assert_int_equal(t.first_only[0], UV_EIO);
}

enum { MANY = 20 };

typedef struct many {
  plan_t failing;
  sleeper_t sleepers[MANY - 1];
  int rc;
  size_t count;
  int errors[MANY];
} many_t;

static int group_of_many_failures(void *arg) {
  many_t *t = arg;
  async_group_t group;
  async_group_init(&group);
  async_group_spawn(&group, "failing", run_plan, &t->failing);
  for (int i = 0; i < MANY - 1; i++)
    async_group_spawn(&group, "sleeper", sleep_until_interrupted,
                      &t->sleepers[i]);
  t->rc = async_group_wait(&group);
  t->count = async_group_errors(&group, t->errors, MANY);
  return 0;
}

static void test_group_records_failures_of_many_tasks_in_order(void **state) {
  (void)state;
  many_t t = {.failing = {1, UV_EIO, false}, .rc = -1};
  for (int i = 0; i < MANY - 1; i++) t.sleepers[i].answer = -(100 + i);
  assert_int_equal(harness_run(group_of_many_failures, &t), 0);
  assert_int_equal(t.rc, UV_EIO);
  assert_int_equal(t.count, MANY);
  assert_int_equal(t.errors[0], UV_EIO);
  for (int i = 0; i < MANY - 1; i++)
    assert_int_equal(t.errors[i + 1], -(100 + i));
}

/* ---- Cancellation from outside ---- */

typedef struct external {
  sleeper_t children[2];
  bool body_sleeps; /* cancel the owner in its body, not in its wait */
  int body_rc;
  int rc;
  size_t error_count;
  bool waiting;
} external_t;

static int owner_of_sleepers(void *arg) {
  external_t *t = arg;
  async_group_t group;
  async_group_init(&group);
  async_group_spawn(&group, "child", sleep_until_interrupted, &t->children[0]);
  async_group_spawn(&group, "child", sleep_until_interrupted, &t->children[1]);
  if (t->body_sleeps) t->body_rc = async_sleep(ASYNC_FOREVER);
  t->waiting = true;
  t->rc = async_group_wait(&group);
  t->error_count = async_group_errors(&group, NULL, 0);
  return 0;
}

static int cancel_the_owner(void *arg) {
  external_t *t = arg;
  async_task_t *owner = async_spawn("owner", owner_of_sleepers, t);
  while (!t->children[0].started || !t->children[1].started) async_yield();
  async_task_cancel(owner);
  async_task_join(owner);
  async_task_release(owner);
  return 0;
}

static void test_group_external_cancel_cancels_children(void **state) {
  (void)state;
  external_t t = {.body_sleeps = false, .rc = -1};
  assert_int_equal(harness_run(cancel_the_owner, &t), 0);
  assert_true(t.waiting);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_int_equal(t.children[0].rc, UV_ECANCELED);
  assert_int_equal(t.children[1].rc, UV_ECANCELED);
  assert_int_equal(t.error_count, 0);
}

static void
test_group_owner_cancelled_in_its_body_cancels_children(void **state) {
  (void)state;
  external_t t = {.body_sleeps = true, .rc = -1, .body_rc = -1};
  assert_int_equal(harness_run(cancel_the_owner, &t), 0);
  assert_int_equal(t.body_rc, UV_ECANCELED);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_int_equal(t.children[0].rc, UV_ECANCELED);
  assert_int_equal(t.children[1].rc, UV_ECANCELED);
  assert_int_equal(t.error_count, 0);
}

static int group_in_a_timeout(void *arg) {
  external_t *t = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.01);
  owner_of_sleepers(t);
  return async_timeout_exit(&scope);
}

static void test_group_in_an_expired_timeout_returns_etimedout(void **state) {
  (void)state;
  external_t t = {.rc = -1};
  assert_int_equal(harness_run(group_in_a_timeout, &t), UV_ETIMEDOUT);
  assert_int_equal(t.rc, UV_ETIMEDOUT);
  assert_int_equal(t.children[0].rc, UV_ECANCELED);
  assert_int_equal(t.children[1].rc, UV_ECANCELED);
  assert_int_equal(t.error_count, 0);
}

/* ---- Spawning while the owner waits ---- */

typedef struct late_sibling {
  async_group_t group;
  plan_t sibling;
  bool spawned;
  int rc;
  bool sibling_finished_at_return;
} late_sibling_t;

static int spawn_a_sibling(void *arg) {
  late_sibling_t *t = arg;
  /* By now the owner is in async_group_wait. */
  async_yield();
  t->spawned =
      async_group_spawn(&t->group, "sibling", run_plan, &t->sibling) != NULL;
  return 0;
}

static int group_that_grows_while_waiting(void *arg) {
  late_sibling_t *t = arg;
  async_group_init(&t->group);
  async_group_spawn(&t->group, "spawner", spawn_a_sibling, t);
  t->rc = async_group_wait(&t->group);
  t->sibling_finished_at_return = t->sibling.finished;
  return 0;
}

static void
test_group_tasks_may_spawn_siblings_while_the_owner_waits(void **state) {
  (void)state;
  late_sibling_t t = {.sibling = {3, 1, false}, .rc = -1};
  assert_int_equal(harness_run(group_that_grows_while_waiting, &t), 0);
  assert_true(t.spawned);
  assert_int_equal(t.rc, 0);
  assert_true(t.sibling_finished_at_return);
}

/* ---- Bad use ---- */

typedef struct bad_group {
  int null_init, out_of_order, in_order, wait_again, null_wait;
  bool null_spawn, null_fn, spawn_after_wait;
  int foreign_wait;
} bad_group_t;

static int plain_task(void *arg) {
  (void)arg;
  return 0;
}

typedef struct foreign {
  async_group_t *group;
  int rc;
} foreign_t;

static int wait_for_someone_elses_group(void *arg) {
  foreign_t *f = arg;
  f->rc = async_group_wait(f->group);
  return 0;
}

static int use_groups_badly(void *arg) {
  bad_group_t *t = arg;
  async_group_t group;
  t->null_init = async_group_init(NULL);
  async_group_init(&group);
  t->null_spawn = async_group_spawn(NULL, "x", plain_task, NULL) == NULL;
  t->null_fn = async_group_spawn(&group, "x", NULL, NULL) == NULL;
  async_group_spawn(&group, "plain", plain_task, NULL);

  foreign_t f = {&group, 0};
  async_task_t *other = async_spawn("other", wait_for_someone_elses_group, &f);
  async_task_join(other);
  async_task_release(other);
  t->foreign_wait = f.rc;

  /* A timeout entered after the group must be left before its wait. */
  async_timeout_t scope;
  async_timeout_enter(&scope, 10.0);
  t->out_of_order = async_group_wait(&group);
  async_timeout_exit(&scope);
  t->in_order = async_group_wait(&group);
  t->wait_again = async_group_wait(&group);
  t->spawn_after_wait =
      async_group_spawn(&group, "x", plain_task, NULL) == NULL;
  t->null_wait = async_group_wait(NULL);
  return 0;
}

static void test_group_rejects_bad_use(void **state) {
  (void)state;
  bad_group_t t = {0, 0, -1, 0, 0, false, false, false, 0};
  assert_int_equal(harness_run(use_groups_badly, &t), 0);
  assert_int_equal(t.null_init, UV_EINVAL);
  assert_true(t.null_spawn);
  assert_true(t.null_fn);
  assert_int_equal(t.foreign_wait, UV_EINVAL);
  assert_int_equal(t.out_of_order, UV_EINVAL);
  assert_int_equal(t.in_order, 0);
  assert_int_equal(t.wait_again, UV_EINVAL);
  assert_true(t.spawn_after_wait);
  assert_int_equal(t.null_wait, UV_EINVAL);
  async_group_t group;
  assert_int_equal(async_group_init(&group), UV_EPERM); /* outside a task */
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_group_waits_for_every_task),
    cmocka_unit_test(test_group_first_failure_cancels_siblings_and_body),
    cmocka_unit_test(test_group_wait_absorbs_the_groups_own_cancellation),
    cmocka_unit_test(test_group_spawn_on_an_aborting_group_returns_null),
    cmocka_unit_test(test_group_reports_every_failure),
    cmocka_unit_test(test_group_records_failures_of_many_tasks_in_order),
    cmocka_unit_test(test_group_external_cancel_cancels_children),
    cmocka_unit_test(test_group_owner_cancelled_in_its_body_cancels_children),
    cmocka_unit_test(test_group_in_an_expired_timeout_returns_etimedout),
    cmocka_unit_test(test_group_tasks_may_spawn_siblings_while_the_owner_waits),
    cmocka_unit_test(test_group_rejects_bad_use))
