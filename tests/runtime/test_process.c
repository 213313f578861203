/* test_process.c: child processes (asyncio.create_subprocess_exec/_shell):
 * pipes, exit statuses, signals, communicate, and the promise that no child
 * is left a zombie and no descriptor is leaked.
 *
 * Real children: echo, cat, sh, sleep, true. Tasks record what they saw in
 * structs that the test checks after the run. Where a wrong implementation
 * would hang (a deadlock on full pipes, a child never killed), the test
 * gives up after GIVE_UP seconds and fails instead; a right one never waits
 * for those. The zombie and descriptor checks read /proc: a zombie is an
 * entry of /proc/<pid>/stat whose parent is this process and whose state is
 * Z; descriptors are the entries of /proc/self/fd, counted after a first
 * run, since libuv keeps a few for good once a process has spawned.
 */
#include "harness.h"
#include "tools.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static const double GIVE_UP = 5.0;

/* ---- Looking at processes from outside ---- */

/* Children of this process that have exited and not been reaped. */
static int zombie_children(void) {
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  int zombies = 0;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char path[300], line[512];
    snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
    FILE *file = fopen(path, "r");
    if (file == NULL) continue; /* gone meanwhile */
    size_t got = fread(line, 1, sizeof line - 1, file);
    fclose(file);
    line[got] = '\0';
    /* "pid (command) state ppid ...": the command may hold spaces and
     * parentheses, so parse from the last ')'. */
    char *after = strrchr(line, ')');
    char state;
    int ppid;
    if (after != NULL && sscanf(after + 1, " %c %d", &state, &ppid) == 2 &&
        ppid == getpid() && state == 'Z')
      zombies++;
  }
  closedir(proc);
  return zombies;
}

static int open_descriptors(void) {
  DIR *dir = opendir("/proc/self/fd");
  assert_non_null(dir);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL)
    if (entry->d_name[0] != '.') count++;
  closedir(dir);
  return count - 1; /* the directory's own */
}

static double now_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Knowing when processes have ended, without being their parent (libuv
 * reaps them) and without pidfd_open (valgrind does not know it): they
 * inherit, as their descriptor `fd` (1 or 2), the write end of a pipe that
 * nobody else holds. Reading its other end gives end of file once every
 * one of them, grandchildren included, has exited. */
static int spawn_watched(async_process_t **process,
                         const async_process_options_t *options, int fd,
                         int *watch) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
  fflush(fd == 1 ? stdout : stderr);
  int saved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  dup2(fds[1], fd); /* without close-on-exec: the child inherits it */
  int rc = async_process_spawn(process, options);
  dup2(saved, fd);
  close(saved);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return rc;
  }
  *watch = fds[0];
  return 0;
}

/* True once every holder of the watched pipe has ended (false if one is
 * still there after GIVE_UP seconds). Closes watch. */
static bool ended(int watch) {
  double give_up_at = now_seconds() + GIVE_UP;
  bool at_end = false;
  while (!at_end) {
    double left = give_up_at - now_seconds();
    struct pollfd entry = {.fd = watch, .events = POLLIN};
    if (left <= 0 || poll(&entry, 1, (int)(left * 1000) + 1) != 1) break;
    char bytes[256];
    at_end = read(watch, bytes, sizeof bytes) <= 0;
  }
  close(watch);
  return at_end;
}

static int wait_until_ended(void *arg) {
  return ended(*(int *)arg) ? 1 : 0;
}

/* Blocks until the child *(int *)arg has exited, without reaping it; 1
 * then (also if it has been reaped already). */
static int wait_until_waitable(void *arg) {
  siginfo_t info;
  int rc;
  do {
    rc = waitid(P_PID, (id_t) * (int *)arg, &info, WEXITED | WNOWAIT);
  } while (rc == -1 && errno == EINTR);
  return rc == 0 || errno == ECHILD ? 1 : 0;
}

/* ---- Helpers inside tasks ---- */

static int spawn(async_process_t **process, const char *const *argv,
                 async_stdio_t in, async_stdio_t out, async_stdio_t err) {
  async_process_options_t options = {
      .argv = argv, .stdin_mode = in, .stdout_mode = out, .stderr_mode = err};
  return async_process_spawn(process, &options);
}

