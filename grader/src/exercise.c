/* exercise.c: reads an exercise's plug-in files: exercise.conf and checks.
 *
 * Everything the grader knows about an exercise lives in tests/exN-name/,
 * beside its tests (grader/README.md documents both files), so adding an
 * exercise never changes the grader's code. exercise.conf is plain
 * KEY = VALUE lines, which make reads too (grader/exercise.mk includes it to
 * build); checks is a table, one check per line, in the order they run. */
#include "grader.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Trims spaces and tabs at both ends, in place. */
static char *trim(char *text) {
  while (*text == ' ' || *text == '\t') text++;
  size_t length = strlen(text);
  while (length && (text[length - 1] == ' ' || text[length - 1] == '\t' ||
                    text[length - 1] == '\r'))
    text[--length] = '\0';
  return text;
}

/* Parses "N" or "exN" or "exN-name" into N; -1 if it is none of those. */
static int exercise_number(const char *text) {
  if (strncmp(text, "ex", 2) == 0) text += 2;
  if (!isdigit((unsigned char)*text)) return -1;
  char *end;
  long number = strtol(text, &end, 10);
  if (*end != '\0' && *end != '-') return -1;
  return (int)number;
}

static int compare_exercises(const void *a, const void *b) {
  int number_a = exercise_number(*(char *const *)a);
  int number_b = exercise_number(*(char *const *)b);
  if (number_a != number_b) return number_a < number_b ? -1 : 1;
  return strcmp(*(char *const *)a, *(char *const *)b);
}

strlist_t kit_exercises(const char *kit) {
  char *tests = path_join(kit, "tests");
  strlist_t candidates = list_directory(tests, "ex");
  strlist_t exercises = {0};
  for (size_t i = 0; i < candidates.count; i++) {
    const char *name = candidates.items[i];
    char *directory = path_join(tests, name);
    char *checks = path_join(directory, "checks");
    if (exercise_number(name) >= 0 && strchr(name, '-') && file_exists(checks))
      sl_push(&exercises, name);
    free(directory);
    free(checks);
  }
  sl_free(&candidates);
  free(tests);
  if (exercises.count)
    qsort(exercises.items, exercises.count, sizeof(char *), compare_exercises);
  return exercises;
}

/* Reads a number setting; false if it is there but not a positive number. */
static bool number_setting(const char *value, double *out) {
  char *end;
  errno = 0;
  double number = strtod(value, &end);
  if (errno || end == value || *trim(end) != '\0' || !(number > 0))
    return false;
  *out = number;
  return true;
}

