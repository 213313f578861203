/* main.c: ex6-bank's program, `bank`: a day at the bank, with many clients
 * at the counters at once (kit-owned; do not edit).
 *
 * Each account has CLIENTS client tasks; in each round every client
 * withdraws from its account, deposits into it and, with -t, transfers to
 * the next account (the last one's to the first: transfers meet in
 * opposite directions). The program keeps its own books from what each
 * operation returned, and at the end checks that every balance is what
 * the operations that succeeded make it, and that none went below zero.
 *
 * Run it in check mode to see a race instead of hoping for one:
 *
 *   ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=7 bank -t
 */
#include <async.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"

enum { MAX_ACCOUNTS = 1000, MAX_CLIENTS = 1000, MAX_ROUNDS = 100000 };

typedef struct day {
  /* options */
  int accounts, clients, rounds;
  int64_t opening, deposit, withdrawal;
  bool transfers, verbose;
  unsigned deny_every;
  /* the bank, and our own books */
  bank_t bank;
  account_t *account;
  int64_t *expected;
  double start;
  int deposits_made, withdrawals_made, withdrawals_refused, transfers_made,
      transfers_refused;
  int errors;         /* operations that failed in a way they may not */
  char negative[256]; /* the first balance seen below zero */
} day_t;

typedef struct client {
  day_t *day;
  int account; /* index into day->account */
  char name[32];
} client_t;

static void usage(void) {
  fprintf(stderr,
          "usage: bank [-a ACCOUNTS] [-n CLIENTS] [-r ROUNDS] [-o AMOUNT] "
          "[-d AMOUNT] [-w AMOUNT] [-t] [-x N] [-v]\n"
          "  -a ACCOUNTS  accounts (default 3)\n"
          "  -n CLIENTS   clients per account, all at once (default 3)\n"
          "  -r ROUNDS    rounds per client (default 2)\n"
          "  -o AMOUNT    each account's opening balance (default 1000.00)\n"
          "  -d AMOUNT    each deposit (default 12000.00, reported to the "
          "AML office)\n"
          "  -w AMOUNT    each withdrawal, and each transfer (default "
          "700.00)\n"
          "  -t           part 2: each round also transfers to the next "
          "account\n"
          "  -x N         the customers deny every Nth TAN (default: none)\n"
          "  -v           print each operation as it ends\n"
          "Amounts look like 12.34. Set ASYNC_CHECK=1 (and ASYNC_SCHEDULE, "
          "ASYNC_SEED)\nfor check mode: virtual time, seeded schedules, "
          "reports of races.\n");
  exit(2);
}

/* Parses a number option in [low, high], or stops with the usage. */
static int number_option(char option, const char *text, int low, int high) {
  char *end;
  long value = strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < low || value > high) {
    fprintf(stderr, "bank: -%c wants a number from %d to %d, not '%s'\n",
            option, low, high, text);
    usage();
  }
  return (int)value;
}

/* Parses an amount option with amount_parse (yours, from account.c). */
static int64_t amount_option(char option, const char *text, bool positive) {
  int64_t cents = -1;
  int rc = amount_parse(text, &cents);
  if (rc != 0) {
    fprintf(stderr,
            "bank: -%c: '%s' is not an amount (%s): write digits, and at "
            "most two after a point, such as 12.34\n",
            option, text, bank_strerror(rc));
    exit(2);
  }
  if (positive && cents <= 0) {
    fprintf(stderr, "bank: -%c: the amount must be above 0\n", option);
    exit(2);
  }
  return cents;
}

typedef enum outcome { MADE, REFUSED, FAILED } outcome_t;

/* What an operation returned, into the books. `refusals` (ending with 0)
 * lists the codes it may refuse with; anything else is a failure. */
static outcome_t book(client_t *client, const char *what, int rc,
                      const int *refusals) {
  day_t *day = client->day;
  bool refusal = false;
  for (const int *code = refusals; *code != 0; code++)
    if (rc == *code) refusal = true;
  if (day->verbose)
    printf("[%7.3f] %s: %s: %s\n", async_time() - day->start, client->name,
           what, rc == 0 ? "ok" : bank_strerror(rc));
  if (rc == 0) return MADE;
  if (refusal) return REFUSED;
  /* The first few are enough to see what goes wrong. */
  if (day->errors++ < 3)
    fprintf(stderr, "bank: %s: %s failed: %s (%s)%s\n", client->name, what,
            bank_strerror(rc), bank_error_name(rc),
            rc == UV_ENOSYS ? ": not written yet" : "");
  return FAILED;
}

