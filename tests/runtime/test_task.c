/* test_task.c: tasks: spawn, names, join, cancel, result, handles, stacks.
 *
 * Each test runs its scenario as the main task of async_run() and checks
 * the outcome; order between tasks comes from yields and joins, never from
 * sleeping and hoping.
 */
#include "harness.h"
#include "tools.h"

#include <stdlib.h>

/* ---- Small tasks the tests share ---- */

static int return_arg(void *arg) {
  return (int)(intptr_t)arg;
}

static int set_flag(void *arg) {
  *(bool *)arg = true;
  return 0;
}

static int yield_then_return_7(void *arg) {
  (void)arg;
  assert_int_equal(async_yield(), 0);
  return 7;
}

/* Sleeps "forever" (a minute: a test that reaches it has failed anyway) and
 * returns what the sleep returned. */
typedef struct sleeper {
  bool sleeping;
  int sleep_result;
  bool finished;
} sleeper_t;

static int sleep_long(void *arg) {
  sleeper_t *sleeper = arg;
  sleeper->sleeping = true;
  sleeper->sleep_result = async_sleep(60);
  sleeper->finished = true;
  return sleeper->sleep_result;
}

/* Yields until `flag` is true; fails the test after many tries. */
static void yield_until(const bool *flag) {
  for (int i = 0; i < 1000 && !*flag; i++) assert_int_equal(async_yield(), 0);
  assert_true(*flag);
}

/* ---- Names ---- */

static int spawn_named_worker(void *arg) {
  (void)arg;
  char name[] = "worker";
  async_task_t *task = async_spawn(name, return_arg, NULL);
  assert_non_null(task);
  name[0] = 'X'; /* the runtime keeps its own copy */
  assert_string_equal(async_task_name(task), "worker");
  assert_int_equal(async_task_join(task), 0);
  assert_string_equal(async_task_name(task), "worker");
  async_task_release(task);
  return 0;
}

static void test_spawn_keeps_the_given_name(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_named_worker, NULL), 0);
}

static int spawn_unnamed(void *arg) {
  (void)arg;
  async_task_t *first = async_spawn(NULL, return_arg, NULL);
  async_task_t *second = async_spawn(NULL, return_arg, NULL);
  assert_non_null(first);
  assert_non_null(second);
  char expected[32];
  snprintf(expected, sizeof expected, "task-%llu",
           (unsigned long long)async_task_id(first));
  assert_string_equal(async_task_name(first), expected);
  snprintf(expected, sizeof expected, "task-%llu",
           (unsigned long long)async_task_id(second));
  assert_string_equal(async_task_name(second), expected);
  assert_string_equal(async_task_name(first), "task-2");
  assert_string_equal(async_task_name(second), "task-3");
  assert_int_equal(async_task_join(first), 0);
  assert_int_equal(async_task_join(second), 0);
  async_task_release(first);
  async_task_release(second);
  return 0;
}

static void
test_spawn_without_a_name_names_the_task_after_its_id(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_unnamed, NULL), 0);
}

static int spawn_long_name(void *arg) {
  (void)arg;
  char name[100];
  for (size_t i = 0; i < sizeof name - 1; i++) name[i] = (char)('a' + i % 26);
  name[sizeof name - 1] = '\0';
  async_task_t *task = async_spawn(name, return_arg, NULL);
  assert_non_null(task);
  assert_int_equal(strlen(async_task_name(task)), 47);
  assert_memory_equal(async_task_name(task), name, 47);
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);
  return 0;
}

static void test_spawn_truncates_a_long_name_to_47_bytes(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_long_name, NULL), 0);
}

/* ---- When a spawned task first runs ---- */

static int spawn_then_yield(void *arg) {
  (void)arg;
  bool ran = false;
  async_task_t *task = async_spawn("child", set_flag, &ran);
  assert_non_null(task);
  /* Work that does not block does not let the child in. */
  assert_false(async_task_done(task));
  async_task_t *other = async_spawn("other", return_arg, NULL);
  assert_false(ran);
  assert_int_equal(async_yield(), 0);
  assert_true(ran);
  assert_int_equal(async_task_join(task), 0);
  assert_int_equal(async_task_join(other), 0);
  async_task_release(task);
  async_task_release(other);
  return 0;
}

