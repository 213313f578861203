/* main.c: the grader's command line: grade, batch, hint, progress, run, diff.
 *
 * Exit status, for every command that grades: 0 when every check passed, 1
 * when some failed (or the submission did not build), 2 when the kit itself
 * could not run (a missing tool, a broken checks file, bad usage). */
#include "grader.h"

#include <errno.h>
#include <libgen.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char usage_text[] =
    "usage: grader [OPTIONS] exN             grade one exercise\n"
    "       grader batch [OPTIONS] DIR...    grade many submissions at once\n"
    "       grader hint exN [--reset]        the next hint for exercise N\n"
    "       grader progress                  every exercise: done, failing, "
    "not started\n"
    "       grader run exN [--program NAME] [-- ARGS...]\n"
    "                                        build and run the program by "
    "hand\n"
    "       grader diff exN                  the submission against the "
    "solution\n"
    "       grader list                      the kit's exercises\n"
    "       grader fingerprint exN [--check] the stub's fingerprint, for "
    "tests/exN-name/\n"
    "                                        stub.fingerprint (progress "
    "tells not\n"
    "                                        started from failing by it)\n"
    "\n"
    "options:\n"
    "  --kit DIR          the kit (default: the one this grader belongs to)\n"
    "  --submission DIR   the student files: DIR/exN-name/FILE (default: "
    "KIT/exercises)\n"
    "  --format FORMAT    text (default), json, junit, tap or gradescope\n"
    "  --output FILE      write the report to FILE instead of stdout\n"
    "  --also FORMAT:FILE also write the report in FORMAT to FILE (- for "
    "stdout;\n"
    "                     repeatable)\n"
    "  --build-dir DIR    build there and keep it, for fast rebuilds\n"
    "  --quiet            no progress line while checks run\n"
    "\n"
    "GRADER_TIMEOUT_SCALE=N multiplies every timeout (for slow machines).\n"
    "grader batch --help tells more about batch grading.\n";

_Noreturn static void usage(void) {
  fputs(usage_text, stderr);
  exit(2);
}

typedef struct arguments {
  const char *kit;
  const char *submission;
  const char *format;
  const char *output;
  const char *build_dir;
  const char *program;
  bool quiet;
  bool reset;
  bool check; /* fingerprint --check */
  strlist_t also;     /* FORMAT:FILE, more reports of the same grading */
  strlist_t words;    /* what is left: the exercise, batch directories */
  strlist_t run_args; /* after "--" */
} arguments_t;

static void parse_arguments(int argc, char **argv, arguments_t *arguments) {
  for (int i = 0; i < argc; i++) {
    const char *word = argv[i];
    const char **value = NULL;
    if (strcmp(word, "--") == 0) {
      for (i++; i < argc; i++) sl_push(&arguments->run_args, argv[i]);
      break;
    }
    if (strcmp(word, "--kit") == 0)
      value = &arguments->kit;
    else if (strcmp(word, "--submission") == 0)
      value = &arguments->submission;
    else if (strcmp(word, "--format") == 0)
      value = &arguments->format;
    else if (strcmp(word, "--output") == 0)
      value = &arguments->output;
    else if (strcmp(word, "--build-dir") == 0)
      value = &arguments->build_dir;
    else if (strcmp(word, "--program") == 0)
      value = &arguments->program;
    else if (strcmp(word, "--quiet") == 0)
      arguments->quiet = true;
    else if (strcmp(word, "--also") == 0 && i + 1 < argc)
      sl_push(&arguments->also, argv[++i]);
    else if (strcmp(word, "--reset") == 0)
      arguments->reset = true;
    else if (strcmp(word, "--check") == 0)
      arguments->check = true;
    else if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
      fputs(usage_text, stdout);
      exit(0);
    } else if (word[0] == '-') {
      fprintf(stderr, "grader: unknown option %s\n", word);
      usage();
    } else {
      sl_push(&arguments->words, word);
    }
    if (value) {
      if (i + 1 >= argc) {
        fprintf(stderr, "grader: %s needs a value\n", word);
        usage();
      }
      *value = argv[++i];
    }
  }
}

/* The repository this grader was built in: build/grader/grader is two
 * levels below it. GRADER_HOME overrides (the wrapper script sets it). */
