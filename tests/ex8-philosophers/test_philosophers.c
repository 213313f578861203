/* test_philosophers.c: ex8's cmocka checks: whole dinners in check mode,
 * under many schedules, with check mode's findings read back.
 *
 * Each dinner runs in this process (check mode reads its ASYNC_*
 * variables when async_run() starts, so one process can try dozens of
 * schedules in milliseconds) and is the very dinner `philosophers` runs:
 * the same table, 10 meals, 0.1 s to eat and to think. So a failure's
 * replay line runs the same interleaving in the program, e.g.
 *
 *   ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=7 make run-ex8 ARGS="-n 5"
 *
 * Check mode writes what it finds to ASYNC_FINDINGS, one JSON object a
 * line; a failing check shows the student the finding's own report. What
 * the dinner prints on stderr is captured, so that a thousand reports do
 * not flood the grader's output.
 */
#include "check.h"

#include <async.h>
#include <unistd.h>

#include "table.h"

enum { MEALS = 10 };
static const double eat_seconds = 0.1, think_seconds = 0.1;

/* With one lock for everybody, a thousand philosophers take about 200
 * times as long as five (they eat one at a time); eating in parallel,
 * about as long. A waiter held while taking forks, a correct solution,
 * makes it 8 to 15 times under random schedules. */
enum { MOST_SLOWDOWN = 20 };

/* One dinner to run: the schedule, its seed (< 0: none), the table's size
 * and ASYNC_STARVATION (NULL: the runtime's default of 10 s; "0": off). */
typedef struct run {
  const char *schedule;
  long long seed;
  int size;
  const char *starvation;
} run_t;

/* What one dinner came to. */
typedef struct outcome {
  int rc;         /* dinner()'s result */
  table_t table;  /* its counts: meals, clashes, duration */
  char *err;      /* what was printed on stderr */
  char *findings; /* the findings file */
} outcome_t;

/* ---- Running a dinner ---- */

static char *read_stream(FILE *file) {
  fflush(file);
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  assert_true(length >= 0);
  rewind(file);
  char *text = malloc((size_t)length + 1);
  assert_non_null(text);
  size_t got = fread(text, 1, (size_t)length, file);
  text[got] = '\0';
  return text;
}

/* Check mode on, with exactly this run's settings: nothing inherited. */
static void set_check_environment(const run_t *run, const char *findings) {
  static const char *const inherited[] = {
      "ASYNC_SEED",           "ASYNC_STARVATION", "ASYNC_LIVELOCK",
      "ASYNC_LIVELOCK_STEPS", "ASYNC_HOG_MS",     "ASYNC_PCT_DEPTH",
      "ASYNC_PCT_STEPS",      "ASYNC_TRACE"};
  for (size_t i = 0; i < sizeof inherited / sizeof inherited[0]; i++)
    unsetenv(inherited[i]);
  setenv("ASYNC_CHECK", "1", 1);
  setenv("ASYNC_SCHEDULE", run->schedule, 1);
  if (run->seed >= 0) {
    char seed[32];
    snprintf(seed, sizeof seed, "%lld", run->seed);
    setenv("ASYNC_SEED", seed, 1);
  }
  if (run->starvation != NULL) setenv("ASYNC_STARVATION", run->starvation, 1);
  setenv("ASYNC_FINDINGS", findings, 1);
}

static outcome_t dine(const run_t *run) {
  outcome_t outcome = {0};
  const char *directory = getenv("TMPDIR");
  char findings[4096];
  snprintf(findings, sizeof findings, "%s/findings-XXXXXX",
           directory != NULL && *directory ? directory : "/tmp");
  int fd = mkstemp(findings);
  assert_true(fd >= 0);
  close(fd);
  set_check_environment(run, findings);
  assert_int_equal(table_init(&outcome.table, run->size, MEALS, eat_seconds,
                              think_seconds, NULL),
                   0);

  fflush(stderr);
  FILE *captured = tmpfile();
  assert_non_null(captured);
  int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(captured), STDERR_FILENO) >= 0);
  outcome.rc = async_run(dinner, &outcome.table);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  outcome.err = read_stream(captured);
  fclose(captured);

  FILE *file = fopen(findings, "r");
  outcome.findings = file != NULL ? read_stream(file) : strdup("");
  if (file != NULL) fclose(file);
  unlink(findings);
  return outcome;
}

static void outcome_free(outcome_t *outcome) {
  table_free(&outcome->table);
  free(outcome->err);
  free(outcome->findings);
}

/* ---- Reading findings ---- */

