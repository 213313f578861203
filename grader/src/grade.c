/* grade.c: grades one exercise of one submission: build, then each check.
 *
 * The scratch directory holds a copy of the kit's exercise folder with the
 * submission's student files laid over it, a copy of the exercise's tests and
 * of tests/lib and tests/fixtures, and the build output:
 *
 *   SCRATCH/src/exercise/     kit's exercises/exN-name + the student's files
 *   SCRATCH/src/tests/exN-name/   kit's tests/exN-name
 *   SCRATCH/src/tests/lib/    the grader's tests/lib, then the kit's
 *   SCRATCH/src/tests/fixtures/   the kit's fixture servers, if any
 *   SCRATCH/out/              programs and test programs (grader/exercise.mk)
 *
 * Tests run from the copies, never the kit's own files, so a hostile
 * submission can damage nothing but its scratch directory. Each check runs
 * in a fresh private directory (its HOME and TMPDIR) under sandbox_run(). */
#include "grader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Output kept per check, and the amount past which a check is stopped. */
#define OUTPUT_KEEP (48 * 1024)
#define OUTPUT_LIMIT (16 * 1024 * 1024)
/* What a message, expected or actual value may take in a result. */
#define VALUE_LIMIT (16 * 1024)
#define BUILD_TIMEOUT 180.0

/* The users the build and the checks run as, when the grader is root: fresh
 * ids, per grader process, so that parallel graders count their processes
 * apart and no check can write to the build. 0 when not root. */
static uid_t build_uid, check_uid;

/* Whether every folder on the way to path lets other users through. */
static bool reachable_by_others(const char *path) {
  char *copy = xstrdup(path);
  bool reachable = true;
  for (;;) {
    struct stat info;
    if (stat(copy, &info) != 0 || !(info.st_mode & S_IXOTH)) {
      reachable = false;
      break;
    }
    char *slash = strrchr(copy, '/');
    if (!slash || slash == copy) break;
    *slash = '\0';
  }
  free(copy);
  return reachable;
}

static void choose_users(const char *scratch) {
  build_uid = check_uid = 0;
  if (geteuid() != 0 || getenv("GRADER_SAME_USER")) return;
  if (!reachable_by_others(scratch)) {
    /* Users of their own could not read the build: run as ourselves. */
    fprintf(stderr,
            "grader: %s is closed to other users, so the checks run "
            "as root, not as users of their own\n",
            scratch);
    return;
  }
  uid_t base = 1500000000u + (uid_t)(getpid() % 1000000) * 2;
  build_uid = base;
  check_uid = base + 1;
}

/* An environment for a build or a check: the grader's own, less what would
 * confuse a nested make or bats, plus `extra` (NAME=value strings). */
static strlist_t child_environment(const strlist_t *extra) {
  strlist_t environment = {0};
  for (char **entry = environ; *entry; entry++) {
    const char *text = *entry;
    bool drop = strncmp(text, "MAKEFLAGS=", 10) == 0 ||
                strncmp(text, "MFLAGS=", 7) == 0 ||
                strncmp(text, "MAKELEVEL=", 10) == 0 ||
                strncmp(text, "MAKE_TERMOUT=", 13) == 0 ||
                strncmp(text, "MAKE_TERMERR=", 13) == 0 ||
                (strncmp(text, "BATS_", 5) == 0 &&
                 strncmp(text, "BATS_LIB_PATH=", 14) != 0);
    /* Anything `extra` sets replaces the inherited value. */
    for (size_t i = 0; !drop && i < extra->count; i++) {
      size_t name_length = strcspn(extra->items[i], "=") + 1;
      if (strncmp(text, extra->items[i], name_length) == 0) drop = true;
    }
    if (!drop) sl_push(&environment, text);
  }
  for (size_t i = 0; i < extra->count; i++)
    sl_push(&environment, extra->items[i]);
  return environment;
}

static void push_setting(strlist_t *list, const char *name, const char *value) {
  char *entry = xasprintf("%s=%s", name, value);
  sl_push(list, entry);
  free(entry);
}