static char *grader_home(void) {
  const char *home = getenv("GRADER_HOME");
  if (home && *home) return absolute_path(home);
  char *self = realpath("/proc/self/exe", NULL);
  if (self) {
    char *directory = dirname(self); /* build/grader */
    directory = dirname(directory);  /* build */
    directory = dirname(directory);  /* the repository */
    char *makefile = path_join(directory, "grader/exercise.mk");
    bool found = file_exists(makefile);
    free(makefile);
    if (found) {
      char *result = xstrdup(directory);
      free(self);
      return result;
    }
    free(self);
  }
  fatal("cannot tell where the kit is: set GRADER_HOME to its folder");
}

/* The runtime exercises link against: GRADER_RUNTIME, or the grader's own
 * repository. */
static const char *runtime(const char *home) {
  const char *override = getenv("GRADER_RUNTIME");
  return override && *override ? override : home;
}

static bool use_colour(const arguments_t *arguments) {
  const char *term = getenv("TERM");
  return !arguments->output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
         term && strcmp(term, "dumb") != 0;
}

/* Writes the report where it was asked for. */
static void emit(const arguments_t *arguments, const char *text) {
  if (arguments->output) {
    if (!write_file(arguments->output, text, strlen(text)))
      fatal("cannot write %s: %s", arguments->output, strerror(errno));
  } else {
    fputs(text, stdout);
    fflush(stdout);
  }
}

/* A report for an exercise that could not even be loaded, so that a
 * machine reading JSON or XML still gets a well-formed answer. */
static int report_load_failure(const arguments_t *arguments,
                               report_format_t format, const char *which,
                               const char *submission, const char *message) {
  if (format == FORMAT_TEXT) {
    fprintf(stderr, "grader: %s\n", message);
    return 2;
  }
  exercise_t exercise = {.name = (char *)which};
  grade_t grade = {.exercise = &exercise,
                   .submission = submission,
                   .kit_error = true,
                   .kit_message = (char *)message};
  char *text = report(&grade, format, false);
  emit(arguments, text);
  free(text);
  fprintf(stderr, "grader: %s\n", message);
  return 2;
}

static void free_grade(grade_t *grade) {
  free(grade->kit_message);
  free(grade->build_output);
}

static int grade_command(const arguments_t *arguments, const char *kit,
                         const char *home) {
  if (arguments->words.count != 1) usage();
  report_format_t format = FORMAT_TEXT;
  if (arguments->format && !parse_format(arguments->format, &format)) {
    fprintf(stderr,
            "grader: no format '%s' (text, json, junit, tap, "
            "gradescope)\n",
            arguments->format);
    return 2;
  }
  char *default_submission = path_join(kit, "exercises");
  const char *submission =
      arguments->submission ? arguments->submission : default_submission;
  if (!is_directory(submission)) {
    char *message = xasprintf("the submission %s is not a folder", submission);
    int status = report_load_failure(
        arguments, format, arguments->words.items[0], submission, message);
    free(message);
    free(default_submission);
    return status;
  }
  char *submission_path = absolute_path(submission);
  free(default_submission);

  char *error = NULL;
  exercise_t *exercise = exercise_load(kit, arguments->words.items[0], &error);
  if (!exercise) {
    int status = report_load_failure(
        arguments, format, arguments->words.items[0], submission_path, error);
    free(error);
    free(submission_path);
    return status;
  }
  for (size_t i = 0; i < arguments->also.count; i++) {
    char *colon = strchr(arguments->also.items[i], ':');
    report_format_t also_format;
    if (colon) *colon = '\0';
    bool ok = colon && colon[1] &&
              parse_format(arguments->also.items[i], &also_format);
    if (colon) *colon = ':';
    if (!ok) {
      fprintf(stderr, "grader: --also wants FORMAT:FILE, not '%s'\n",
              arguments->also.items[i]);
      exercise_free(exercise);
      free(submission_path);
      return 2;
    }
  }
  grade_options_t options = {.submission = submission_path,
                             .home = home,
                             .runtime = runtime(home),
                             .build_dir = arguments->build_dir,
                             .quiet = arguments->quiet};
  grade_t grade;
  grade_exercise(exercise, &options, &grade);
  char *text = report(&grade, format, use_colour(arguments));
  emit(arguments, text);
  free(text);
  for (size_t i = 0; i < arguments->also.count; i++) {
    char *colon = strchr(arguments->also.items[i], ':');
    *colon = '\0';
    report_format_t also_format = FORMAT_TEXT;
    parse_format(arguments->also.items[i], &also_format);
    char *also_text = report(&grade, also_format, false);
    if (strcmp(colon + 1, "-") == 0) {
      fputs(also_text, stdout);
      fflush(stdout);
    } else if (!write_file(colon + 1, also_text, strlen(also_text))) {
      fatal("cannot write %s: %s", colon + 1, strerror(errno));
    }
    free(also_text);
    *colon = ':';
  }
  if (grade.kit_error && format == FORMAT_TEXT && arguments->output)
    fprintf(stderr, "grader: the kit could not run: %s\n", grade.kit_message);
  int status = grade_exit_status(&grade);
  free_grade(&grade);
  exercise_free(exercise);
  free(submission_path);
  return status;
}