static void test_spawned_task_first_runs_when_the_spawner_yields(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_then_yield, NULL), 0);
}

static int spawn_then_sleep(void *arg) {
  (void)arg;
  bool ran = false;
  async_task_t *task = async_spawn("child", set_flag, &ran);
  assert_non_null(task);
  assert_false(ran);
  assert_int_equal(async_sleep(0.001), 0);
  assert_true(ran);
  assert_true(async_task_done(task));
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);
  return 0;
}

static void test_spawned_task_first_runs_when_the_spawner_blocks(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_then_sleep, NULL), 0);
}

/* ---- Join ---- */

static int join_results(void *arg) {
  (void)arg;
  async_task_t *immediate = async_spawn("immediate", return_arg, (void *)42);
  async_task_t *later = async_spawn("later", yield_then_return_7, NULL);
  assert_non_null(immediate);
  assert_non_null(later);
  assert_int_equal(async_task_join(later), 7);
  assert_int_equal(async_task_join(immediate), 42);
  /* Joining again gives the same result. */
  assert_int_equal(async_task_join(immediate), 42);
  async_task_release(immediate);
  async_task_release(later);
  return 0;
}

static void test_join_returns_the_task_result(void **state) {
  (void)state;
  assert_int_equal(harness_run(join_results, NULL), 0);
}

static int fail_with_eio_after_a_yield(void *arg) {
  (void)arg;
  assert_int_equal(async_yield(), 0);
  return UV_EIO;
}

static int join_failure(void *arg) {
  (void)arg;
  async_task_t *task =
      async_spawn("failing", fail_with_eio_after_a_yield, NULL);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), UV_EIO);
  assert_int_equal(async_task_result(task), UV_EIO);
  async_task_release(task);
  return 0;
}

/* harness_run also checks that the joined failure counts as retrieved. */
static void test_join_of_a_failed_task_returns_its_error(void **state) {
  (void)state;
  assert_int_equal(harness_run(join_failure, NULL), 0);
}

static int join_self(void *arg) {
  (void)arg;
  assert_int_equal(async_task_join(async_current_task()), ASYNC_EDEADLK);
  /* Nothing broke: the task can still block and be woken. */
  assert_int_equal(async_yield(), 0);
  return 0;
}

static int join_self_in_a_spawned_task(void *arg) {
  (void)arg;
  assert_int_equal(join_self(NULL), 0);
  async_task_t *task = async_spawn("self-joiner", join_self, NULL);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);
  return 0;
}

static void test_joining_yourself_is_edeadlk(void **state) {
  (void)state;
  assert_int_equal(harness_run(join_self_in_a_spawned_task, NULL), 0);
}

/* ---- Cancel ---- */

static int cancel_sleeper(void *arg) {
  (void)arg;
  sleeper_t sleeper = {0};
  async_task_t *task = async_spawn("sleeper", sleep_long, &sleeper);
  assert_non_null(task);
  yield_until(&sleeper.sleeping);
  assert_false(sleeper.finished);
  uint64_t start = uv_hrtime();
  assert_true(async_task_cancel(task));
  assert_int_equal(async_task_join(task), UV_ECANCELED);
  assert_int_equal(sleeper.sleep_result, UV_ECANCELED);
  assert_true(async_task_cancelled(task));
  /* Woken by the cancel, not by the end of the minute. */
  assert_true(uv_hrtime() - start < 10ull * 1000 * 1000 * 1000);
  async_task_release(task);
  return 0;
}

static void
test_cancel_makes_the_sleep_of_a_sleeping_task_return_ecanceled(void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_sleeper, NULL), 0);
}

typedef struct sticky {
  bool sleeping;
  int results[12];
  int count;
} sticky_t;

