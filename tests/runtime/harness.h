/* harness.h: the runtime tests' shared cmocka harness, one process per test.
 *
 * A test file includes this header and ends with
 *
 *   ASYNC_TEST_MAIN(
 *     cmocka_unit_test(test_lock_is_fifo),
 *     cmocka_unit_test(test_other))
 *
 * which defines main(). The program then understands:
 *
 *   prog --list   prints each test's name, one per line
 *   prog NAME     runs only the test NAME; exits non-zero if it failed or if
 *                 there is no test of that name
 *   prog          runs every test, one after the other, in this process
 *
 * tests/run-tests.sh lists the tests and runs each one in a process of its
 * own under a timeout, as libuv's tests do: a test that crashes, hangs or
 * leaks cannot take its neighbours down with it or hide behind them.
 *
 * Test functions must be static (the kit builds with -Wmissing-prototypes).
 */
#ifndef HARNESS_H
#define HARNESS_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "async.h"

/* Appends ", <count> <what>" to `text` when count is non-zero. */
static inline void harness__note(char *text, size_t size, size_t count,
                                 const char *one, const char *many) {
  if (count == 0) return;
  size_t used = strlen(text);
  snprintf(text + used, size - used, "%s%zu %s", used ? ", " : "", count,
           count == 1 ? one : many);
}

/* int harness_run(async_fn main, void *arg)
 *
 * Runs main(arg) with async_run() and returns its result, but first fails
 * the test, at the line that called harness_run, if the run was untidy:
 * tasks still running when main returned, task failures nobody retrieved,
 * libuv handles left open. Use it in every test unless leaving a mess behind
 * is the point of the test. */
#define harness_run(main, arg) harness__run(main, arg, __FILE__, __LINE__)
static inline int harness__run(async_fn main_fn, void *arg, const char *file,
                               int line) {
  int result = async_run(main_fn, arg);
  async_run_stats_t stats;
  async_run_stats(&stats);

  char mess[256] = "";
  harness__note(mess, sizeof mess, stats.tasks_cancelled_at_exit,
                "task still running when main returned (it was cancelled)",
                "tasks still running when main returned (they were "
                "cancelled)");
  harness__note(mess, sizeof mess, stats.failures_unretrieved,
                "task failure never retrieved",
                "task failures never retrieved");
  harness__note(mess, sizeof mess, stats.handles_left_open,
                "libuv handle left open", "libuv handles left open");
  if (mess[0] != '\0') {
    print_error(
        "ERROR: expected a tidy run, but async_run() (which returned %d) "
        "found: %s. Join or cancel every task you spawn, look at every "
        "result, close every handle; or use harness_run_untidy() if "
        "this test means to leave them.\n",
        result, mess);
    _fail(file, line);
  }
  return result;
}

/* Like harness_run(), without the tidiness checks: for tests of how
 * async_run() cleans up after an untidy program. */
static inline int harness_run_untidy(async_fn main_fn, void *arg) {
  return async_run(main_fn, arg);
}

/* The body of main() that ASYNC_TEST_MAIN generates. */
static inline int harness__main(int argc, char **argv,
                                const struct CMUnitTest *tests, size_t count) {
  const char *program = strrchr(argv[0], '/');
  program = program ? program + 1 : argv[0];

  /* Line-buffered, so that what a test printed survives an abort(). */
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (argc == 1)
    return _cmocka_run_group_tests(program, tests, count, NULL, NULL) ? 1 : 0;

  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < count; i++) printf("%s\n", tests[i].name);
    return 0;
  }

  if (argc == 2 && argv[1][0] != '-') {
    for (size_t i = 0; i < count; i++) {
      if (strcmp(tests[i].name, argv[1]) == 0) {
        cmocka_set_test_filter(argv[1]);
        return _cmocka_run_group_tests(program, tests, count, NULL, NULL) ? 1
                                                                          : 0;
      }
    }
    fprintf(stderr, "%s: there is no test named '%s'; %s --list shows them\n",
            program, argv[1], argv[0]);
    return 2;
  }

  fprintf(stderr,
          "usage: %s            run every test in this process\n"
          "       %s --list     print the test names\n"
          "       %s NAME       run only the test NAME\n",
          argv[0], argv[0], argv[0]);
  return 2;
}

#define ASYNC_TEST_MAIN(...)                                                   \
  int main(int argc, char **argv) {                                            \
    static const struct CMUnitTest harness__tests[] = {__VA_ARGS__};           \
    return harness__main(argc, argv, harness__tests,                           \
                         sizeof harness__tests / sizeof harness__tests[0]);    \
  }

#endif /* HARNESS_H */
