/* test_check_findings.c: the findings file (ASYNC_FINDINGS): one JSON line
 * per finding, appended, in the schema async.h documents.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

typedef struct pair {
  async_lock_t a, b;
  const char *second_name;
} pair_t;

static int take_in_order(void *arg) {
  async_lock_t **locks = arg;
  int rc = async_lock_acquire(locks[0]);
  if (rc != 0) return rc;
  rc = async_lock_acquire(locks[1]);
  if (rc == 0) async_lock_release(locks[1]);
  async_lock_release(locks[0]);
  return rc;
}

/* A then B, later B then A: a potential deadlock, one finding. */
static int opposite_orders(void *arg) {
  pair_t *pair = arg;
  async_lock_init(&pair->a);
  async_lock_init(&pair->b);
  async_lock_t *forward[] = {&pair->a, &pair->b};
  async_lock_t *backward[] = {&pair->b, &pair->a};
  int rc = join_and_release(async_spawn("forward", take_in_order, forward));
  return rc | join_and_release(
                  async_spawn(pair->second_name, take_in_order, backward));
}

static void
test_a_finding_is_one_json_line_in_the_documented_schema(void **state) {
  (void)state;
  char path[256];
  check_findings_file(path, sizeof path);
  check_env_schedule("random", 5);
  pair_t pair = {.second_name = "backward"};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(opposite_orders, &pair), 0);
  free(stderr_capture_end(&capture));
  char *text = check_read_file(path);
  assert_int_equal(count_occurrences(text, "\n"), 1);
  /* The fields, in their documented order. */
  const char *fields[] = {"{\"kind\":\"potential-deadlock\",",
                          "\"message\":\"potential deadlock: 2 locks",
                          "\\n  the cycle closed when task 'backward'",
                          "\",\"tasks\":[\"backward\",\"forward\"],",
                          "\"task_count\":2,",
                          "\"locks\":[\"lock #2\",\"lock #1\"],",
                          "\"lock_count\":2,",
                          "\"sites\":[\"test_check_findings.c:",
                          "\"time\":0.000000000,",
                          "\"replay\":\"ASYNC_CHECK=1 ASYNC_SCHEDULE=random "
                          "ASYNC_SEED=5 ",
                          "\",\"schedule\":\"random\",",
                          "\"seed\":5}\n"};
  const char *at = text;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    const char *found = strstr(at, fields[i]);
    if (found == NULL)
      fail_msg("expected %s after offset %td in:\n%s", fields[i], at - text,
               text);
    at = found + strlen(fields[i]);
  }
  assert_string_equal(at, "");
  free(text);
  unlink(path);
  check_env_restore();
}

static void test_findings_are_appended_run_after_run(void **state) {
  (void)state;
  char path[256];
  check_findings_file(path, sizeof path);
  check_env_schedule("fifo", -1);
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  for (int run = 0; run < 3; run++) {
    pair_t pair = {.second_name = "backward"};
    assert_int_equal(harness_run(opposite_orders, &pair), 0);
  }
  free(stderr_capture_end(&capture));
  char *text = check_read_file(path);
  assert_int_equal(count_occurrences(text, "\n"), 3);
  assert_int_equal(count_occurrences(text, "\"seed\":null}\n"), 3);
  free(text);
  unlink(path);
  check_env_restore();
}

static void test_names_are_escaped_as_json_strings(void **state) {
  (void)state;
  char path[256];
  check_findings_file(path, sizeof path);
  check_env_schedule("fifo", -1);
  pair_t pair = {.second_name = "say \"hi\"\\\n\ttwice"};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(opposite_orders, &pair), 0);
  free(stderr_capture_end(&capture));
  char *text = check_read_file(path);
  assert_contains(text, "\"tasks\":[\"say \\\"hi\\\"\\\\\\n\\ttwice\",");
  assert_int_equal(count_occurrences(text, "\n"), 1);
  free(text);
  unlink(path);
  check_env_restore();
}

static void
test_an_unwritable_findings_file_is_said_and_the_run_goes_on(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  check_env_set("ASYNC_FINDINGS", "/nonexistent-directory/findings.jsonl");
  pair_t pair = {.second_name = "backward"};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(opposite_orders, &pair), 0);
  char *err = stderr_capture_end(&capture);
  assert_contains(err, "potential deadlock: 2 locks");
  assert_contains(err, "cannot write the findings file "
                       "/nonexistent-directory/findings.jsonl");
  free(err);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_a_finding_is_one_json_line_in_the_documented_schema),
    cmocka_unit_test(test_findings_are_appended_run_after_run),
    cmocka_unit_test(test_names_are_escaped_as_json_strings),
    cmocka_unit_test(
        test_an_unwritable_findings_file_is_said_and_the_run_goes_on))
