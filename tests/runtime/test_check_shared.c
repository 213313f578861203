/* test_check_shared.c: check mode's lost-update detector (async_shared_t)
 * and invariant hooks, on the workshop's bank account.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

typedef enum teller {
  READ_AWAIT_WRITE,    /* the bug: the balance read before the slow service */
  AWAIT_READ_WRITE,    /* correct: read and write with no await in between */
  READ_FREE_LOCK_WRITE /* the bug, with an await that need not wait */
} teller_t;

typedef struct bank {
  async_shared_t balance;
  teller_t teller;
  async_lock_t service; /* a free lock: an await that never has to wait */
  int read_line, await_line, write_line;
} bank_t;

typedef struct deposit {
  bank_t *bank;
  int64_t amount;
} deposit_t;

/* The slow anti-money-laundering service. */
static int slow_service(bank_t *bank) {
  if (bank->teller == READ_FREE_LOCK_WRITE) {
    bank->await_line = __LINE__ + 1;
    int rc = async_lock_acquire(&bank->service);
    if (rc == 0) async_lock_release(&bank->service);
    return rc;
  }
  bank->await_line = __LINE__ + 1;
  return async_sleep(0.1);
}

static int deposit(void *arg) {
  deposit_t *deposit = arg;
  bank_t *bank = deposit->bank;
  int rc;
  if (bank->teller == AWAIT_READ_WRITE) {
    rc = slow_service(bank);
    if (rc != 0) return rc;
  }
  bank->read_line = __LINE__ + 1;
  int64_t balance = async_shared_read(&bank->balance);
  if (bank->teller != AWAIT_READ_WRITE) {
    rc = slow_service(bank);
    if (rc != 0) return rc;
  }
  bank->write_line = __LINE__ + 1;
  async_shared_write(&bank->balance, balance + deposit->amount);
  return 0;
}

typedef struct day {
  bank_t bank;
  int64_t amounts[3];
  int count;
  int64_t final;
} day_t;

static int a_day_at_the_bank(void *arg) {
  day_t *day = arg;
  async_shared_init(&day->bank.balance, "the balance", 0);
  async_lock_init(&day->bank.service);
  deposit_t deposits[3];
  async_task_t *tasks[3];
  const char *names[] = {"alice", "bob", "carol"};
  for (int i = 0; i < day->count; i++) {
    deposits[i] = (deposit_t){&day->bank, day->amounts[i]};
    tasks[i] = async_spawn(names[i], deposit, &deposits[i]);
  }
  int rc = async_gather(tasks, (size_t)day->count, NULL, 0);
  for (int i = 0; i < day->count; i++) async_task_release(tasks[i]);
  day->final = async_shared_read(&day->bank.balance);
  return rc;
}

static void
test_a_write_from_a_read_made_before_an_await_is_a_lost_update(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  day_t day = {
      .bank.teller = READ_AWAIT_WRITE, .amounts = {100, 50}, .count = 2};
  outcome_t outcome = run_captured(a_day_at_the_bank, &day);
  assert_int_equal(outcome.rc, 0);
  assert_int_equal(day.final, 50); /* alice's 100 is lost */
  char line[512];
  snprintf(line, sizeof line,
           "lost update: task 'bob' wrote the balance at "
           "test_check_shared.c:%d from a value it read at "
           "test_check_shared.c:%d, before it awaited at "
           "test_check_shared.c:%d.\n"
           "  Meanwhile task 'alice' wrote the balance at "
           "test_check_shared.c:%d: that write is lost",
           day.bank.write_line, day.bank.read_line, day.bank.await_line,
           day.bank.write_line);
  assert_contains(outcome.err, line);
  assert_contains(outcome.findings, "{\"kind\":\"lost-update\"");
  assert_contains(outcome.findings, "\"tasks\":[\"bob\",\"alice\"]");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  outcome_free(&outcome);
  check_env_restore();
}

static void
test_it_is_reported_even_when_the_totals_come_out_right(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  /* alice deposits nothing: losing her write loses nothing, this time. */
  day_t day = {.bank.teller = READ_AWAIT_WRITE, .amounts = {0, 5}, .count = 2};
  outcome_t outcome = run_captured(a_day_at_the_bank, &day);
  assert_int_equal(day.final, 5);
  assert_contains(outcome.err, "lost update: task 'bob' wrote the balance");
  outcome_free(&outcome);
  check_env_restore();
}

static void
test_random_finds_it_within_500_seeds_and_the_replay_repeats_it(void **state) {
  (void)state;
  /* Under fifo the free lock never switches tasks: no race this time. */
  check_env_schedule("fifo", -1);
  day_t day = {.bank.teller = READ_FREE_LOCK_WRITE,
               .amounts = {100, 50, 20},
               .count = 3};
  outcome_t quiet = run_captured(a_day_at_the_bank, &day);
  assert_int_equal(day.final, 170);
  assert_string_equal(quiet.findings, "");
  outcome_free(&quiet);
  check_env_restore();

  long long seed;
  outcome_t found = {0};
  for (seed = 1; seed <= 500; seed++) {
    check_env_schedule("random", seed);
    found = run_captured(a_day_at_the_bank, &day);
    check_env_restore();
    if (found.findings[0] != '\0') break;
    outcome_free(&found);
  }
  assert_true(seed <= 500);
  assert_contains(found.findings, "{\"kind\":\"lost-update\"");

  /* The replay: same variables, same program, same finding. */
  char expected[128];
  snprintf(expected, sizeof expected,
           "replay: ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=%lld ",
           seed);
  assert_contains(found.err, expected);
  check_env_schedule("random", seed);
  outcome_t again = run_captured(a_day_at_the_bank, &day);
  assert_string_equal(again.findings, found.findings);
  outcome_free(&again);
  outcome_free(&found);
  check_env_restore();
}