static int spawn_shell(async_process_t **process, const char *command,
                       async_stdio_t in, async_stdio_t out, async_stdio_t err) {
  async_process_options_t options = {.shell = command,
                                     .stdin_mode = in,
                                     .stdout_mode = out,
                                     .stderr_mode = err};
  return async_process_spawn(process, &options);
}

/* Reads a stream to its end into text[size] (NUL-terminated); returns the
 * length or an error. */
static ssize_t read_all(async_stream_t *stream, char *text, size_t size) {
  size_t length = 0;
  for (;;) {
    ssize_t n = async_stream_read(stream, text + length, size - 1 - length);
    if (n < 0) return n;
    if (n == 0) break;
    length += (size_t)n;
    if (length == size - 1) break;
  }
  text[length] = '\0';
  return (ssize_t)length;
}

/* One child's story, as tasks saw it. */
typedef struct story {
  int spawn_rc;
  char out[4096];
  char err[4096];
  ssize_t out_length;
  int status;
} story_t;

/* Spawns, reads stdout (a pipe) to its end, waits. */
static int spawn_and_read(story_t *story, async_process_options_t *options) {
  async_process_t *process;
  story->spawn_rc = async_process_spawn(&process, options);
  if (story->spawn_rc != 0) return 0;
  story->out_length =
      read_all(async_process_stdout(process), story->out, sizeof story->out);
  story->status = async_process_wait(process);
  async_process_release(process);
  return 0;
}

/* ---- Pipes ---- */

static int echo_hello(void *arg) {
  static const char *const argv[] = {"echo", "hello", "world", NULL};
  async_process_options_t options = {.argv = argv,
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  return spawn_and_read(arg, &options);
}

static void test_echo_output_comes_back_through_the_stdout_pipe(void **state) {
  (void)state;
  story_t story = {0};
  assert_int_equal(harness_run(echo_hello, &story), 0);
  assert_int_equal(story.spawn_rc, 0);
  assert_string_equal(story.out, "hello world\n");
  assert_int_equal(story.status, 0);
}

static int cat_roundtrip(void *arg) {
  story_t *story = arg;
  static const char *const argv[] = {"cat", NULL};
  async_process_t *cat;
  story->spawn_rc = spawn(&cat, argv, ASYNC_STDIO_PIPE, ASYNC_STDIO_PIPE,
                          ASYNC_STDIO_INHERIT);
  if (story->spawn_rc != 0) return 0;
  async_stream_t *in = async_process_stdin(cat);
  async_stream_write(in, "line one\n", 9);
  async_stream_write(in, "line two\n", 9);
  async_stream_shutdown(in); /* cat ends at the end of its input */
  story->out_length =
      read_all(async_process_stdout(cat), story->out, sizeof story->out);
  story->status = async_process_wait(cat);
  async_process_release(cat);
  return 0;
}

static void test_cat_sends_what_stdin_got_back_on_stdout(void **state) {
  (void)state;
  story_t story = {0};
  assert_int_equal(harness_run(cat_roundtrip, &story), 0);
  assert_int_equal(story.spawn_rc, 0);
  assert_string_equal(story.out, "line one\nline two\n");
  assert_int_equal(story.status, 0);
}

typedef struct communicated {
  int spawn_rc;
  int rc;
  char *out, *err;
  size_t out_size, err_size;
  bool no_stderr_stream;
} communicated_t;

static void communicated_free(communicated_t *c) {
  free(c->out);
  free(c->err);
}

/* Spawns, then communicate(input) collecting both outputs. */
static int spawn_and_communicate(communicated_t *c,
                                 const async_process_options_t *options,
                                 const char *input, size_t input_size) {
  async_process_t *process;
  c->spawn_rc = async_process_spawn(&process, options);
  if (c->spawn_rc != 0) return 0;
  c->no_stderr_stream = async_process_stderr(process) == NULL;
  c->rc = async_process_communicate(process, input, input_size, &c->out,
                                    &c->out_size, &c->err, &c->err_size);
  async_process_release(process);
  return 0;
}

static int out_and_err(void *arg) {
  async_process_options_t options = {.shell =
                                         "echo to-out; echo to-err >&2; exit 4",
                                     .stdout_mode = ASYNC_STDIO_PIPE,
                                     .stderr_mode = ASYNC_STDIO_PIPE};
  return spawn_and_communicate(arg, &options, NULL, 0);
}

static void test_stderr_comes_back_through_a_pipe_of_its_own(void **state) {
  (void)state;
  communicated_t c = {0};
  assert_int_equal(harness_run(out_and_err, &c), 0);
  assert_int_equal(c.spawn_rc, 0);
  assert_int_equal(c.rc, 4);
  assert_string_equal(c.out, "to-out\n");
  assert_string_equal(c.err, "to-err\n");
  assert_int_equal(c.out_size, 7);
  assert_int_equal(c.err_size, 7);
  communicated_free(&c);
}

static int merged_output(void *arg) {
  async_process_options_t options = {.shell =
                                         "echo one; echo two >&2; echo three",
                                     .stdout_mode = ASYNC_STDIO_PIPE,
                                     .stderr_mode = ASYNC_STDIO_STDOUT};
  return spawn_and_communicate(arg, &options, NULL, 0);
}

static void test_stderr_merged_into_stdout_shares_its_pipe(void **state) {
  (void)state;
  communicated_t c = {0};
  assert_int_equal(harness_run(merged_output, &c), 0);
  assert_int_equal(c.spawn_rc, 0);
  assert_int_equal(c.rc, 0);
  assert_true(c.no_stderr_stream);
  assert_string_equal(c.out, "one\ntwo\nthree\n");
  assert_null(c.err);
  communicated_free(&c);
}

static int devnull_output(void *arg) {
  async_process_options_t options = {.shell = "echo lost; echo lost too >&2",
                                     .stdout_mode = ASYNC_STDIO_DEVNULL,
                                     .stderr_mode = ASYNC_STDIO_DEVNULL};
  return spawn_and_communicate(arg, &options, NULL, 0);
}

static void
test_devnull_output_is_discarded_and_communicate_gives_null(void **state) {
  (void)state;
  communicated_t c = {0};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(devnull_output, &c), 0);
  char *printed = stderr_capture_end(&capture);
  assert_not_contains(printed, "lost");
  free(printed);
  assert_int_equal(c.rc, 0);
  assert_null(c.out);
  assert_null(c.err);
  assert_int_equal(c.out_size, 0);
}