/* Right after an operation that took money out, in the same step: the
 * balance it left. Below zero is an overdraft, whatever happens later. */
static void watch_for_overdraft(client_t *client, account_t *account,
                                const char *what) {
  day_t *day = client->day;
  int64_t balance = account_balance(account);
  if (balance >= 0 || day->negative[0] != '\0') return;
  char amount[32];
  snprintf(day->negative, sizeof day->negative,
           "%s went down to %s after %s's %s", account->name,
           bank_format_amount(balance, amount, sizeof amount), client->name,
           what);
}

/* A client's rounds. It stops at the first operation that fails in a way
 * it may not (a refusal is not a failure). */
static int client_task(void *arg) {
  client_t *client = arg;
  day_t *day = client->day;
  int mine = client->account, next = (mine + 1) % day->accounts;
  account_t *account = &day->account[mine], *other = &day->account[next];
  static const int withdrawal_refusals[] = {BANK_EFUNDS, BANK_EDENIED,
                                            BANK_ELIMIT, 0};
  static const int transfer_refusals[] = {BANK_EFUNDS, BANK_EDENIED, 0};
  static const int no_refusals[] = {0};
  char withdrawal[32], deposit[32], what[128];
  bank_format_amount(day->withdrawal, withdrawal, sizeof withdrawal);
  bank_format_amount(day->deposit, deposit, sizeof deposit);
  for (int round = 0; round < day->rounds; round++) {
    int rc = account_withdraw(account, day->withdrawal);
    snprintf(what, sizeof what, "withdraw %s from %s", withdrawal,
             account->name);
    outcome_t outcome = book(client, what, rc, withdrawal_refusals);
    if (outcome == FAILED) return rc;
    if (outcome == MADE) {
      day->withdrawals_made++;
      day->expected[mine] -= day->withdrawal;
      watch_for_overdraft(client, account, "withdrawal");
    } else {
      day->withdrawals_refused++;
    }

    rc = account_deposit(account, day->deposit);
    snprintf(what, sizeof what, "deposit %s into %s", deposit, account->name);
    if (book(client, what, rc, no_refusals) == FAILED) return rc;
    day->deposits_made++;
    day->expected[mine] += day->deposit;

    if (!day->transfers) continue;
    rc = account_transfer(account, other, day->withdrawal);
    snprintf(what, sizeof what, "transfer %s from %s to %s", withdrawal,
             account->name, other->name);
    outcome = book(client, what, rc, transfer_refusals);
    if (outcome == FAILED) return rc;
    if (outcome == MADE) {
      day->transfers_made++;
      day->expected[mine] -= day->withdrawal;
      day->expected[next] += day->withdrawal;
      watch_for_overdraft(client, account, "transfer");
    } else {
      day->transfers_refused++;
    }
  }
  return 0;
}

static int day_at_the_bank(void *arg) {
  day_t *day = arg;
  day->start = async_time();
  bank_init(&day->bank);
  day->bank.deny_tan_every = day->deny_every;
  for (int i = 0; i < day->accounts; i++) {
    bank_open_account(&day->bank, &day->account[i], day->opening);
    day->expected[i] = day->opening;
  }
  size_t count = (size_t)day->accounts * (size_t)day->clients;
  client_t *clients = calloc(count, sizeof *clients);
  async_task_t **tasks = calloc(count, sizeof *tasks);
  int *results = calloc(count, sizeof *results);
  int rc = clients && tasks && results ? 0 : UV_ENOMEM;
  size_t spawned = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    clients[i].day = day;
    clients[i].account = (int)(i / (size_t)day->clients);
    snprintf(clients[i].name, sizeof clients[i].name, "client %d.%d",
             clients[i].account + 1, (int)(i % (size_t)day->clients) + 1);
    tasks[i] = async_spawn(clients[i].name, client_task, &clients[i]);
    if (tasks[i] == NULL)
      rc = UV_ENOMEM;
    else
      spawned++;
  }
  if (spawned > 0) async_gather(tasks, spawned, results, ASYNC_RETURN_ERRORS);
  for (size_t i = 0; i < spawned; i++) async_task_release(tasks[i]);
  free(results);
  free(tasks);
  free(clients);
  return rc;
}

/* Prints the balances and the books; returns whether they agree. After the
 * run, account_balance is a plain read. */