/* ---------------------------------------------------------------------- */
/* Building                                                                */

/* Lays out SCRATCH/src (see the top of this file). Fails with a message for
 * the student when a student file is missing from the submission. */
static bool prepare_sources(const exercise_t *exercise,
                            const grade_options_t *options, const char *scratch,
                            char **problem, bool *kit_problem) {
  char *source = path_join(scratch, "src");
  char *exercise_copy = path_join(source, "exercise");
  char *tests_copy = xasprintf("%s/tests/%s", source, exercise->name);
  char *lib_copy = xasprintf("%s/tests/lib", source);
  char *grader_lib = xasprintf("%s/tests/lib", options->home);
  char *kit_lib = xasprintf("%s/tests/lib", exercise->kit);
  char *fixtures_copy = xasprintf("%s/tests/fixtures", source);
  char *kit_fixtures = xasprintf("%s/tests/fixtures", exercise->kit);
  bool ok = true;
  *kit_problem = false;

  /* Copies of the kit's files. In a reused build directory unchanged files
   * stay untouched, so make rebuilds only what changed; the stub is never
   * copied, so a student file is rewritten only when the student's is new. */
  if (!copy_tree(exercise->exercise_dir, exercise_copy,
                 &exercise->student_files) ||
      !copy_tree(exercise->tests_dir, tests_copy, NULL) ||
      (is_directory(grader_lib) && !copy_tree(grader_lib, lib_copy, NULL)) ||
      (is_directory(kit_lib) && !copy_tree(kit_lib, lib_copy, NULL)) ||
      (is_directory(kit_fixtures) &&
       !copy_tree(kit_fixtures, fixtures_copy, NULL))) {
    *problem = xasprintf("cannot copy the kit's files into %s: %s", scratch,
                         strerror(errno));
    *kit_problem = true;
    ok = false;
  }

  for (size_t i = 0; ok && i < exercise->student_files.count; i++) {
    const char *file = exercise->student_files.items[i];
    char *from = submission_file(options->submission, exercise, file);
    char *to = path_join(exercise_copy, file);
    if (!from) {
      *problem = xasprintf("the submission has no %s: looked for %s/%s/%s, "
                           "%s/exercises/%s/%s and %s/%s",
                           file, options->submission, exercise->name, file,
                           options->submission, exercise->name, file,
                           options->submission, file);
      ok = false;
    } else if (!copy_file(from, to)) {
      *problem = xasprintf("cannot read %s (it must be a regular file): %s",
                           from, strerror(errno));
      ok = false;
    }
    free(from);
    free(to);
  }
  free(source);
  free(exercise_copy);
  free(tests_copy);
  free(lib_copy);
  free(grader_lib);
  free(kit_lib);
  free(fixtures_copy);
  free(kit_fixtures);
  return ok;
}