/* ---------------------------------------------------------------------- */

/* Where the grader remembers things for a person: hint tiers reached. */
static char *state_directory(const char *kit) {
  const char *state = getenv("GRADER_STATE_DIR");
  char *directory = state && *state ? xstrdup(state)
                                    : xasprintf("%s/build/grader/state", kit);
  if (!make_directories(directory, 0755))
    fatal("cannot make %s: %s", directory, strerror(errno));
  return directory;
}

static int hint_command(const arguments_t *arguments, const char *kit) {
  if (arguments->words.count != 1) usage();
  char *error = NULL;
  exercise_t *exercise = exercise_load(kit, arguments->words.items[0], &error);
  if (!exercise) {
    fprintf(stderr, "grader: %s\n", error);
    free(error);
    return 2;
  }
  char *hints = path_join(exercise->exercise_dir, "hints");
  int tiers = 0;
  for (;;) {
    char *path = xasprintf("%s/%d.md", hints, tiers + 1);
    bool exists = file_exists(path);
    free(path);
    if (!exists) break;
    tiers++;
  }
  char *state = state_directory(kit);
  char *tier_file = xasprintf("%s/hint-%s", state, exercise->name);
  int status = 0;
  if (arguments->reset) {
    unlink(tier_file);
    printf("Hints for %s start again from the first.\n", exercise->name);
  } else if (tiers == 0) {
    printf("%s has no hints yet.\n", exercise->name);
  } else {
    char *seen_text = read_file(tier_file, NULL);
    int seen = seen_text ? atoi(seen_text) : 0;
    free(seen_text);
    int tier = seen < tiers ? seen + 1 : tiers;
    char *path = xasprintf("%s/%d.md", hints, tier);
    char *text = read_file(path, NULL);
    printf("Hint %d of %d for %s:\n\n%s", tier, tiers, exercise->name,
           text ? text : "");
    if (text && *text && text[strlen(text) - 1] != '\n') putchar('\n');
    if (tier < tiers)
      printf("\n(Stuck still? `make hint-ex%d` again shows hint %d.)\n",
             exercise->number, tier + 1);
    else
      printf("\n(That is the last hint. `grader hint ex%d --reset` starts "
             "over.)\n",
             exercise->number);
    char number[16];
    int length = snprintf(number, sizeof number, "%d\n", tier);
    if (!write_file(tier_file, number, (size_t)length))
      fprintf(stderr, "grader: cannot remember the hint tier in %s\n",
              tier_file);
    free(text);
    free(path);
  }
  free(tier_file);
  free(state);
  free(hints);
  exercise_free(exercise);
  return status;
}

/* `grader fingerprint exN`: the stub's fingerprint, for
 * tests/exN-name/stub.fingerprint; with --check, whether that file is
 * current (the self-test asks). */
static int fingerprint_command(const arguments_t *arguments, const char *kit) {
  if (arguments->words.count != 1) usage();
  char *error = NULL;
  exercise_t *exercise = exercise_load(kit, arguments->words.items[0], &error);
  if (!exercise) {
    fprintf(stderr, "grader: %s\n", error);
    free(error);
    return 2;
  }
  char *fingerprint = stub_fingerprint(exercise, NULL);
  int status = 0;
  if (!arguments->check) {
    fputs(fingerprint, stdout);
  } else if (stub_untouched(exercise, NULL) != 1) {
    printf("tests/%s/stub.fingerprint is missing or out of date: run\n"
           "  grader/grader fingerprint %s > tests/%s/stub.fingerprint\n",
           exercise->name, exercise->name, exercise->name);
    status = 1;
  }
  free(fingerprint);
  exercise_free(exercise);
  return status;
}

