/* test_hello.c: ex1-hello's cmocka checks of hello_world() and
 * hello_coroutines(), run in check mode where time matters. */
#include "check.h"

#include <async.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hello.h"

/* ---- Running the student's code with its stdout captured ---- */

typedef struct part2_args {
  int tasks, rounds;
  double interval;
} part2_args_t;

typedef struct run {
  int rc;         /* what the function returned */
  double elapsed; /* loop time it took, in seconds */
  char *out;      /* what it printed (malloc'd) */
  async_run_stats_t stats;
} run_t;

static run_t *current_run;

static int part1_body(void *arg) {
  (void)arg;
  double start = async_time();
  current_run->rc = hello_world();
  current_run->elapsed = async_time() - start;
  return 0;
}

static int part2_body(void *arg) {
  const part2_args_t *args = arg;
  double start = async_time();
  current_run->rc = hello_coroutines(args->tasks, args->rounds, args->interval);
  current_run->elapsed = async_time() - start;
  return 0;
}

/* The whole file (malloc'd, NUL-terminated). */
static char *read_all(FILE *file) {
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  rewind(file);
  char *text = malloc((size_t)length + 1);
  assert_non_null(text);
  size_t got = fread(text, 1, (size_t)length, file);
  text[got] = '\0';
  return text;
}

/* Runs body(arg) with async_run(), stdout going to a file meanwhile. */
static run_t run_capturing(async_fn body, void *arg) {
  run_t run = {0};
  current_run = &run;
  FILE *capture = tmpfile();
  assert_non_null(capture);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  assert_true(saved >= 0);
  dup2(fileno(capture), STDOUT_FILENO);
  int status = async_run(body, arg);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  async_run_stats(&run.stats);
  run.out = read_all(capture);
  fclose(capture);
  current_run = NULL;
  assert_int_equal(status, 0);
  return run;
}

/* Check mode for the next run: virtual time, and this schedule. */
static void check_mode(const char *schedule) {
  setenv("ASYNC_CHECK", "1", 1);
  setenv("ASYNC_SCHEDULE", schedule, 1);
}

/* Every test starts and ends outside check mode (they may share a
 * process when run by hand). */