static bool load_conf(exercise_t *exercise, const char *path, char **error) {
  size_t length;
  char *text = read_file(path, &length);
  if (!text) {
    *error = xasprintf("%s: %s", path, strerror(errno));
    return false;
  }
  bool ok = true;
  int line_number = 0;
  for (char *line = strtok(text, "\n"); line && ok; line = strtok(NULL, "\n")) {
    line_number++;
    char *comment = strchr(line, '#');
    if (comment) *comment = '\0';
    line = trim(line);
    if (*line == '\0') continue;
    char *equals = strchr(line, '=');
    if (!equals) {
      *error = xasprintf("%s: a line is not KEY = VALUE: %s", path, line);
      ok = false;
      break;
    }
    char *value = trim(equals + 1);
    *equals = '\0';
    /* make's := and ?= mean the same here. */
    if (equals > line &&
        (equals[-1] == ':' || equals[-1] == '?' || equals[-1] == '+'))
      equals[-1] = '\0';
    char *key = trim(line);

    double number = 0;
    bool numeric = false;
    const char *numeric_keys[] = {"TIMEOUT",   "TOTAL_TIMEOUT", "CPU_SECONDS",
                                  "MEMORY_MB", "FILE_MB",       "PROCESSES",
                                  "OPEN_FILES"};
    for (size_t i = 0; i < sizeof numeric_keys / sizeof *numeric_keys; i++)
      if (strcmp(key, numeric_keys[i]) == 0) numeric = true;
    if (numeric && !number_setting(value, &number)) {
      *error = xasprintf("%s: %s must be a positive number, not '%s'", path,
                         key, value);
      ok = false;
      break;
    }

    if (strcmp(key, "STUDENT_FILES") == 0)
      sl_split_words(&exercise->student_files, value);
    else if (strcmp(key, "PROGRAMS") == 0)
      sl_split_words(&exercise->programs, value);
    else if (strcmp(key, "TEST_PROGRAMS") == 0)
      sl_split_words(&exercise->test_programs, value);
    else if (strcmp(key, "TIMEOUT") == 0)
      exercise->timeout = number;
    else if (strcmp(key, "TOTAL_TIMEOUT") == 0)
      exercise->total_timeout = number;
    else if (strcmp(key, "CPU_SECONDS") == 0)
      exercise->cpu_seconds = number;
    else if (strcmp(key, "MEMORY_MB") == 0)
      exercise->memory_bytes = (size_t)(number * 1024 * 1024);
    else if (strcmp(key, "FILE_MB") == 0)
      exercise->file_bytes = (size_t)(number * 1024 * 1024);
    else if (strcmp(key, "PROCESSES") == 0)
      exercise->processes = (long)number;
    else if (strcmp(key, "OPEN_FILES") == 0)
      exercise->open_files = (long)number;
    /* Other keys (FOO_SOURCES, LIBS, CFLAGS...) are for exercise.mk. */
  }
  (void)line_number;
  free(text);
  if (ok && exercise->student_files.count == 0) {
    *error = xasprintf("%s: STUDENT_FILES names no file", path);
    ok = false;
  }
  for (size_t i = 0; ok && i < exercise->student_files.count; i++) {
    const char *file = exercise->student_files.items[i];
    if (strchr(file, '/') || file[0] == '.') {
      *error = xasprintf("%s: a student file is a plain name in the exercise "
                         "folder, not '%s'",
                         path, file);
      ok = false;
    }
  }
  return ok;
}

/* Whether a .bats file defines @test "name". */
static bool bats_has_test(const char *path, const char *name) {
  size_t length;
  char *text = read_file(path, &length);
  if (!text) return false;
  char *wanted = xasprintf("@test \"%s\"", name);
  char *wanted_single = xasprintf("@test '%s'", name);
  bool found = false;
  for (char *line = text; line && *line && !found;) {
    while (*line == ' ' || *line == '\t') line++;
    if (strncmp(line, wanted, strlen(wanted)) == 0 ||
        strncmp(line, wanted_single, strlen(wanted_single)) == 0)
      found = true;
    line = strchr(line, '\n');
    if (line) line++;
  }
  free(wanted);
  free(wanted_single);
  free(text);
  return found;
}