/* ---- Exit statuses and signals ---- */

static int exit_with_three(void *arg) {
  async_process_t *process;
  int rc = spawn_shell(&process, "exit 3", ASYNC_STDIO_DEVNULL,
                       ASYNC_STDIO_DEVNULL, ASYNC_STDIO_DEVNULL);
  if (rc != 0) return rc;
  int *statuses = arg;
  statuses[0] = async_process_wait(process);
  statuses[1] = async_process_wait(process); /* after the exit: at once */
  async_process_release(process);
  return 0;
}

static void test_wait_returns_the_exit_status(void **state) {
  (void)state;
  int statuses[2] = {-1, -1};
  assert_int_equal(harness_run(exit_with_three, statuses), 0);
  assert_int_equal(statuses[0], 3);
  assert_int_equal(statuses[1], 3);
}

static int killed_by_signals(void *arg) {
  int *statuses = arg;
  async_process_t *process;
  /* A child that kills itself, and one this process kills. */
  int rc = spawn_shell(&process, "kill -USR1 $$", ASYNC_STDIO_DEVNULL,
                       ASYNC_STDIO_DEVNULL, ASYNC_STDIO_DEVNULL);
  if (rc != 0) return rc;
  statuses[0] = async_process_wait(process);
  async_process_release(process);
  static const char *const sleep_long[] = {"sleep", "1000", NULL};
  rc = spawn(&process, sleep_long, ASYNC_STDIO_DEVNULL, ASYNC_STDIO_DEVNULL,
             ASYNC_STDIO_DEVNULL);
  if (rc != 0) return rc;
  statuses[1] = async_process_kill(process);
  statuses[2] = async_process_wait(process);
  async_process_release(process);
  return 0;
}

static void
test_wait_returns_128_plus_the_signal_that_killed_the_child(void **state) {
  (void)state;
  int statuses[3] = {-1, -1, -1};
  assert_int_equal(harness_run(killed_by_signals, statuses), 0);
  assert_int_equal(statuses[0], 128 + SIGUSR1);
  assert_int_equal(statuses[1], 0);
  assert_int_equal(statuses[2], 128 + SIGKILL);
}