static int progress_command(const arguments_t *arguments, const char *kit,
                            const char *home) {
  char *default_submission = path_join(kit, "exercises");
  const char *submission =
      arguments->submission ? arguments->submission : default_submission;
  strlist_t names = kit_exercises(kit);
  if (names.count == 0) {
    printf("The kit has no exercises yet.\n");
    free(default_submission);
    return 0;
  }
  if (!is_directory(submission)) {
    fprintf(stderr, "grader: the submission %s is not a folder\n", submission);
    free(default_submission);
    sl_free(&names);
    return 2;
  }
  char *submission_path = absolute_path(submission);
  printf("%-22s %-12s %s\n", "exercise", "status", "score");
  int status = 0;
  double total = 0, total_max = 0;
  for (size_t i = 0; i < names.count; i++) {
    char *error = NULL;
    exercise_t *exercise = exercise_load(kit, names.items[i], &error);
    if (!exercise) {
      printf("%-22s %-12s %s\n", names.items[i], "broken", error);
      free(error);
      status = 2;
      continue;
    }
    if (!arguments->quiet && isatty(STDERR_FILENO))
      fprintf(stderr, "grading %s...\r\033[K", exercise->name);
    grade_options_t options = {.submission = submission_path,
                               .home = home,
                               .runtime = runtime(home),
                               .quiet = true};
    grade_t grade;
    grade_exercise(exercise, &options, &grade);
    /* The stub may pass a check or two (usage, say): what tells "not
     * started" is whether the student files are still the stub. */
    int untouched = stub_untouched(exercise, submission_path);
    const char *state = grade.kit_error                  ? "kit error"
                        : grade_exit_status(&grade) == 0 ? "done"
                        : untouched == 1                 ? "not started"
                        : untouched == 0                 ? "failing"
                        : grade.score > 0                ? "failing"
                                                         : "not started";
    strbuf_t score = {0};
    put_number(&score, grade.score);
    sb_putc(&score, '/');
    put_number(&score, grade.max_score);
    printf("%-22s %-12s %s\n", exercise->name, state, score.data);
    sb_free(&score);
    total += grade.score;
    total_max += grade.max_score;
    if (grade.kit_error) status = 2;
    free_grade(&grade);
    exercise_free(exercise);
  }
  if (names.count) {
    strbuf_t score = {0};
    put_number(&score, total);
    sb_putc(&score, '/');
    put_number(&score, total_max);
    printf("%-22s %-12s %s\n", "total", "", score.data);
    sb_free(&score);
  }
  sl_free(&names);
  free(default_submission);
  free(submission_path);
  return status;
}

