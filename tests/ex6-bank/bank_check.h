/* bank_check.h: ex6-bank's test helpers: a day at the bank (operations,
 * each a task of its own, all starting at once), run in check mode under
 * chosen schedules, and what check mode found.
 *
 * Replaying. Every failure names its schedule and seed, and the replay
 * line runs this very test again under that one schedule: when
 * ASYNC_SCHEDULE is set in the environment, a test runs that schedule only
 * (with ASYNC_SEED, ASYNC_PCT_DEPTH and ASYNC_PCT_STEPS as given), instead
 * of its hundreds. That is also the line check mode prints itself.
 *
 * Include check.h first. Everything here is static.
 */
#ifndef BANK_CHECK_H
#define BANK_CHECK_H

#include <async.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"

/* The scenario runs pct's change points among its first steps. */
#define PCT_STEPS "200"

enum { MAX_ACCOUNTS = 8, MAX_OPS = 32, MAX_SCHEDULES = 1024 };

typedef enum kind { DEPOSIT, WITHDRAW, TRANSFER } kind_t;

typedef struct op {
  const char *who; /* the task's name */
  kind_t kind;
  int account; /* index of the account (a transfer's from) */
  int to;      /* a transfer's to */
  int64_t cents;
  /* what happened */
  int rc;
  double started, ended;
} op_t;

typedef struct day {
  int accounts;
  int64_t opening[MAX_ACCOUNTS];
  op_t ops[MAX_OPS];
  int op_count;
  unsigned deny_tan_every;
  bool audit; /* a task checks, every 10 ms, that the total never changes */
  /* what happened */
  bank_t bank;
  bool bank_live;
  account_t account[MAX_ACCOUNTS];
  int64_t final[MAX_ACCOUNTS];
  int finished;       /* operations done */
  char negative[256]; /* the first balance seen below zero */
  char audit_problem[256];
  int rc;          /* async_run's */
  char *findings;  /* the findings file: JSON lines */
  char where[320]; /* "under ASYNC_SCHEDULE=random ASYNC_SEED=3" */
  char replay[1024];
} day_t;

/* ---- Amounts and operations, for messages ---- */

typedef struct amount_text {
  char text[32];
} amount_text_t;

static inline amount_text_t money(int64_t cents) {
  amount_text_t amount;
  bank_format_amount(cents, amount.text, sizeof amount.text);
  return amount;
}

/* "alice's withdrawal of 70.00 from account 1" */
static inline const char *op_text(const op_t *op, char *text, size_t size) {
  switch (op->kind) {
  case DEPOSIT:
    snprintf(text, size, "%s's deposit of %s into account %d", op->who,
             money(op->cents).text, op->account + 1);
    break;
  case WITHDRAW:
    snprintf(text, size, "%s's withdrawal of %s from account %d", op->who,
             money(op->cents).text, op->account + 1);
    break;
  case TRANSFER:
    snprintf(text, size, "%s's transfer of %s from account %d to account %d",
             op->who, money(op->cents).text, op->account + 1, op->to + 1);
    break;
  }
  return text;
}

/* ---- The day, as tasks ---- */

typedef struct op_task {
  day_t *day;
  op_t *op;
} op_task_t;

/* Right after an operation that took money out, in the same step: the
 * balance it left (an overdraft, even if a deposit covers it later). */
static inline void note_balance(day_t *day, const op_t *op) {
  int64_t balance = account_balance(&day->account[op->account]);
  if (balance >= 0 || day->negative[0] != '\0') return;
  char text[160];
  snprintf(day->negative, sizeof day->negative,
           "account %d went down to %s (after %s)", op->account + 1,
           money(balance).text, op_text(op, text, sizeof text));
}

static inline int run_op(void *arg) {
  op_task_t *task = arg;
  day_t *day = task->day;
  op_t *op = task->op;
  account_t *account = &day->account[op->account];
  op->started = async_time();
  switch (op->kind) {
  case DEPOSIT:
    op->rc = account_deposit(account, op->cents);
    break;
  case WITHDRAW:
    op->rc = account_withdraw(account, op->cents);
    break;
  case TRANSFER:
    op->rc = account_transfer(account, &day->account[op->to], op->cents);
    break;
  }
  op->ended = async_time();
  if (op->rc == 0 && op->kind != DEPOSIT) note_balance(day, op);
  day->finished++;
  return 0;
}