typedef struct terminated {
  int terminate_rc;
  int status;
  double seconds;
  int after_exit[3];
} terminated_t;

static int terminate_sleeper(void *arg) {
  terminated_t *t = arg;
  static const char *const argv[] = {"sleep", "1000", NULL};
  async_process_t *process;
  int rc = spawn(&process, argv, ASYNC_STDIO_DEVNULL, ASYNC_STDIO_DEVNULL,
                 ASYNC_STDIO_DEVNULL);
  if (rc != 0) return rc;
  double start = now_seconds();
  t->terminate_rc = async_process_terminate(process);
  t->status = async_process_wait(process);
  t->seconds = now_seconds() - start;
  t->after_exit[0] = async_process_terminate(process);
  t->after_exit[1] = async_process_kill(process);
  t->after_exit[2] = async_process_send_signal(process, SIGUSR1);
  async_process_release(process);
  return 0;
}

static void test_terminate_ends_a_sleeping_child_at_once(void **state) {
  (void)state;
  terminated_t t = {0};
  assert_int_equal(harness_run(terminate_sleeper, &t), 0);
  assert_int_equal(t.terminate_rc, 0);
  assert_int_equal(t.status, 128 + SIGTERM);
  assert_true(t.seconds < GIVE_UP);
}

static void test_signals_to_a_child_that_has_exited_are_esrch(void **state) {
  (void)state;
  terminated_t t = {0};
  assert_int_equal(harness_run(terminate_sleeper, &t), 0);
  assert_int_equal(t.after_exit[0], UV_ESRCH);
  assert_int_equal(t.after_exit[1], UV_ESRCH);
  assert_int_equal(t.after_exit[2], UV_ESRCH);
}

/* ---- communicate ---- */

typedef struct big_output {
  communicated_t c;
  size_t each; /* bytes per stream */
  bool gave_up;
} big_output_t;

static int communicate_big(void *arg) {
  big_output_t *t = arg;
  /* Output alternates between the two pipes in chunks far bigger than a
   * pipe holds: reading one to its end before the other deadlocks. */
  char command[512];
  size_t chunk = t->each / 4;
  snprintf(command, sizeof command,
           "for i in 1 2 3 4; do "
           "head -c %zu /dev/zero | tr '\\0' o; "
           "head -c %zu /dev/zero | tr '\\0' e >&2; done",
           chunk, chunk);
  async_process_options_t options = {.shell = command,
                                     .stdout_mode = ASYNC_STDIO_PIPE,
                                     .stderr_mode = ASYNC_STDIO_PIPE};
  return spawn_and_communicate(&t->c, &options, NULL, 0);
}

static int communicate_big_or_give_up(void *arg) {
  big_output_t *t = arg;
  async_task_t *task = async_spawn("communicate", communicate_big, t);
  int rc = async_wait_for(task, GIVE_UP * 2);
  async_task_release(task);
  t->gave_up = rc == UV_ETIMEDOUT || t->c.rc == UV_ECANCELED;
  return 0;
}

static bool all_bytes_are(const char *data, size_t size, char byte) {
  for (size_t i = 0; i < size; i++)
    if (data[i] != byte) return false;
  return true;
}

static void test_communicate_reads_megabytes_from_both_pipes_without_deadlock(
    void **state) {
  (void)state;
  big_output_t t = {.each = under_valgrind() ? 1 << 20 : 4 << 20};
  assert_int_equal(harness_run(communicate_big_or_give_up, &t), 0);
  if (t.gave_up)
    fail_msg("communicate did not finish: reading stdout to its end while "
             "the child blocks on a full stderr pipe is a deadlock");
  assert_int_equal(t.c.rc, 0);
  assert_int_equal(t.c.out_size, t.each);
  assert_int_equal(t.c.err_size, t.each);
  assert_true(all_bytes_are(t.c.out, t.c.out_size, 'o'));
  assert_true(all_bytes_are(t.c.err, t.c.err_size, 'e'));
  communicated_free(&t.c);
}

typedef struct fed {
  communicated_t c;
  char *input;
  size_t size;
} fed_t;

