/* test_account.c: ex6-bank's cmocka checks of account.c, in check mode:
 * virtual time, hundreds of seeded schedules, and check mode's findings.
 *
 * Each check runs a day at the bank (bank_check.h): operations as tasks,
 * all starting at once, under fifo and then many seeds of random and pct.
 * A failure names its schedule and prints the line that replays it.
 */
#include "check.h"

#include "bank_check.h"

#define CENTS(units, cents) ((int64_t)(units)*100 + (cents))

/* One operation of a day: who, what, on which account(s), how much. */
#define OP(who_, kind_, account_, to_, cents_)                                 \
  {                                                                            \
    .who = (who_), .kind = (kind_), .account = (account_), .to = (to_),        \
    .cents = (cents_)                                                          \
  }

/* ---- Part 0: amounts ---- */

static void test_amounts_are_parsed_exactly(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t cents;
  } valid[] = {{"12.34", 1234},
               {"0.29", 29},
               {"19.99", 1999},
               {"0.07", 7},
               {"5", 500},
               {"5.5", 550},
               {"007.50", 750},
               {"0", 0},
               {"10000.01", 1000001},
               {"1000000000.00", BANK_MAX_AMOUNT},
               {"4.35", 435}};
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    int64_t cents = -42;
    int rc = amount_parse(valid[i].text, &cents);
    if (rc != 0) {
      check_message("amount_parse(\"%s\") returned %s; it is a valid "
                    "amount, %lld cents",
                    valid[i].text, bank_error_name(rc),
                    (long long)valid[i].cents);
      fail();
    }
    if (cents != valid[i].cents) {
      char expected[32], actual[32];
      snprintf(expected, sizeof expected, "%lld", (long long)valid[i].cents);
      snprintf(actual, sizeof actual, "%lld", (long long)cents);
      check_message("amount_parse(\"%s\") gave %s cents, not %s: %s",
                    valid[i].text, actual, expected,
                    strchr(valid[i].text, '.')
                        ? "a decimal fraction has no exact binary value "
                          "(0.29 * 100 is 28.999...): count the digits "
                          "with integers"
                        : "units are 100 cents each");
      check_text_equal(expected, actual);
    }
  }
  static const struct {
    const char *text, *why;
  } invalid[] = {
      {"10.001", "less than a cent: at most two digits after the point"},
      {"0.999", "less than a cent: at most two digits after the point"},
      {"12.345", "less than a cent: at most two digits after the point"},
      {"-5", "negative"},
      {"+5", "a sign is not a digit"},
      {"", "empty"},
      {"abc", "not a number"},
      {"12.", "a point needs a digit after it"},
      {".5", "a point needs a digit before it"},
      {"1e3", "an exponent is not a digit"},
      {"1,000.00", "a comma is not a digit"},
      {" 5", "a space is not a digit"},
      {"5 ", "a space is not a digit"},
      {"1.2.3", "two points"},
      {"nan", "not a number"},
      {"inf", "not a number"},
      {"0x10", "hexadecimal"},
      {"1000000000.01", "above BANK_MAX_AMOUNT"},
      {"99999999999999999999999", "far above BANK_MAX_AMOUNT (and int64_t)"},
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    int64_t cents = 4242;
    int rc = amount_parse(invalid[i].text, &cents);
    if (rc != BANK_EAMOUNT) {
      check_message("amount_parse(\"%s\") returned %s (giving %lld cents); "
                    "expected BANK_EAMOUNT: %s",
                    invalid[i].text, bank_error_name(rc), (long long)cents,
                    invalid[i].why);
      fail();
    }
    if (cents != 4242) {
      check_message("amount_parse(\"%s\") refused it, but changed *cents "
                    "to %lld: leave it untouched when refusing",
                    invalid[i].text, (long long)cents);
      fail();
    }
  }
}

/* ---- Part 1: deposits and withdrawals ---- */

static const int success_only[] = {0, END_OF_CODES};