static int block_again_and_again(void *arg) {
  sticky_t *sticky = arg;
  sticky->sleeping = true;
  sticky->results[sticky->count++] = async_sleep(60);
  for (int round = 0; round < 3; round++) {
    sticky->results[sticky->count++] = async_yield();
    sticky->results[sticky->count++] = async_sleep(0);
    sticky->results[sticky->count++] = async_sleep(0.001);
  }
  return 0; /* it handled the cancellation: a normal result */
}

static int cancel_sticky(void *arg) {
  (void)arg;
  sticky_t sticky = {0};
  async_task_t *task = async_spawn("stubborn", block_again_and_again, &sticky);
  assert_non_null(task);
  yield_until(&sticky.sleeping);
  assert_true(async_task_cancel(task));
  assert_int_equal(async_task_join(task), 0);
  assert_int_equal(sticky.count, 10);
  for (int i = 0; i < sticky.count; i++) {
    if (sticky.results[i] != UV_ECANCELED)
      fail_msg("blocking call %d after the cancel returned %d (%s), expected "
               "UV_ECANCELED: cancellation must stay until the task ends",
               i, sticky.results[i], async_err_name(sticky.results[i]));
  }
  /* It returned normally after all: not "cancelled", as in asyncio. */
  assert_false(async_task_cancelled(task));
  async_task_release(task);
  return 0;
}

static void test_cancellation_is_sticky(void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_sticky, NULL), 0);
}

static int cancel_before_start(void *arg) {
  (void)arg;
  bool ran = false;
  async_task_t *task = async_spawn("never", set_flag, &ran);
  assert_non_null(task);
  assert_true(async_task_cancel(task));
  assert_int_equal(async_task_join(task), UV_ECANCELED);
  assert_false(ran);
  assert_true(async_task_done(task));
  assert_true(async_task_cancelled(task));
  assert_int_equal(async_task_result(task), UV_ECANCELED);
  async_task_release(task);
  return 0;
}

static void test_task_cancelled_before_it_ran_never_runs(void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_before_start, NULL), 0);
}

static int cancel_finished(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("quick", return_arg, (void *)3);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 3);
  assert_false(async_task_cancel(task));
  /* The refused cancel changed nothing. */
  assert_int_equal(async_task_result(task), 3);
  assert_false(async_task_cancelled(task));
  async_task_release(task);
  return 0;
}

static void test_cancel_of_a_finished_task_returns_false(void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_finished, NULL), 0);
}

typedef struct joiner {
  sleeper_t inner_sleeper;
  async_task_t *inner;
  bool joining;
  int join_result;
  bool inner_done_when_join_returned;
  bool inner_cancelled_when_join_returned;
} joiner_t;

static int join_inner(void *arg) {
  joiner_t *joiner = arg;
  joiner->inner = async_spawn("inner", sleep_long, &joiner->inner_sleeper);
  assert_non_null(joiner->inner);
  joiner->joining = true;
  joiner->join_result = async_task_join(joiner->inner);
  joiner->inner_done_when_join_returned = async_task_done(joiner->inner);
  joiner->inner_cancelled_when_join_returned =
      async_task_cancelled(joiner->inner);
  async_task_release(joiner->inner);
  return joiner->join_result;
}

static int cancel_the_joiner(void *arg) {
  (void)arg;
  joiner_t joiner = {0};
  async_task_t *outer = async_spawn("outer", join_inner, &joiner);
  assert_non_null(outer);
  yield_until(&joiner.joining);
  yield_until(&joiner.inner_sleeper.sleeping);
  assert_true(async_task_cancel(outer));
  assert_int_equal(async_task_join(outer), UV_ECANCELED);
  assert_int_equal(joiner.join_result, UV_ECANCELED);
  /* The cancel went on to the inner task... */
  assert_int_equal(joiner.inner_sleeper.sleep_result, UV_ECANCELED);
  /* ...and the joiner waited for it to finish before returning. */
  assert_true(joiner.inner_done_when_join_returned);
  assert_true(joiner.inner_cancelled_when_join_returned);
  assert_true(joiner.inner_sleeper.finished);
  async_task_release(outer);
  return 0;
}

