/* test_check_lockorder.c: check mode's lock-order graph: a cycle in the
 * order locks were ever taken is a potential deadlock, reported even when
 * the run went through; and the correct ways to take two locks are not.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"
#include "philosophers.h"

static void
test_a_thousand_philosophers_report_the_cycle_in_one_fifo_run(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {.seats = 1000, .meals = 3, .manners = LEFT_THEN_RIGHT};
  outcome_t outcome = run_captured(dinner, &table);
  /* No yield between the forks, first come first served: this run does
   * not deadlock... */
  assert_int_equal(outcome.rc, 0);
  assert_int_equal(table.meals_eaten, 3000);
  /* ...but the order the forks were taken in is a cycle: one pattern. */
  assert_int_equal(count_occurrences(outcome.err, "async: "), 1);
  assert_contains(outcome.err, "potential deadlock: 1000 locks are taken in "
                               "an order that forms a cycle");
  char pattern[256];
  snprintf(pattern, sizeof pattern,
           " and 997 more), each holding the lock acquired at "
           "philosophers.h:%d and taking the next one's at philosophers.h:%d",
           table.first_line, table.second_line);
  assert_contains(outcome.err, pattern);
  assert_contains(outcome.err, "1000 tasks in the cycle ('P");
  char closed[128];
  snprintf(closed, sizeof closed, "at philosophers.h:%d while holding fork ",
           table.second_line);
  assert_contains(outcome.err, closed);
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"potential-deadlock\"");
  assert_contains(outcome.findings, "\"task_count\":1000");
  assert_contains(outcome.findings, "\"lock_count\":1000");
  outcome_free(&outcome);
  check_env_restore();
}

/* Runs a 5-philosopher dinner under every seed in 1..seeds: no finding. */
static void expect_silent(manners_t manners, const char *schedule,
                          long long seeds) {
  for (long long seed = 1; seed <= seeds; seed++) {
    check_env_schedule(schedule, seed);
    table_t table = {.seats = 5, .meals = 2, .manners = manners};
    outcome_t outcome = run_captured(dinner, &table);
    if (outcome.rc != 0 || outcome.findings[0] != '\0')
      fail_msg("manners %d under %s, seed %lld: expected a quiet dinner, "
               "got rc %d and the findings:\n%s",
               (int)manners, schedule, seed, outcome.rc, outcome.findings);
    outcome_free(&outcome);
    check_env_restore();
  }
}

static void test_correct_dinners_are_silent_across_200_seeds(void **state) {
  (void)state;
  long long seeds = under_valgrind() ? 10 : 200;
  const manners_t correct[] = {LOWER_FORK_FIRST, ONE_WAITER,
                               SEATS_FOR_N_MINUS_1, ODD_EVEN};
  for (size_t i = 0; i < sizeof correct / sizeof correct[0]; i++) {
    expect_silent(correct[i], "random", seeds);
    expect_silent(correct[i], "pct", seeds);
    expect_silent(correct[i], "fifo-yield", 1);
    expect_silent(correct[i], "fifo", 1);
  }
}

static void test_correct_dinners_of_a_thousand_are_silent(void **state) {
  (void)state;
  const manners_t correct[] = {LOWER_FORK_FIRST, ONE_WAITER,
                               SEATS_FOR_N_MINUS_1, ODD_EVEN};
  for (size_t i = 0; i < sizeof correct / sizeof correct[0]; i++) {
    check_env_schedule("random", 1);
    table_t table = {.seats = 1000, .meals = 2, .manners = correct[i]};
    outcome_t outcome = run_captured(dinner, &table);
    assert_int_equal(outcome.rc, 0);
    assert_string_equal(outcome.findings, "");
    outcome_free(&outcome);
    check_env_restore();
  }
}

static void
test_a_waiter_who_guards_only_the_first_fork_is_reported(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {.seats = 5, .meals = 2, .manners = WAITER_FOR_LEFT_ONLY};
  outcome_t outcome = run_captured(dinner, &table);
  assert_contains(outcome.err, "potential deadlock: 5 locks");
  outcome_free(&outcome);
  check_env_restore();
}