static void test_concurrent_deposits_lose_nothing(void **state) {
  (void)state;
  current_test = "test_concurrent_deposits_lose_nothing";
  day_t day = {.accounts = 2,
               .opening = {CENTS(1000, 0), 0},
               .ops = {OP("alice", DEPOSIT, 0, 0, CENTS(20000, 0)),
                       OP("bob", DEPOSIT, 0, 0, CENTS(15000, 0)),
                       OP("carol", DEPOSIT, 0, 0, CENTS(12000, 50)),
                       OP("dave", DEPOSIT, 0, 0, CENTS(300, 0)),
                       OP("erin", DEPOSIT, 0, 0, CENTS(10000, 1)),
                       OP("frank", DEPOSIT, 0, 0, CENTS(50, 5)),
                       OP("gina", DEPOSIT, 1, 0, CENTS(30000, 0)),
                       OP("hank", DEPOSIT, 1, 0, CENTS(11000, 0)),
                       OP("ivan", DEPOSIT, 1, 0, CENTS(70, 0))},
               .op_count = 9};
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 250);
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    expect_codes(&day, success_only,
                 ": a deposit of a positive amount "
                 "always succeeds");
    expect_books_balance(&day);
  }
  day_free(&day);
}

static const int funds_or_success[] = {0, BANK_EFUNDS, END_OF_CODES};

static void test_withdrawals_never_overdraw(void **state) {
  (void)state;
  current_test = "test_withdrawals_never_overdraw";
  /* Withdrawals only: a balance never comes back up, so an overdraft
   * shows at the end too. */
  day_t day = {.accounts = 2,
               .opening = {CENTS(100, 0), CENTS(2500, 0)},
               .ops = {OP("alice", WITHDRAW, 0, 0, CENTS(70, 0)),
                       OP("bob", WITHDRAW, 0, 0, CENTS(30, 0)),
                       OP("carol", WITHDRAW, 0, 0, CENTS(50, 0)),
                       OP("dave", WITHDRAW, 0, 0, CENTS(20, 0)),
                       OP("erin", WITHDRAW, 0, 0, CENTS(45, 0)),
                       OP("frank", WITHDRAW, 1, 0, CENTS(2000, 0)),
                       OP("gina", WITHDRAW, 1, 0, CENTS(1500, 0)),
                       OP("hank", WITHDRAW, 1, 0, CENTS(600, 0))},
               .op_count = 8};
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 250);
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    expect_codes(&day, funds_or_success,
                 ": here every TAN is confirmed and no withdrawal is over "
                 "the limit, so only BANK_EFUNDS may refuse one");
    expect_books_balance(&day);
    /* Refusing everything never overdraws either: a refusal must be
     * right. Balances only go down here, so the end balance is the least
     * the account held when the refusal was made. */
    for (int op = 0; op < day.op_count; op++) {
      const op_t *refused = &day.ops[op];
      char text[160];
      if (refused->rc == BANK_EFUNDS &&
          refused->cents <= day.final[refused->account])
        day_fail(&day,
                 "%s, %s was refused for insufficient funds, yet account %d "
                 "still holds %s at the end",
                 day.where, op_text(refused, text, sizeof text),
                 refused->account + 1, money(day.final[refused->account]).text);
    }
  }
  day_free(&day);
}

static void test_no_lost_update_even_when_totals_are_right(void **state) {
  (void)state;
  current_test = "test_no_lost_update_even_when_totals_are_right";
  /* Under fifo with the draft's deposit, bob reads 1000.00 and waits for
   * the AML office; meanwhile alice puts 300.00 in and carol takes it out
   * again. bob then writes 21000.00, which is even the right total: but
   * he wrote over carol's write. Check mode reports it anyway. */
  day_t day = {.accounts = 1,
               .opening = {CENTS(1000, 0)},
               .ops = {OP("bob", DEPOSIT, 0, 0, CENTS(20000, 0)),
                       OP("alice", DEPOSIT, 0, 0, CENTS(300, 0)),
                       OP("carol", WITHDRAW, 0, 0, CENTS(300, 0))},
               .op_count = 3};
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 100);
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    char found[1024];
    if (find_finding(day.findings, "lost-update", found, sizeof found)) {
      int64_t expected[MAX_ACCOUNTS];
      expected_balances(&day, expected);
      if (expected[0] == day.final[0])
        day_fail(&day,
                 "%s, the total came out right (%s), but check mode "
                 "reported: %s",
                 day.where, money(day.final[0]).text, found);
      day_fail(&day, "%s, check mode reported: %s", day.where, found);
    }
    static const int allowed[] = {0, BANK_EFUNDS, END_OF_CODES};
    expect_codes(&day, allowed, "");
    expect_books_balance(&day);
  }
  day_free(&day);
}