static void test_cancelling_the_joiner_cancels_the_joined_task_and_waits_for_it(
    void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_the_joiner, NULL), 0);
}

/* ---- Result, done, cancelled ---- */

static int result_while_running(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("slow", yield_then_return_7, NULL);
  assert_non_null(task);
  assert_int_equal(async_task_result(task), UV_EAGAIN); /* not started */
  assert_int_equal(async_yield(), 0);
  assert_false(async_task_done(task));
  assert_int_equal(async_task_result(task), UV_EAGAIN); /* started */
  assert_int_equal(async_task_result(async_current_task()), UV_EAGAIN);
  assert_int_equal(async_task_join(task), 7);
  assert_int_equal(async_task_result(task), 7);
  async_task_release(task);
  return 0;
}

static void test_task_result_is_eagain_while_the_task_runs(void **state) {
  (void)state;
  assert_int_equal(harness_run(result_while_running, NULL), 0);
}

static int fail_with_eio(void *arg) {
  (void)arg;
  return UV_EIO;
}

static int done_and_cancelled(void *arg) {
  (void)arg;
  async_task_t *finishes = async_spawn("finishes", yield_then_return_7, NULL);
  async_task_t *fails = async_spawn("fails", fail_with_eio, NULL);
  sleeper_t sleeper = {0};
  async_task_t *cancelled = async_spawn("cancelled", sleep_long, &sleeper);
  assert_non_null(finishes);
  assert_non_null(fails);
  assert_non_null(cancelled);
  assert_false(async_task_done(finishes));
  assert_false(async_task_cancelled(finishes));
  yield_until(&sleeper.sleeping);
  assert_false(async_task_done(cancelled));
  assert_false(async_task_cancelled(cancelled));
  assert_true(async_task_cancel(cancelled));
  /* Requested, not yet done: the task has to unwind first. */
  assert_false(async_task_done(cancelled));
  assert_false(async_task_cancelled(cancelled));

  assert_int_equal(async_task_join(finishes), 7);
  assert_int_equal(async_task_join(fails), UV_EIO);
  assert_int_equal(async_task_join(cancelled), UV_ECANCELED);
  assert_true(async_task_done(finishes));
  assert_false(async_task_cancelled(finishes));
  assert_true(async_task_done(fails));
  assert_false(async_task_cancelled(fails));
  assert_true(async_task_done(cancelled));
  assert_true(async_task_cancelled(cancelled));
  assert_false(async_task_done(NULL));
  assert_false(async_task_cancelled(NULL));
  async_task_release(finishes);
  async_task_release(fails);
  async_task_release(cancelled);
  return 0;
}

static void test_task_done_and_cancelled_follow_the_task(void **state) {
  (void)state;
  assert_int_equal(harness_run(done_and_cancelled, NULL), 0);
}

/* ---- current_task, all_tasks, ids ---- */

static int record_current(void *arg) {
  *(async_task_t **)arg = async_current_task();
  return 0;
}

static int current_inside(void *arg) {
  (void)arg;
  async_task_t *main_task = async_current_task();
  assert_non_null(main_task);
  assert_string_equal(async_task_name(main_task), "main");
  async_task_t *seen = NULL;
  async_task_t *task = async_spawn("child", record_current, &seen);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 0);
  assert_ptr_equal(seen, task);
  /* Back in main, main is current again. */
  assert_ptr_equal(async_current_task(), main_task);
  async_task_release(task);
  return 0;
}

static void test_current_task_is_the_running_task(void **state) {
  (void)state;
  assert_int_equal(harness_run(current_inside, NULL), 0);
}

static void record_current_from_callback(void *arg) {
  *(async_task_t **)arg = async_current_task();
}

static int current_in_callback(void *arg) {
  async_task_t **seen = arg;
  async_callback_t callback = {0};
  assert_int_equal(
      async_call_soon(&callback, record_current_from_callback, seen), 0);
  assert_int_equal(async_sleep(0.002), 0);
  return 0;
}