/* Decodes the JSON string that starts after its opening quote at `text`
 * (the runtime escapes only \" \\ \n \t and \u00XX). Malloc'd. */
static char *json_string(const char *text) {
  char *out = malloc(strlen(text) + 1);
  assert_non_null(out);
  size_t used = 0;
  for (const char *c = text; *c && *c != '"'; c++) {
    if (*c != '\\' || c[1] == '\0') {
      out[used++] = *c;
      continue;
    }
    c++;
    if (*c == 'n')
      out[used++] = '\n';
    else if (*c == 't')
      out[used++] = '\t';
    else if (*c == 'u' && strlen(c) >= 5) {
      out[used++] = (char)strtol((char[]){c[3], c[4], '\0'}, NULL, 16);
      c += 4;
    } else
      out[used++] = *c;
  }
  out[used] = '\0';
  return out;
}

/* The report of the first finding of `kind` (NULL: of any kind), without
 * its replay line, malloc'd; NULL if there is none. */
static char *finding(const char *findings, const char *kind) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "{\"kind\":\"%s\"", kind ? kind : "");
  for (const char *line = findings; *line;) {
    if (strncmp(line, prefix, strlen(prefix)) == 0) {
      const char *message = strstr(line, "\"message\":\"");
      if (message != NULL)
        return json_string(message + strlen("\"message\":\""));
    }
    const char *end = strchr(line, '\n');
    if (end == NULL) break;
    line = end + 1;
  }
  return NULL;
}

/* The first `lines` lines of text, at most `size` - 1 bytes, into buffer. */
static void head(const char *text, int lines, char *buffer, size_t size) {
  size_t length = 0;
  for (const char *c = text; *c && lines > 0; c++) {
    length++;
    if (*c == '\n') lines--;
  }
  if (length >= size) length = size - 1;
  memcpy(buffer, text, length);
  buffer[length] = '\0';
  while (length > 0 && buffer[length - 1] == '\n') buffer[--length] = '\0';
}

/* The lines the dinner itself printed ("dinner: ..."), at most a few. */
static void dinner_lines(const char *err, char *buffer, size_t size) {
  size_t used = 0;
  buffer[0] = '\0';
  for (const char *line = strstr(err, "dinner: "); line != NULL && used < size;
       line = strstr(line + 1, "\ndinner: ")) {
    if (*line == '\n') line++;
    size_t length = strcspn(line, "\n");
    int written = snprintf(buffer + used, size - used, "%s%.*s",
                           used ? "\n" : "", (int)length, line);
    if (written < 0) break;
    used += (size_t)written;
  }
  if (used >= size) buffer[size - 1] = '\0';
}

/* ---- Telling the student ---- */

static void describe(const run_t *run, char *buffer, size_t size) {
  if (run->seed >= 0)
    snprintf(buffer, size, "%d philosophers, schedule %s with seed %lld",
             run->size, run->schedule, run->seed);
  else
    snprintf(buffer, size, "%d philosophers, schedule %s", run->size,
             run->schedule);
}

/* The command that runs this dinner again in the program. */
static void replay(const run_t *run) {
  char seed[48] = "", starvation[48] = "";
  if (run->seed >= 0)
    snprintf(seed, sizeof seed, " ASYNC_SEED=%lld", run->seed);
  if (run->starvation != NULL)
    snprintf(starvation, sizeof starvation, " ASYNC_STARVATION=%s",
             run->starvation);
  check_replay(
      "ASYNC_CHECK=1 ASYNC_SCHEDULE=%s%s%s make run-ex8 ARGS=\"-n %d\"",
      run->schedule, seed, starvation, run->size);
}

/* Fails the check: `what` happened in this run; `report` (may be NULL)
 * says the rest. The output keeps the start of what the dinner printed. */
static void fail_run(const run_t *run, const outcome_t *outcome,
                     const char *what, const char *report) {
  char where[128], shown[1600];
  describe(run, where, sizeof where);
  head(report ? report : "", 16, shown, sizeof shown);
  check_message("%s (%s):\n%s", what, where, shown);
  replay(run);
  /* The runtime's own replay lines name this test program: the one
   * above, for the program, is the one to use. */
  printf("what the dinner printed on stderr (the start):\n");
  int lines = 0;
  for (const char *line = outcome->err; *line && lines < 40; lines++) {
    size_t length = strcspn(line, "\n");
    if (strncmp(line, "  replay: ", 10) != 0)
      printf("%.*s\n", (int)length, line);
    line += length + (line[length] == '\n');
  }
  fail();
}