static inline int64_t opening_total(const day_t *day) {
  int64_t total = 0;
  for (int i = 0; i < day->accounts; i++) total += day->opening[i];
  return total;
}

/* For days of transfers only: the bank's total never changes, as seen by
 * another task between the steps of the others. Reads never write, so they
 * cannot lose an update; bounded, so that a stuck day still ends. */
static inline int audit(void *arg) {
  day_t *day = arg;
  for (int tick = 0; tick < 1000 && day->finished < day->op_count; tick++) {
    int64_t total = 0;
    for (int i = 0; i < day->accounts; i++)
      total += account_balance(&day->account[i]);
    if (total != opening_total(day) && day->audit_problem[0] == '\0')
      snprintf(day->audit_problem, sizeof day->audit_problem,
               "at %.3f s the accounts held %s in all, not %s: money was "
               "in neither account (or in both) while a transfer waited",
               async_time(), money(total).text, money(opening_total(day)).text);
    int rc = async_sleep(0.01);
    if (rc != 0) return rc;
  }
  return 0;
}

static inline int day_main(void *arg) {
  day_t *day = arg;
  bank_init(&day->bank);
  day->bank_live = true;
  day->bank.deny_tan_every = day->deny_tan_every;
  for (int i = 0; i < day->accounts; i++)
    bank_open_account(&day->bank, &day->account[i], day->opening[i]);
  op_task_t tasks[MAX_OPS];
  async_task_t *handles[MAX_OPS + 1];
  int results[MAX_OPS + 1];
  size_t count = 0;
  for (int i = 0; i < day->op_count; i++) {
    tasks[i] = (op_task_t){day, &day->ops[i]};
    handles[count] = async_spawn(day->ops[i].who, run_op, &tasks[i]);
    if (handles[count] != NULL) count++;
  }
  if (day->audit) {
    handles[count] = async_spawn("auditor", audit, day);
    if (handles[count] != NULL) count++;
  }
  async_gather(handles, count, results, ASYNC_RETURN_ERRORS);
  for (size_t i = 0; i < count; i++) async_task_release(handles[i]);
  for (int i = 0; i < day->accounts; i++)
    day->final[i] = account_balance(&day->account[i]);
  return 0;
}

/* ---- Schedules, and replaying one ---- */

typedef struct schedule {
  const char *name; /* fifo, fifo-yield, random, pct */
  unsigned long long seed;
  bool given; /* from the environment: a replay */
} schedule_t;

/* The test running now, for replay lines. */
static const char *current_test = "";

/* Whether this process was started to replay one schedule. Decided before
 * the first run sets any variable, and kept. */
static inline bool replaying(void) {
  static int known = -1;
  if (known < 0) {
    const char *schedule = getenv("ASYNC_SCHEDULE");
    known = schedule != NULL && schedule[0] != '\0';
  }
  return known == 1;
}

/* Fills plan with fifo (and fifo-yield if asked), then `seeds` seeds each
 * of random and of pct; or, when replaying, the one schedule given. */
static inline size_t plan_schedules(schedule_t *plan, bool fifo_yield,
                                    int seeds) {
  if (replaying()) {
    const char *seed = getenv("ASYNC_SEED");
    plan[0] = (schedule_t){getenv("ASYNC_SCHEDULE"),
                           seed ? strtoull(seed, NULL, 10) : 0, true};
    return 1;
  }
  size_t count = 0;
  plan[count++] = (schedule_t){"fifo", 0, false};
  if (fifo_yield) plan[count++] = (schedule_t){"fifo-yield", 0, false};
  for (int seed = 1; seed <= seeds && count + 2 <= MAX_SCHEDULES; seed++) {
    plan[count++] = (schedule_t){"random", (unsigned long long)seed, false};
    plan[count++] = (schedule_t){"pct", (unsigned long long)seed, false};
  }
  return count;
}

static inline bool seeded(const schedule_t *schedule) {
  return strcmp(schedule->name, "random") == 0 ||
         strcmp(schedule->name, "pct") == 0;
}