static int feed_cat(void *arg) {
  fed_t *t = arg;
  static const char *const argv[] = {"cat", NULL};
  async_process_options_t options = {.argv = argv,
                                     .stdin_mode = ASYNC_STDIO_PIPE,
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  return spawn_and_communicate(&t->c, &options, t->input, t->size);
}

static void
test_communicate_feeds_the_input_and_collects_the_output(void **state) {
  (void)state;
  fed_t t = {.size = 1 << 20};
  t.input = malloc(t.size);
  assert_non_null(t.input);
  for (size_t i = 0; i < t.size; i++) t.input[i] = (char)('a' + i % 26);
  assert_int_equal(harness_run(feed_cat, &t), 0);
  assert_int_equal(t.c.rc, 0);
  assert_int_equal(t.c.out_size, t.size);
  assert_memory_equal(t.c.out, t.input, t.size);
  assert_null(t.c.err); /* stderr was not a pipe */
  free(t.input);
  communicated_free(&t.c);
}

typedef struct cancelled_communicate {
  int rc;
  bool alive_after;
  int status;
} cancelled_communicate_t;

static int communicate_then_get_cancelled(void *arg) {
  async_process_t *process = arg;
  char *out = NULL, *err = NULL;
  int rc = async_process_communicate(process, NULL, 0, &out, NULL, &err, NULL);
  free(out);
  free(err);
  return rc;
}

static int cancel_communicate(void *arg) {
  cancelled_communicate_t *t = arg;
  static const char *const argv[] = {"sleep", "1000", NULL};
  async_process_t *process;
  int rc = spawn(&process, argv, ASYNC_STDIO_PIPE, ASYNC_STDIO_PIPE,
                 ASYNC_STDIO_PIPE);
  if (rc != 0) return rc;
  async_task_t *task =
      async_spawn("communicator", communicate_then_get_cancelled, process);
  async_yield();
  async_task_cancel(task);
  t->rc = async_task_join(task);
  async_task_release(task);
  t->alive_after = kill(async_process_pid(process), 0) == 0;
  async_process_terminate(process);
  t->status = async_process_wait(process);
  async_process_release(process);
  return 0;
}

static void test_cancelled_communicate_returns_ecanceled_and_leaves_the_child(
    void **state) {
  (void)state;
  cancelled_communicate_t t = {0};
  assert_int_equal(harness_run(cancel_communicate, &t), 0);
  assert_int_equal(t.rc, UV_ECANCELED);
  assert_true(t.alive_after);
  assert_int_equal(t.status, 128 + SIGTERM);
}

/* ---- Options ---- */

static int print_cwd(void *arg) {
  story_t *story = arg;
  static const char *const argv[] = {"pwd", NULL};
  async_process_options_t options = {.argv = argv,
                                     .cwd = story->err, /* the directory */
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  return spawn_and_read(story, &options);
}

static void test_the_child_runs_in_the_cwd_given(void **state) {
  (void)state;
  char template[] = "/tmp/test_process.XXXXXX";
  assert_non_null(mkdtemp(template));
  char *real = realpath(template, NULL);
  assert_non_null(real);
  story_t story = {0};
  snprintf(story.err, sizeof story.err, "%s", real);
  assert_int_equal(harness_run(print_cwd, &story), 0);
  rmdir(template);
  char expected[4200];
  snprintf(expected, sizeof expected, "%s\n", real);
  free(real);
  assert_int_equal(story.status, 0);
  assert_string_equal(story.out, expected);
}

static int print_env(void *arg) {
  static const char *const env[] = {"GREETING=hi there", "PATH=/usr/bin:/bin",
                                    NULL};
  async_process_options_t options = {
      .shell = "echo \"$GREETING\"; echo \"${HOME-no home}\"",
      .env = env,
      .stdout_mode = ASYNC_STDIO_PIPE};
  return spawn_and_read(arg, &options);
}

static void test_the_child_gets_exactly_the_environment_given(void **state) {
  (void)state;
  story_t story = {0};
  assert_int_equal(harness_run(print_env, &story), 0);
  assert_int_equal(story.status, 0);
  assert_string_equal(story.out, "hi there\nno home\n");
}

static int run_pipeline(void *arg) {
  async_process_options_t options = {
      .shell = "printf 'b\\na\\nc\\n' | sort | tr a-z A-Z",
      .stdout_mode = ASYNC_STDIO_PIPE};
  return spawn_and_read(arg, &options);
}

static void test_shell_mode_runs_a_pipeline(void **state) {
  (void)state;
  story_t story = {0};
  assert_int_equal(harness_run(run_pipeline, &story), 0);
  assert_int_equal(story.status, 0);
  assert_string_equal(story.out, "A\nB\nC\n");
}

/* ---- Failures and misuse ---- */

typedef struct missing {
  int program_rc;
  int cwd_rc;
  bool untouched;
} missing_t;

static int spawn_missing(void *arg) {
  missing_t *t = arg;
  static const char *const argv[] = {"no-such-program-for-test-process", NULL};
  async_process_t *process = NULL;
  /* Pipes too, so that their clean-up after the failure is exercised. */
  t->program_rc = spawn(&process, argv, ASYNC_STDIO_PIPE, ASYNC_STDIO_PIPE,
                        ASYNC_STDIO_STDOUT);
  static const char *const true_argv[] = {"true", NULL};
  async_process_options_t options = {.argv = true_argv,
                                     .cwd = "/no/such/directory",
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  t->cwd_rc = async_process_spawn(&process, &options);
  t->untouched = process == NULL;
  return 0;
}

static int spawn_true_and_wait(void *arg) {
  (void)arg;
  static const char *const argv[] = {"true", NULL};
  async_process_t *process;
  int rc = spawn(&process, argv, ASYNC_STDIO_PIPE, ASYNC_STDIO_PIPE,
                 ASYNC_STDIO_PIPE);
  if (rc != 0) return rc;
  rc = async_process_wait(process);
  async_process_release(process);
  return rc;
}

static void
test_spawning_a_missing_program_is_enoent_and_leaks_nothing(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_true_and_wait, NULL), 0); /* warm up */
  int descriptors = open_descriptors();
  missing_t t = {0};
  assert_int_equal(harness_run(spawn_missing, &t), 0);
  assert_int_equal(t.program_rc, UV_ENOENT);
  assert_int_equal(t.cwd_rc, UV_ENOENT);
  assert_true(t.untouched);
  assert_int_equal(zombie_children(), 0);
  assert_int_equal(open_descriptors(), descriptors);
}

static int spawn_badly(void *arg) {
  int *rc = arg;
  static const char *const argv[] = {"true", NULL};
  static const char *const no_program[] = {NULL};
  async_process_t *process;
  async_process_options_t neither = {0};
  async_process_options_t both = {.argv = argv, .shell = "true"};
  async_process_options_t empty = {.argv = no_program};
  async_process_options_t stdin_from_stdout = {
      .argv = argv, .stdin_mode = ASYNC_STDIO_STDOUT};
  async_process_options_t bogus_mode = {.argv = argv,
                                        .stdout_mode = (async_stdio_t)42};
  rc[0] = async_process_spawn(&process, &neither);
  rc[1] = async_process_spawn(&process, &both);
  rc[2] = async_process_spawn(&process, &empty);
  rc[3] = async_process_spawn(&process, &stdin_from_stdout);
  rc[4] = async_process_spawn(&process, &bogus_mode);
  rc[5] = async_process_spawn(NULL, &neither);
  rc[6] = async_process_spawn(&process, NULL);
  rc[7] = async_process_wait(NULL);
  return 0;
}

static void test_spawn_with_bad_options_is_einval(void **state) {
  (void)state;
  int rc[8];
  assert_int_equal(harness_run(spawn_badly, rc), 0);
  for (int i = 0; i < 8; i++) assert_int_equal(rc[i], UV_EINVAL);
  static const char *const argv[] = {"true", NULL};
  async_process_options_t options = {.argv = argv};
  async_process_t *process;
  assert_int_equal(async_process_spawn(&process, &options), UV_EPERM);
}

/* ---- No zombies, no leaks ---- */

typedef struct released {
  int pid;
  int exited;
  int zombies_after_next_reap;
  int other_status;
} released_t;

static int release_a_running_child(void *arg) {
  released_t *t = arg;
  static const char *const cat_argv[] = {"cat", NULL};
  async_process_options_t options = {.argv = cat_argv,
                                     .stdin_mode = ASYNC_STDIO_PIPE};
  async_process_t *cat;
  int watch;
  int rc = spawn_watched(&cat, &options, 1, &watch);
  if (rc != 0) return rc;
  t->pid = async_process_pid(cat);
  /* Releasing closes cat's stdin: cat then exits, on its own time. */
  async_process_release(cat);
  t->exited = async_to_thread(wait_until_ended, &watch);
  /* cat closed its stdout while exiting; now wait until it is a zombie
   * (or already reaped), without reaping it. */
  if (t->exited == 1) t->exited = async_to_thread(wait_until_waitable, &t->pid);
  /* The runtime reaps every exited child whenever SIGCHLD comes; the exit
   * of another child makes sure one has come since cat became a zombie. */
  static const char *const true_argv[] = {"true", NULL};
  async_process_t *other;
  rc = spawn(&other, true_argv, ASYNC_STDIO_DEVNULL, ASYNC_STDIO_DEVNULL,
             ASYNC_STDIO_DEVNULL);
  if (rc != 0) return rc;
  t->other_status = async_process_wait(other);
  async_process_release(other);
  t->zombies_after_next_reap = zombie_children();
  return 0;
}

static void
test_a_released_running_child_is_reaped_when_it_exits(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_true_and_wait, NULL), 0); /* warm up */
  int descriptors = open_descriptors();
  released_t t = {0};
  assert_int_equal(harness_run(release_a_running_child, &t), 0);
  assert_int_equal(t.exited, 1);
  assert_int_equal(t.other_status, 0);
  if (t.zombies_after_next_reap != 0)
    fail_msg("the released child (pid %d) exited but stayed a zombie: the "
             "uv_process_t must stay open until its exit callback",
             t.pid);
  assert_int_equal(zombie_children(), 0);
  assert_int_equal(open_descriptors(), descriptors);
}

