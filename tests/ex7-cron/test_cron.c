/* test_cron.c: ex7-cron's cmocka checks of cron.c: the line parser, and the
 * scheduler driven with function jobs in check mode's virtual time.
 *
 * In check mode (ASYNC_CHECK=1, set here before each run) time stands
 * still while tasks run and jumps from timer to timer, so an hour of
 * schedule takes a few milliseconds and every start time is exact: a job
 * of period 3 s must start at 0, 3, 6... to the last bit of the double.
 * Each scheduling test runs under several seeded schedules (the order in
 * which ready tasks run): a correct cron does not depend on it. A failure
 * prints the line that replays it, e.g.
 *
 *   ASYNC_SCHEDULE=random ASYNC_SEED=3 ./test_cron test_NAME
 */
#include "check.h"

#include <async.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

/* ---- Parsing ---- */

/* A line with its invisible characters shown, for messages. Two calls may
 * share one message: each uses the other of two buffers. */
static const char *shown(const char *line) {
  static char buffers[2][256];
  static int next;
  char *text = buffers[next];
  size_t size = sizeof buffers[next];
  next = 1 - next;
  size_t used = 0;
  for (const char *c = line; *c && used + 5 < size; c++) {
    if (*c == '\n')
      used += (size_t)snprintf(text + used, size - used, "\\n");
    else if (*c == '\t')
      used += (size_t)snprintf(text + used, size - used, "\\t");
    else if (*c == '\r')
      used += (size_t)snprintf(text + used, size - used, "\\r");
    else
      text[used++] = *c;
  }
  text[used] = '\0';
  return text;
}

/* Parses a copy of `line`: the parser may write into it. */
static int parse(const char *line, char *copy, size_t copy_size,
                 cron_entry_t *entry, char *reason, size_t reason_size) {
  snprintf(copy, copy_size, "%s", line);
  *entry = (cron_entry_t){-1, NULL};
  reason[0] = '\0';
  return cron_parse_line(copy, entry, reason, reason_size);
}

static void test_parse_skips_comments_and_blank_lines(void **state) {
  (void)state;
  static const char *const lines[] = {"",
                                      "\n",
                                      "   \n",
                                      "\t \t\n",
                                      "# every minute\n",
                                      "#5 echo not a job\n",
                                      "   # an indented comment\n",
                                      "\t#\n",
                                      "\r\n"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    char copy[128], reason[256];
    cron_entry_t entry;
    int rc = parse(lines[i], copy, sizeof copy, &entry, reason, sizeof reason);
    if (rc != 0) {
      check_message("cron_parse_line(\"%s\") returned %d%s%s; a blank line or "
                    "a comment (# as its first character other than a "
                    "blank) must return 0",
                    shown(lines[i]), rc, reason[0] ? ": " : "", reason);
      fail();
    }
  }
}

