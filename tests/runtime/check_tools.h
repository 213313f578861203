/* check_tools.h: what the check-mode tests share: ASYNC_* variables set for
 * a test and put back afterwards, the findings file, counting lines.
 *
 * Check mode reads its variables when async_run() starts, so a test sets
 * them in its own process (setenv) before the run, and check_env_restore()
 * puts every one back as it was, so that a later test in the same process
 * (the harness can run them all in one) starts clean.
 *
 * Include it after harness.h and tools.h. Everything here is static.
 */
#ifndef CHECK_TOOLS_H
#define CHECK_TOOLS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHECK_ENV_MAX = 16 };
static struct {
  char name[64];
  char *value; /* malloc'd copy of the old value, or NULL if unset */
} check_env_saved[CHECK_ENV_MAX];
static int check_env_count;

/* Sets name=value (NULL: unsets it) until check_env_restore(). */
static inline void check_env_set(const char *name, const char *value) {
  bool saved = false;
  for (int i = 0; i < check_env_count && !saved; i++)
    saved = strcmp(check_env_saved[i].name, name) == 0;
  if (!saved) {
    assert_true(check_env_count < CHECK_ENV_MAX);
    const char *old = getenv(name);
    snprintf(check_env_saved[check_env_count].name,
             sizeof check_env_saved[0].name, "%s", name);
    check_env_saved[check_env_count].value = old ? strdup(old) : NULL;
    check_env_count++;
  }
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static inline void check_env_restore(void) {
  for (int i = 0; i < check_env_count; i++) {
    if (check_env_saved[i].value != NULL)
      setenv(check_env_saved[i].name, check_env_saved[i].value, 1);
    else
      unsetenv(check_env_saved[i].name);
    free(check_env_saved[i].value);
  }
  check_env_count = 0;
}

/* Check mode on with a schedule and seed (seed < 0: none given). */
static inline void check_env_schedule(const char *schedule, long long seed) {
  check_env_set("ASYNC_CHECK", "1");
  check_env_set("ASYNC_SCHEDULE", schedule);
  char text[32];
  snprintf(text, sizeof text, "%lld", seed);
  check_env_set("ASYNC_SEED", seed >= 0 ? text : NULL);
}

/* A fresh, empty findings file for this test; its path is in `path`. */
static inline void check_findings_file(char *path, size_t size) {
  snprintf(path, size, "%s/async-findings-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  check_env_set("ASYNC_FINDINGS", path);
}

/* The whole file (malloc'd, NUL-terminated; free it); "" if missing. */
static inline char *check_read_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return strdup("");
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  rewind(file);
  char *text = malloc((size_t)length + 1);
  assert_non_null(text);
  size_t got = fread(text, 1, (size_t)length, file);
  text[got] = '\0';
  fclose(file);
  return text;
}

/* How many times `needle` occurs in `text`. */
static inline size_t count_occurrences(const char *text, const char *needle) {
  size_t count = 0;
  for (const char *at = strstr(text, needle); at != NULL;
       at = strstr(at + strlen(needle), needle))
    count++;
  return count;
}

/* A run in check mode, with what it printed on stderr and wrote to the
 * findings file. */
typedef struct outcome {
  int rc;
  char *err;      /* what was printed on stderr */
  char *findings; /* the findings file */
} outcome_t;

static inline outcome_t run_captured(async_fn body, void *arg) {
  char path[256];
  check_findings_file(path, sizeof path);
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  outcome_t outcome;
  outcome.rc = harness_run(body, arg);
  outcome.err = stderr_capture_end(&capture);
  outcome.findings = check_read_file(path);
  unlink(path);
  return outcome;
}

static inline void outcome_free(outcome_t *outcome) {
  free(outcome->err);
  free(outcome->findings);
}

#endif /* CHECK_TOOLS_H */