static void
test_a_room_with_as_many_seats_as_philosophers_is_reported(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {
      .seats = 5, .meals = 2, .manners = SEATS_FOR_N_MINUS_1, .room_seats = 5};
  outcome_t outcome = run_captured(dinner, &table);
  assert_contains(outcome.err, "potential deadlock: 5 locks");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- Two locks, one task after the other ---- */

typedef struct pair {
  async_lock_t a, b;
  bool second_tries; /* the second task takes its second lock by trying */
  int lines[4];      /* first task: a, b; second task: b, a */
} pair_t;

static int a_then_b(void *arg) {
  pair_t *pair = arg;
  pair->lines[0] = __LINE__ + 1;
  async_lock_acquire(&pair->a);
  pair->lines[1] = __LINE__ + 1;
  async_lock_acquire(&pair->b);
  async_lock_release(&pair->b);
  async_lock_release(&pair->a);
  return 0;
}

static int b_then_a(void *arg) {
  pair_t *pair = arg;
  pair->lines[2] = __LINE__ + 1;
  async_lock_acquire(&pair->b);
  pair->lines[3] = __LINE__ + 2;
  bool taken = pair->second_tries ? async_lock_try_acquire(&pair->a)
                                  : async_lock_acquire(&pair->a) == 0;
  if (taken) async_lock_release(&pair->a);
  async_lock_release(&pair->b);
  return 0;
}

static int one_after_the_other(void *arg) {
  pair_t *pair = arg;
  async_lock_init(&pair->a);
  async_lock_init(&pair->b);
  async_lock_set_name(&pair->a, "A");
  async_lock_set_name(&pair->b, "B");
  async_task_t *first = async_spawn("first", a_then_b, pair);
  int rc = join_and_release(first);
  async_task_t *second = async_spawn("second", b_then_a, pair);
  return rc | join_and_release(second);
}

static void
test_opposite_orders_in_turn_are_reported_with_both_sites(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  pair_t pair = {.second_tries = false};
  outcome_t outcome = run_captured(one_after_the_other, &pair);
  assert_int_equal(outcome.rc, 0);
  assert_contains(outcome.err, "potential deadlock: 2 locks are taken in an "
                               "order that forms a cycle");
  char line[256];
  snprintf(line, sizeof line,
           "task 'first' took B at test_check_lockorder.c:%d while holding A "
           "(taken at test_check_lockorder.c:%d)",
           pair.lines[1], pair.lines[0]);
  assert_contains(outcome.err, line);
  snprintf(line, sizeof line,
           "the cycle closed when task 'second' took A at "
           "test_check_lockorder.c:%d while holding B (taken at "
           "test_check_lockorder.c:%d)",
           pair.lines[3], pair.lines[2]);
  assert_contains(outcome.err, line);
  snprintf(line, sizeof line,
           "\"sites\":[\"test_check_lockorder.c:%d\","
           "\"test_check_lockorder.c:%d\",\"test_check_lockorder.c:%d\","
           "\"test_check_lockorder.c:%d\"]",
           pair.lines[2], pair.lines[3], pair.lines[0], pair.lines[1]);
  assert_contains(outcome.findings, line);
  outcome_free(&outcome);
  check_env_restore();
}

static void test_a_try_acquire_adds_no_order(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  pair_t pair = {.second_tries = true};
  outcome_t outcome = run_captured(one_after_the_other, &pair);
  assert_int_equal(outcome.rc, 0);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

/* A lock taken by try_acquire is held all the same: what the task takes
 * while holding it is ordered after it. */
static int try_line;

static int try_a_then_b(void *arg) {
  pair_t *pair = arg;
  try_line = __LINE__ + 1;
  if (!async_lock_try_acquire(&pair->a)) return UV_EBUSY;
  async_lock_acquire(&pair->b);
  async_lock_release(&pair->b);
  async_lock_release(&pair->a);
  return 0;
}

static int tried_then_opposite(void *arg) {
  pair_t *pair = arg;
  async_lock_init(&pair->a);
  async_lock_init(&pair->b);
  async_task_t *first = async_spawn("first", try_a_then_b, pair);
  int rc = join_and_release(first);
  async_task_t *second = async_spawn("second", b_then_a, pair);
  return rc | join_and_release(second);
}

static void test_a_lock_taken_by_trying_still_counts_as_held(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  pair_t pair = {.second_tries = false};
  outcome_t outcome = run_captured(tried_then_opposite, &pair);
  assert_int_equal(outcome.rc, 0);
  assert_contains(outcome.err, "potential deadlock: 2 locks");
  /* Unnamed locks are numbered in the order check mode first saw them;
   * a try is a call site like any other. */
  char held[128];
  snprintf(held, sizeof held,
           "while holding lock #1 (taken at test_check_lockorder.c:%d)",
           try_line);
  assert_contains(outcome.err, held);
  outcome_free(&outcome);
  check_env_restore();
}

static int three_dinners(void *arg) {
  table_t *table = arg;
  int rc = 0;
  for (int i = 0; i < 3; i++) rc |= dinner(table);
  return rc;
}

static void test_the_same_cycle_is_reported_once_per_run(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {.seats = 5, .meals = 2, .manners = LEFT_THEN_RIGHT};
  outcome_t outcome = run_captured(three_dinners, &table);
  assert_int_equal(outcome.rc, 0);
  assert_int_equal(count_occurrences(outcome.err, "potential deadlock"), 1);
  outcome_free(&outcome);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(
        test_a_thousand_philosophers_report_the_cycle_in_one_fifo_run),
    cmocka_unit_test(test_correct_dinners_are_silent_across_200_seeds),
    cmocka_unit_test(test_correct_dinners_of_a_thousand_are_silent),
    cmocka_unit_test(test_a_waiter_who_guards_only_the_first_fork_is_reported),
    cmocka_unit_test(
        test_a_room_with_as_many_seats_as_philosophers_is_reported),
    cmocka_unit_test(test_opposite_orders_in_turn_are_reported_with_both_sites),
    cmocka_unit_test(test_a_try_acquire_adds_no_order),
    cmocka_unit_test(test_a_lock_taken_by_trying_still_counts_as_held),
    cmocka_unit_test(test_the_same_cycle_is_reported_once_per_run))