/* Runs a one-operation day under fifo; fails unless the operation returns
 * `expected` and leaves the balance at `after`. */
static void expect_single(const char *what, kind_t kind, int64_t opening,
                          int64_t cents, unsigned deny_every, int expected,
                          int64_t after, const char *why) {
  day_t day = {.accounts = 2,
               .opening = {opening, opening},
               .ops = {OP("alice", kind, 0, 1, cents)},
               .op_count = 1,
               .deny_tan_every = deny_every};
  schedule_t plan[1];
  plan_schedules(plan, false, 0);
  day_run(&day, &plan[0]);
  const op_t *op = &day.ops[0];
  char text[160];
  op_text(op, text, sizeof text);
  if (op->rc == UV_ENOSYS)
    day_fail(&day, "%s: %s returned UV_ENOSYS: not written yet", what, text);
  if (op->rc != expected)
    day_fail(&day,
             "%s: %s, with %s in account 1, returned %s (%s); expected "
             "%s: %s",
             what, text, money(opening).text, bank_error_name(op->rc),
             bank_strerror(op->rc), bank_error_name(expected), why);
  if (day.final[0] != after)
    day_fail(&day, "%s: %s returned %s, but left %s in account 1, not %s%s",
             what, text, bank_error_name(op->rc), money(day.final[0]).text,
             money(after).text,
             expected != 0 ? ": a refused operation changes nothing" : "");
  if (kind == TRANSFER && day.final[1] != opening + (opening - after))
    day_fail(&day, "%s: %s returned %s, but left %s in account 2, not %s%s",
             what, text, bank_error_name(op->rc), money(day.final[1]).text,
             money(opening + (opening - after)).text,
             expected != 0 ? ": a refused transfer changes nothing" : "");
  bool needs_tan = kind != DEPOSIT && cents > 0 &&
                   (kind == TRANSFER || cents <= BANK_WITHDRAWAL_LIMIT) &&
                   cents <= opening;
  if (needs_tan && day.bank.tans_asked == 0)
    day_fail(&day,
             "%s: %s never asked for a TAN: call bank_confirm_tan "
             "before any money leaves an account",
             what, text);
  day_free(&day);
}

static void test_refused_withdrawals_change_nothing(void **state) {
  (void)state;
  current_test = "test_refused_withdrawals_change_nothing";
  const int64_t hundred = CENTS(100, 0), rich = CENTS(5000, 0);
  expect_single("insufficient funds", WITHDRAW, hundred, CENTS(100, 1), 0,
                BANK_EFUNDS, hundred, "the account holds less than that");
  expect_single("all the funds", WITHDRAW, hundred, hundred, 0, 0, 0,
                "exactly the balance may be withdrawn");
  expect_single("a denied TAN", WITHDRAW, hundred, CENTS(50, 0), 1,
                BANK_EDENIED, hundred,
                "the customer denied the TAN: bank_confirm_tan's answer "
                "decides");
  expect_single("over the limit", WITHDRAW, rich, BANK_WITHDRAWAL_LIMIT + 1, 0,
                BANK_ELIMIT, rich, "one withdrawal may take at most 2000.00");
  expect_single("at the limit", WITHDRAW, rich, BANK_WITHDRAWAL_LIMIT, 0, 0,
                rich - BANK_WITHDRAWAL_LIMIT,
                "2000.00 itself is within the limit");
  expect_single("a zero withdrawal", WITHDRAW, hundred, 0, 0, BANK_EAMOUNT,
                hundred, "an operation needs an amount above zero");
  expect_single("a negative withdrawal", WITHDRAW, hundred, -CENTS(50, 0), 0,
                BANK_EAMOUNT, hundred,
                "an operation needs an amount above zero");
  expect_single("a zero deposit", DEPOSIT, hundred, 0, 0, BANK_EAMOUNT, hundred,
                "an operation needs an amount above zero");
  expect_single("a negative deposit", DEPOSIT, hundred, -CENTS(50, 0), 0,
                BANK_EAMOUNT, hundred,
                "an operation needs an amount above zero");
}

/* How many reports the AML office holds about deposits of `cents` into
 * account `id`. */
