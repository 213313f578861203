/* test_run.c: async_run, asyncio.run's counterpart: main's result, a fresh
 * loop per run, and the clean-up of whatever main leaves behind (tasks,
 * failures, handles, deadlocks), with what it reports.
 */
#include "harness.h"
#include "tools.h"

#include <stdlib.h>

/* Runs main_fn with async_run() while capturing stderr; returns what was
 * printed (free it) and stores main's result. */
static char *run_capturing(async_fn main_fn, void *arg, int *result) {
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  *result = harness_run_untidy(main_fn, arg);
  return stderr_capture_end(&capture);
}

static async_run_stats_t last_stats(void) {
  async_run_stats_t stats;
  memset(&stats, 0xff, sizeof stats);
  async_run_stats(&stats);
  return stats;
}

static int return_arg(void *arg) {
  return (int)(intptr_t)arg;
}

static int set_flag(void *arg) {
  *(bool *)arg = true;
  return 0;
}

/* ---- What async_run returns ---- */

static void test_async_run_returns_the_result_of_main(void **state) {
  (void)state;
  assert_int_equal(harness_run(return_arg, (void *)42), 42);
  assert_int_equal(harness_run(return_arg, (void *)0), 0);
  /* main's error is returned to the caller, so it counts as retrieved:
   * harness_run would fail on an unretrieved failure. */
  assert_int_equal(harness_run(return_arg, (void *)(intptr_t)UV_EIO), UV_EIO);
  assert_int_equal(last_stats().failures_unretrieved, 0);
}

typedef struct two_runs {
  int pass;
  async_callback_t callback;
  int callback_calls;
} two_runs_t;

static void count_call(void *arg) {
  ((two_runs_t *)arg)->callback_calls++;
}

static int run_twice_main(void *arg) {
  two_runs_t *runs = arg;
  assert_non_null(async_loop());
  assert_int_equal(async_task_id(async_current_task()), 1);
  assert_int_equal(async_all_tasks(NULL, 0), 1); /* main alone */
  if (runs->pass == 1) {
    async_task_t *tasks[3];
    for (size_t i = 0; i < 3; i++) {
      tasks[i] = async_spawn(NULL, return_arg, NULL);
      assert_non_null(tasks[i]);
    }
    for (size_t i = 0; i < 3; i++) {
      assert_int_equal(async_task_join(tasks[i]), 0);
      async_task_release(tasks[i]);
    }
    /* Still pending when this run ends: it must die with the run. */
    assert_int_equal(async_call_later(&runs->callback, 0.005, count_call, runs),
                     0);
  } else {
    assert_int_equal(async_sleep(0.02), 0);
    async_task_t *task = async_spawn(NULL, return_arg, NULL);
    assert_non_null(task);
    assert_int_equal(async_task_id(task), 2); /* ids start again */
    assert_string_equal(async_task_name(task), "task-2");
    assert_int_equal(async_task_join(task), 0);
    async_task_release(task);
  }
  return runs->pass;
}

static void test_async_run_runs_main_on_a_fresh_loop_each_time(void **state) {
  (void)state;
  two_runs_t runs = {.pass = 1};
  assert_int_equal(harness_run(run_twice_main, &runs), 1);
  assert_int_equal(last_stats().tasks_spawned, 4);
  assert_null(async_loop());
  assert_null(async_current_task());

  runs.pass = 2;
  assert_int_equal(harness_run(run_twice_main, &runs), 2);
  assert_int_equal(last_stats().tasks_spawned, 2);
  assert_int_equal(runs.callback_calls, 0);
}

/* ---- Tasks left running when main returns ---- */

typedef struct leftover {
  bool sleeping;
  int sleep_result;
  int yield_result;
  bool cleaned_up;
  bool never_started_ran;
} leftover_t;

static int sleep_then_clean_up(void *arg) {
  leftover_t *leftover = arg;
  leftover->sleeping = true;
  leftover->sleep_result = async_sleep(60);
  /* Clean-up code runs; blocking calls keep failing fast. */
  leftover->yield_result = async_yield();
  leftover->cleaned_up = true;
  return leftover->sleep_result;
}

static int never_started(void *arg) {
  leftover_t *leftover = arg;
  leftover->never_started_ran = true;
  return 0;
}

