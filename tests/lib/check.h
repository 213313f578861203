/* check.h: what an exercise's cmocka tests use to talk to the grader.
 *
 * A test file includes this header and ends with
 *
 *   CHECK_MAIN(cmocka_unit_test(test_greet_says_hello),
 *              cmocka_unit_test(test_other))
 *
 * which defines main() with the protocol the grader (and
 * tests/run-tests.sh) speaks: `prog --list` prints the test names, `prog
 * NAME` runs only that test, `prog` runs them all. The grader runs each
 * check as `prog NAME` in a sandbox of its own.
 *
 * Inside a test:
 *
 *   check_text_equal(expected, actual)  fails unless the strings are equal,
 *       and hands both to the grader, which shows them with whitespace made
 *       visible (a unified diff when they span lines);
 *   check_message("...", ...)           the one-line reason shown to the
 *       student when the test fails (printf-style);
 *   check_replay("...", ...)            for a seeded test: the command that
 *       replays this failure, printed as "REPLAY: ..." and kept in the
 *       result.
 *
 * The grader passes GRADER_RESULT_DIR; without it (a test run by hand) the
 * same facts are only printed. Test functions must be static (the kit
 * builds with -Wmissing-prototypes). */
#ifndef CHECK_H
#define CHECK_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes `text` to GRADER_RESULT_DIR/name, if the grader is listening. */
static inline void check__record(const char *name, const char *text) {
  const char *directory = getenv("GRADER_RESULT_DIR");
  if (!directory || !*directory) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", directory, name);
  FILE *file = fopen(path, "w");
  if (!file) return;
  fputs(text, file);
  fclose(file);
}

static inline void check__vrecord(const char *name, const char *format,
                                  va_list args) {
  char text[2048];
  vsnprintf(text, sizeof text, format, args);
  check__record(name, text);
  if (strcmp(name, "replay") == 0)
    printf("REPLAY: %s\n", text);
  else
    printf("%s\n", text);
  fflush(stdout);
}

static inline void check_message(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static inline void check_message(const char *format, ...) {
  va_list args;
  va_start(args, format);
  check__vrecord("message", format, args);
  va_end(args);
}

static inline void check_replay(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static inline void check_replay(const char *format, ...) {
  va_list args;
  va_start(args, format);
  check__vrecord("replay", format, args);
  va_end(args);
}

#define check_text_equal(expected, actual)                                     \
  check__text_equal(expected, actual, __FILE__, __LINE__)
static inline void check__text_equal(const char *expected, const char *actual,
                                     const char *file, int line) {
  if (expected && actual && strcmp(expected, actual) == 0) return;
  check__record("expected", expected ? expected : "(NULL)");
  check__record("actual", actual ? actual : "(NULL)");
  /* The test's own check_message(), if it gave one, says it better. */
  const char *directory = getenv("GRADER_RESULT_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/message", directory ? directory : "");
  FILE *message = directory ? fopen(path, "r") : NULL;
  if (message)
    fclose(message);
  else
    check__record("message", "the text is not what was expected");
  printf("expected \"%s\"\n  actual \"%s\"\n", expected ? expected : "",
         actual ? actual : "(NULL)");
  fflush(stdout);
  _fail(file, line);
}

/* The body of main() that CHECK_MAIN generates. */
static inline int check__main(int argc, char **argv,
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

#define CHECK_MAIN(...)                                                        \
  int main(int argc, char **argv) {                                            \
    static const struct CMUnitTest check__tests[] = {__VA_ARGS__};             \
    return check__main(argc, argv, check__tests,                               \
                       sizeof check__tests / sizeof check__tests[0]);          \
  }

#endif /* CHECK_H */