typedef struct left_running {
  int watches[2];
} left_running_t;

static int leave_children_running(void *arg) {
  left_running_t *t = arg;
  static const char *const argv[] = {"sleep", "1000", NULL};
  async_process_options_t options = {.argv = argv,
                                     .stdin_mode = ASYNC_STDIO_PIPE,
                                     .stderr_mode = ASYNC_STDIO_PIPE};
  for (int i = 0; i < 2; i++) {
    async_process_t *process;
    int rc = spawn_watched(&process, &options, 1, &t->watches[i]);
    if (rc != 0) return rc;
    if (i == 1) async_process_release(process); /* the other is not */
  }
  return 0;
}

static void
test_children_running_when_the_run_ends_are_killed_and_reaped(void **state) {
  (void)state;
  assert_int_equal(harness_run(spawn_true_and_wait, NULL), 0); /* warm up */
  int descriptors = open_descriptors();
  left_running_t t = {{-1, -1}};
  double start = now_seconds();
  assert_int_equal(harness_run(leave_children_running, &t), 0);
  double seconds = now_seconds() - start;
  assert_true(t.watches[0] >= 0 && t.watches[1] >= 0);
  bool gone[2] = {ended(t.watches[0]), ended(t.watches[1])};
  assert_true(gone[0]);
  assert_true(gone[1]);
  assert_true(seconds < GIVE_UP);
  assert_int_equal(zombie_children(), 0);
  assert_int_equal(open_descriptors(), descriptors);
}