static int leave_tasks_behind(void *arg) {
  leftover_t *leftover = arg;
  async_task_t *sleeper = async_spawn("sleeper", sleep_then_clean_up, leftover);
  assert_non_null(sleeper);
  for (int i = 0; i < 10 && !leftover->sleeping; i++)
    assert_int_equal(async_yield(), 0);
  assert_true(leftover->sleeping);
  async_task_release(sleeper); /* the handle goes; the task runs on */
  /* Spawned and not even started: cancelled before it ever runs. */
  assert_non_null(async_spawn("late", never_started, leftover));
  return 17;
}

static void test_tasks_left_running_are_cancelled_and_waited_for(void **state) {
  (void)state;
  leftover_t leftover = {0};
  uint64_t start = uv_hrtime();
  assert_int_equal(harness_run_untidy(leave_tasks_behind, &leftover), 17);
  /* Not by waiting out the minute. */
  assert_true(uv_hrtime() - start < 10ull * 1000 * 1000 * 1000);
  assert_int_equal(leftover.sleep_result, UV_ECANCELED);
  assert_int_equal(leftover.yield_result, UV_ECANCELED);
  assert_true(leftover.cleaned_up);
  assert_false(leftover.never_started_ran);
  async_run_stats_t stats = last_stats();
  assert_int_equal(stats.tasks_spawned, 3);
  assert_int_equal(stats.tasks_cancelled_at_exit, 2);
  /* Being cancelled is not a failure to report. */
  assert_int_equal(stats.failures_unretrieved, 0);
  assert_int_equal(stats.handles_left_open, 0);
}

/* ---- Misuse ---- */

static int nested_run(void *arg) {
  bool *inner_ran = arg;
  assert_int_equal(async_run(set_flag, inner_ran), UV_EBUSY);
  /* The outer run is unharmed. */
  assert_non_null(async_loop());
  assert_int_equal(async_task_id(async_current_task()), 1);
  async_task_t *task = async_spawn("after", return_arg, (void *)3);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 3);
  async_task_release(task);
  return 0;
}

static void test_async_run_from_inside_a_task_is_ebusy(void **state) {
  (void)state;
  bool inner_ran = false;
  assert_int_equal(harness_run(nested_run, &inner_ran), 0);
  assert_false(inner_ran);
}

static void test_async_run_without_main_is_einval(void **state) {
  (void)state;
  assert_int_equal(async_run(NULL, NULL), UV_EINVAL);
  /* And the thread can still run afterwards. */
  assert_int_equal(harness_run(return_arg, (void *)5), 5);
}

/* ---- Failures nobody looked at ---- */

static int fail_with(void *arg) {
  return (int)(intptr_t)arg;
}

static int lose_failures(void *arg) {
  char **release_report = arg;
  async_task_t *lost =
      async_spawn("lost-failure", fail_with, (void *)(intptr_t)UV_EIO);
  async_task_t *released =
      async_spawn("released-failure", fail_with, (void *)(intptr_t)UV_ENOENT);
  async_task_t *fine = async_spawn("fine", return_arg, NULL);
  assert_non_null(lost);
  assert_non_null(released);
  assert_non_null(fine);
  assert_int_equal(async_yield(), 0);
  assert_true(async_task_done(released));
  /* Reported when the last reference goes... */
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  async_task_release(released);
  *release_report = stderr_capture_end(&capture);
  /* ...or when the run ends, for `lost`, never released. `fine` did not
   * fail: nothing to say. */
  (void)fine;
  return 0;
}

static void test_a_failure_nobody_retrieved_is_reported_at_exit(void **state) {
  (void)state;
  char *release_report = NULL;
  int result;
  char *output = run_capturing(lose_failures, &release_report, &result);
  assert_int_equal(result, 0);
  assert_non_null(release_report);
  assert_contains(release_report, "task 'released-failure'");
  assert_contains(release_report, "ENOENT");
  assert_not_contains(release_report, "lost-failure");
  assert_contains(output, "task 'lost-failure'");
  assert_contains(output, "EIO");
  assert_not_contains(output, "'fine'");
  async_run_stats_t stats = last_stats();
  assert_int_equal(stats.failures_unretrieved, 2);
  assert_int_equal(stats.tasks_cancelled_at_exit, 0);
  free(release_report);
  free(output);
}