static size_t reports_of(const bank_t *bank, int id, int64_t cents) {
  size_t count = 0;
  for (size_t i = 0; i < bank->report_count; i++)
    if (bank->reports[i].account_id == id && bank->reports[i].cents == cents)
      count++;
  return count;
}

static void test_each_large_deposit_is_reported_once(void **state) {
  (void)state;
  current_test = "test_each_large_deposit_is_reported_once";
  day_t day = {.accounts = 2,
               .opening = {CENTS(1000, 0), CENTS(1000, 0)},
               .ops = {OP("alice", DEPOSIT, 0, 0, CENTS(20000, 0)),
                       OP("bob", DEPOSIT, 0, 0, CENTS(20000, 0)),
                       OP("carol", DEPOSIT, 0, 0, CENTS(20000, 0)),
                       OP("dave", DEPOSIT, 0, 0, BANK_AML_THRESHOLD),
                       OP("erin", DEPOSIT, 0, 0, BANK_AML_THRESHOLD + 1),
                       OP("frank", DEPOSIT, 0, 0, CENTS(500, 0)),
                       OP("gina", DEPOSIT, 1, 0, CENTS(15000, 0)),
                       OP("hank", DEPOSIT, 1, 0, BANK_AML_THRESHOLD)},
               .op_count = 8};
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 50);
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    expect_codes(&day, success_only,
                 ": a deposit of a positive amount "
                 "always succeeds");
    /* Every deposit, against the reports about deposits like it. */
    for (int op = 0; op < day.op_count; op++) {
      const op_t *deposit = &day.ops[op];
      size_t alike = 0;
      for (int other = 0; other < day.op_count; other++)
        alike += day.ops[other].account == deposit->account &&
                 day.ops[other].cents == deposit->cents;
      size_t reported =
          reports_of(&day.bank, deposit->account + 1, deposit->cents);
      size_t expected = deposit->cents > BANK_AML_THRESHOLD ? alike : 0;
      if (reported == expected) continue;
      char text[160];
      op_text(deposit, text, sizeof text);
      if (expected == 0)
        day_fail(&day,
                 "%s, %s was reported to the AML office: only deposits "
                 "above %s are (BANK_AML_THRESHOLD)",
                 day.where, text, money(BANK_AML_THRESHOLD).text);
      if (reported == 0)
        day_fail(&day,
                 "%s, %s was never reported: call bank_report_deposit for "
                 "every deposit above %s",
                 day.where, text, money(BANK_AML_THRESHOLD).text);
      day_fail(&day,
               "%s, deposits of %s into account %d were reported %zu times, "
               "for %zu such deposits: report each exactly once (no second "
               "report on a retry)",
               day.where, money(deposit->cents).text, deposit->account + 1,
               reported, expected);
    }
  }
  day_free(&day);
}

/* Runs a day of operations that all start at 0 on accounts of their own
 * under fifo and a few seeds: fails unless they all end by `limit` seconds
 * of virtual time. */
static void expect_overlap(day_t *day, double limit, const char *what) {
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 5);
  for (size_t i = 0; i < count; i++) {
    day_run(day, &plan[i]);
    expect_codes(day, success_only,
                 ": each has the funds, and every TAN is "
                 "confirmed");
    double first = 1e300, last = -1e300;
    for (int op = 0; op < day->op_count; op++) {
      if (day->ops[op].started < first) first = day->ops[op].started;
      if (day->ops[op].ended > last) last = day->ops[op].ended;
    }
    if (last - first > limit + 1e-6)
      day_fail(day,
               "%s, %s, all started at once on different accounts, took "
               "%.3f s of virtual time, not %.3f s: one waited for another. "
               "Different accounts must never wait for each other (one lock "
               "for the whole bank?)",
               day->where, what, last - first, limit);
  }
  day_free(day);
}