static void test_parse_reads_period_and_command(void **state) {
  (void)state;
  static const struct {
    const char *line;
    double period;
    const char *command;
  } cases[] = {
      {"3 echo hi\n", 3, "echo hi"},
      {"0.2 date +%s.%N\n", 0.2, "date +%s.%N"},
      {"10\tls -l   \n", 10, "ls -l"},
      {"  5   echo a  b # not a comment\n", 5, "echo a  b # not a comment"},
      {"1e1 true", 10, "true"},
      {"60 printf '%s\\n' \"a b\"\r\n", 60, "printf '%s\\n' \"a b\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char copy[128], reason[256];
    cron_entry_t entry;
    int rc =
        parse(cases[i].line, copy, sizeof copy, &entry, reason, sizeof reason);
    if (rc != 1) {
      check_message("cron_parse_line(\"%s\") returned %d%s%s, not 1 (a job)",
                    shown(cases[i].line), rc, reason[0] ? ": " : "", reason);
      fail();
    }
    if (entry.period != cases[i].period) {
      check_message("cron_parse_line(\"%s\") read the period as %g, not %g",
                    shown(cases[i].line), entry.period, cases[i].period);
      fail();
    }
    if (entry.command == NULL || strcmp(entry.command, cases[i].command) != 0) {
      check_message("cron_parse_line(\"%s\"): the command is everything "
                    "after the period and its blanks, without the blanks "
                    "and the newline at the end",
                    shown(cases[i].line));
      check_text_equal(cases[i].command, entry.command);
    }
  }
}

static void test_parse_rejects_bad_lines(void **state) {
  (void)state;
  static const char *const lines[] = {
      "0 echo zero\n", "0.0 echo zero\n", "-1 echo negative\n",
      "abc echo\n",    "3s echo\n",       "5,5 echo\n",
      "nan echo\n",    "inf echo\n",      "1e999 echo\n",
      "5\n",           "5   \n",          "7"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    char copy[128], reason[256];
    cron_entry_t entry;
    int rc = parse(lines[i], copy, sizeof copy, &entry, reason, sizeof reason);
    if (rc != UV_EINVAL) {
      if (rc == 1)
        check_message("cron_parse_line(\"%s\") accepted it, with a period of "
                      "%g and the command \"%s\"; a period must be a number "
                      "of seconds greater than 0, and a command must follow "
                      "it: return UV_EINVAL",
                      shown(lines[i]), entry.period,
                      entry.command ? shown(entry.command) : "(NULL)");
      else
        check_message("cron_parse_line(\"%s\") returned %d, not UV_EINVAL "
                      "(%d): the line is bad, not blank",
                      shown(lines[i]), rc, UV_EINVAL);
      fail();
    }
    if (reason[0] == '\0') {
      check_message("cron_parse_line(\"%s\") returned UV_EINVAL but left the "
                    "reason empty: say what is wrong, main.c prints it after "
                    "the file name and line number",
                    shown(lines[i]));
      fail();
    }
  }
}

/* ---- Function jobs that note when they run ---- */

enum { MAX_STARTS = 2000 };

typedef struct probe {
  const char *name;
  double work; /* seconds each run takes (an async_sleep) */
  double starts[MAX_STARTS];
  size_t count;     /* runs started */
  int running;      /* runs going on now */
  int most_running; /* the most ever at once */
  int cancelled;    /* runs whose sleep returned UV_ECANCELED */
} probe_t;

static int probe_run(void *arg) {
  probe_t *probe = arg;
  if (probe->count < MAX_STARTS) probe->starts[probe->count] = async_time();
  probe->count++;
  probe->running++;
  if (probe->running > probe->most_running)
    probe->most_running = probe->running;
  int rc = probe->work > 0 ? async_sleep(probe->work) : 0;
  if (rc == UV_ECANCELED) probe->cancelled++;
  probe->running--;
  return rc;
}

static void probe_reset(probe_t *probe, const char *name, double work) {
  memset(probe, 0, sizeof *probe);
  probe->name = name;
  probe->work = work;
}

static cron_job_t probe_job(probe_t *probe, double period) {
  return (cron_job_t){period, probe_run, probe, probe->name};
}

/* The first few starts of a probe, "0 3 6 9 ...", for expected/actual. */
static void starts_text(const double *starts, size_t count, char *text,
                        size_t size) {
  size_t used = 0;
  text[0] = '\0';
  for (size_t i = 0; i < count && i < 12 && used < size; i++)
    used += (size_t)snprintf(text + used, size - used, "%s%.9g", i ? " " : "",
                             starts[i]);
  if (count > 12 && used < size)
    snprintf(text + used, size - used, " ... (%zu starts)", count);
}

/* ---- Runs under seeded schedules ---- */

typedef struct schedule {
  const char *name;
  long seed; /* < 0: none */
} schedule_t;

static const schedule_t schedules[] = {
    {"fifo", -1},  {"random", 1}, {"random", 2}, {"random", 3},
    {"random", 4}, {"pct", 1},    {"pct", 2},    {"pct", 3}};

static const char *current_test;
static schedule_t current_schedule;

/* The schedules to try: the one ASYNC_SCHEDULE and ASYNC_SEED named when
 * the program started (a replay), or every one above. Read once: the runs
 * below set those variables themselves. */
static size_t schedules_to_try(schedule_t *chosen) {
  static bool looked;
  static bool replaying;
  static schedule_t replay;
  static char name[32];
  if (!looked) {
    looked = true;
    const char *given = getenv("ASYNC_SCHEDULE");
    const char *seed = getenv("ASYNC_SEED");
    if (given != NULL && *given != '\0') {
      snprintf(name, sizeof name, "%s", given);
      replay = (schedule_t){name, seed ? atol(seed) : -1};
      replaying = true;
    }
  }
  if (replaying) {
    chosen[0] = replay;
    return 1;
  }
  size_t count = sizeof schedules / sizeof schedules[0];
  memcpy(chosen, schedules, sizeof schedules);
  return count;
}

static void replay_line(void);
static async_run_stats_t last_run_stats;

/* Runs body(arg) with async_run() in check mode under `schedule`, and
 * fails the test if the run itself failed or left tasks behind. */
static void run_checked(const schedule_t *schedule, async_fn body, void *arg) {
  current_schedule = *schedule;
  setenv("ASYNC_CHECK", "1", 1);
  setenv("ASYNC_SCHEDULE", schedule->name, 1);
  char seed[32];
  snprintf(seed, sizeof seed, "%ld", schedule->seed);
  if (schedule->seed >= 0)
    setenv("ASYNC_SEED", seed, 1);
  else
    unsetenv("ASYNC_SEED");
  int rc = async_run(body, arg);
  if (rc != 0) {
    check_message("the run failed: %s", async_strerror(rc));
    replay_line();
    fail();
  }
  async_run_stats(&last_run_stats);
}

/* Fails if the last run left tasks running when its main task returned
 * (the runtime had to cancel them). */
static void expect_tidy(void) {
  const async_run_stats_t stats = last_run_stats;
  if (stats.tasks_cancelled_at_exit > 0) {
    check_message("%zu task%s still running when the test was over (the "
                  "runtime had to cancel them): cron_run must wait for "
                  "every task it started before it returns",
                  stats.tasks_cancelled_at_exit,
                  stats.tasks_cancelled_at_exit == 1 ? " was" : "s were");
    replay_line();
    fail();
  }
}

/* For a failure under the current schedule: how to see it again. */
static void replay_line(void) {
  if (current_schedule.seed >= 0)
    check_replay("ASYNC_SCHEDULE=%s ASYNC_SEED=%ld ./test_cron %s",
                 current_schedule.name, current_schedule.seed, current_test);
  else
    check_replay("ASYNC_SCHEDULE=%s ./test_cron %s", current_schedule.name,
                 current_test);
}

/* Fails unless the probe started exactly at expected[0..count). */
static void expect_starts(const probe_t *probe, const double *expected,
                          size_t count, const char *why) {
  size_t first_wrong = count;
  for (size_t i = 0; i < count && i < probe->count; i++) {
    if (probe->starts[i] != expected[i]) {
      first_wrong = i;
      break;
    }
  }
  if (first_wrong == count && probe->count == count) return;
  char expected_text[512], actual_text[512];
  starts_text(expected, count, expected_text, sizeof expected_text);
  starts_text(probe->starts, probe->count, actual_text, sizeof actual_text);
  if (first_wrong < count && first_wrong < probe->count)
    check_message("job '%s' started run "
                  "#%zu at %.9g s, not at %.9g s: %s",
                  probe->name, first_wrong + 1, probe->starts[first_wrong],
                  expected[first_wrong], why);
  else
    check_message("job '%s' started %zu runs, not %zu: %s", probe->name,
                  probe->count, count, why);
  replay_line();
  check_text_equal(expected_text, actual_text);
}

/* The grid t0 + k * period, for t0 + k * period < end. */
static size_t grid(double t0, double period, double end, double *points) {
  size_t count = 0;
  for (double k = 0; t0 + k * period < end && count < MAX_STARTS; k++)
    points[count++] = t0 + k * period;
  return count;
}

/* ---- The grid ---- */

typedef struct scenario {
  probe_t probes[3];
  cron_job_t jobs[3];
  size_t count;
  double delay;    /* the body sleeps this long before cron_run */
  double duration; /* cron_run's */
  int rc;          /* what cron_run returned */
  double t0, returned_at;
  int running_at_return; /* runs still going when cron_run returned */
} scenario_t;

static int run_scenario(void *arg) {
  scenario_t *s = arg;
  if (s->delay > 0) async_sleep(s->delay);
  s->t0 = async_time();
  s->rc = cron_run(s->jobs, s->count, s->duration);
  s->returned_at = async_time();
  for (size_t i = 0; i < s->count; i++)
    s->running_at_return += s->probes[i].running;
  return 0;
}

static void expect_returned(const scenario_t *s, double at) {
  if (s->rc != 0) {
    check_message("cron_run returned %d (%s), not 0, at the end of its "
                  "%g s",
                  s->rc, async_strerror(s->rc), s->duration);
    replay_line();
    fail();
  }
  if (s->returned_at != at) {
    check_message("cron_run(..., %g) called at %g s returned at %.9g s, not "
                  "at %g s: it must run until t0 + duration, then stop the "
                  "runs still going (cancel them) and return",
                  s->duration, s->t0, s->returned_at, at);
    replay_line();
    fail();
  }
}

static double expected[MAX_STARTS];

static void test_jobs_start_exactly_on_their_grid_for_an_hour(void **state) {
  (void)state;
  current_test = "test_jobs_start_exactly_on_their_grid_for_an_hour";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    memset(&s, 0, sizeof s);
    probe_reset(&s.probes[0], "every 3 s, runs take 1 s", 1.0);
    probe_reset(&s.probes[1], "every 10 s, runs take 2.5 s", 2.5);
    s.jobs[0] = probe_job(&s.probes[0], 3);
    s.jobs[1] = probe_job(&s.probes[1], 10);
    s.count = 2;
    s.duration = 3600;
    run_checked(&chosen[t], run_scenario, &s);
    const char *why = "a job runs at t0 + k * period exactly, whatever its "
                      "runs take: sleep until that point, not for a period "
                      "after the run";
    expect_starts(&s.probes[0], expected, grid(0, 3, 3600, expected), why);
    expect_starts(&s.probes[1], expected, grid(0, 10, 3600, expected), why);
    expect_returned(&s, 3600);
    expect_tidy();
  }
}

