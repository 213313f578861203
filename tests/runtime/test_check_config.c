/* test_check_config.c: check mode's settings, read from ASYNC_* variables
 * when async_run() starts.
 */
#include "harness.h"
#include "tools.h"
#include "check_tools.h"

static int note_check_mode(void *arg) {
  *(bool *)arg = async_check_enabled();
  return 0;
}

static void test_check_mode_is_off_without_async_check(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", NULL);
  bool enabled = true;
  assert_int_equal(harness_run(note_check_mode, &enabled), 0);
  assert_false(enabled);
  assert_false(async_check_enabled()); /* outside a run */
  check_env_restore();
}

static void test_async_check_1_switches_check_mode_on(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "1");
  bool enabled = false;
  assert_int_equal(harness_run(note_check_mode, &enabled), 0);
  assert_true(enabled);
  check_env_restore();
}

static void test_async_check_0_leaves_it_off(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", "0");
  check_env_set("ASYNC_SCHEDULE", "this is ignored while off");
  bool enabled = true;
  assert_int_equal(harness_run(note_check_mode, &enabled), 0);
  assert_false(enabled);
  check_env_restore();
}

static void test_settings_are_read_when_each_run_starts(void **state) {
  (void)state;
  bool enabled = false;
  check_env_set("ASYNC_CHECK", "1");
  assert_int_equal(harness_run(note_check_mode, &enabled), 0);
  assert_true(enabled);
  check_env_set("ASYNC_CHECK", NULL);
  assert_int_equal(harness_run(note_check_mode, &enabled), 0);
  assert_false(enabled);
  check_env_restore();
}

/* Runs with one variable set wrong: async_run refuses, naming it. */
static void expect_refused(const char *name, const char *value) {
  check_env_set("ASYNC_CHECK", "1");
  check_env_set(name, value);
  bool enabled = false;
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = async_run(note_check_mode, &enabled);
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, UV_EINVAL);
  assert_false(enabled); /* main never ran */
  char expected[128];
  snprintf(expected, sizeof expected, "%s=%s is not valid", name, value);
  assert_contains(text, expected);
  free(text);
  check_env_restore();
}

static void test_a_bad_setting_stops_async_run_naming_it(void **state) {
  (void)state;
  expect_refused("ASYNC_CHECK", "maybe");
  expect_refused("ASYNC_SCHEDULE", "lifo");
  expect_refused("ASYNC_SEED", "-3");
  expect_refused("ASYNC_SEED", "12abc");
  expect_refused("ASYNC_PCT_DEPTH", "0");
  expect_refused("ASYNC_PCT_STEPS", "many");
}

static void test_every_schedule_name_is_accepted(void **state) {
  (void)state;
  const char *names[] = {"fifo", "fifo-yield", "random", "pct"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    check_env_schedule(names[i], 7);
    check_env_set("ASYNC_PCT_DEPTH", "2");
    check_env_set("ASYNC_PCT_STEPS", "50");
    bool enabled = false;
    assert_int_equal(harness_run(note_check_mode, &enabled), 0);
    assert_true(enabled);
    check_env_restore();
  }
}

ASYNC_TEST_MAIN(cmocka_unit_test(test_check_mode_is_off_without_async_check),
                cmocka_unit_test(test_async_check_1_switches_check_mode_on),
                cmocka_unit_test(test_async_check_0_leaves_it_off),
                cmocka_unit_test(test_settings_are_read_when_each_run_starts),
                cmocka_unit_test(test_a_bad_setting_stops_async_run_naming_it),
                cmocka_unit_test(test_every_schedule_name_is_accepted))
