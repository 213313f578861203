/* test_check_clock.c: check mode's virtual clock.
 *
 * Time stands still while tasks run and jumps to the next timer when
 * nothing real is in flight; with real work in flight (a thread, a signal
 * handler) the runtime waits in real time and the clock follows.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

#include <signal.h>
#include <time.h>

static double real_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int sleep_an_hour(void *arg) {
  double *at = arg;
  at[0] = async_time();
  int rc = async_sleep(3600);
  at[1] = async_time();
  return rc;
}

static void
test_an_hour_of_sleep_ends_at_once_at_exactly_one_hour(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  double at[2] = {-1, -1};
  double start = real_seconds();
  assert_int_equal(harness_run(sleep_an_hour, at), 0);
  double took = real_seconds() - start;
  assert_true(took < 1.0);
  assert_true(at[0] == 0.0);    /* the clock starts at 0 */
  assert_true(at[1] == 3600.0); /* and the sleep takes exactly an hour */
  check_env_restore();
}

typedef struct sleeper {
  const char *name;
  double seconds;
  int rounds;
} sleeper_t;

static int sleep_and_note(void *arg) {
  sleeper_t *sleeper = arg;
  for (int i = 0; i < sleeper->rounds; i++) {
    int rc = async_sleep(sleeper->seconds);
    if (rc != 0) return rc;
    log_add("%s@%.9f", sleeper->name, async_time());
  }
  return 0;
}

static int three_sleepers(void *arg) {
  (void)arg;
  sleeper_t a = {"a", 0.1, 4}, b = {"b", 0.25, 2}, c = {"c", 1.5, 1};
  async_task_t *tasks[] = {async_spawn("a", sleep_and_note, &a),
                           async_spawn("b", sleep_and_note, &b),
                           async_spawn("c", sleep_and_note, &c)};
  int rc = async_gather(tasks, 3, NULL, 0);
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  log_add("end@%.9f", async_time());
  return rc;
}

static void test_timestamps_are_exact_and_the_same_every_run(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  const char *expected =
      "a@0.100000000 a@0.200000000 b@0.250000000 a@0.300000000 "
      "a@0.400000000 b@0.500000000 c@1.500000000 end@1.500000000";
  for (int run = 0; run < 2; run++) {
    log_reset();
    assert_int_equal(harness_run(three_sleepers, NULL), 0);
    assert_string_equal(log_text, expected);
  }
  check_env_restore();
}

static int time_out_a_long_sleep(void *arg) {
  (void)arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 2.0);
  int rc = async_sleep(10);
  int exit_rc = async_timeout_exit(&scope);
  log_add("sleep:%s exit:%s at:%.9f", async_err_name(rc),
          async_err_name(exit_rc), async_time());
  return 0;
}

static void test_timeouts_expire_on_the_virtual_clock(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  log_reset();
  assert_int_equal(harness_run(time_out_a_long_sleep, NULL), 0);
  assert_string_equal(log_text,
                      "sleep:ETIMEDOUT exit:ETIMEDOUT at:2.000000000");
  check_env_restore();
}

static void note_callback(void *arg) {
  log_add("%s@%.3f", (const char *)arg, async_time());
}

static int schedule_callbacks(void *arg) {
  (void)arg;
  async_callback_t late = {0}, early = {0};
  async_call_later(&late, 30.0, note_callback, "late");
  async_call_later(&early, 0.5, note_callback, "early");
  return async_sleep(60);
}

static void test_call_later_runs_at_its_virtual_time(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  log_reset();
  assert_int_equal(harness_run(schedule_callbacks, NULL), 0);
  assert_string_equal(log_text, "early@0.500 late@30.000");
  check_env_restore();
}

/* ---- Real work in flight ---- */

static int block_for_a_while(void *arg) {
  (void)arg;
  struct timespec pause = {0, 100 * 1000 * 1000}; /* 100 ms, really */
  nanosleep(&pause, NULL);
  return 7;
}

static int sleep_ten_seconds(void *arg) {
  (void)arg;
  int rc = async_sleep(10);
  log_add("sleeper@%.3f", async_time());
  return rc;
}

static int thread_beside_a_sleeper(void *arg) {
  double *thread_done_at = arg;
  async_task_t *sleeper = async_spawn("sleeper", sleep_ten_seconds, NULL);
  int rc = async_to_thread(block_for_a_while, NULL);
  *thread_done_at = async_time();
  log_add("thread:%d", rc);
  return join_and_release(sleeper);
}

static void test_thread_pool_work_holds_the_clock_to_real_time(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  log_reset();
  double thread_done_at = -1;
  double start = real_seconds();
  assert_int_equal(harness_run(thread_beside_a_sleeper, &thread_done_at), 0);
  double took = real_seconds() - start;
  /* The clock did not jump to 10 while the thread worked: it advanced by
   * about the 100 ms waited; then, nothing in flight, it jumped. */
  assert_true(thread_done_at >= 0.09 && thread_done_at < 5.0);
  assert_string_equal(log_text, "thread:7 sleeper@10.000");
  assert_true(took >= 0.09 && took < 5.0);
  check_env_restore();
}

static int short_timeout_on_a_thread(void *arg) {
  (void)arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.02);
  int rc = async_to_thread(block_for_a_while, NULL);
  async_timeout_exit(&scope);
  log_add("%s", async_err_name(rc));
  return 0;
}

static void
test_a_timer_during_real_work_fires_at_its_exact_time(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  log_reset();
  assert_int_equal(harness_run(short_timeout_on_a_thread, NULL), 0);
  /* The thread cannot be stopped once started: the caller waited for it,
   * and got the timeout. */
  assert_string_equal(log_text, "ETIMEDOUT");
  check_env_restore();
}

static int wait_for_usr1(void *arg) {
  (void)arg;
  int signum = async_signal_wait(SIGUSR1);
  log_add("signal@%s", signum == SIGUSR1 ? "usr1" : async_err_name(signum));
  return 0;
}

static int sleep_while_a_handler_waits(void *arg) {
  double *slept = arg;
  async_task_t *waiter = async_spawn("waiter", wait_for_usr1, NULL);
  async_yield(); /* the waiter installs its handler */
  double start = real_seconds();
  async_sleep(0.2);
  *slept = real_seconds() - start;
  log_add("slept@%.3f", async_time());
  kill(getpid(), SIGUSR1);
  return join_and_release(waiter);
}

static void test_a_waiting_signal_handler_keeps_real_time(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  log_reset();
  double slept = 0;
  assert_int_equal(harness_run(sleep_while_a_handler_waits, &slept), 0);
  /* A signal may come from outside at any moment: no jumping. */
  assert_true(slept >= 0.19);
  assert_string_equal(log_text, "slept@0.200 signal@usr1");
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_an_hour_of_sleep_ends_at_once_at_exactly_one_hour),
    cmocka_unit_test(test_timestamps_are_exact_and_the_same_every_run),
    cmocka_unit_test(test_timeouts_expire_on_the_virtual_clock),
    cmocka_unit_test(test_call_later_runs_at_its_virtual_time),
    cmocka_unit_test(test_thread_pool_work_holds_the_clock_to_real_time),
    cmocka_unit_test(test_a_timer_during_real_work_fires_at_its_exact_time),
    cmocka_unit_test(test_a_waiting_signal_handler_keeps_real_time))