static bool load_checks(exercise_t *exercise, const char *path, char **error) {
  size_t length;
  char *text = read_file(path, &length);
  if (!text) {
    *error = xasprintf("%s: %s", path, strerror(errno));
    return false;
  }
  bool ok = true;
  int line_number = 0;
  char *cursor = text;
  while (ok && cursor && *cursor) {
    char *line = cursor;
    char *newline = strchr(cursor, '\n');
    if (newline) {
      *newline = '\0';
      cursor = newline + 1;
    } else {
      cursor = NULL;
    }
    line_number++;
    line = trim(line);
    if (*line == '\0' || *line == '#') continue;

    /* name | points | kind | hint: the hint is the rest of the line. */
    char *fields[4] = {0};
    char *rest = line;
    for (int i = 0; i < 3; i++) {
      char *bar = strchr(rest, '|');
      if (!bar) break;
      *bar = '\0';
      fields[i] = trim(rest);
      rest = bar + 1;
    }
    fields[3] = trim(rest);
    if (!fields[2] || !*fields[0] || !*fields[1] || !*fields[2]) {
      *error = xasprintf("%s:%d: a check is 'name | points | kind | hint'",
                         path, line_number);
      ok = false;
      break;
    }
    check_t check = {0};
    check.status = STATUS_SKIP; /* until it has run */
    check.line = line_number;
    check.name = xstrdup(fields[0]);
    check.hint = *fields[3] ? xstrdup(fields[3]) : NULL;
    char *end;
    check.points = strtod(fields[1], &end);
    if (end == fields[1] || *end != '\0' || check.points < 0) {
      *error = xasprintf("%s:%d: points must be a number, not '%s'", path,
                         line_number, fields[1]);
      ok = false;
    }

    /* kind:target:test, where a bats test name may contain colons. */
    char *kind = fields[2];
    char *first = strchr(kind, ':');
    char *second = first ? strchr(first + 1, ':') : NULL;
    if (ok && (!first || !second || second == first + 1 || !second[1])) {
      *error = xasprintf("%s:%d: the kind is cmocka:PROGRAM:TEST or "
                         "bats:FILE.bats:TEST NAME, not '%s'",
                         path, line_number, kind);
      ok = false;
    }
    if (ok) {
      *first = '\0';
      *second = '\0';
      check.target = xstrdup(trim(first + 1));
      check.test = xstrdup(trim(second + 1));
      if (strcmp(kind, "cmocka") == 0) {
        check.kind = KIND_CMOCKA;
        if (!sl_contains(&exercise->test_programs, check.target)) {
          *error = xasprintf("%s:%d: %s is not in TEST_PROGRAMS of "
                             "exercise.conf",
                             path, line_number, check.target);
          ok = false;
        }
      } else if (strcmp(kind, "bats") == 0) {
        check.kind = KIND_BATS;
        char *file = path_join(exercise->tests_dir, check.target);
        if (strchr(check.target, '/') || !file_exists(file)) {
          *error = xasprintf("%s:%d: there is no %s in %s", path, line_number,
                             check.target, exercise->tests_dir);
          ok = false;
        } else if (!bats_has_test(file, check.test)) {
          *error = xasprintf("%s:%d: %s has no @test \"%s\"", path, line_number,
                             check.target, check.test);
          ok = false;
        }
        free(file);
      } else {
        *error = xasprintf("%s:%d: unknown kind '%s' (cmocka or bats)", path,
                           line_number, kind);
        ok = false;
      }
    }
    for (size_t i = 0; ok && i < exercise->check_count; i++) {
      if (strcmp(exercise->checks[i].name, check.name) == 0) {
        *error = xasprintf("%s:%d: two checks are named '%s'", path,
                           line_number, check.name);
        ok = false;
      }
    }
    exercise->checks = xrealloc(exercise->checks,
                                (exercise->check_count + 1) * sizeof(check_t));
    exercise->checks[exercise->check_count++] = check;
  }
  free(text);
  if (ok && exercise->check_count == 0) {
    *error = xasprintf("%s: no checks", path);
    ok = false;
  }
  return ok;
}

exercise_t *exercise_load(const char *kit, const char *which, char **error) {
  int number = exercise_number(which);
  if (number < 0) {
    *error = xasprintf("'%s' is not an exercise: say ex4, or 4", which);
    return NULL;
  }
  strlist_t exercises = kit_exercises(kit);
  char *name = NULL;
  for (size_t i = 0; i < exercises.count; i++) {
    if (exercise_number(exercises.items[i]) != number) continue;
    /* "ex4-chat" must match exactly; "ex4" or "4" matches by number. */
    if (strchr(which, '-') && strcmp(which, exercises.items[i]) != 0) continue;
    name = xstrdup(exercises.items[i]);
    break;
  }
  sl_free(&exercises);
  if (!name) {
    *error = xasprintf("exercise %d is not in the kit yet", number);
    return NULL;
  }

  exercise_t *exercise = xcalloc(1, sizeof *exercise);
  exercise->name = name;
  exercise->number = number;
  exercise->kit = xstrdup(kit);
  char *exercises_root = path_join(kit, "exercises");
  char *tests_root = path_join(kit, "tests");
  char *solutions_root = path_join(kit, "solutions");
  exercise->exercise_dir = path_join(exercises_root, name);
  exercise->tests_dir = path_join(tests_root, name);
  exercise->solution_dir = path_join(solutions_root, name);
  free(exercises_root);
  free(tests_root);
  free(solutions_root);
  exercise->timeout = 10;
  exercise->total_timeout = 300;
  exercise->memory_bytes = (size_t)1024 * 1024 * 1024;
  exercise->file_bytes = (size_t)64 * 1024 * 1024;
  exercise->processes = 128;
  exercise->open_files = 256;

  char *conf = path_join(exercise->tests_dir, "exercise.conf");
  char *checks = path_join(exercise->tests_dir, "checks");
  bool ok = is_directory(exercise->exercise_dir);
  if (!ok)
    *error = xasprintf("%s: missing (every exercise has its folder there)",
                       exercise->exercise_dir);
  ok = ok && load_conf(exercise, conf, error) &&
       load_checks(exercise, checks, error);
  free(conf);
  free(checks);
  if (!ok) {
    exercise_free(exercise);
    return NULL;
  }
  return exercise;
}