static void test_the_correct_teller_is_silent_across_2000_seeds(void **state) {
  (void)state;
  long long seeds = under_valgrind() ? 50 : 2000;
  for (long long seed = 1; seed <= seeds; seed++) {
    check_env_schedule(seed % 2 ? "random" : "pct", seed);
    day_t day = {
        .bank.teller = AWAIT_READ_WRITE, .amounts = {100, 50, 20}, .count = 3};
    outcome_t outcome = run_captured(a_day_at_the_bank, &day);
    if (outcome.findings[0] != '\0' || day.final != 170)
      fail_msg("seed %lld: expected 170 and no finding, got %lld and:\n%s",
               seed, (long long)day.final, outcome.findings);
    outcome_free(&outcome);
    check_env_restore();
  }
}

/* ---- Invariants ---- */

typedef struct account {
  async_shared_t balance;
  int64_t lowest;
} account_t;

static bool never_negative(void *arg) {
  account_t *account = arg;
  return async_shared_peek(&account->balance) >= 0;
}

static int withdraw_70(void *arg) {
  account_t *account = arg;
  /* Checks the funds, then waits for the TAN, then takes the money: the
   * check is stale by then. */
  if (async_shared_read(&account->balance) < 70) return UV_EAGAIN;
  int rc = async_sleep(0.1); /* the TAN confirmation */
  if (rc != 0) return rc;
  async_shared_write(&account->balance,
                     async_shared_read(&account->balance) - 70);
  return 0;
}

static int two_withdrawals(void *arg) {
  account_t *account = arg;
  async_shared_init(&account->balance, "the balance", 100);
  int rc = async_check_invariant("the balance is never negative",
                                 never_negative, account);
  if (rc != 0) return rc;
  async_task_t *tasks[] = {async_spawn("atm", withdraw_70, account),
                           async_spawn("counter", withdraw_70, account)};
  rc = async_gather(tasks, 2, NULL, 0);
  async_task_release(tasks[0]);
  async_task_release(tasks[1]);
  account->lowest = async_shared_read(&account->balance);
  return rc;
}

static void test_an_invariant_is_checked_after_every_step(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  account_t account;
  outcome_t outcome = run_captured(two_withdrawals, &account);
  assert_int_equal(account.lowest, -40);
  assert_contains(outcome.err, "invariant broken: \"the balance is never "
                               "negative\" no longer holds, after a step of "
                               "task 'counter'");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"invariant\"");
  outcome_free(&outcome);
  check_env_restore();
}

/* An invariant that looks at the balance after every step must not count
 * as the running task's read: the lost update is still found. */
static bool balance_never_negative(void *arg) {
  bank_t *bank = arg;
  return async_shared_peek(&bank->balance) >= 0;
}

static int a_watched_day(void *arg) {
  day_t *day = arg;
  async_shared_init(&day->bank.balance, "the balance", 0);
  int rc = async_check_invariant("the balance is never negative",
                                 balance_never_negative, &day->bank);
  return rc != 0 ? rc : a_day_at_the_bank(day);
}

static void
test_an_invariant_peeking_does_not_hide_a_lost_update(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  day_t day = {
      .bank.teller = READ_AWAIT_WRITE, .amounts = {100, 50}, .count = 2};
  outcome_t outcome = run_captured(a_watched_day, &day);
  assert_int_equal(day.final, 50);
  assert_contains(outcome.err, "lost update: task 'bob' wrote the balance");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  outcome_free(&outcome);
  check_env_restore();
}

static int register_outside_check_mode(void *arg) {
  (void)arg;
  return async_check_invariant("anything", never_negative, NULL);
}

static void test_outside_check_mode_shared_variables_are_plain(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", NULL);
  day_t day = {
      .bank.teller = READ_AWAIT_WRITE, .amounts = {100, 50}, .count = 2};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(a_day_at_the_bank, &day), 0);
  char *err = stderr_capture_end(&capture);
  assert_int_equal(day.final, 50);
  assert_string_equal(err, "");
  free(err);
  assert_int_equal(harness_run(register_outside_check_mode, NULL), UV_EPERM);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(
        test_a_write_from_a_read_made_before_an_await_is_a_lost_update),
    cmocka_unit_test(test_it_is_reported_even_when_the_totals_come_out_right),
    cmocka_unit_test(
        test_random_finds_it_within_500_seeds_and_the_replay_repeats_it),
    cmocka_unit_test(test_the_correct_teller_is_silent_across_2000_seeds),
    cmocka_unit_test(test_an_invariant_is_checked_after_every_step),
    cmocka_unit_test(test_an_invariant_peeking_does_not_hide_a_lost_update),
    cmocka_unit_test(test_outside_check_mode_shared_variables_are_plain))