static int retrieve_failures(void *arg) {
  (void)arg;
  async_task_t *joined =
      async_spawn("joined-failure", fail_with, (void *)(intptr_t)UV_EIO);
  async_task_t *looked_at =
      async_spawn("looked-at-failure", fail_with, (void *)(intptr_t)UV_EPIPE);
  assert_non_null(joined);
  assert_non_null(looked_at);
  assert_int_equal(async_task_join(joined), UV_EIO);
  assert_int_equal(async_yield(), 0);
  assert_int_equal(async_task_result(looked_at), UV_EPIPE);
  async_task_release(joined);
  async_task_release(looked_at);
  return UV_EAGAIN; /* main's own failure goes back to the caller */
}

static void test_a_failure_that_was_retrieved_is_not_reported(void **state) {
  (void)state;
  int result;
  char *output = run_capturing(retrieve_failures, NULL, &result);
  assert_int_equal(result, UV_EAGAIN);
  assert_not_contains(output, "joined-failure");
  assert_not_contains(output, "looked-at-failure");
  assert_not_contains(output, "'main'");
  assert_int_equal(last_stats().failures_unretrieved, 0);
  free(output);
}

/* ---- Handles left open ---- */

typedef struct open_handles {
  uv_idle_t idle;
  uv_timer_t timer;
  uv_timer_t closed_timer;
  int idle_calls;
} open_handles_t;

static void on_idle(uv_idle_t *idle) {
  ((open_handles_t *)idle->data)->idle_calls++;
}

static int leave_handles_open(void *arg) {
  open_handles_t *handles = arg;
  uv_loop_t *loop = async_loop();
  assert_int_equal(uv_idle_init(loop, &handles->idle), 0);
  handles->idle.data = handles;
  assert_int_equal(uv_idle_start(&handles->idle, on_idle), 0);
  assert_int_equal(uv_timer_init(loop, &handles->timer), 0); /* inactive */
  /* Closed properly: not counted. */
  assert_int_equal(uv_timer_init(loop, &handles->closed_timer), 0);
  uv_close((uv_handle_t *)&handles->closed_timer, NULL);
  /* A task yielding in a loop still lets the loop poll (and run idlers). */
  for (int i = 0; i < 10000 && handles->idle_calls == 0; i++)
    assert_int_equal(async_yield(), 0);
  assert_true(handles->idle_calls > 0);
  return 0;
}

static void test_a_handle_left_open_is_closed_and_counted(void **state) {
  (void)state;
  open_handles_t handles;
  memset(&handles, 0, sizeof handles);
  int result;
  char *output = run_capturing(leave_handles_open, &handles, &result);
  assert_int_equal(result, 0);
  assert_true(uv_is_closing((uv_handle_t *)&handles.idle));
  assert_true(uv_is_closing((uv_handle_t *)&handles.timer));
  async_run_stats_t stats = last_stats();
  assert_int_equal(stats.handles_left_open, 2);
  assert_int_equal(stats.tasks_cancelled_at_exit, 0);
  assert_contains(output, "2 libuv handle(s)");
  free(output);
  /* The next run starts clean. */
  assert_int_equal(harness_run(return_arg, NULL), 0);
}

/* ---- Deadlock at quiescence ---- */

typedef struct deadlock {
  async_event_t never_set[2];
  int wait_result[2];
  int wait_line[2];
  int join_result[2];
  int join_line;
} deadlock_t;

static int wait_forever_0(void *arg) {
  deadlock_t *deadlock = arg;
  deadlock->wait_line[0] = __LINE__ + 1;
  deadlock->wait_result[0] = async_event_wait(&deadlock->never_set[0]);
  return deadlock->wait_result[0];
}

static int wait_forever_1(void *arg) {
  deadlock_t *deadlock = arg;
  deadlock->wait_line[1] = __LINE__ + 1;
  deadlock->wait_result[1] = async_event_wait(&deadlock->never_set[1]);
  return deadlock->wait_result[1];
}