static void test_the_grid_starts_when_cron_run_is_called(void **state) {
  (void)state;
  current_test = "test_the_grid_starts_when_cron_run_is_called";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    memset(&s, 0, sizeof s);
    probe_reset(&s.probes[0], "every 3 s, runs take 1 s", 1.0);
    s.jobs[0] = probe_job(&s.probes[0], 3);
    s.count = 1;
    s.delay = 7.5;
    s.duration = 30;
    run_checked(&chosen[t], run_scenario, &s);
    expect_starts(&s.probes[0], expected, grid(7.5, 3, 37.5, expected),
                  "t0 is when cron_run was called (7.5 s here): the first "
                  "run starts then, the next at t0 + period...");
    expect_returned(&s, 37.5);
    expect_tidy();
  }
}

/* ---- A slow job ---- */

/* Job A: period 2 s, runs take 5 s; job B: period 1 s, runs take 0.5 s;
 * for a minute. */
static void run_slow_and_fast(const schedule_t *schedule, scenario_t *s) {
  memset(s, 0, sizeof *s);
  probe_reset(&s->probes[0], "every 2 s, runs take 5 s", 5.0);
  probe_reset(&s->probes[1], "every 1 s, runs take 0.5 s", 0.5);
  s->jobs[0] = probe_job(&s->probes[0], 2);
  s->jobs[1] = probe_job(&s->probes[1], 1);
  s->count = 2;
  s->duration = 60;
  run_checked(schedule, run_scenario, s);
}