static void test_different_accounts_never_wait_for_each_other(void **state) {
  (void)state;
  current_test = "test_different_accounts_never_wait_for_each_other";
  day_t deposits = {.accounts = 6,
                    .opening = {0},
                    .ops = {OP("alice", DEPOSIT, 0, 0, CENTS(20000, 0)),
                            OP("bob", DEPOSIT, 1, 0, CENTS(20000, 0)),
                            OP("carol", DEPOSIT, 2, 0, CENTS(20000, 0)),
                            OP("dave", DEPOSIT, 3, 0, CENTS(20000, 0)),
                            OP("erin", DEPOSIT, 4, 0, CENTS(20000, 0)),
                            OP("frank", DEPOSIT, 5, 0, CENTS(20000, 0))},
                    .op_count = 6};
  expect_overlap(&deposits, BANK_AML_SECONDS,
                 "six deposits above 10000.00 (each reported to the AML "
                 "office, which takes 0.2 s)");
  day_t withdrawals = {.accounts = 6,
                       .opening = {CENTS(1000, 0), CENTS(1000, 0),
                                   CENTS(1000, 0), CENTS(1000, 0),
                                   CENTS(1000, 0), CENTS(1000, 0)},
                       .ops = {OP("alice", WITHDRAW, 0, 0, CENTS(100, 0)),
                               OP("bob", WITHDRAW, 1, 0, CENTS(100, 0)),
                               OP("carol", WITHDRAW, 2, 0, CENTS(100, 0)),
                               OP("dave", WITHDRAW, 3, 0, CENTS(100, 0)),
                               OP("erin", WITHDRAW, 4, 0, CENTS(100, 0)),
                               OP("frank", WITHDRAW, 5, 0, CENTS(100, 0))},
                       .op_count = 6};
  expect_overlap(&withdrawals, BANK_TAN_SECONDS,
                 "six withdrawals (each confirmed with a TAN, which takes "
                 "0.1 s)");
  day_t mixed = {.accounts = 4,
                 .opening = {CENTS(1000, 0), CENTS(1000, 0), CENTS(1000, 0),
                             CENTS(1000, 0)},
                 .ops = {OP("alice", DEPOSIT, 0, 0, CENTS(20000, 0)),
                         OP("bob", WITHDRAW, 1, 0, CENTS(100, 0)),
                         OP("carol", DEPOSIT, 2, 0, CENTS(20000, 0)),
                         OP("dave", WITHDRAW, 3, 0, CENTS(100, 0))},
                 .op_count = 4};
  expect_overlap(&mixed, BANK_AML_SECONDS,
                 "two large deposits (0.2 s each) and two withdrawals (0.1 s "
                 "each)");
}

/* ---- Part 2: transfers ---- */

static void test_a_transfer_is_all_or_nothing(void **state) {
  (void)state;
  current_test = "test_a_transfer_is_all_or_nothing";
  const int64_t hundred = CENTS(100, 0);
  expect_single("a transfer", TRANSFER, hundred, CENTS(60, 0), 0, 0,
                CENTS(40, 0), "both accounts hold enough");
  expect_single("a denied TAN", TRANSFER, hundred, CENTS(50, 0), 1,
                BANK_EDENIED, hundred,
                "the customer denied the TAN: bank_confirm_tan's answer "
                "decides");
  expect_single("insufficient funds", TRANSFER, hundred, CENTS(100, 1), 0,
                BANK_EFUNDS, hundred, "account 1 holds less than that");
  expect_single("a zero transfer", TRANSFER, hundred, 0, 0, BANK_EAMOUNT,
                hundred, "an operation needs an amount above zero");
  expect_single("a negative transfer", TRANSFER, hundred, -CENTS(50, 0), 0,
                BANK_EAMOUNT, hundred,
                "an operation needs an amount above zero");

  /* Into the same account: UV_EINVAL, and nothing else happens. */
  day_t self = {.accounts = 1,
                .opening = {hundred},
                .ops = {OP("alice", TRANSFER, 0, 0, CENTS(10, 0))},
                .op_count = 1};
  schedule_t plan[MAX_SCHEDULES];
  plan_schedules(plan, false, 0);
  day_run(&self, &plan[0]);
  static const int invalid[] = {UV_EINVAL, END_OF_CODES};
  expect_codes(&self, invalid,
               ": from and to are the same account, which is UV_EINVAL");
  expect_books_balance(&self);
  day_free(&self);

  /* Many at once, some denied, while an auditor adds up the bank between
   * the steps of the others: the total never moves. */
  day_t day = {.accounts = 3,
               .opening = {CENTS(100, 0), CENTS(100, 0), CENTS(100, 0)},
               .ops = {OP("alice", TRANSFER, 0, 1, CENTS(60, 0)),
                       OP("bob", TRANSFER, 1, 0, CENTS(70, 0)),
                       OP("carol", TRANSFER, 1, 2, CENTS(80, 0)),
                       OP("dave", TRANSFER, 2, 0, CENTS(90, 0)),
                       OP("erin", TRANSFER, 0, 2, CENTS(50, 0)),
                       OP("frank", TRANSFER, 2, 1, CENTS(40, 0)),
                       OP("gina", TRANSFER, 0, 1, CENTS(100, 0))},
               .op_count = 7,
               .deny_tan_every = 3,
               .audit = true};
  size_t count = plan_schedules(plan, true, 100);
  static const int allowed[] = {0, BANK_EFUNDS, BANK_EDENIED, END_OF_CODES};
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    expect_codes(&day, allowed, "");
    expect_books_balance(&day);
    if (day.audit_problem[0] != '\0')
      day_fail(&day, "%s, %s", day.where, day.audit_problem);
  }
  day_free(&day);
}