static void test_current_task_is_null_outside_a_task(void **state) {
  (void)state;
  assert_null(async_current_task());
  async_task_t *seen = (async_task_t *)&seen; /* anything but NULL */
  assert_int_equal(harness_run(current_in_callback, &seen), 0);
  assert_null(seen); /* callbacks run on the loop, outside any task */
  assert_null(async_current_task());
}

static int yield_until_open(void *arg) {
  yield_until(arg);
  return 7;
}

static int list_tasks(void *arg) {
  (void)arg;
  bool open = false;
  async_task_t *main_task = async_current_task();
  async_task_t *a = async_spawn("a", yield_until_open, &open);
  async_task_t *b = async_spawn("b", return_arg, NULL);
  async_task_t *c = async_spawn("c", yield_until_open, &open);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);

  async_task_t *tasks[8] = {0};
  assert_int_equal(async_all_tasks(tasks, 8), 4);
  assert_ptr_equal(tasks[0], main_task);
  assert_ptr_equal(tasks[1], a);
  assert_ptr_equal(tasks[2], b);
  assert_ptr_equal(tasks[3], c);

  /* A short array gets the first ones; the count is still all of them. */
  async_task_t *two[2] = {0};
  assert_int_equal(async_all_tasks(two, 2), 4);
  assert_ptr_equal(two[0], main_task);
  assert_ptr_equal(two[1], a);
  assert_int_equal(async_all_tasks(NULL, 0), 4);

  /* b finishes; a and c are still running. */
  assert_int_equal(async_task_join(b), 0);
  assert_false(async_task_done(a));
  memset(tasks, 0, sizeof tasks);
  assert_int_equal(async_all_tasks(tasks, 8), 3);
  assert_ptr_equal(tasks[0], main_task);
  assert_ptr_equal(tasks[1], a);
  assert_ptr_equal(tasks[2], c);
  assert_null(tasks[3]);

  open = true;
  assert_int_equal(async_task_join(a), 7);
  assert_int_equal(async_task_join(c), 7);
  assert_int_equal(async_all_tasks(tasks, 8), 1);
  assert_ptr_equal(tasks[0], main_task);
  async_task_release(a);
  async_task_release(b);
  async_task_release(c);
  return 0;
}

static void test_all_tasks_lists_unfinished_tasks_in_spawn_order(void **state) {
  (void)state;
  assert_int_equal(async_all_tasks(NULL, 0), 0); /* outside a run */
  assert_int_equal(harness_run(list_tasks, NULL), 0);
}

static int check_ids(void *arg) {
  (void)arg;
  assert_int_equal(async_task_id(async_current_task()), 1);
  async_task_t *second = async_spawn("second", return_arg, NULL);
  async_task_t *third = async_spawn("third", return_arg, NULL);
  assert_non_null(second);
  assert_non_null(third);
  assert_int_equal(async_task_id(second), 2);
  assert_int_equal(async_task_id(third), 3);
  assert_int_equal(async_task_join(second), 0);
  assert_int_equal(async_task_join(third), 0);
  async_task_release(second);
  async_task_release(third);
  return 0;
}

static void test_task_id_is_1_for_main_and_counts_up(void **state) {
  (void)state;
  assert_int_equal(harness_run(check_ids, NULL), 0);
}

/* ---- Handles ---- */

static int retain_release(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("kept", return_arg, (void *)5);
  assert_non_null(task);
  assert_ptr_equal(async_task_retain(task), task);
  assert_int_equal(async_task_join(task), 5);
  async_task_release(task); /* the reference async_spawn gave */
  /* Finished and released once, but retained: still a valid handle (ASan
   * and valgrind catch the read if it was freed). */
  assert_string_equal(async_task_name(task), "kept");
  assert_true(async_task_done(task));
  assert_int_equal(async_task_result(task), 5);
  async_task_release(task); /* the retained one */
  assert_null(async_task_retain(NULL));
  async_task_release(NULL); /* harmless */
  return 0;
}