static int deadlock_on_events(void *arg) {
  deadlock_t *deadlock = arg;
  async_event_init(&deadlock->never_set[0]);
  async_event_init(&deadlock->never_set[1]);
  async_task_t *tasks[2] = {async_spawn("waiter-a", wait_forever_0, deadlock),
                            async_spawn("waiter-b", wait_forever_1, deadlock)};
  assert_non_null(tasks[0]);
  assert_non_null(tasks[1]);
  deadlock->join_line = __LINE__ + 1;
  deadlock->join_result[0] = async_task_join(tasks[0]);
  deadlock->join_result[1] = async_task_join(tasks[1]);
  async_task_release(tasks[0]);
  async_task_release(tasks[1]);
  return deadlock->join_result[0];
}

static void
test_a_deadlock_at_quiescence_is_reported_and_its_waits_fail(void **state) {
  (void)state;
  deadlock_t deadlock;
  memset(&deadlock, 0, sizeof deadlock);
  uint64_t start = uv_hrtime();
  int result;
  char *output = run_capturing(deadlock_on_events, &deadlock, &result);
  /* async_run returned, and promptly: nothing was waited out. */
  assert_true(uv_hrtime() - start < 10ull * 1000 * 1000 * 1000);
  assert_int_equal(deadlock.wait_result[0], ASYNC_EDEADLK);
  assert_int_equal(deadlock.wait_result[1], ASYNC_EDEADLK);
  assert_int_equal(deadlock.join_result[0], ASYNC_EDEADLK);
  assert_int_equal(result, ASYNC_EDEADLK);

  assert_contains(output, "deadlock");
  char line[200];
  snprintf(line, sizeof line, "task 'waiter-a' waits for an event at %s:%d",
           __FILE__, deadlock.wait_line[0]);
  assert_contains(output, line);
  snprintf(line, sizeof line, "task 'waiter-b' waits for an event at %s:%d",
           __FILE__, deadlock.wait_line[1]);
  assert_contains(output, line);
  snprintf(line, sizeof line, "task 'main' waits for a task to finish at %s:%d",
           __FILE__, deadlock.join_line);
  assert_contains(output, line);

  /* The waits failed, the tasks unwound: nothing left to clean up, and
   * failing with the deadlock is not a failure nobody retrieved. */
  async_run_stats_t stats = last_stats();
  assert_int_equal(stats.tasks_cancelled_at_exit, 0);
  assert_int_equal(stats.failures_unretrieved, 0);
  assert_int_equal(stats.handles_left_open, 0);
  free(output);
}

typedef struct join_cycle {
  async_task_t *tasks[2];
  int join_line[2];
} join_cycle_t;

static int join_b(void *arg) {
  join_cycle_t *cycle = arg;
  assert_int_equal(async_yield(), 0); /* until both handles are known */
  cycle->join_line[0] = __LINE__ + 1;
  return async_task_join(cycle->tasks[1]);
}

static int join_a(void *arg) {
  join_cycle_t *cycle = arg;
  assert_int_equal(async_yield(), 0);
  cycle->join_line[1] = __LINE__ + 1;
  return async_task_join(cycle->tasks[0]);
}

static int join_in_a_cycle(void *arg) {
  join_cycle_t *cycle = arg;
  cycle->tasks[0] = async_spawn("a", join_b, cycle);
  cycle->tasks[1] = async_spawn("b", join_a, cycle);
  assert_non_null(cycle->tasks[0]);
  assert_non_null(cycle->tasks[1]);
  int result = async_task_join(cycle->tasks[0]);
  async_task_release(cycle->tasks[0]);
  async_task_release(cycle->tasks[1]);
  return result;
}

/* Fills local arrays through libc, as any task may: under ASan, a stack
 * left poisoned by an earlier task (or run) would be reported here. */
static int use_locals(void *arg) {
  (void)arg;
  char text[64];
  snprintf(text, sizeof text, "%s-%d", "local", 42);
  char copy[64];
  memcpy(copy, text, sizeof copy);
  return strcmp(copy, "local-42") == 0 ? 0 : UV_EIO;
}

static int use_locals_in_tasks(void *arg) {
  (void)arg;
  assert_int_equal(use_locals(NULL), 0);
  for (int i = 0; i < 4; i++) {
    async_task_t *task = async_spawn(NULL, use_locals, NULL);
    assert_non_null(task);
    assert_int_equal(async_task_join(task), 0);
    async_task_release(task);
  }
  return 0;
}