static bool report(day_t *day) {
  bool ok = day->errors == 0 && day->negative[0] == '\0';
  char amount[32], expected[32], difference_text[32];
  for (int i = 0; i < day->accounts; i++) {
    int64_t balance = account_balance(&day->account[i]);
    printf("%s: %s\n", day->account[i].name,
           bank_format_amount(balance, amount, sizeof amount));
  }
  printf("deposits: %d made; withdrawals: %d made, %d refused",
         day->deposits_made, day->withdrawals_made, day->withdrawals_refused);
  if (day->transfers)
    printf("; transfers: %d made, %d refused", day->transfers_made,
           day->transfers_refused);
  printf("; AML reports: %zu; TANs: %zu asked, %zu denied\n",
         day->bank.report_count, day->bank.tans_asked, day->bank.tans_denied);
  for (int i = 0; i < day->accounts; i++) {
    int64_t balance = account_balance(&day->account[i]);
    if (balance == day->expected[i]) continue;
    int64_t difference = day->expected[i] - balance;
    fprintf(stderr,
            "bank: %s holds %s, but its opening balance and the operations "
            "that succeeded make it %s: %s %s\n",
            day->account[i].name,
            bank_format_amount(balance, amount, sizeof amount),
            bank_format_amount(day->expected[i], expected, sizeof expected),
            bank_format_amount(difference < 0 ? -difference : difference,
                               difference_text, sizeof difference_text),
            difference > 0 ? "went missing (a lost update?)"
                           : "appeared from nowhere (a lost update?)");
    ok = false;
  }
  if (day->negative[0] != '\0')
    fprintf(stderr,
            "bank: overdrawn: %s (was the balance checked before "
            "an await, and not after?)\n",
            day->negative);
  if (day->errors != 0)
    fprintf(stderr,
            "bank: %d operation%s failed with an error no operation may "
            "return here (each stopped its client)\n",
            day->errors, day->errors == 1 ? "" : "s");
  printf("check: %s\n",
         ok ? "ok: every balance is what the operations that succeeded make "
              "it, and none went below zero"
            : "FAILED (see above)");
  return ok;
}

int main(int argc, char **argv) {
  day_t day = {.accounts = 3,
               .clients = 3,
               .rounds = 2,
               .opening = 100000,
               .deposit = 1200000,
               .withdrawal = 70000};
  const char *opening = NULL, *deposit = NULL, *withdrawal = NULL;
  int option;
  while ((option = getopt(argc, argv, "a:n:r:o:d:w:tx:vh")) != -1) {
    switch (option) {
    case 'a':
      day.accounts = number_option('a', optarg, 1, MAX_ACCOUNTS);
      break;
    case 'n':
      day.clients = number_option('n', optarg, 1, MAX_CLIENTS);
      break;
    case 'r':
      day.rounds = number_option('r', optarg, 0, MAX_ROUNDS);
      break;
    case 'o':
      opening = optarg;
      break;
    case 'd':
      deposit = optarg;
      break;
    case 'w':
      withdrawal = optarg;
      break;
    case 't':
      day.transfers = true;
      break;
    case 'x':
      day.deny_every = (unsigned)number_option('x', optarg, 0, 1000000);
      break;
    case 'v':
      day.verbose = true;
      break;
    default:
      usage();
    }
  }
  if (optind != argc) usage();
  if (opening) day.opening = amount_option('o', opening, false);
  if (deposit) day.deposit = amount_option('d', deposit, true);
  if (withdrawal) day.withdrawal = amount_option('w', withdrawal, true);
  if (day.transfers && day.accounts < 2) {
    fprintf(stderr, "bank: -t needs at least two accounts (-a 2)\n");
    usage();
  }
  /* Every balance must fit in int64_t whatever the schedule. */
  double most = (double)day.opening +
                (double)day.clients * day.rounds * (double)day.accounts *
                    ((double)day.deposit + (double)day.withdrawal);
  if (most > 1e18) {
    fprintf(stderr, "bank: these amounts and counts could overflow a "
                    "balance: use smaller ones\n");
    exit(2);
  }

  day.account = calloc((size_t)day.accounts, sizeof *day.account);
  day.expected = calloc((size_t)day.accounts, sizeof *day.expected);
  if (day.account == NULL || day.expected == NULL) {
    fprintf(stderr, "bank: out of memory\n");
    return 1;
  }
  int rc = async_run(day_at_the_bank, &day);
  bool ok = false;
  if (rc != 0)
    fprintf(stderr, "bank: %s\n", async_strerror(rc));
  else
    ok = report(&day);
  bank_destroy(&day.bank);
  free(day.expected);
  free(day.account);
  return ok ? 0 : 1;
}