void exercise_free(exercise_t *exercise) {
  if (!exercise) return;
  for (size_t i = 0; i < exercise->check_count; i++) {
    check_t *check = &exercise->checks[i];
    free(check->name);
    free(check->target);
    free(check->test);
    free(check->hint);
    free(check->message);
    free(check->expected);
    free(check->actual);
    free(check->diff);
    free(check->output);
    free(check->replay);
    free(check->command);
  }
  free(exercise->checks);
  sl_free(&exercise->student_files);
  sl_free(&exercise->programs);
  sl_free(&exercise->test_programs);
  free(exercise->name);
  free(exercise->kit);
  free(exercise->exercise_dir);
  free(exercise->tests_dir);
  free(exercise->solution_dir);
  free(exercise);
}

char *submission_file(const char *submission, const exercise_t *exercise,
                      const char *file) {
  char *candidates[3] = {
      xasprintf("%s/%s/%s", submission, exercise->name, file),
      xasprintf("%s/exercises/%s/%s", submission, exercise->name, file),
      xasprintf("%s/%s", submission, file),
  };
  char *found = NULL;
  for (int i = 0; i < 3; i++) {
    if (!found && file_exists(candidates[i]))
      found = candidates[i];
    else
      free(candidates[i]);
  }
  return found;
}

/* ---- The stub's fingerprint ----
 *
 * `grader progress` tells "not started" from "failing" by whether the
 * student files are still the stub as shipped. The default submission is
 * the kit's own exercises/ folder, which students edit in place, so the
 * shipped stub is remembered as a fingerprint in tests/exN-name/
 * stub.fingerprint ("FILE HASH" lines, FNV-1a 64 of the bytes); the
 * self-test fails when it no longer matches the stub. Not a security
 * measure: only an "is this still the file we shipped" test. */

static uint64_t fnv1a64(const char *data, size_t length) {
  uint64_t hash = 14695981039346656037ULL;
  for (size_t i = 0; i < length; i++) {
    hash ^= (unsigned char)data[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

char *stub_fingerprint(const exercise_t *exercise, const char *submission) {
  strbuf_t out = {0};
  for (size_t i = 0; i < exercise->student_files.count; i++) {
    const char *file = exercise->student_files.items[i];
    char *path = submission ? submission_file(submission, exercise, file)
                            : path_join(exercise->exercise_dir, file);
    size_t length = 0;
    char *data = path ? read_file(path, &length) : NULL;
    if (data)
      sb_printf(&out, "%s %016" PRIx64 "\n", file, fnv1a64(data, length));
    else
      sb_printf(&out, "%s missing\n", file);
    free(data);
    free(path);
  }
  return sb_take(&out);
}

int stub_untouched(const exercise_t *exercise, const char *submission) {
  char *path = path_join(exercise->tests_dir, "stub.fingerprint");
  char *recorded = read_file(path, NULL);
  free(path);
  if (!recorded) return -1;
  char *current = stub_fingerprint(exercise, submission);
  /* No student file at all: nothing was started either. */
  bool absent = true;
  for (const char *line = current; *line; line = strchr(line, '\n') + 1)
    absent = absent && strncmp(strchr(line, ' '), " missing\n", 9) == 0;
  int same = absent || strcmp(recorded, current) == 0;
  free(recorded);
  free(current);
  return same;
}