/* A joins B, B joins A: interrupting the joins cannot break the cycle (a
 * cancelled join still waits for the joined task), so async_run gives up on
 * them, says so, and returns ASYNC_EDEADLK rather than hang. */
static void test_a_join_cycle_is_reported_and_async_run_returns(void **state) {
  (void)state;
  join_cycle_t cycle;
  memset(&cycle, 0, sizeof cycle);
  int result;
  char *output = run_capturing(join_in_a_cycle, &cycle, &result);
  assert_int_equal(result, ASYNC_EDEADLK);
  assert_contains(output, "deadlock");
  /* Every report points at each task's own join, not at whichever call
   * some other task made last. */
  const char *names[2] = {"a", "b"};
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 2; j++) {
      char line[200];
      snprintf(line, sizeof line,
               "task '%s' waits for a task to finish at "
               "%s:%d",
               names[i], __FILE__, cycle.join_line[j]);
      if (i == j)
        assert_contains(output, line);
      else
        assert_not_contains(output, line);
    }
  }
  free(output);
  /* The abandoned tasks' stacks were given up cleanly: the next run works,
   * without a false ASan report on memory they had used. */
  assert_int_equal(harness_run(use_locals_in_tasks, NULL), 0);
}

/* ---- ASYNC_STACK_SIZE ---- */

static void test_an_invalid_async_stack_size_makes_async_run_fail_with_einval(
    void **state) {
  (void)state;
  static const char *const invalid[] = {
      "bogus",
      "8k",
      "16383",
      "512kb",
      "512 k",
      "k",
      "2048m",
      "-512k",
      "99999999999999999999999",
      "18014398509482000k", /* 2^64 + 16 KiB bytes: must not wrap */
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    bool ran = false;
    assert_int_equal(setenv("ASYNC_STACK_SIZE", invalid[i], 1), 0);
    int result = async_run(set_flag, &ran);
    unsetenv("ASYNC_STACK_SIZE");
    if (result != UV_EINVAL || ran)
      fail_msg("with ASYNC_STACK_SIZE=\"%s\", async_run returned %d (%s) and "
               "main %s; expected UV_EINVAL without running main",
               invalid[i], result, async_err_name(result),
               ran ? "ran" : "did not run");
  }
}

static int recurse_300k(void *arg) {
  (void)arg;
  const char *top = __builtin_frame_address(0);
  assert_true(use_stack(top, 300 * 1024) > 0);
  return 0;
}

static int recurse_300k_in_tasks(void *arg) {
  (void)arg;
  assert_int_equal(recurse_300k(NULL), 0); /* main's stack */
  async_task_t *task = async_spawn("deep", recurse_300k, NULL);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);
  return 0;
}

/* 300 KiB of frames would overflow the default 256 KiB stack. */
static void test_async_stack_size_512k_gives_every_task_512k(void **state) {
  (void)state;
  static const char *const sizes[] = {"512k", "512K", "524288", "1m", "1M"};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    assert_int_equal(setenv("ASYNC_STACK_SIZE", sizes[i], 1), 0);
    int result = harness_run(recurse_300k_in_tasks, NULL);
    unsetenv("ASYNC_STACK_SIZE");
    assert_int_equal(result, 0);
  }
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_async_run_returns_the_result_of_main),
    cmocka_unit_test(test_async_run_runs_main_on_a_fresh_loop_each_time),
    cmocka_unit_test(test_tasks_left_running_are_cancelled_and_waited_for),
    cmocka_unit_test(test_async_run_from_inside_a_task_is_ebusy),
    cmocka_unit_test(test_async_run_without_main_is_einval),
    cmocka_unit_test(test_a_failure_nobody_retrieved_is_reported_at_exit),
    cmocka_unit_test(test_a_failure_that_was_retrieved_is_not_reported),
    cmocka_unit_test(test_a_handle_left_open_is_closed_and_counted),
    cmocka_unit_test(
        test_a_deadlock_at_quiescence_is_reported_and_its_waits_fail),
    cmocka_unit_test(test_a_join_cycle_is_reported_and_async_run_returns),
    cmocka_unit_test(
        test_an_invalid_async_stack_size_makes_async_run_fail_with_einval),
    cmocka_unit_test(test_async_stack_size_512k_gives_every_task_512k))
