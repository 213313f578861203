/* test_check_deadlock.c: check mode's deadlock reports: a cycle of tasks
 * waiting for each other's locks (found when it closes), and a loop where
 * tasks wait and nothing can wake them; grouped, with a replay line.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"
#include "philosophers.h"

static void
test_a_thousand_philosophers_deadlock_and_are_one_pattern(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {.seats = 1000,
                   .meals = 2,
                   .manners = LEFT_THEN_RIGHT,
                   .yield_between_forks = true};
  outcome_t outcome = run_captured(dinner, &table);
  /* Every philosopher holds a left fork when the last one asks for his
   * right: that acquire fails, he leaves, and the others eat. */
  assert_int_equal(outcome.rc, 1);
  assert_int_equal(table.failures, 1);
  assert_int_equal(table.first_error, ASYNC_EDEADLK);
  assert_int_equal(table.meals_eaten, 999 * 2);
  assert_int_equal(count_occurrences(outcome.err, "async: deadlock"), 1);
  assert_contains(outcome.err,
                  "deadlock: 1000 tasks wait for each other in a cycle");
  char pattern[256];
  snprintf(pattern, sizeof pattern,
           "1000 tasks in the cycle ('P999', 'P0', 'P1' and 997 more), each "
           "holding the lock acquired at philosophers.h:%d and waiting for "
           "the next one's at philosophers.h:%d",
           table.first_line, table.second_line);
  assert_contains(outcome.err, pattern);
  assert_contains(outcome.err, "that acquire returns ASYNC_EDEADLK");
  assert_contains(outcome.err, "fix: take the locks in one global order");
  assert_contains(outcome.err, "replay: ASYNC_CHECK=1 ASYNC_SCHEDULE=fifo ");
  /* One line in the findings file. */
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"deadlock\"");
  assert_contains(outcome.findings, "\"task_count\":1000");
  assert_contains(outcome.findings, "\"schedule\":\"fifo\",\"seed\":null}");
  outcome_free(&outcome);
  check_env_restore();
}

static void
test_fifo_yield_deadlocks_left_then_right_without_yields(void **state) {
  (void)state;
  check_env_schedule("fifo-yield", -1);
  table_t table = {.seats = 5, .meals = 3, .manners = LEFT_THEN_RIGHT};
  outcome_t outcome = run_captured(dinner, &table);
  assert_int_equal(table.failures, 1);
  assert_contains(outcome.err,
                  "deadlock: 5 tasks wait for each other in a cycle");
  assert_contains(outcome.err, "5 tasks in the cycle ('P4', 'P0', 'P1' and 2 "
                               "more), each holding the lock acquired at");
  outcome_free(&outcome);
  check_env_restore();
}

static void
test_a_correct_dinner_under_fifo_yield_reports_nothing(void **state) {
  (void)state;
  check_env_schedule("fifo-yield", -1);
  table_t table = {.seats = 5, .meals = 3, .manners = LOWER_FORK_FIRST};
  outcome_t outcome = run_captured(dinner, &table);
  assert_int_equal(outcome.rc, 0);
  assert_string_equal(outcome.findings, "");
  assert_not_contains(outcome.err, "async:");
  outcome_free(&outcome);
  check_env_restore();
}

/* The value of "replay: ..." up to the end of its line (malloc'd). */
static char *replay_of(const char *text) {
  const char *start = strstr(text, "replay: ");
  assert_non_null(start);
  start += strlen("replay: ");
  size_t length = strcspn(start, "\n");
  return strndup(start, length);
}

/* Sets the VAR=VALUE words at the start of a replay line; returns the
 * command after them. */
static const char *set_replay_variables(char *replay) {
  char *word = replay;
  for (;;) {
    char *space = strchr(word, ' ');
    char *equals = strchr(word, '=');
    if (space == NULL || equals == NULL || equals > space ||
        strncmp(word, "ASYNC_", 6) != 0)
      return word;
    *space = '\0';
    *equals = '\0';
    check_env_set(word, equals + 1);
    word = space + 1;
  }
}