/* ---- The checks ---- */

/* Philosophers who stopped early: philosopher() returned an error, or
 * they were still stuck when the dinner ended. */
static int stopped(const table_t *table) {
  int count = 0;
  for (int i = 0; i < table->size; i++)
    count += table->seats[i].result != 0 || !table->seats[i].left_table;
  return count;
}

/* Why a dinner failed: what the dinner said, then check mode's first
 * report, if any. */
static void failure_report(const outcome_t *outcome, char *text, size_t size) {
  char lines[1024];
  dinner_lines(outcome->err, lines, sizeof lines);
  char *report = finding(outcome->findings, NULL);
  snprintf(text, size, "%s%s%s", lines, report && *lines ? "\n" : "",
           report ? report : "");
  free(report);
}

static size_t add_runs(run_t *runs, size_t count, const char *schedule,
                       long long first_seed, long long last_seed, int size,
                       const char *starvation) {
  for (long long seed = first_seed; seed <= last_seed; seed++)
    runs[count++] = (run_t){schedule, seed, size, starvation};
  return count;
}

/* Every strategy, several seeds each: five philosophers often, and a
 * thousand a few times. The starvation watch is off here (a check of its
 * own): an adversarial schedule can keep a correct philosopher waiting
 * long, never for ever. */
static void test_no_deadlock_under_any_schedule(void **state) {
  (void)state;
  run_t runs[80];
  size_t count = 0;
  count = add_runs(runs, count, "fifo", -1, -1, 5, "0");
  count = add_runs(runs, count, "fifo-yield", -1, -1, 5, "0");
  count = add_runs(runs, count, "random", 1, 30, 5, "0");
  count = add_runs(runs, count, "pct", 1, 30, 5, "0");
  count = add_runs(runs, count, "fifo", -1, -1, 1000, "0");
  count = add_runs(runs, count, "fifo-yield", -1, -1, 1000, "0");
  count = add_runs(runs, count, "random", 1, 2, 1000, "0");
  count = add_runs(runs, count, "pct", 1, 2, 1000, "0");
  for (size_t i = 0; i < count; i++) {
    outcome_t outcome = dine(&runs[i]);
    char *report = finding(outcome.findings, "deadlock");
    if (report != NULL)
      fail_run(&runs[i], &outcome,
               "check mode found the philosophers in a deadlock", report);
    /* Neighbours eating together is another check's business; here a
     * dinner fails when somebody stopped early or left a fork taken. */
    if (stopped(&outcome.table) > 0 || outcome.table.forks_left_taken > 0) {
      char text[2048];
      failure_report(&outcome, text, sizeof text);
      fail_run(&runs[i], &outcome, "the dinner did not finish", text);
    }
    outcome_free(&outcome);
  }
}

/* Check mode records, for every acquisition, which forks were held: a
 * cycle in that order is a deadlock waiting for its schedule, even on a
 * run that went through. One run of a thousand shows the stub's. A
 * deadlock that is not a cycle (a fork never put down) is the previous
 * check's. */
static void test_the_lock_order_has_no_cycle(void **state) {
  (void)state;
  run_t runs[16];
  size_t count = 0;
  count = add_runs(runs, count, "fifo", -1, -1, 1000, "0");
  count = add_runs(runs, count, "random", 1, 5, 5, "0");
  count = add_runs(runs, count, "pct", 1, 5, 5, "0");
  count = add_runs(runs, count, "random", 1, 1, 1000, "0");
  for (size_t i = 0; i < count; i++) {
    outcome_t outcome = dine(&runs[i]);
    char *report = finding(outcome.findings, "potential-deadlock");
    if (report != NULL)
      fail_run(&runs[i], &outcome,
               "the forks are taken in an order that forms a cycle", report);
    report = finding(outcome.findings, "deadlock");
    if (report != NULL && strstr(report, " in a cycle") != NULL)
      fail_run(&runs[i], &outcome,
               "the forks are taken in an order that forms a cycle, and "
               "this run deadlocked",
               report);
    free(report);
    outcome_free(&outcome);
  }
}