typedef struct wait_cancelled {
  int wait_rc;
  char echoed[64];
  int status;
} wait_cancelled_t;

static int wait_for_child(void *arg) {
  return async_process_wait(arg);
}

static int cancel_a_waiter(void *arg) {
  wait_cancelled_t *t = arg;
  static const char *const argv[] = {"cat", NULL};
  async_process_t *cat;
  int rc = spawn(&cat, argv, ASYNC_STDIO_PIPE, ASYNC_STDIO_PIPE,
                 ASYNC_STDIO_INHERIT);
  if (rc != 0) return rc;
  async_task_t *waiter = async_spawn("waiter", wait_for_child, cat);
  async_yield();
  async_task_cancel(waiter);
  t->wait_rc = async_task_join(waiter);
  async_task_release(waiter);
  /* Still alive: it answers. */
  async_stream_write(async_process_stdin(cat), "ping\n", 5);
  async_stream_readline(async_process_stdout(cat), t->echoed, sizeof t->echoed);
  async_stream_shutdown(async_process_stdin(cat));
  t->status = async_process_wait(cat);
  async_process_release(cat);
  return 0;
}

static void
test_cancelling_a_task_in_wait_does_not_kill_the_child(void **state) {
  (void)state;
  wait_cancelled_t t = {0};
  assert_int_equal(harness_run(cancel_a_waiter, &t), 0);
  assert_int_equal(t.wait_rc, UV_ECANCELED);
  assert_string_equal(t.echoed, "ping\n");
  assert_int_equal(t.status, 0);
}