/* Check mode on, with this schedule, for the next async_run. */
static inline void use_schedule(const schedule_t *schedule) {
  setenv("ASYNC_CHECK", "1", 1);
  if (schedule->given) return; /* the environment says it all already */
  setenv("ASYNC_SCHEDULE", schedule->name, 1);
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", schedule->seed);
  if (seeded(schedule))
    setenv("ASYNC_SEED", seed, 1);
  else
    unsetenv("ASYNC_SEED");
  setenv("ASYNC_PCT_DEPTH", "3", 1);
  setenv("ASYNC_PCT_STEPS", PCT_STEPS, 1);
}

/* "under ASYNC_SCHEDULE=pct ASYNC_SEED=3", and the command that replays. */
static inline void describe_schedule(day_t *day, const schedule_t *schedule) {
  char settings[256];
  const char *seed = getenv("ASYNC_SEED");
  if (seeded(schedule) && seed != NULL)
    snprintf(settings, sizeof settings, "ASYNC_SCHEDULE=%s ASYNC_SEED=%s",
             schedule->name, seed);
  else
    snprintf(settings, sizeof settings, "ASYNC_SCHEDULE=%s", schedule->name);
  snprintf(day->where, sizeof day->where, "under %s", settings);
  const char *depth = getenv("ASYNC_PCT_DEPTH"),
             *steps = getenv("ASYNC_PCT_STEPS");
  char pct[128] = "";
  if (strcmp(schedule->name, "pct") == 0)
    snprintf(pct, sizeof pct, " ASYNC_PCT_DEPTH=%s ASYNC_PCT_STEPS=%s",
             depth ? depth : "3", steps ? steps : "1000");
  snprintf(day->replay, sizeof day->replay, "ASYNC_CHECK=1 %s%s %s %s",
           settings, pct, program_invocation_name, current_test);
}

static inline char *read_whole_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return strdup("");
  size_t size = 0, capacity = 4096;
  char *text = malloc(capacity);
  size_t got;
  while (text != NULL &&
         (got = fread(text + size, 1, capacity - size - 1, file)) > 0) {
    size += got;
    if (capacity - size - 1 == 0) {
      char *grown = realloc(text, capacity * 2);
      if (grown == NULL) free(text);
      text = grown;
      capacity *= 2;
    }
  }
  fclose(file);
  if (text != NULL) text[size] = '\0';
  return text != NULL ? text : strdup("");
}

/* Frees what the last run left. */
static inline void day_free(day_t *day) {
  if (day->bank_live) bank_destroy(&day->bank);
  day->bank_live = false;
  free(day->findings);
  day->findings = NULL;
}

/* Runs the day once in check mode under `schedule`: results in day. */
static inline void day_run(day_t *day, const schedule_t *schedule) {
  day_free(day);
  for (int i = 0; i < day->op_count; i++) {
    day->ops[i].rc = 1; /* not a code any operation returns */
    day->ops[i].started = day->ops[i].ended = -1;
  }
  day->finished = 0;
  day->negative[0] = day->audit_problem[0] = '\0';
  use_schedule(schedule);
  char path[4096];
  const char *directory = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/findings-XXXXXX",
           directory && *directory ? directory : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) fail_msg("cannot make a findings file %s", path);
  close(fd);
  setenv("ASYNC_FINDINGS", path, 1);
  day->rc = async_run(day_main, day);
  day->findings = read_whole_file(path);
  unlink(path);
  describe_schedule(day, schedule);
}

/* The first finding of `kind` ("lost-update"...; NULL: any) in `findings`,
 * its message's lines joined into one; false if there is none. */