static void test_retain_keeps_the_handle_valid_after_a_release(void **state) {
  (void)state;
  assert_int_equal(harness_run(retain_release, NULL), 0);
}

typedef struct over_release {
  bool released;
  bool finished;
} over_release_t;

static int yield_until_released(void *arg) {
  over_release_t *over = arg;
  yield_until(&over->released);
  over->finished = true;
  return 0;
}

static int release_twice(void *arg) {
  (void)arg;
  over_release_t over = {0};
  async_task_t *task = async_spawn("victim", yield_until_released, &over);
  assert_non_null(task);
  assert_int_equal(async_yield(), 0);

  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  async_task_release(task); /* fine: the reference we had */
  async_task_release(task); /* one too many */
  char *output = stderr_capture_end(&capture);
#ifndef NDEBUG
  assert_contains(output, "async_task_release");
  assert_contains(output, "released more often than retained");
#endif
  free(output);

  /* Ignored: the task is still there and runs to its end. */
  async_task_t *tasks[4];
  assert_int_equal(async_all_tasks(tasks, 4), 2);
  assert_ptr_equal(tasks[1], task);
  assert_false(over.finished);
  over.released = true;
  for (int i = 0; i < 10 && !over.finished; i++)
    assert_int_equal(async_yield(), 0);
  assert_true(over.finished);
  assert_int_equal(async_all_tasks(NULL, 0), 1);
  return 0;
}

static void
test_release_more_often_than_retained_is_reported_and_ignored(void **state) {
  (void)state;
  assert_int_equal(harness_run(release_twice, NULL), 0);
}

/* ---- Calls made in the wrong place ---- */

static void test_blocking_calls_outside_a_task_return_eperm(void **state) {
  (void)state;
  assert_int_equal(async_sleep(0.001), UV_EPERM);
  assert_int_equal(async_sleep(0), UV_EPERM);
  assert_int_equal(async_yield(), UV_EPERM);
  assert_int_equal(async_task_join(NULL), UV_EPERM);
}

typedef struct callback_calls {
  int sleep_result, yield_result, join_result;
  async_task_t *task;
  bool called;
} callback_calls_t;

static void block_from_callback(void *arg) {
  callback_calls_t *calls = arg;
  calls->sleep_result = async_sleep(0.001);
  calls->yield_result = async_yield();
  calls->join_result = async_task_join(calls->task);
  calls->called = true;
}

static int block_in_callback(void *arg) {
  callback_calls_t *calls = arg;
  calls->task = async_spawn("joined", return_arg, NULL);
  assert_non_null(calls->task);
  async_callback_t callback = {0};
  assert_int_equal(async_call_soon(&callback, block_from_callback, calls), 0);
  assert_int_equal(async_sleep(0.002), 0);
  assert_true(calls->called);
  assert_int_equal(async_task_join(calls->task), 0);
  async_task_release(calls->task);
  return 0;
}

/* A callback runs on the loop, inside async_run but outside every task. */
static void
test_blocking_calls_from_a_loop_callback_return_eperm(void **state) {
  (void)state;
  callback_calls_t calls = {0};
  assert_int_equal(harness_run(block_in_callback, &calls), 0);
  assert_int_equal(calls.sleep_result, UV_EPERM);
  assert_int_equal(calls.yield_result, UV_EPERM);
  assert_int_equal(calls.join_result, UV_EPERM);
}

static void test_spawn_outside_async_run_returns_null(void **state) {
  (void)state;
  assert_null(async_spawn("orphan", return_arg, NULL));
  async_spawn_options_t options = {.name = "orphan"};
  assert_null(async_spawn_with(&options, return_arg, NULL));
  /* Nor after a run has ended. */
  assert_int_equal(harness_run(return_arg, NULL), 0);
  assert_null(async_spawn("orphan", return_arg, NULL));
}

/* ---- Many tasks, deep stacks ---- */

typedef struct crowd {
  size_t started;
  size_t finished;
} crowd_t;

static int crowd_member(void *arg) {
  crowd_t *crowd = arg;
  crowd->started++;
  for (int i = 0; i < 3; i++)
    if (async_yield() != 0) return UV_ECANCELED;
  crowd->finished++;
  return 1;
}