static void test_opposite_transfers_never_deadlock(void **state) {
  (void)state;
  current_test = "test_opposite_transfers_never_deadlock";
  /* Two pairs of opposite transfers, and a ring of three. */
  day_t day = {.accounts = 5,
               .opening = {CENTS(1000, 0), CENTS(1000, 0), CENTS(1000, 0),
                           CENTS(1000, 0), CENTS(1000, 0)},
               .ops = {OP("alice", TRANSFER, 0, 1, CENTS(10, 0)),
                       OP("bob", TRANSFER, 1, 0, CENTS(20, 0)),
                       OP("carol", TRANSFER, 0, 1, CENTS(30, 0)),
                       OP("dave", TRANSFER, 1, 0, CENTS(40, 0)),
                       OP("erin", TRANSFER, 2, 3, CENTS(50, 0)),
                       OP("frank", TRANSFER, 3, 4, CENTS(60, 0)),
                       OP("gina", TRANSFER, 4, 2, CENTS(70, 0))},
               .op_count = 7};
  schedule_t plan[MAX_SCHEDULES];
  size_t count = plan_schedules(plan, true, 100);
  for (size_t i = 0; i < count; i++) {
    day_run(&day, &plan[i]);
    char found[1024];
    if (find_finding(day.findings, "deadlock", found, sizeof found))
      day_fail(&day, "%s, check mode reported: %s", day.where, found);
    if (find_finding(day.findings, "potential-deadlock", found, sizeof found))
      day_fail(&day, "%s, this run went through, but check mode reported: %s",
               day.where, found);
    expect_codes(&day, success_only,
                 ": every account holds enough and every TAN is confirmed");
    expect_books_balance(&day);
  }
  day_free(&day);
}

static void test_transfers_between_different_accounts_overlap(void **state) {
  (void)state;
  current_test = "test_transfers_between_different_accounts_overlap";
  day_t day = {.accounts = 6,
               .opening = {CENTS(1000, 0), CENTS(1000, 0), CENTS(1000, 0),
                           CENTS(1000, 0), CENTS(1000, 0), CENTS(1000, 0)},
               .ops = {OP("alice", TRANSFER, 0, 1, CENTS(100, 0)),
                       OP("bob", TRANSFER, 3, 2, CENTS(100, 0)),
                       OP("carol", TRANSFER, 4, 5, CENTS(100, 0))},
               .op_count = 3};
  expect_overlap(&day, BANK_TAN_SECONDS,
                 "three transfers between three different pairs of accounts "
                 "(each confirmed with a TAN, which takes 0.1 s)");
}

CHECK_MAIN(cmocka_unit_test(test_amounts_are_parsed_exactly),
           cmocka_unit_test(test_concurrent_deposits_lose_nothing),
           cmocka_unit_test(test_withdrawals_never_overdraw),
           cmocka_unit_test(test_no_lost_update_even_when_totals_are_right),
           cmocka_unit_test(test_refused_withdrawals_change_nothing),
           cmocka_unit_test(test_each_large_deposit_is_reported_once),
           cmocka_unit_test(test_different_accounts_never_wait_for_each_other),
           cmocka_unit_test(test_a_transfer_is_all_or_nothing),
           cmocka_unit_test(test_opposite_transfers_never_deadlock),
           cmocka_unit_test(test_transfers_between_different_accounts_overlap))