static void test_a_slow_job_does_not_delay_another(void **state) {
  (void)state;
  current_test = "test_a_slow_job_does_not_delay_another";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    run_slow_and_fast(&chosen[t], &s);
    expect_starts(&s.probes[1], expected, grid(0, 1, 60, expected),
                  "another job's slow runs must not delay this one: give "
                  "each job a task of its own");
    expect_tidy();
  }
}

static void test_a_slow_job_never_overlaps_itself(void **state) {
  (void)state;
  current_test = "test_a_slow_job_never_overlaps_itself";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    run_slow_and_fast(&chosen[t], &s);
    for (size_t i = 0; i < 2; i++) {
      if (s.probes[i].most_running > 1) {
        check_message("job '%s' had %d runs going at once: a job must not "
                      "start again before its run has returned (wait for "
                      "it in the job's own task, do not spawn a task per "
                      "run)",
                      s.probes[i].name, s.probes[i].most_running);
        replay_line();
        fail();
      }
    }
    expect_tidy();
  }
}

static void test_a_slow_job_skips_missed_points_of_its_grid(void **state) {
  (void)state;
  current_test = "test_a_slow_job_skips_missed_points_of_its_grid";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    run_slow_and_fast(&chosen[t], &s);
    /* 0-5 runs; 2 and 4 passed meanwhile: skipped; next at 6; and so on. */
    expect_starts(&s.probes[0], expected, grid(0, 6, 60, expected),
                  "a run of 5 s every 2 s starts at 0, 6, 12...: the points "
                  "of the grid that passed during a run are skipped, and "
                  "the next run starts at the next point of the grid, not "
                  "as soon as the last one ended");
    expect_tidy();
  }
}

/* ---- Stopping ---- */