static inline bool find_finding(const char *findings, const char *kind,
                                char *message, size_t size) {
  static const char prefix[] = "{\"kind\":\"";
  for (const char *line = findings; line != NULL && *line != '\0';) {
    const char *next = strchr(line, '\n');
    if (strncmp(line, prefix, sizeof prefix - 1) == 0) {
      const char *name = line + sizeof prefix - 1;
      size_t length = strcspn(name, "\"");
      const char *text = strstr(name, "\"message\":\"");
      if ((kind == NULL ||
           (strlen(kind) == length && strncmp(name, kind, length) == 0)) &&
          text != NULL) {
        size_t used = 0;
        bool space = false;
        for (const char *c = text + 11; *c != '\0' && *c != '"'; c++) {
          char out = *c;
          if (*c == '\\' && c[1] != '\0') {
            c++;
            out = *c == 'n' || *c == 't' ? ' ' : *c;
            if (*c == 'u') {
              out = '?';
              c += c[1] && c[2] && c[3] && c[4] ? 4 : 0;
            }
          }
          /* "\n  Meanwhile" reads " Meanwhile" on one line. */
          if (out == ' ' && space) continue;
          space = out == ' ';
          if (used + 1 < size) message[used++] = out;
        }
        message[used < size ? used : size - 1] = '\0';
        return true;
      }
    }
    line = next != NULL ? next + 1 : NULL;
  }
  if (size > 0) message[0] = '\0';
  return false;
}

/* Fails the test with `message`, handing the grader the replay line. */
#define day_fail(day, ...)                                                     \
  do {                                                                         \
    check_replay("%s", (day)->replay);                                         \
    check_message(__VA_ARGS__);                                                \
    day_free(day);                                                             \
    fail();                                                                    \
  } while (0)

/* Ends a list of return codes (no operation returns 1). */
#define END_OF_CODES 1

/* Fails unless every operation returned one of `allowed` (a list ending
 * with END_OF_CODES); `why` says what the codes mean here. */
static inline void expect_codes(day_t *day, const int *allowed,
                                const char *why) {
  for (int i = 0; i < day->op_count; i++) {
    const op_t *op = &day->ops[i];
    bool fine = false;
    for (const int *code = allowed; *code != END_OF_CODES; code++)
      if (op->rc == *code) fine = true;
    if (fine) continue;
    char text[160], found[1024], seen[1100] = "";
    if (find_finding(day->findings, NULL, found, sizeof found))
      snprintf(seen, sizeof seen, "; check mode found: %s", found);
    if (op->rc == UV_ENOSYS)
      day_fail(day, "%s %s returned UV_ENOSYS: not written yet%s",
               op_text(op, text, sizeof text), day->where, seen);
    day_fail(day, "%s %s returned %s (%s)%s%s", op_text(op, text, sizeof text),
             day->where, bank_error_name(op->rc), bank_strerror(op->rc), why,
             seen);
  }
}

/* What the operations that succeeded make each balance. */
static inline void expected_balances(const day_t *day, int64_t *expected) {
  for (int i = 0; i < day->accounts; i++) expected[i] = day->opening[i];
  for (int i = 0; i < day->op_count; i++) {
    const op_t *op = &day->ops[i];
    if (op->rc != 0) continue;
    if (op->kind == DEPOSIT) expected[op->account] += op->cents;
    if (op->kind != DEPOSIT) expected[op->account] -= op->cents;
    if (op->kind == TRANSFER) expected[op->to] += op->cents;
  }
}

/* Fails unless every balance is what the operations that succeeded make
 * it, and none went below zero; names a lost update check mode saw. */
static inline void expect_books_balance(day_t *day) {
  int64_t expected[MAX_ACCOUNTS];
  expected_balances(day, expected);
  char found[1024], seen[1100] = "";
  if (find_finding(day->findings, NULL, found, sizeof found))
    snprintf(seen, sizeof seen, "; check mode found: %s", found);
  for (int i = 0; i < day->accounts; i++) {
    if (day->final[i] == expected[i]) continue;
    int64_t difference = expected[i] - day->final[i];
    day_fail(day,
             "%s, account %d ends with %s, but its opening %s and the "
             "operations that succeeded make %s: %s %s%s",
             day->where, i + 1, money(day->final[i]).text,
             money(day->opening[i]).text, money(expected[i]).text,
             money(difference < 0 ? -difference : difference).text,
             difference > 0 ? "went missing" : "came from nowhere", seen);
  }
  if (day->negative[0] != '\0')
    day_fail(day,
             "%s, %s: the funds were checked, then spent by another "
             "operation before this one wrote the balance%s",
             day->where, day->negative, seen);
}

#endif /* BANK_CHECK_H */