static void
test_random_finds_the_deadlock_and_its_replay_line_repeats_it(void **state) {
  (void)state;
  outcome_t found = {0};
  long long seed;
  for (seed = 1; seed <= 200; seed++) {
    check_env_schedule("random", seed);
    table_t table = {.seats = 5, .meals = 3, .manners = LEFT_THEN_RIGHT};
    found = run_captured(dinner, &table);
    check_env_restore();
    if (strstr(found.findings, "\"kind\":\"deadlock\"") != NULL) break;
    outcome_free(&found);
  }
  assert_true(seed <= 200);
  assert_contains(found.findings, "\"kind\":\"deadlock\"");
  char expected[128];
  snprintf(expected, sizeof expected,
           "replay: ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=%lld ",
           seed);
  assert_contains(found.err, expected);
  /* One replay line per finding. */
  assert_int_equal(count_occurrences(found.err, "replay: "),
                   count_occurrences(found.findings, "\n"));

  /* Replay: the variables of the line, the same program: the same
   * finding, byte for byte. */
  char *replay = replay_of(found.err);
  const char *command = set_replay_variables(replay);
  /* The command is this test program, running this test. */
  assert_contains(command, "test_check_deadlock");
  table_t table = {.seats = 5, .meals = 3, .manners = LEFT_THEN_RIGHT};
  outcome_t again = run_captured(dinner, &table);
  assert_string_equal(again.findings, found.findings);
  free(replay);
  outcome_free(&again);
  outcome_free(&found);
  check_env_restore();
}

/* ---- Two accounts, two transfers in opposite directions ---- */

typedef struct bank {
  async_lock_t alice, bob;
  int alice_line, bob_line;
} bank_t;

static int alice_pays_bob(void *arg) {
  bank_t *bank = arg;
  int rc = async_lock_acquire(&bank->alice);
  if (rc != 0) return rc;
  async_yield();
  bank->bob_line = __LINE__ + 1;
  rc = async_lock_acquire(&bank->bob);
  if (rc == 0) async_lock_release(&bank->bob);
  async_lock_release(&bank->alice);
  return rc;
}

static int bob_pays_alice(void *arg) {
  bank_t *bank = arg;
  int rc = async_lock_acquire(&bank->bob);
  if (rc != 0) return rc;
  async_yield();
  bank->alice_line = __LINE__ + 1;
  rc = async_lock_acquire(&bank->alice);
  if (rc == 0) async_lock_release(&bank->alice);
  async_lock_release(&bank->bob);
  return rc;
}

static int ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 10; i++) async_sleep(1.0);
  log_add("ticker@%.1f", async_time());
  return 0;
}

static int two_transfers(void *arg) {
  bank_t *bank = arg;
  async_lock_init(&bank->alice);
  async_lock_init(&bank->bob);
  async_lock_set_name(&bank->alice, "alice's account");
  async_lock_set_name(&bank->bob, "bob's account");
  async_task_t *tick = async_spawn("ticker", ticker, NULL);
  async_task_t *a = async_spawn("alice-to-bob", alice_pays_bob, bank);
  async_task_t *b = async_spawn("bob-to-alice", bob_pays_alice, bank);
  int rc = join_and_release(a);
  log_add("a:%s", rc == 0 ? "ok" : async_err_name(rc));
  rc = join_and_release(b);
  log_add("b:%s", rc == 0 ? "ok" : async_err_name(rc));
  return join_and_release(tick);
}