static int spawn_crowd(void *arg) {
  size_t count = *(size_t *)arg;
  crowd_t crowd = {0};
  async_task_t **tasks = malloc(count * sizeof *tasks);
  assert_non_null(tasks);
  for (size_t i = 0; i < count; i++) {
    tasks[i] = async_spawn("member", crowd_member, &crowd);
    if (tasks[i] == NULL)
      fail_msg("async_spawn failed for task %zu of %zu", i, count);
  }
  /* One yield lets every member run up to its first yield: all of them are
   * alive at once, each with a stack of its own. */
  assert_int_equal(async_yield(), 0);
  assert_int_equal(crowd.started, count);
  assert_int_equal(crowd.finished, 0);
  assert_int_equal(async_all_tasks(NULL, 0), count + 1);
  for (size_t i = 0; i < count; i++) {
    int result = async_task_join(tasks[i]);
    if (result != 1)
      fail_msg("task %zu of %zu returned %d (%s)", i, count, result,
               async_err_name(result));
    async_task_release(tasks[i]);
  }
  assert_int_equal(crowd.finished, count);
  free(tasks);
  return 0;
}

/* Needs the stacks to share mappings: one mmap per task would pass
 * vm.max_map_count (65,530 by default). */
static void test_100000_live_tasks_with_default_stacks(void **state) {
  (void)state;
  size_t count = under_valgrind() ? 10000 : 100000;
  assert_int_equal(harness_run(spawn_crowd, &count), 0);
  async_run_stats_t stats;
  async_run_stats(&stats);
  assert_int_equal(stats.tasks_spawned, count + 1);
}

typedef struct deep {
  size_t bytes;
  bool reached;
} deep_t;

static int recurse(void *arg) {
  deep_t *deep = arg;
  const char *top = __builtin_frame_address(0);
  assert_true(use_stack(top, deep->bytes) > 0);
  deep->reached = true;
  return 0;
}

static int spawn_deep(void *arg) {
  async_task_t *task = async_spawn("deep", recurse, arg);
  assert_non_null(task);
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);
  return 0;
}

static void test_deep_recursion_fits_in_the_default_stack(void **state) {
  (void)state;
  deep_t deep = {.bytes = 100 * 1024};
  assert_int_equal(harness_run(spawn_deep, &deep), 0);
  assert_true(deep.reached);
}

static int format_into_locals(void *arg) {
  (void)arg;
  char text[64];
  snprintf(text, sizeof text, "%s-%d", "local", 42);
  volatile char buffer[512];
  for (size_t i = 0; i < sizeof buffer; i++) buffer[i] = text[i % 8];
  return strcmp(text, "local-42") == 0 && buffer[511] == '2' ? 0 : UV_EIO;
}

static int reuse_stacks(void *arg) {
  (void)arg;
  for (int i = 0; i < 40; i++) {
    async_task_t *task = async_spawn("reuser", format_into_locals, NULL);
    assert_non_null(task);
    assert_int_equal(async_task_join(task), 0);
    async_task_release(task);
  }
  return 0;
}

/* A finished task's stack goes to the next task. Under ASan, the frames the
 * finished task never returned from must not leave poison behind for it. */
static void
test_a_task_on_a_reused_stack_gets_no_false_asan_report(void **state) {
  (void)state;
  assert_int_equal(harness_run(reuse_stacks, NULL), 0);
  assert_int_equal(harness_run(reuse_stacks, NULL), 0); /* a second run */
}

static int spawn_with_big_stack(void *arg) {
  deep_t *deep = arg;
  async_spawn_options_t options = {.name = "big", .stack_size = 1024 * 1024};
  async_task_t *task = async_spawn_with(&options, recurse, deep);
  assert_non_null(task);
  assert_string_equal(async_task_name(task), "big");
  assert_int_equal(async_task_join(task), 0);
  async_task_release(task);

  /* The smallest allowed stack, and an odd size, work too. */
  size_t sizes[] = {16 * 1024, 100 * 1000};
  for (size_t i = 0; i < 2; i++) {
    options = (async_spawn_options_t){.stack_size = sizes[i]};
    task = async_spawn_with(&options, yield_then_return_7, NULL);
    assert_non_null(task);
    assert_int_equal(async_task_join(task), 7);
    async_task_release(task);
  }
  return 0;
}