bool build_exercise(const exercise_t *exercise, const grade_options_t *options,
                    const char *scratch, char **output) {
  char *makefile = xasprintf("%s/grader/exercise.mk", options->home);
  char *library = xasprintf("%s/build/default/libasync.a", options->runtime);
  char *out = path_join(scratch, "out");
  make_directories(out, 0755);
  if (build_uid) chown_tree(out, build_uid, build_uid);

  char *arguments[] = {
      "make",
      "-s",
      "-j2",
      "--no-print-directory",
      "-f",
      makefile,
      "-C",
      out,
      xasprintf("EXERCISE=%s", exercise->name),
      xasprintf("EXERCISE_SRC=%s/src/exercise", scratch),
      xasprintf("TESTS_SRC=%s/src/tests/%s", scratch, exercise->name),
      xasprintf("TESTS_LIB=%s/src/tests/lib", scratch),
      xasprintf("RUNTIME_INCLUDE=%s/runtime/include", options->runtime),
      xasprintf("RUNTIME_HARNESS=%s/tests/runtime", options->runtime),
      xasprintf("RUNTIME_LIB=%s", library),
      NULL,
  };
  strlist_t extra = {0};
  push_setting(&extra, "LC_ALL", "C");
  strlist_t environment = child_environment(&extra);
  sandbox_options_t sandbox = {
      .argv = arguments,
      .environment = environment.items,
      .directory = out,
      .timeout = BUILD_TIMEOUT * timeout_scale(),
      .isolate = true,
      .memory_bytes = (size_t)4 * 1024 * 1024 * 1024,
      .file_bytes = (size_t)512 * 1024 * 1024,
      .processes = 64,
      .open_files = 1024,
      .uid = build_uid,
      .gid = build_uid,
      .output_keep = 64 * 1024,
      .output_limit = 8 * 1024 * 1024,
  };
  sandbox_result_t result;
  sandbox_run(&sandbox, &result);
  bool ok =
      !result.could_not_start && !result.timed_out && result.exit_status == 0;
  strbuf_t text = {0};
  if (result.could_not_start)
    sb_printf(&text, "could not run make: %s\n", result.start_error);
  sb_append(&text, result.output, result.output_length);
  if (result.timed_out)
    sb_printf(&text, "\nthe build took longer than %.0f s and was stopped\n",
              sandbox.timeout);
  *output = sb_take(&text);
  sandbox_result_free(&result);
  sl_free(&environment);
  sl_free(&extra);
  for (int i = 8; arguments[i]; i++) free(arguments[i]);
  free(makefile);
  free(library);
  free(out);
  return ok;
}

/* ---------------------------------------------------------------------- */
/* Reading a check's result                                                */

/* A file the test left in its result directory, capped; NULL if none. */
static char *result_file(const char *directory, const char *name) {
  char *path = path_join(directory, name);
  struct stat info;
  char *text = NULL;
  /* lstat: a check could leave a link to a file it should not show. */
  if (lstat(path, &info) == 0 && S_ISREG(info.st_mode)) {
    size_t length;
    char *data = read_file(path, &length);
    if (data) text = cap_text(data, length, VALUE_LIMIT);
    free(data);
  }
  free(path);
  return text;
}