typedef struct group {
  int child;
  int child_group;
  int grandchild;
  int grandchild_group;
  int watch;
} group_t;

static int start_a_group(void *arg) {
  group_t *t = arg;
  /* The sleep inherits the shell's stderr, the watched pipe. */
  async_process_options_t options = {.shell = "sleep 1000 & echo $!; wait",
                                     .stdout_mode = ASYNC_STDIO_PIPE,
                                     .new_process_group = true};
  async_process_t *process;
  int rc = spawn_watched(&process, &options, 2, &t->watch);
  if (rc != 0) return rc;
  t->child = async_process_pid(process);
  char line[32];
  ssize_t n =
      async_stream_readline(async_process_stdout(process), line, sizeof line);
  if (n <= 0) return n < 0 ? (int)n : UV_EOF;
  t->grandchild = atoi(line);
  t->child_group = getpgid(t->child);
  t->grandchild_group = getpgid(t->grandchild);
  /* Returns with the shell and its sleep still running. */
  async_process_release(process);
  return 0;
}

static void
test_new_process_group_is_killed_whole_when_the_run_ends(void **state) {
  (void)state;
  group_t t = {.watch = -1};
  assert_int_equal(harness_run(start_a_group, &t), 0);
  assert_true(t.grandchild > 0);
  assert_true(t.watch >= 0);
  bool gone = ended(t.watch);
  if (!gone) kill(t.grandchild, SIGKILL); /* do not leave it behind */
  assert_int_equal(t.child_group, t.child);
  assert_int_equal(t.grandchild_group, t.child);
  assert_int_not_equal(t.child_group, getpgid(0));
  if (!gone)
    fail_msg("the grandchild (pid %d) outlived the run: the run's end must "
             "kill the child's whole process group",
             t.grandchild);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_echo_output_comes_back_through_the_stdout_pipe),
    cmocka_unit_test(test_cat_sends_what_stdin_got_back_on_stdout),
    cmocka_unit_test(test_stderr_comes_back_through_a_pipe_of_its_own),
    cmocka_unit_test(test_stderr_merged_into_stdout_shares_its_pipe),
    cmocka_unit_test(
        test_devnull_output_is_discarded_and_communicate_gives_null),
    cmocka_unit_test(test_wait_returns_the_exit_status),
    cmocka_unit_test(
        test_wait_returns_128_plus_the_signal_that_killed_the_child),
    cmocka_unit_test(test_terminate_ends_a_sleeping_child_at_once),
    cmocka_unit_test(test_signals_to_a_child_that_has_exited_are_esrch),
    cmocka_unit_test(
        test_communicate_reads_megabytes_from_both_pipes_without_deadlock),
    cmocka_unit_test(test_communicate_feeds_the_input_and_collects_the_output),
    cmocka_unit_test(
        test_cancelled_communicate_returns_ecanceled_and_leaves_the_child),
    cmocka_unit_test(test_the_child_runs_in_the_cwd_given),
    cmocka_unit_test(test_the_child_gets_exactly_the_environment_given),
    cmocka_unit_test(test_shell_mode_runs_a_pipeline),
    cmocka_unit_test(
        test_spawning_a_missing_program_is_enoent_and_leaks_nothing),
    cmocka_unit_test(test_spawn_with_bad_options_is_einval),
    cmocka_unit_test(test_a_released_running_child_is_reaped_when_it_exits),
    cmocka_unit_test(
        test_children_running_when_the_run_ends_are_killed_and_reaped),
    cmocka_unit_test(test_cancelling_a_task_in_wait_does_not_kill_the_child),
    cmocka_unit_test(test_new_process_group_is_killed_whole_when_the_run_ends))
