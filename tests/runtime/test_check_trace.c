/* test_check_trace.c: check mode's trace (ASYNC_TRACE): Chrome trace-event
 * JSON of task lifetimes, awaits and lock holds, the same for one seed.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"
#include "philosophers.h"

#include <inttypes.h>

/* Runs body with a trace into a fresh file; returns the file's text. */
static char *traced_run(async_fn body, void *arg) {
  char path[256];
  snprintf(path, sizeof path, "%s/async-trace-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  check_env_set("ASYNC_TRACE", path);
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  harness_run(body, arg);
  free(stderr_capture_end(&capture));
  char *text = check_read_file(path);
  unlink(path);
  return text;
}

static void
test_two_runs_with_one_seed_give_byte_identical_traces(void **state) {
  (void)state;
  char *traces[2];
  for (int run = 0; run < 2; run++) {
    check_env_schedule("random", 7);
    table_t table = {.seats = 5, .meals = 3, .manners = LOWER_FORK_FIRST};
    traces[run] = traced_run(dinner, &table);
    check_env_restore();
  }
  assert_true(strlen(traces[0]) > 1000);
  assert_string_equal(traces[0], traces[1]);
  /* And another seed, another schedule. */
  check_env_schedule("random", 8);
  table_t table = {.seats = 5, .meals = 3, .manners = LOWER_FORK_FIRST};
  char *other = traced_run(dinner, &table);
  check_env_restore();
  assert_true(strcmp(other, traces[0]) != 0);
  free(other);
  free(traces[0]);
  free(traces[1]);
}

/* Per thread: B minus E; per lock: b minus e. */
typedef struct balance {
  long long tid;
  int open;
} balance_t;

static void test_the_trace_is_chrome_trace_event_json(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  table_t table = {.seats = 5, .meals = 2, .manners = LOWER_FORK_FIRST};
  char *text = traced_run(dinner, &table);
  check_env_restore();
  const char *head = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  assert_int_equal(strncmp(text, head, strlen(head)), 0);
  size_t length = strlen(text);
  assert_string_equal(text + length - 4, "\n]}\n");
  assert_contains(text, "\"args\":{\"name\":\"P3\"}");
  assert_contains(text, "\"name\":\"holds fork 2\",\"ph\":\"b\"");
  assert_contains(text, "\"name\":\"waiting for a lock\",\"ph\":\"B\"");

  balance_t threads[16] = {{0}};
  int thread_count = 0, holds = 0, names = 0;
  double last_ts = -1;
  char *line = text + strlen(head);
  while (*line != ']') {
    char *end = strchr(line, '\n');
    assert_non_null(end);
    *end = '\0';
    /* One event per line: {"name":...,"ph":"X","ts":N,"pid":1,"tid":N...} */
    assert_int_equal(strncmp(line, "{\"name\":\"", 9), 0);
    size_t used = strlen(line);
    assert_true(strcmp(line + used - 2, "},") == 0 ||
                strcmp(line + used - 1, "}") == 0);
    char phase = strstr(line, "\"ph\":\"")[6];
    double ts = strtod(strstr(line, "\"ts\":") + 5, NULL);
    long long tid = strtoll(strstr(line, "\"tid\":") + 6, NULL, 10);
    assert_true(ts > last_ts); /* strictly in order */
    last_ts = ts;
    int t = 0;
    while (t < thread_count && threads[t].tid != tid) t++;
    if (t == thread_count) threads[thread_count++].tid = tid;
    if (phase == 'B') threads[t].open++;
    if (phase == 'E') threads[t].open--;
    assert_true(threads[t].open >= 0);
    if (phase == 'b') holds++;
    if (phase == 'e') holds--;
    if (strstr(line, "\"name\":\"thread_name\"") != NULL) names++;
    line = end + 1;
  }
  for (int t = 0; t < thread_count; t++) assert_int_equal(threads[t].open, 0);
  assert_int_equal(holds, 0);
  assert_int_equal(names, 6); /* main and five philosophers */
  free(text);
}

static int sleep_a_second_and_a_half(void *arg) {
  (void)arg;
  return async_sleep(1.5);
}

static void test_awaits_take_their_virtual_time(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  char *text = traced_run(sleep_a_second_and_a_half, NULL);
  check_env_restore();
  assert_contains(text,
                  "{\"name\":\"waiting for sleep\",\"ph\":\"B\",\"ts\":0.");
  assert_contains(text, "{\"name\":\"waiting\",\"ph\":\"E\",\"ts\":1500000.");
  free(text);
}

static void test_an_unwritable_trace_is_said_and_the_run_goes_on(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  check_env_set("ASYNC_TRACE", "/nonexistent-directory/trace.json");
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(sleep_a_second_and_a_half, NULL), 0);
  char *err = stderr_capture_end(&capture);
  assert_contains(err, "cannot write the trace "
                       "/nonexistent-directory/trace.json");
  free(err);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_two_runs_with_one_seed_give_byte_identical_traces),
    cmocka_unit_test(test_the_trace_is_chrome_trace_event_json),
    cmocka_unit_test(test_awaits_take_their_virtual_time),
    cmocka_unit_test(test_an_unwritable_trace_is_said_and_the_run_goes_on))