static void test_a_two_task_cycle_names_tasks_locks_and_lines(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  bank_t bank;
  log_reset();
  outcome_t outcome = run_captured(two_transfers, &bank);
  assert_int_equal(outcome.rc, 0);
  /* The second transfer closed the cycle and gave up; the first then got
   * its lock and finished. */
  assert_string_equal(log_text, "a:ok b:EDEADLK ticker@10.0");
  assert_contains(outcome.err,
                  "deadlock: 2 tasks wait for each other in a cycle");
  char line[256];
  snprintf(line, sizeof line,
           "task 'bob-to-alice' holds bob's account (taken at "
           "test_check_deadlock.c:%d) and waits at test_check_deadlock.c:%d "
           "for alice's account",
           bank.alice_line - 4, bank.alice_line);
  assert_contains(outcome.err, line);
  snprintf(line, sizeof line,
           "task 'alice-to-bob' holds alice's account (taken at "
           "test_check_deadlock.c:%d) and waits at test_check_deadlock.c:%d "
           "for bob's account",
           bank.bob_line - 4, bank.bob_line);
  assert_contains(outcome.err, line);
  /* Reported at once, at virtual time 0, while the ticker still had ten
   * seconds to go. */
  assert_contains(outcome.findings, "\"time\":0.000000000");
  assert_contains(outcome.findings,
                  "\"tasks\":[\"bob-to-alice\",\"alice-to-bob\"]");
  assert_contains(outcome.findings,
                  "\"locks\":[\"alice's account\",\"bob's account\"]");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- Quiescence ---- */

typedef struct stuck {
  async_event_t never_set;
  async_queue_t never_filled;
  int event_line, queue_line;
} stuck_t;

static int wait_for_the_event(void *arg) {
  stuck_t *stuck = arg;
  stuck->event_line = __LINE__ + 1;
  return async_event_wait(&stuck->never_set);
}

static int wait_for_an_item(void *arg) {
  stuck_t *stuck = arg;
  void *item;
  stuck->queue_line = __LINE__ + 1;
  return async_queue_get(&stuck->never_filled, &item);
}

static int wait_for_nothing(void *arg) {
  stuck_t *stuck = arg;
  async_event_init(&stuck->never_set);
  async_queue_init(&stuck->never_filled, 0);
  async_task_t *tasks[101];
  for (int i = 0; i < 100; i++) {
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    tasks[i] = async_spawn(name, wait_for_the_event, stuck);
  }
  tasks[100] = async_spawn("consumer", wait_for_an_item, stuck);
  async_sleep(5); /* the clock moves on, then nothing is left to do */
  int rc = 0;
  for (int i = 0; i < 101; i++) {
    int joined = join_and_release(tasks[i]);
    if (rc == 0) rc = joined;
  }
  async_queue_destroy(&stuck->never_filled);
  return rc;
}

static void
test_waiting_with_nothing_left_to_wake_is_a_grouped_deadlock(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  stuck_t stuck;
  outcome_t outcome = run_captured(wait_for_nothing, &stuck);
  assert_int_equal(outcome.rc, ASYNC_EDEADLK);
  assert_contains(outcome.err,
                  "deadlock: 102 tasks wait, and nothing can wake them");
  char line[256];
  snprintf(line, sizeof line,
           "100 tasks ('w0', 'w1', 'w2' and 97 more) [waiting for an event, "
           "since 0.000 s] at test_check_deadlock.c:%d",
           stuck.event_line);
  assert_contains(outcome.err, line);
  snprintf(line, sizeof line,
           "task 'consumer' (#102) [waiting for an item from a queue, since "
           "0.000 s] at test_check_deadlock.c:%d",
           stuck.queue_line);
  assert_contains(outcome.err, line);
  assert_contains(outcome.err, "task 'main' (#1) [waiting for a task to "
                               "finish ('w0'), since 5.000 s]");
  assert_contains(outcome.err, "created by async_run()");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "\"task_count\":102");
  assert_contains(outcome.findings, "\"time\":5.000000000");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- A lock its owner never gave back ---- */

static int take_and_return(void *arg) {
  return async_lock_acquire(arg); /* and never releases it */
}

static int wait_for_the_lock(void *arg) {
  int rc = async_lock_acquire(arg);
  if (rc == 0) async_lock_release(arg);
  return rc;
}

static int forgotten_lock(void *arg) {
  async_lock_t *lock = arg;
  async_lock_init(lock);
  async_lock_set_name(lock, "the ledger");
  /* Released at once: the task is freed when it returns. */
  async_task_release(async_spawn("forgetful", take_and_return, lock));
  async_yield();
  async_task_t *waiter = async_spawn("waiter", wait_for_the_lock, lock);
  return join_and_release(waiter);
}

static void
test_a_lock_whose_owner_returned_is_named_in_the_report(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  async_lock_t lock;
  outcome_t outcome = run_captured(forgotten_lock, &lock);
  assert_int_equal(outcome.rc, ASYNC_EDEADLK);
  assert_contains(outcome.err, "task 'waiter' (#3) [waiting for a lock (the "
                               "ledger, held by 'forgetful', which returned "
                               "without releasing it)");
  outcome_free(&outcome);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_a_thousand_philosophers_deadlock_and_are_one_pattern),
    cmocka_unit_test(test_fifo_yield_deadlocks_left_then_right_without_yields),
    cmocka_unit_test(test_a_correct_dinner_under_fifo_yield_reports_nothing),
    cmocka_unit_test(
        test_random_finds_the_deadlock_and_its_replay_line_repeats_it),
    cmocka_unit_test(test_a_two_task_cycle_names_tasks_locks_and_lines),
    cmocka_unit_test(
        test_waiting_with_nothing_left_to_wake_is_a_grouped_deadlock),
    cmocka_unit_test(test_a_lock_whose_owner_returned_is_named_in_the_report))
