/* log.h: a line of words that tasks append to, so a test can compare who
 * did what, in which order, with the order it expects.
 *
 * Tasks only note what happens; the test asserts once async_run() has
 * returned. A cmocka assertion that fails inside a task would jump off the
 * task's stack and leave the runtime half-run; a log compared at the end
 * fails cleanly and shows the whole story:
 *
 *   log_reset();
 *   assert_int_equal(harness_run(body, NULL), 0);
 *   assert_string_equal(log_text, "A B main");
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "async.h"

static char log_text[4096];

static inline void log_reset(void) {
  log_text[0] = '\0';
}

/* Appends one word (printf-style), separated from the last by a space. */
__attribute__((format(printf, 1, 2))) static inline void
log_add(const char *format, ...) {
  size_t used = strlen(log_text);
  if (used != 0 && used + 1 < sizeof log_text) {
    log_text[used++] = ' ';
    log_text[used] = '\0';
  }
  va_list args;
  va_start(args, format);
  vsnprintf(log_text + used, sizeof log_text - used, format, args);
  va_end(args);
}

/* Joins a task and gives back the handle; returns the task's result. */
static inline int join_and_release(async_task_t *task) {
  int result = async_task_join(task);
  async_task_release(task);
  return result;
}

#endif /* LOG_H */