static void test_neighbours_never_eat_at_once(void **state) {
  (void)state;
  run_t runs[16];
  size_t count = 0;
  count = add_runs(runs, count, "fifo", -1, -1, 5, "0");
  count = add_runs(runs, count, "random", 1, 3, 5, "0");
  count = add_runs(runs, count, "pct", 1, 3, 5, "0");
  count = add_runs(runs, count, "random", 1, 1, 1000, "0");
  for (size_t i = 0; i < count; i++) {
    outcome_t outcome = dine(&runs[i]);
    char *report = finding(outcome.findings, "invariant");
    if (report != NULL)
      report[strcspn(report, "\n")] = '\0'; /* its first line */
    if (outcome.table.clashes > 0 || report != NULL) {
      char text[2048];
      snprintf(text, sizeof text,
               "%s (%d time%s in this dinner).\ncheck mode's report: %s",
               outcome.table.first_clash, outcome.table.clashes,
               outcome.table.clashes == 1 ? "" : "s",
               report ? report : "(none)");
      fail_run(&runs[i], &outcome, "two neighbours ate at the same time", text);
    }
    free(report);
    outcome_free(&outcome);
  }
}

/* Five philosophers wait at most half a second in any correct dinner,
 * whatever the schedule; a thousand, a few seconds under random and pct
 * schedules (an adversarial fifo-yield can line a thousand up behind each
 * other even with correct manners, so it is not used here). */
static void test_no_philosopher_starves(void **state) {
  (void)state;
  run_t runs[24];
  size_t count = 0;
  count = add_runs(runs, count, "fifo", -1, -1, 5, "2");
  count = add_runs(runs, count, "fifo-yield", -1, -1, 5, "2");
  count = add_runs(runs, count, "random", 1, 5, 5, "2");
  count = add_runs(runs, count, "pct", 1, 5, 5, "2");
  count = add_runs(runs, count, "random", 1, 2, 1000, "10");
  count = add_runs(runs, count, "pct", 1, 1, 1000, "10");
  for (size_t i = 0; i < count; i++) {
    outcome_t outcome = dine(&runs[i]);
    /* A run that deadlocked is the deadlock check's business: its
     * victims never eat, but they do not starve. */
    if (strstr(outcome.findings, "{\"kind\":\"deadlock\"") != NULL) {
      outcome_free(&outcome);
      continue;
    }
    char *report = finding(outcome.findings, "livelock");
    if (report != NULL)
      fail_run(&runs[i], &outcome,
               "the philosophers keep busy, but nobody gets to eat (a "
               "livelock)",
               report);
    report = finding(outcome.findings, "starvation");
    if (report != NULL)
      fail_run(&runs[i], &outcome, "a hungry philosopher starves", report);
    outcome_free(&outcome);
  }
}

/* Virtual time makes the comparison exact: the same seed, five
 * philosophers, then a thousand. */
static void test_a_thousand_are_not_served_one_at_a_time(void **state) {
  (void)state;
  for (long long seed = 1; seed <= 2; seed++) {
    const run_t five = {"random", seed, 5, "0"};
    const run_t thousand = {"random", seed, 1000, "0"};
    const run_t *runs[2] = {&five, &thousand};
    outcome_t outcomes[2];
    for (int i = 0; i < 2; i++) {
      outcomes[i] = dine(runs[i]);
      if (stopped(&outcomes[i].table) > 0) {
        char text[2048];
        failure_report(&outcomes[i], text, sizeof text);
        fail_run(runs[i], &outcomes[i],
                 "the dinner did not finish, so its time means nothing (the "
                 "checks above say more)",
                 text);
      }
    }
    double small = outcomes[0].table.duration;
    double large = outcomes[1].table.duration;
    double slowdown = large / small;
    printf("seed %lld: 5 philosophers dined in %.1f s of virtual time, 1000 "
           "in %.1f s (%.1f times as long)\n",
           seed, small, large, slowdown);
    if (slowdown > MOST_SLOWDOWN) {
      char text[512];
      snprintf(text, sizeof text,
               "5 philosophers dined in %.1f s of virtual time, 1000 in "
               "%.1f s: %.0f times as long (at most %d is fine). They eat "
               "one at a time, as if one lock were held for the whole "
               "meal; neighbours need to exclude each other, not the whole "
               "table.",
               small, large, slowdown, MOST_SLOWDOWN);
      fail_run(&thousand, &outcomes[1],
               "a thousand philosophers eat one at a time", text);
    }
    outcome_free(&outcomes[0]);
    outcome_free(&outcomes[1]);
  }
}

CHECK_MAIN(cmocka_unit_test(test_no_deadlock_under_any_schedule),
           cmocka_unit_test(test_the_lock_order_has_no_cycle),
           cmocka_unit_test(test_neighbours_never_eat_at_once),
           cmocka_unit_test(test_no_philosopher_starves),
           cmocka_unit_test(test_a_thousand_are_not_served_one_at_a_time))
