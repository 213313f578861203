/* tools.h: what the runtime tests need beyond harness.h: capturing what
 * the runtime prints on stderr, and knowing whether ASan or valgrind is
 * watching (heavy tests scale down under valgrind; tests of crashes step
 * aside for the tool that reports them itself).
 *
 * Include it after harness.h. Everything here is static inline.
 */
#ifndef TOOLS_H
#define TOOLS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TOOLS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOOLS_ASAN 1
#endif
#endif
#ifndef TOOLS_ASAN
#define TOOLS_ASAN 0
#endif

/* True when the test runs under valgrind, which is some 50 times slower. */
static inline bool under_valgrind(void) {
  return RUNNING_ON_VALGRIND != 0;
}

/* Recurses until the frames between `top` (the caller's
 * __builtin_frame_address(0)) and the deepest one span at least `bytes` of
 * stack. The depth is measured, not counted in frames, so it is the same
 * under sanitizers that make frames bigger. Returns a value the compiler
 * cannot fold, so that every frame is real. */
__attribute__((noinline, unused)) static int use_stack(const char *top,
                                                       size_t bytes) {
  volatile char frame[1024];
  frame[0] = 1;
  frame[sizeof frame - 1] = 1;
  const char *here = __builtin_frame_address(0);
  if ((size_t)(top - here) >= bytes) return frame[0];
  return use_stack(top, bytes) + frame[sizeof frame - 1];
}

/* Redirects file descriptor 2 into a temporary file until
 * stderr_capture_end(), which returns what was written (malloc'd, NUL
 * terminated; free it) and puts the real stderr back. What was captured is
 * also copied to the real stderr, so that it shows when a test fails. */
typedef struct stderr_capture {
  FILE *file;
  int saved_fd;
} stderr_capture_t;

static inline void stderr_capture_begin(stderr_capture_t *capture) {
  fflush(stderr);
  capture->file = tmpfile();
  assert_non_null(capture->file);
  capture->saved_fd = dup(STDERR_FILENO);
  assert_true(capture->saved_fd >= 0);
  assert_true(dup2(fileno(capture->file), STDERR_FILENO) >= 0);
}

static inline char *stderr_capture_end(stderr_capture_t *capture) {
  fflush(stderr);
  assert_true(dup2(capture->saved_fd, STDERR_FILENO) >= 0);
  close(capture->saved_fd);
  long length = ftell(capture->file);
  assert_true(length >= 0);
  char *text = malloc((size_t)length + 1);
  assert_non_null(text);
  rewind(capture->file);
  size_t got = fread(text, 1, (size_t)length, capture->file);
  text[got] = '\0';
  fclose(capture->file);
  fputs(text, stderr);
  return text;
}

/* Fails the test unless `text` contains `needle`, quoting both. */
#define assert_contains(text, needle)                                          \
  do {                                                                         \
    const char *tools__text = (text);                                          \
    const char *tools__needle = (needle);                                      \
    if (strstr(tools__text, tools__needle) == NULL)                            \
      fail_msg("expected the output to contain \"%s\", but it was:\n%s",       \
               tools__needle, tools__text);                                    \
  } while (0)

#define assert_not_contains(text, needle)                                      \
  do {                                                                         \
    const char *tools__text = (text);                                          \
    const char *tools__needle = (needle);                                      \
    if (strstr(tools__text, tools__needle) != NULL)                            \
      fail_msg("expected the output not to contain \"%s\", but it was:\n%s",   \
               tools__needle, tools__text);                                    \
  } while (0)

#endif /* TOOLS_H */