static void test_cron_run_stops_its_runs_at_the_end(void **state) {
  (void)state;
  current_test = "test_cron_run_stops_its_runs_at_the_end";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static scenario_t s;
    memset(&s, 0, sizeof s);
    /* Runs 0-30 and 35-65: the second is still going at 60. */
    probe_reset(&s.probes[0], "every 7 s, runs take 30 s", 30.0);
    probe_reset(&s.probes[1], "every 1 s, runs take no time", 0);
    s.jobs[0] = probe_job(&s.probes[0], 7);
    s.jobs[1] = probe_job(&s.probes[1], 1);
    s.count = 2;
    s.duration = 60;
    run_checked(&chosen[t], run_scenario, &s);
    expect_returned(&s, 60);
    if (s.running_at_return != 0 || s.probes[0].cancelled != 1) {
      check_message("at the end of the duration, the run of job '%s' that "
                    "started at 35 s was %s: cancel the runs still going, "
                    "and wait for them (async_task_join) before returning",
                    s.probes[0].name,
                    s.running_at_return ? "still going when cron_run returned"
                                        : "not cancelled");
      replay_line();
      fail();
    }
    expect_starts(&s.probes[0], expected, grid(0, 35, 60, expected),
                  "a run of 30 s every 7 s starts at 0 and 35 (the points "
                  "of the grid during a run are skipped)");
    expect_starts(&s.probes[1], expected, grid(0, 1, 60, expected),
                  "only the points of the grid before t0 + duration start "
                  "a run: 0, 1, ..., 59 for a minute, not 60");
    expect_tidy();
  }
}

typedef struct cancelling {
  scenario_t scenario;
  int joined; /* what joining the cancelled task gave */
} cancelling_t;

static int cancel_after_12_seconds(void *arg) {
  cancelling_t *c = arg;
  async_task_t *cron = async_spawn("cron", run_scenario, &c->scenario);
  if (cron == NULL) return UV_ENOMEM;
  async_sleep(12);
  async_task_cancel(cron);
  c->joined = async_task_join(cron);
  async_task_release(cron);
  return 0;
}

static void test_cancelling_cron_run_stops_every_run(void **state) {
  (void)state;
  current_test = "test_cancelling_cron_run_stops_every_run";
  schedule_t chosen[16];
  size_t tries = schedules_to_try(chosen);
  for (size_t t = 0; t < tries; t++) {
    static cancelling_t c;
    memset(&c, 0, sizeof c);
    scenario_t *s = &c.scenario;
    /* Cancelled at 12 s, in the middle of the run that started at 10. */
    probe_reset(&s->probes[0], "every 10 s, runs take 4 s", 4.0);
    probe_reset(&s->probes[1], "every 3 s, runs take no time", 0);
    s->jobs[0] = probe_job(&s->probes[0], 10);
    s->jobs[1] = probe_job(&s->probes[1], 3);
    s->count = 2;
    s->duration = ASYNC_FOREVER;
    run_checked(&chosen[t], cancel_after_12_seconds, &c);
    expect_starts(&s->probes[0], expected, grid(0, 10, 11, expected),
                  "a job of period 10 s starts at 0 and 10 s");
    if (s->returned_at != 12 || s->rc != UV_ECANCELED) {
      check_message("cron_run(..., ASYNC_FOREVER), cancelled at 12 s, "
                    "returned %d (%s) at %.9g s: it must return UV_ECANCELED "
                    "at once, once its runs have stopped",
                    s->rc, async_strerror(s->rc), s->returned_at);
      replay_line();
      fail();
    }
    if (s->running_at_return != 0 || s->probes[0].cancelled != 1) {
      check_message("cron_run was cancelled at 12 s, and the run of job '%s' "
                    "that started at 10 s was %s: when cron_run is "
                    "cancelled, cancel the runs still going and wait for "
                    "them (async_task_join) before returning",
                    s->probes[0].name,
                    s->running_at_return ? "still going when cron_run returned"
                                         : "not cancelled");
      replay_line();
      fail();
    }
    expect_tidy();
  }
}

CHECK_MAIN(cmocka_unit_test(test_parse_skips_comments_and_blank_lines),
           cmocka_unit_test(test_parse_reads_period_and_command),
           cmocka_unit_test(test_parse_rejects_bad_lines),
           cmocka_unit_test(test_jobs_start_exactly_on_their_grid_for_an_hour),
           cmocka_unit_test(test_the_grid_starts_when_cron_run_is_called),
           cmocka_unit_test(test_a_slow_job_does_not_delay_another),
           cmocka_unit_test(test_a_slow_job_never_overlaps_itself),
           cmocka_unit_test(test_a_slow_job_skips_missed_points_of_its_grid),
           cmocka_unit_test(test_cron_run_stops_its_runs_at_the_end),
           cmocka_unit_test(test_cancelling_cron_run_stops_every_run))