static int clean_environment(void **state) {
  (void)state;
  const char *names[] = {"ASYNC_CHECK", "ASYNC_SCHEDULE", "ASYNC_SEED",
                         "ASYNC_FINDINGS", "ASYNC_HOG_MS"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    unsetenv(names[i]);
  return 0;
}

static size_t count_lines(const char *text) {
  size_t lines = 0;
  for (const char *c = text; *c; c++) lines += *c == '\n';
  return lines;
}

/* ---- Part 1 ---- */

static void test_part1_prints_hello_world_once(void **state) {
  (void)state;
  run_t run = run_capturing(part1_body, NULL);
  if (strcmp(run.out, "Hello world!\n") != 0) {
    const char *first = strstr(run.out, "Hello world!");
    if (run.out[0] == '\0')
      check_message("hello_world() printed nothing: say_hello should print "
                    "the line, and hello_world() run it as a task and wait "
                    "for it (async_task_join): a task only runs once its "
                    "creator blocks.");
    else if (first != NULL && strstr(first + 1, "Hello world!") != NULL)
      check_message("hello_world() printed Hello world! more than once");
    else
      check_message("hello_world() should print exactly \"Hello world!\" "
                    "and a newline, nothing else");
    check_text_equal("Hello world!\n", run.out);
  }
  if (run.rc != 0) {
    check_message("hello_world() printed the right line but returned %d "
                  "(%s), not 0",
                  run.rc, async_strerror(run.rc));
    fail();
  }
  free(run.out);
}

static void test_part1_prints_from_a_task(void **state) {
  (void)state;
  run_t run = run_capturing(part1_body, NULL);
  /* main's task counts as one. */
  if (run.stats.tasks_spawned < 2) {
    check_message("hello_world() started no task: it should print from a "
                  "task of its own (async_spawn), and wait for it");
    fail();
  }
  if (run.stats.tasks_cancelled_at_exit > 0) {
    check_message("a task of hello_world() was still running when it "
                  "returned (async_run() had to cancel it): wait for it "
                  "with async_task_join");
    fail();
  }
  free(run.out);
}

/* ---- Part 2 ---- */

static int compare_lines(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined again (malloc'd): the same text for
 * two outputs that differ only in their order. */
static char *sorted_lines(const char *text) {
  size_t count = count_lines(text) + 1;
  char *copy = strdup(text);
  char **lines = calloc(count, sizeof *lines);
  assert_true(copy != NULL && lines != NULL);
  size_t n = 0;
  for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
    lines[n++] = line;
  qsort(lines, n, sizeof *lines, compare_lines);
  char *joined = calloc(strlen(text) + n + 2, 1);
  assert_non_null(joined);
  for (size_t i = 0; i < n; i++) {
    strcat(joined, lines[i]);
    strcat(joined, "\n");
  }
  free(lines);
  free(copy);
  return joined;
}

/* What tasks x rounds should print, in one possible order. */
static char *expected_part2(int tasks, int rounds) {
  size_t size = (size_t)tasks * (size_t)rounds * 48 + 1;
  char *text = calloc(size, 1);
  assert_non_null(text);
  size_t used = 0;
  for (int round = 1; round <= rounds; round++)
    for (int id = 1; id <= tasks; id++)
      used += (size_t)snprintf(text + used, size - used,
                               HELLO_COROUTINE_LINE " %d\n", id);
  return text;
}

static void test_part2_prints_every_line(void **state) {
  (void)state;
  /* The order is the next check's business: compare sorted lines. */
  const part2_args_t cases[] = {{1, 1, 0.01}, {3, 2, 0.01}, {7, 4, 0.01}};
  check_mode("fifo");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    run_t run = run_capturing(part2_body, (void *)&cases[c]);
    char *expected = expected_part2(cases[c].tasks, cases[c].rounds);
    char *want = sorted_lines(expected), *got = sorted_lines(run.out);
    if (strcmp(want, got) != 0) {
      size_t lines = count_lines(run.out),
             should = (size_t)cases[c].tasks * (size_t)cases[c].rounds;
      if (lines == 0)
        check_message("hello_coroutines(%d, %d, %g) printed nothing: did it "
                      "wait for its tasks before returning?",
                      cases[c].tasks, cases[c].rounds, cases[c].interval);
      else if (lines != should)
        check_message("hello_coroutines(%d, %d, %g) printed %zu lines, not "
                      "%d x %d = %zu (lines sorted below, so that only "
                      "what is missing or extra shows)",
                      cases[c].tasks, cases[c].rounds, cases[c].interval, lines,
                      cases[c].tasks, cases[c].rounds, should);
      else
        check_message("hello_coroutines(%d, %d, %g): each id from 1 to %d "
                      "should print exactly %d lines (lines sorted below): "
                      "does every task get a coroutine_t of its own?",
                      cases[c].tasks, cases[c].rounds, cases[c].interval,
                      cases[c].tasks, cases[c].rounds);
      check_text_equal(want, got);
    }
    if (run.rc != 0) {
      check_message("hello_coroutines(%d, %d, %g) printed the right lines "
                    "but returned %d (%s), not 0",
                    cases[c].tasks, cases[c].rounds, cases[c].interval, run.rc,
                    async_strerror(run.rc));
      fail();
    }
    free(want);
    free(got);
    free(expected);
    free(run.out);
  }
}

/* Fails unless part 2 printed all its lines: timing a run that did not do
 * the work would only confuse. */
static void require_every_line(const part2_args_t *args, const char *out) {
  size_t lines = count_lines(out),
         should = (size_t)args->tasks * (size_t)args->rounds;
  if (lines == should) return;
  check_message("hello_coroutines(%d, %d, %g) printed %zu lines, not %zu: "
                "this check needs part 2 to print all its lines first",
                args->tasks, args->rounds, args->interval, lines, should);
  fail();
}

static void test_part2_takes_rounds_minus_one_intervals(void **state) {
  (void)state;
  /* Virtual time: sleeps take no real time and their sum is exact. */
  const part2_args_t cases[] = {{5, 3, 0.05}, {4, 1, 2.0}, {2, 4, 0.02}};
  check_mode("fifo");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const part2_args_t *args = &cases[c];
    run_t run = run_capturing(part2_body, (void *)args);
    require_every_line(args, run.out);
    double want = (args->rounds - 1) * args->interval;
    if (fabs(run.elapsed - want) > 1e-6) {
      const char *why;
      if (run.elapsed < 1e-9)
        why = "no time passed on the loop's clock: does each task sleep "
              "with async_sleep() (not sleep() or usleep(), which stop "
              "the whole loop)?";
      else if (fabs(run.elapsed - args->tasks * want) < 1e-6)
        why = "that is one task's time per task: the tasks ran one after "
              "another. Start them all before waiting for any.";
      else if (fabs(run.elapsed - args->rounds * args->interval) < 1e-6)
        why = "one interval too many: sleep between two prints, not "
              "before the first or after the last";
      else
        why = "each task sleeps the interval between two of its prints, "
              "and the tasks sleep at the same time";
      check_message("hello_coroutines(%d, %d, %g) took %g s of loop time, "
                    "not (%d - 1) x %g = %g s: %s",
                    args->tasks, args->rounds, args->interval, run.elapsed,
                    args->rounds, args->interval, want, why);
      fail();
    }
    free(run.out);
  }
}

static void test_part2_never_blocks_the_loop(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/findings-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  check_mode("fifo");
  setenv("ASYNC_FINDINGS", path, 1);
  /* A task that holds the CPU for 300 ms without reaching an await is a
   * loop hog: the runtime reports it. An interval of 0.6 s makes a
   * blocking sleep one; a correct task runs a few microseconds at a time,
   * so even a busy machine leaves a wide margin. */
  setenv("ASYNC_HOG_MS", "300", 1);
  const part2_args_t args = {1, 2, 0.6};
  run_t run = run_capturing(part2_body, (void *)&args);
  require_every_line(&args, run.out);
  FILE *file = fopen(path, "r");
  assert_non_null(file);
  char *findings = read_all(file);
  fclose(file);
  unlink(path);
  if (strstr(findings, "\"loop-hog\"") != NULL) {
    check_message("the task of hello_coroutines(1, 2, 0.6) held the loop for "
                  "more than 300 ms without an await: sleep with "
                  "async_sleep(), never sleep() or usleep(), which stop "
                  "every task (the runtime's report is above)");
    fail();
  }
  free(findings);
  free(run.out);
}

CHECK_MAIN(
    cmocka_unit_test_setup_teardown(test_part1_prints_hello_world_once,
                                    clean_environment, clean_environment),
    cmocka_unit_test_setup_teardown(test_part1_prints_from_a_task,
                                    clean_environment, clean_environment),
    cmocka_unit_test_setup_teardown(test_part2_prints_every_line,
                                    clean_environment, clean_environment),
    cmocka_unit_test_setup_teardown(test_part2_takes_rounds_minus_one_intervals,
                                    clean_environment, clean_environment),
    cmocka_unit_test_setup_teardown(test_part2_never_blocks_the_loop,
                                    clean_environment, clean_environment))