/* Runs a command as it is, waits, returns its exit status (or 2). */
static int run_plain(char *const *argv) {
  fflush(NULL);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
    fprintf(stderr, "grader: cannot run %s\n", argv[0]);
    return 2;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static int run_command(const arguments_t *arguments, const char *kit,
                       const char *home) {
  if (arguments->words.count != 1) usage();
  char *error = NULL;
  exercise_t *exercise = exercise_load(kit, arguments->words.items[0], &error);
  if (!exercise) {
    fprintf(stderr, "grader: %s\n", error);
    free(error);
    return 2;
  }
  const char *program = arguments->program;
  if (!program && exercise->programs.count)
    program = exercise->programs.items[0];
  if (!program || !sl_contains(&exercise->programs, program)) {
    fprintf(stderr, "grader: %s has no program %s (it has:", exercise->name,
            program ? program : "");
    for (size_t i = 0; i < exercise->programs.count; i++)
      fprintf(stderr, " %s", exercise->programs.items[i]);
    fprintf(stderr, ")\n");
    exercise_free(exercise);
    return 2;
  }
  char *default_submission = path_join(kit, "exercises");
  char *submission = absolute_path(arguments->submission ? arguments->submission
                                                         : default_submission);
  char *scratch = arguments->build_dir ? xstrdup(arguments->build_dir)
                                       : xasprintf("%s/build/grader/run/%s",
                                                   kit, exercise->name);
  if (!make_directories(scratch, 0755))
    fatal("cannot make %s: %s", scratch, strerror(errno));
  grade_options_t options = {
      .submission = submission, .home = home, .runtime = runtime(home)};
  char *output = NULL;
  bool built = prepare_and_build(exercise, &options, scratch, &output);
  if (output && *output) fputs(output, stderr);
  if (!built) {
    fprintf(stderr, "grader: %s did not build\n", exercise->name);
    return 1;
  }
  char *binary = xasprintf("%s/out/%s", scratch, program);
  strlist_t argv = {0};
  sl_push(&argv, binary);
  for (size_t i = 0; i < arguments->run_args.count; i++)
    sl_push(&argv, arguments->run_args.items[i]);
  fflush(NULL);
  execv(binary, argv.items);
  fatal("cannot run %s: %s", binary, strerror(errno));
}

static int diff_command(const arguments_t *arguments, const char *kit) {
  if (arguments->words.count != 1) usage();
  char *error = NULL;
  exercise_t *exercise = exercise_load(kit, arguments->words.items[0], &error);
  if (!exercise) {
    fprintf(stderr, "grader: %s\n", error);
    free(error);
    return 2;
  }
  char *default_submission = path_join(kit, "exercises");
  const char *submission =
      arguments->submission ? arguments->submission : default_submission;
  int status = 0;
  for (size_t i = 0; i < exercise->student_files.count; i++) {
    const char *file = exercise->student_files.items[i];
    char *solution = path_join(exercise->solution_dir, file);
    char *theirs = submission_file(submission, exercise, file);
    if (!theirs) {
      printf("%s: the submission has no %s\n", exercise->name, file);
      status = 1;
    } else {
      char *label_a = xasprintf("solution/%s/%s", exercise->name, file);
      char *label_b = xasprintf("submission/%s/%s", exercise->name, file);
      char *argv[] = {
          "diff",
          "-u",
          isatty(STDOUT_FILENO) ? "--color=always" : "--color=never",
          "--label",
          label_a,
          "--label",
          label_b,
          solution,
          theirs,
          NULL};
      int result = run_plain(argv);
      if (result == 0) printf("%s: same as the solution\n", file);
      if (result > 1) status = 2;
      free(label_a);
      free(label_b);
    }
    free(solution);
    free(theirs);
  }
  free(default_submission);
  exercise_free(exercise);
  return status;
}

int main(int argc, char **argv) {
  umask(022);
  sandbox_init();
  char *home = grader_home();
  const char *command = argc > 1 ? argv[1] : "";
  if (strcmp(command, "batch") == 0) {
    char *kit = NULL;
    for (int i = 2; i + 1 < argc; i++)
      if (strcmp(argv[i], "--kit") == 0) kit = absolute_path(argv[i + 1]);
    if (!kit) kit = xstrdup(home);
    int status = batch_main(argc - 2, argv + 2, kit, home);
    free(kit);
    free(home);
    return status;
  }

  bool subcommand =
      strcmp(command, "hint") == 0 || strcmp(command, "progress") == 0 ||
      strcmp(command, "run") == 0 || strcmp(command, "diff") == 0 ||
      strcmp(command, "list") == 0 || strcmp(command, "grade") == 0 ||
      strcmp(command, "fingerprint") == 0;
  arguments_t arguments = {0};
  parse_arguments(argc - 1 - subcommand, argv + 1 + subcommand, &arguments);
  if (arguments.kit && !is_directory(arguments.kit)) {
    fprintf(stderr, "grader: the kit %s is not a folder\n", arguments.kit);
    return 2;
  }
  char *kit = arguments.kit ? absolute_path(arguments.kit) : xstrdup(home);

  int status;
  if (strcmp(command, "hint") == 0) {
    status = hint_command(&arguments, kit);
  } else if (strcmp(command, "progress") == 0) {
    status = progress_command(&arguments, kit, home);
  } else if (strcmp(command, "fingerprint") == 0) {
    status = fingerprint_command(&arguments, kit);
  } else if (strcmp(command, "run") == 0) {
    status = run_command(&arguments, kit, home);
  } else if (strcmp(command, "diff") == 0) {
    status = diff_command(&arguments, kit);
  } else if (strcmp(command, "list") == 0) {
    strlist_t names = kit_exercises(kit);
    for (size_t i = 0; i < names.count; i++) puts(names.items[i]);
    sl_free(&names);
    status = 0;
  } else {
    status = grade_command(&arguments, kit, home);
  }
  sl_free(&arguments.words);
  sl_free(&arguments.run_args);
  sl_free(&arguments.also);
  free(kit);
  free(home);
  return status;
}