/* 600 KiB of frames would overflow the default 256 KiB stack. */
static void
test_spawn_with_a_custom_stack_size_allows_deeper_recursion(void **state) {
  (void)state;
  deep_t deep = {.bytes = 600 * 1024};
  assert_int_equal(harness_run(spawn_with_big_stack, &deep), 0);
  assert_true(deep.reached);
}

static int spawn_with_tiny_stack(void *arg) {
  (void)arg;
  bool ran = false;
  async_spawn_options_t options = {.name = "tiny", .stack_size = 8 * 1024};
  assert_null(async_spawn_with(&options, set_flag, &ran));
  options.stack_size = 16 * 1024 - 1;
  assert_null(async_spawn_with(&options, set_flag, &ran));
  assert_int_equal(async_all_tasks(NULL, 0), 1); /* nothing was created */
  assert_int_equal(async_yield(), 0);
  assert_false(ran);
  return 0;
}

static void test_spawn_with_a_stack_below_16k_is_rejected(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_with_tiny_stack, NULL), 0);
  async_run_stats_t stats;
  async_run_stats(&stats);
  assert_int_equal(stats.tasks_spawned, 1);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_spawn_keeps_the_given_name),
    cmocka_unit_test(test_spawn_without_a_name_names_the_task_after_its_id),
    cmocka_unit_test(test_spawn_truncates_a_long_name_to_47_bytes),
    cmocka_unit_test(test_spawned_task_first_runs_when_the_spawner_yields),
    cmocka_unit_test(test_spawned_task_first_runs_when_the_spawner_blocks),
    cmocka_unit_test(test_join_returns_the_task_result),
    cmocka_unit_test(test_join_of_a_failed_task_returns_its_error),
    cmocka_unit_test(test_joining_yourself_is_edeadlk),
    cmocka_unit_test(
        test_cancel_makes_the_sleep_of_a_sleeping_task_return_ecanceled),
    cmocka_unit_test(test_cancellation_is_sticky),
    cmocka_unit_test(test_task_cancelled_before_it_ran_never_runs),
    cmocka_unit_test(test_cancel_of_a_finished_task_returns_false),
    cmocka_unit_test(
        test_cancelling_the_joiner_cancels_the_joined_task_and_waits_for_it),
    cmocka_unit_test(test_task_result_is_eagain_while_the_task_runs),
    cmocka_unit_test(test_task_done_and_cancelled_follow_the_task),
    cmocka_unit_test(test_current_task_is_the_running_task),
    cmocka_unit_test(test_current_task_is_null_outside_a_task),
    cmocka_unit_test(test_all_tasks_lists_unfinished_tasks_in_spawn_order),
    cmocka_unit_test(test_task_id_is_1_for_main_and_counts_up),
    cmocka_unit_test(test_retain_keeps_the_handle_valid_after_a_release),
    cmocka_unit_test(
        test_release_more_often_than_retained_is_reported_and_ignored),
    cmocka_unit_test(test_blocking_calls_outside_a_task_return_eperm),
    cmocka_unit_test(test_blocking_calls_from_a_loop_callback_return_eperm),
    cmocka_unit_test(test_spawn_outside_async_run_returns_null),
    cmocka_unit_test(test_100000_live_tasks_with_default_stacks),
    cmocka_unit_test(test_deep_recursion_fits_in_the_default_stack),
    cmocka_unit_test(test_a_task_on_a_reused_stack_gets_no_false_asan_report),
    cmocka_unit_test(
        test_spawn_with_a_custom_stack_size_allows_deeper_recursion),
    cmocka_unit_test(test_spawn_with_a_stack_below_16k_is_rejected))