/* The text after `prefix` on the last line that starts with it. */
static char *last_line_after(const char *output, const char *prefix) {
  char *found = NULL;
  size_t prefix_length = strlen(prefix);
  for (const char *line = output; line && *line;) {
    const char *start = line;
    while (*start == ' ' || *start == '#') start++;
    if (strncmp(start, prefix, prefix_length) == 0) {
      size_t length = strcspn(start + prefix_length, "\n");
      free(found);
      found = xstrndup(start + prefix_length, length);
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return found;
}

/* The first line that starts with prefix (after bats' "# "), or NULL. */
static char *first_line_after(const char *output, const char *prefix) {
  size_t prefix_length = strlen(prefix);
  for (const char *line = output; line && *line;) {
    const char *start = line;
    if (*start == '#') start++;
    while (*start == ' ') start++;
    if (strncmp(start, prefix, prefix_length) == 0)
      return xstrndup(start + prefix_length,
                      strcspn(start + prefix_length, "\n"));
    line = strchr(line, '\n');
    if (line) line++;
  }
  return NULL;
}

/* A one-line reason for a failed check, from what its test printed: cmocka's
 * "[  ERROR   ] --- why", or bats-assert's "-- why --", or bats' "`command'
 * failed". NULL if none of those is there. */
static char *failure_reason(const check_t *check, const char *output) {
  if (check->kind == KIND_CMOCKA) {
    char *reason = first_line_after(output, "[  ERROR   ] --- ");
    /* A bare fail() leaves only "[   LINE   ] --- FILE:LINE: error: ...". */
    if (reason && strncmp(reason, "[   LINE   ] --- ", 17) == 0) {
      char *place = reason + 17;
      char *slash = strrchr(place, '/');
      char *colon = strstr(place, ": error");
      if (colon) *colon = '\0';
      char *better =
          xasprintf("the test failed at %s", slash ? slash + 1 : place);
      free(reason);
      reason = better;
    }
    if (!reason) reason = first_line_after(output, "ERROR: ");
    return reason;
  }
  char *reason = NULL;
  for (const char *line = output; line && *line && !reason;) {
    if (strncmp(line, "# -- ", 5) == 0) {
      size_t length = strcspn(line + 5, "\n");
      /* "# -- output differs --" */
      if (length > 3 && strncmp(line + 5 + length - 3, " --", 3) == 0)
        reason = xstrndup(line + 5, length - 3);
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  if (!reason) {
    char *command = first_line_after(output, "`");
    if (command) {
      char *quote = strstr(command, "' failed");
      if (quote) {
        *quote = '\0';
        reason = xasprintf("%s failed", command);
      }
      free(command);
    }
  }
  return reason;
}

static const char *signal_description(int number) {
  switch (number) {
  case SIGSEGV:
    return "a segmentation fault (SIGSEGV): a bad pointer?";
  case SIGABRT:
    return "an abort (SIGABRT): a failed assert() or a "
           "memory error found by the C library";
  case SIGBUS:
    return "a bus error (SIGBUS)";
  case SIGFPE:
    return "an arithmetic error (SIGFPE): division by zero?";
  case SIGILL:
    return "an illegal instruction (SIGILL)";
  case SIGXCPU:
    return "its CPU time running out (SIGXCPU): a busy loop?";
  case SIGXFSZ:
    return "writing a file past the size limit (SIGXFSZ)";
  case SIGKILL:
    return "SIGKILL (a resource limit, or the system)";
  case SIGPIPE:
    return "writing to a closed pipe or socket (SIGPIPE)";
  default:
    return strsignal(number);
  }
}

/* Writes expected and actual, made visible, to two files and diffs them. */
static char *visible_diff(const char *scratch, const char *expected,
                          const char *actual) {
  char *expected_path = path_join(scratch, "diff-expected");
  char *actual_path = path_join(scratch, "diff-actual");
  strbuf_t text = {0};
  render_visible(&text, expected, strlen(expected), true);
  sb_putc(&text, '\n');
  write_file(expected_path, text.data, text.length);
  sb_free(&text);
  render_visible(&text, actual, strlen(actual), true);
  sb_putc(&text, '\n');
  write_file(actual_path, text.data, text.length);
  sb_free(&text);

  char *arguments[] = {"diff",        "-u",        "--label",
                       "expected",    "--label",   "actual",
                       expected_path, actual_path, NULL};
  sandbox_options_t options = {
      .argv = arguments, .timeout = 20, .output_keep = VALUE_LIMIT};
  sandbox_result_t result;
  sandbox_run(&options, &result);
  char *diff = result.exit_status == 1 ? xstrdup(result.output) : NULL;
  sandbox_result_free(&result);
  unlink(expected_path);
  unlink(actual_path);
  free(expected_path);
  free(actual_path);
  return diff;
}

static bool multi_line(const char *text) {
  const char *newline = strchr(text, '\n');
  return newline && newline[1] != '\0';
}

/* An ERE that matches exactly this bats test name. */
static char *bats_filter(const char *name) {
  strbuf_t filter = {0};
  sb_putc(&filter, '^');
  for (const char *c = name; *c; c++) {
    if (strchr(".[]()*+?{}|^$\\", *c)) sb_putc(&filter, '\\');
    sb_putc(&filter, *c);
  }
  sb_putc(&filter, '$');
  return sb_take(&filter);
}

/* ---------------------------------------------------------------------- */
/* Running a check                                                         */

static void run_check(const exercise_t *exercise, check_t *check,
                      const char *scratch, int index, grade_t *grade) {
  double scale = timeout_scale();
  char *out = path_join(scratch, "out");
  char *check_dir = xasprintf("%s/check-%d", scratch, index);
  char *home = path_join(check_dir, "home");
  char *result_dir = path_join(check_dir, "result");
  remove_tree(check_dir);
  make_directories(home, 0755);
  make_directories(result_dir, 0755);
  if (check_uid) chown_tree(check_dir, check_uid, check_uid);

  char *program = NULL, *bats_file = NULL, *filter = NULL;
  char *arguments[7] = {0};
  if (check->kind == KIND_CMOCKA) {
    program = path_join(out, check->target);
    arguments[0] = program;
    arguments[1] = check->test;
    check->command = xasprintf("%s %s", check->target, check->test);
  } else {
    bats_file =
        xasprintf("%s/src/tests/%s/%s", scratch, exercise->name, check->target);
    filter = bats_filter(check->test);
    arguments[0] = "bats";
    arguments[1] = "--tap";
    arguments[2] = "--filter";
    arguments[3] = filter;
    arguments[4] = bats_file;
    check->command = xasprintf("bats --filter '%s' tests/%s/%s", filter,
                               exercise->name, check->target);
  }

  const char *old_path = getenv("PATH");
  char *path = xasprintf("%s:%s", out,
                         old_path ? old_path : "/usr/local/bin:/usr/bin:/bin");
  char *timeout_text = xasprintf("%g", exercise->timeout * scale);
  char *scale_text = xasprintf("%g", scale);
  char *tests_src = xasprintf("%s/src/tests/%s", scratch, exercise->name);
  char *exercise_src = xasprintf("%s/src/exercise", scratch);
  char *tests_lib = xasprintf("%s/src/tests/lib", scratch);
  const char *bats_lib = getenv("BATS_LIB_PATH");
  char *bats_lib_path = xasprintf(
      "%s%s/usr/lib/bats:/usr/share/bats:/usr/local/lib/bats:/usr/local/lib",
      bats_lib ? bats_lib : "", bats_lib ? ":" : "");
  strlist_t extra = {0};
  push_setting(&extra, "PATH", path);
  push_setting(&extra, "HOME", home);
  push_setting(&extra, "TMPDIR", home);
  push_setting(&extra, "LC_ALL", "C.UTF-8");
  push_setting(&extra, "TERM", "dumb");
  push_setting(&extra, "GRADER", "1");
  push_setting(&extra, "GRADER_RESULT_DIR", result_dir);
  push_setting(&extra, "GRADER_NETWORK",
               sandbox_network_available() ? "private" : "shared");
  push_setting(&extra, "GRADER_CHECK_TIMEOUT", timeout_text);
  push_setting(&extra, "TIMEOUT_SCALE", scale_text);
  push_setting(&extra, "EXERCISE", exercise->name);
  push_setting(&extra, "EXERCISE_BUILD", out);
  push_setting(&extra, "EXERCISE_SRC", exercise_src);
  push_setting(&extra, "TESTS_SRC", tests_src);
  push_setting(&extra, "TESTS_LIB", tests_lib);
  push_setting(&extra, "BATS_LIB_PATH", bats_lib_path);
  strlist_t environment = child_environment(&extra);

  double cpu = exercise->cpu_seconds > 0 ? exercise->cpu_seconds * scale
                                         : exercise->timeout * scale + 1;
  sandbox_options_t options = {
      .argv = arguments,
      .environment = environment.items,
      .directory = home,
      .timeout = exercise->timeout * scale,
      .kill_grace = 1,
      .isolate = true,
      .cpu_seconds = cpu,
      .memory_bytes = exercise->memory_bytes,
      .file_bytes = exercise->file_bytes,
      .processes = exercise->processes,
      .open_files = exercise->open_files,
      .uid = check_uid,
      .gid = check_uid,
      .output_keep = OUTPUT_KEEP,
      .output_limit = OUTPUT_LIMIT,
  };
  sandbox_result_t result;
  sandbox_run(&options, &result);
  check->duration = result.duration;
  if (result.network_private) grade->network_private = true;

  /* What the test said about itself. */
  check->message = result_file(result_dir, "message");
  check->expected = result_file(result_dir, "expected");
  check->actual = result_file(result_dir, "actual");
  check->replay = result_file(result_dir, "replay");
  if (check->replay) check->replay[strcspn(check->replay, "\n")] = '\0';
  char *replay_line = last_line_after(result.output, "REPLAY: ");
  if (replay_line && !check->replay)
    check->replay = replay_line;
  else
    free(replay_line);

  strbuf_t output = {0};
  sb_append(&output, result.output, result.output_length);
  if (result.survivors_killed > 0)
    sb_printf(&output,
              "[grader: %d process%s still running after the test "
              "ended, killed]\n",
              result.survivors_killed,
              result.survivors_killed == 1 ? " was" : "es were");
  check->output_truncated = result.output_total > result.output_length;
  check->output = sb_take(&output);

  const char *output_text = check->output;
  if (result.could_not_start) {
    check->status = STATUS_ERROR;
    free(check->message);
    check->message =
        xasprintf("could not run the check: %s", result.start_error);
    grade->kit_error = true;
    if (!grade->kit_message) grade->kit_message = xstrdup(check->message);
  } else if (result.timed_out) {
    check->status = STATUS_ERROR;
    free(check->message);
    check->message = xasprintf(
        "timed out after %g s: it was stopped, with every process it "
        "started. Is something waiting for an event that never comes?",
        options.timeout);
  } else if (result.output_overflowed) {
    check->status = STATUS_ERROR;
    free(check->message);
    check->message = xasprintf("printed more than %d MiB of output, and was "
                               "stopped: an endless loop printing?",
                               OUTPUT_LIMIT / (1024 * 1024));
  } else if (result.signal) {
    check->status = STATUS_ERROR;
    char *reason = failure_reason(check, output_text);
    char *old = check->message;
    check->message =
        xasprintf("crashed with %s%s%s", signal_description(result.signal),
                  old || reason ? ": " : "",
                  old      ? old
                  : reason ? reason
                           : "");
    free(old);
    free(reason);
  } else if (result.exit_status == 0 &&
             (check->kind == KIND_CMOCKA || strstr(output_text, "\nok 1 ") ||
              !strncmp(output_text, "ok 1 ", 5))) {
    check->status = STATUS_PASS;
    check->score = check->points;
  } else if ((check->kind == KIND_CMOCKA && result.exit_status == 2 &&
              strstr(output_text, "there is no test named")) ||
             (check->kind == KIND_BATS &&
              strncmp(output_text, "1..0", 4) == 0)) {
    check->status = STATUS_ERROR;
    free(check->message);
    check->message = xasprintf("the kit's check '%s' names a test that "
                               "does not exist (%s)",
                               check->name, check->command);
    grade->kit_error = true;
    if (!grade->kit_message) grade->kit_message = xstrdup(check->message);
  } else {
    check->status = STATUS_FAIL;
    if (!check->message) check->message = failure_reason(check, output_text);
    if (!check->message)
      check->message =
          xasprintf("the test failed (exit status %d)", result.exit_status);
    /* bats-assert's one-line "expected : X" / "actual   : Y". */
    if (check->kind == KIND_BATS && !check->expected && !check->actual) {
      check->expected = first_line_after(output_text, "expected : ");
      check->actual = first_line_after(output_text, "actual   : ");
      if (!check->expected || !check->actual) {
        free(check->expected);
        free(check->actual);
        check->expected = check->actual = NULL;
      }
    }
  }
  if (check->status != STATUS_PASS && check->expected && check->actual &&
      (multi_line(check->expected) || multi_line(check->actual)))
    check->diff = visible_diff(scratch, check->expected, check->actual);

  sandbox_result_free(&result);
  sl_free(&environment);
  sl_free(&extra);
  remove_tree(check_dir);
  free(program);
  free(bats_file);
  free(filter);
  free(path);
  free(timeout_text);
  free(scale_text);
  free(tests_src);
  free(exercise_src);
  free(tests_lib);
  free(bats_lib_path);
  free(out);
  free(check_dir);
  free(home);
  free(result_dir);
}

bool prepare_and_build(const exercise_t *exercise,
                       const grade_options_t *options, const char *scratch,
                       char **output) {
  /* The student's own program, built as the student. */
  build_uid = check_uid = 0;
  bool kit_problem;
  char *problem = NULL;
  if (!prepare_sources(exercise, options, scratch, &problem, &kit_problem)) {
    *output = problem;
    return false;
  }
  return build_exercise(exercise, options, scratch, output);
}

/* Turns a failed build into one error result ("build") before the checks,
 * which are all skipped. */
static void record_build_failure(exercise_t *exercise, const char *message,
                                 const char *output) {
  exercise->checks =
      xrealloc(exercise->checks, (exercise->check_count + 1) * sizeof(check_t));
  memmove(exercise->checks + 1, exercise->checks,
          exercise->check_count * sizeof(check_t));
  exercise->check_count++;
  check_t *build = &exercise->checks[0];
  memset(build, 0, sizeof *build);
  build->name = xstrdup("build");
  build->status = STATUS_ERROR;
  build->message = xstrdup(message);
  build->output = cap_text(output, strlen(output), OUTPUT_KEEP);
  build->hint = xstrdup("Fix the first error the compiler reports, then "
                        "check again: later errors often follow from it.");
  build->command = xstrdup("make");
  build->output_from_start = true; /* the first error matters most */
  for (size_t i = 1; i < exercise->check_count; i++) {
    exercise->checks[i].status = STATUS_SKIP;
    exercise->checks[i].message = xstrdup("not run: the build failed");
  }
}

static int lock_build_directory(const char *directory) {
  char *path = path_join(directory, ".lock");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(path);
  /* Two graders sharing a build directory take turns. */
  if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

bool grade_exercise(exercise_t *exercise, const grade_options_t *options,
                    grade_t *grade) {
  double start = now_seconds();
  memset(grade, 0, sizeof *grade);
  grade->exercise = exercise;
  grade->submission = options->submission;
  for (size_t i = 0; i < exercise->check_count; i++)
    grade->max_score += exercise->checks[i].points;

  char *library = xasprintf("%s/build/default/libasync.a", options->runtime);
  if (!file_exists(library)) {
    grade->kit_error = true;
    grade->kit_message = xasprintf("the runtime library %s is not built: run "
                                   "make lib first",
                                   library);
    free(library);
    for (size_t i = 0; i < exercise->check_count; i++)
      exercise->checks[i].message = xstrdup("not run: the kit could not run");
    return false;
  }
  free(library);

  char *scratch;
  if (options->build_dir) {
    if (!make_directories(options->build_dir, 0755))
      fatal("cannot make %s: %s", options->build_dir, strerror(errno));
    scratch = absolute_path(options->build_dir);
    chmod(scratch, 0755);
  } else {
    scratch = make_temporary_directory("grader");
  }
  int lock = lock_build_directory(scratch);
  choose_users(scratch);

  char *problem = NULL;
  bool kit_problem = false;
  if (!prepare_sources(exercise, options, scratch, &problem, &kit_problem)) {
    if (kit_problem) {
      grade->kit_error = true;
      grade->kit_message = xstrdup(problem);
    }
    grade->build_failed = true;
    grade->build_output = xstrdup("");
    record_build_failure(exercise, problem, "");
  } else {
    char *build_output = NULL;
    if (!build_exercise(exercise, options, scratch, &build_output)) {
      grade->build_failed = true;
      record_build_failure(exercise,
                           "the build failed: the compiler's messages are "
                           "below",
                           build_output);
    }
    grade->build_output = build_output;
  }
  free(problem);

  if (!grade->build_failed) {
    double total = exercise->total_timeout * timeout_scale();
    for (size_t i = 0; i < exercise->check_count; i++) {
      check_t *check = &exercise->checks[i];
      if (now_seconds() - start > total) {
        check->status = STATUS_SKIP;
        check->message = xasprintf("not run: the exercise's checks took more "
                                   "than %g s in all",
                                   total);
        continue;
      }
      if (!options->quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "  running %zu/%zu: %s...\r\033[K", i + 1,
                exercise->check_count, check->name);
      run_check(exercise, check, scratch, (int)i + 1, grade);
    }
  }

  for (size_t i = 0; i < exercise->check_count; i++)
    grade->score += exercise->checks[i].score;
  grade->duration = now_seconds() - start;
  if (lock >= 0) close(lock);
  if (!options->build_dir && !getenv("GRADER_KEEP")) remove_tree(scratch);
  free(scratch);
  return !grade->kit_error;
}
