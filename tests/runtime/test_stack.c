/* test_stack.c: a task that runs off its stack is named, not a bare
 * segfault.
 *
 * Each scenario crashes on purpose, so it runs in a forked child: the
 * parent collects the child's stderr through a pipe and how it died. The
 * child is a plain program as far as signals go: cmocka's own SIGSEGV
 * handler, inherited from the parent, is put back to the default first.
 *
 * Skipped under ASan, which reports overflows itself, and under valgrind,
 * which reports them as invalid accesses.
 */
#include "harness.h"
#include "tools.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile bool keep_recursing = true;

static int recurse_without_bound(int depth) {
  volatile char frame[512];
  frame[0] = (char)depth;
  frame[sizeof frame - 1] = (char)depth;
  if (keep_recursing)
    return recurse_without_bound(depth + 1) + frame[sizeof frame - 1];
  return frame[0];
}

static int overflow(void *arg) {
  (void)arg;
  return recurse_without_bound(0);
}

/* Writes to a page that forbids it: a segfault far from any stack (and
 * not a null pointer, which UBSan would catch first). */
static int write_to_a_forbidden_page(void *arg) {
  (void)arg;
  volatile char *page =
      mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return UV_ENOMEM;
  page[0] = 1;
  return 0;
}

static int spawn_deep(void *arg) {
  async_fn fn = (async_fn)arg;
  async_task_t *task = async_spawn("deep", fn, NULL);
  if (task == NULL) return UV_ENOMEM;
  int result = async_task_join(task);
  async_task_release(task);
  return result;
}

typedef struct child_outcome {
  int status;        /* from waitpid */
  char *stderr_text; /* malloc'd */
} child_outcome_t;

/* Runs async_run(spawn_deep, fn) in a child process and reports how the
 * child ended and what it printed on stderr. */
static child_outcome_t run_in_child(async_fn fn, bool default_segv) {
  int pipe_fds[2];
  assert_int_equal(pipe(pipe_fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[1]);
    /* Otherwise cmocka's own SIGSEGV handler stays in place, as when the
     * grader runs a student's test: the report must get through it. */
    if (default_segv) signal(SIGSEGV, SIG_DFL);
    unsetenv("ASYNC_STACK_SIZE");
    alarm(10); /* a hang ends the child with SIGALRM, not the test run */
    int result = async_run(spawn_deep, (void *)fn);
    fprintf(stderr, "child: async_run returned %d\n", result);
    _exit(3);
  }
  close(pipe_fds[1]);
  size_t capacity = 4096, length = 0;
  char *text = malloc(capacity);
  assert_non_null(text);
  for (;;) {
    if (length + 1 == capacity) {
      capacity *= 2;
      text = realloc(text, capacity);
      assert_non_null(text);
    }
    ssize_t got = read(pipe_fds[0], text + length, capacity - 1 - length);
    if (got <= 0) break;
    length += (size_t)got;
  }
  text[length] = '\0';
  close(pipe_fds[0]);
  child_outcome_t outcome = {0, text};
  assert_int_equal(waitpid(pid, &outcome.status, 0), pid);
  fputs(text, stderr); /* shown if the test fails */
  return outcome;
}

static void assert_died_of_sigsegv(const child_outcome_t *outcome) {
  if (WIFSIGNALED(outcome->status) && WTERMSIG(outcome->status) == SIGSEGV)
    return;
  if (WIFSIGNALED(outcome->status))
    fail_msg("expected the child to die of SIGSEGV, it died of signal %d",
             WTERMSIG(outcome->status));
  fail_msg("expected the child to die of SIGSEGV, it exited with status %d",
           WEXITSTATUS(outcome->status));
}

static bool crash_reports_step_aside(void) {
  return TOOLS_ASAN || under_valgrind();
}

static void test_a_stack_overflow_is_reported_with_the_task_name(void **state) {
  (void)state;
  if (crash_reports_step_aside())
    skip(); /* ASan and valgrind report the overflow themselves */
  child_outcome_t outcome = run_in_child(overflow, false);
  /* The runtime reported, then handed the fault on to cmocka's handler,
   * which cannot run on the overflowed stack: the kernel ends the child. */
  assert_died_of_sigsegv(&outcome);
  assert_contains(outcome.stderr_text, "task 'deep'");
  assert_contains(outcome.stderr_text, "overflowed its stack");
  assert_contains(outcome.stderr_text, "256 KiB");
  assert_contains(outcome.stderr_text, "ASYNC_STACK_SIZE");
  free(outcome.stderr_text);
}

static void
test_a_segfault_that_is_not_an_overflow_is_not_called_one(void **state) {
  (void)state;
  if (crash_reports_step_aside()) skip();
  child_outcome_t outcome = run_in_child(write_to_a_forbidden_page, true);
  assert_died_of_sigsegv(&outcome);
  assert_not_contains(outcome.stderr_text, "overflowed");
  free(outcome.stderr_text);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_a_stack_overflow_is_reported_with_the_task_name),
    cmocka_unit_test(test_a_segfault_that_is_not_an_overflow_is_not_called_one))
