/* test_echo.c: ex3-echo's cmocka checks of echo_connection(), served on
 * real loopback TCP to clients made with the runtime's streams. */
#include "check.h"

#include <async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echo.h"

/* ---- What a test found, reported once the run is over ----
 *
 * The scenarios run inside tasks, on stacks of their own, where cmocka's
 * fail() (a longjmp) must not be called: they note the first problem here
 * and the test reports it after async_run() returned. */

static struct {
  bool failed;
  char message[1024];
  char *expected, *actual; /* malloc'd, or NULL */
} found;

static void problem(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static void problem(const char *format, ...) {
  if (found.failed) return; /* the first one says the most */
  found.failed = true;
  va_list args;
  va_start(args, format);
  vsnprintf(found.message, sizeof found.message, format, args);
  va_end(args);
}

/* Bytes as text a student can read: \xNN for what is not printable
 * ASCII, newlines and tabs as they are (the grader makes them visible). */
static char *printable(const char *data, size_t length) {
  char *text = malloc(length * 4 + 1);
  if (text == NULL) abort(); /* no fail() inside a task */
  size_t used = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
      text[used++] = (char)c;
    else
      used += (size_t)sprintf(text + used, "\\x%02x", c);
  }
  text[used] = '\0';
  return text;
}

/* A problem that compares what was sent with what came back. */
static void problem_text(const char *expected, size_t expected_length,
                         const char *actual, size_t actual_length,
                         const char *format, ...)
    __attribute__((format(printf, 5, 6)));
static void problem_text(const char *expected, size_t expected_length,
                         const char *actual, size_t actual_length,
                         const char *format, ...) {
  if (found.failed) return;
  found.failed = true;
  va_list args;
  va_start(args, format);
  vsnprintf(found.message, sizeof found.message, format, args);
  va_end(args);
  found.expected = printable(expected, expected_length);
  found.actual = printable(actual, actual_length);
}

/* Fails the test with what the scenario found, if anything. */
static void report(void) {
  if (!found.failed) return;
  check_message("%s", found.message);
  if (found.expected != NULL) check_text_equal(found.expected, found.actual);
  fail();
}

static int reset_found(void **state) {
  (void)state;
  free(found.expected);
  free(found.actual);
  memset(&found, 0, sizeof found);
  return 0;
}

/* Seconds, times the grader's TIMEOUT_SCALE on a slow machine. These are
 * bounds on how long a failure takes to show, never waits for success:
 * a correct server answers in microseconds. */
static double seconds(double base) {
  const char *scale = getenv("TIMEOUT_SCALE");
  double factor = scale ? atof(scale) : 1.0;
  return base * (factor > 0 ? factor : 1.0);
}

/* ---- A server running the student's handler, and clients ---- */

typedef int (*scenario_fn)(int port);

/* Runs scenario(port) against a server on 127.0.0.1 whose connections are
 * handled by echo_connection, then closes the server and its handlers. */
static int run_scenario(void *arg) {
  scenario_fn scenario = (scenario_fn)(uintptr_t)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_connection, NULL);
  if (rc < 0) {
    problem("could not start a server: %s", async_strerror(rc));
    return 0;
  }
  scenario(async_server_port(server));
  async_server_close(server, true);
  return 0;
}

/* Set while the student's handlers may run: a handler that calls exit()
 * takes the whole process down, and this says so. */
static bool serving;

static void exited_while_serving(void) {
  if (serving)
    check_message("the process exited while the server was serving (did "
                  "echo_connection call exit()?): a handler must only end "
                  "its own connection, by returning");
}

static int serve_scenario(scenario_fn scenario) {
  static bool hooked;
  if (!hooked) atexit(exited_while_serving);
  hooked = true;
  serving = true;
  int rc = async_run(run_scenario, (void *)(uintptr_t)scenario);
  serving = false;
  return rc;
}

static void run(scenario_fn scenario) {
  int rc = serve_scenario(scenario);
  if (rc < 0) problem("async_run() returned %s", async_strerror(rc));
  report();
}

static async_stream_t *connect_client(int port, const char *who) {
  async_stream_t *stream = NULL;
  int rc = async_connect(&stream, "127.0.0.1", port);
  if (rc < 0) {
    problem("%s could not connect to the server: %s", who, async_strerror(rc));
    return NULL;
  }
  return stream;
}

/* What came back on a stream: up to `want` bytes; `end` says why reading
 * stopped: 0 all there, UV_EOF the server closed the connection,
 * UV_ETIMEDOUT nothing more came in time, or another error. */
typedef struct received {
  char *data; /* malloc'd, `want` bytes of room */
  size_t length;
  int end;
} received_t;

static received_t receive(async_stream_t *stream, size_t want, double timeout) {
  received_t got = {malloc(want + 1), 0, 0};
  if (got.data == NULL) abort(); /* no fail() inside a task */
  async_timeout_t scope;
  async_timeout_enter(&scope, timeout);
  while (got.length < want) {
    ssize_t n =
        async_stream_read(stream, got.data + got.length, want - got.length);
    if (n <= 0) {
      got.end = n == 0 ? UV_EOF : (int)n;
      break;
    }
    got.length += (size_t)n;
  }
  async_timeout_exit(&scope);
  return got;
}

/* Why reading stopped, in words. */
static const char *ending(int end) {
  if (end == UV_EOF) return "the server closed the connection";
  if (end == UV_ETIMEDOUT) return "nothing more came back";
  if (end == UV_ECONNRESET) return "the server reset the connection";
  return async_strerror(end);
}

/* Sends data and checks that exactly the same bytes come back. */
static bool expect_echo(async_stream_t *stream, const char *who,
                        const char *data, size_t length, double timeout) {
  int rc = async_stream_write(stream, data, length);
  if (rc < 0) {
    problem("%s could not send: %s", who, async_strerror(rc));
    return false;
  }
  received_t got = receive(stream, length, timeout);
  bool same = got.length == length && memcmp(got.data, data, length) == 0;
  if (!same) {
    if (got.length == 0)
      problem_text(data, length, got.data, got.length,
                   "%s sent %zu bytes and got nothing back (%s)", who, length,
                   ending(got.end));
    else
      problem_text(data, length, got.data, got.length,
                   "%s sent %zu bytes and got %zu different ones back%s%s", who,
                   length, got.length, got.end != 0 ? ", then " : "",
                   got.end != 0 ? ending(got.end) : "");
  }
  free(got.data);
  return same;
}

/* Reads until the server closes the connection; true if it did, within
 * `timeout`, and sent nothing more. A reset counts as closed. */
static bool expect_closed(async_stream_t *stream, const char *who,
                          double timeout, const char *why) {
  received_t got = receive(stream, 1 << 20, timeout);
  bool closed = got.end == UV_EOF || got.end == UV_ECONNRESET;
  if (got.length > 0)
    problem_text("", 0, got.data, got.length > 2000 ? 2000 : got.length,
                 "%s: %zu bytes came back (the first ones below), where %s",
                 who, got.length, why);
  else if (!closed)
    problem("%s: the connection was still open %g s later, where %s", who,
            timeout, why);
  free(got.data);
  return closed && got.length == 0;
}

/* ---- Lines echoed verbatim ---- */

static int verbatim(int port) {
  async_stream_t *client = connect_client(port, "a client");
  if (client == NULL) return 0;
  /* Every byte but '\n' may be in a line: '\0' too. */
  char every_byte[256];
  size_t length = 0;
  for (int c = 0; c < 256; c++)
    if (c != '\n') every_byte[length++] = (char)c;
  every_byte[length++] = '\n';
  struct {
    const char *data;
    size_t length;
  } lines[] = {
      {"hello\n", 6},
      {"\n", 1},
      {"  two  spaces\tand\ttabs \t \n", 26},
      {"a carriage return\r\n", 19},
      {"caf\xc3\xa9 \xe2\x9c\x93 na\xc3\xafve \xf0\x9f\x98\x80\n", 22},
      {"not UTF-8: \xff\xfe\x80\n", 15},
      {"a\0NUL byte\n", 11},
      {every_byte, length},
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    if (!expect_echo(client, "a client", lines[i].data, lines[i].length,
                     seconds(2)))
      break;
  async_stream_close(client);
  return 0;
}

static void test_lines_echoed_verbatim(void **state) {
  (void)state;
  run(verbatim);
}

/* ---- Many lines in one write ---- */

static int pipelined(int port) {
  async_stream_t *client = connect_client(port, "a client");
  if (client == NULL) return 0;
  /* 2000 lines sent in one write: they reach the server in a few packets
   * that each hold many lines, cut anywhere. */
  size_t size = 2000 * 64, used = 0;
  char *text = malloc(size);
  if (text == NULL) abort();
  for (int i = 1; i <= 2000; i++)
    used += (size_t)snprintf(text + used, size - used,
                             "line %d of 2000, sent in one go\n", i);
  if (expect_echo(client, "a client sending 2000 lines at once", text, used,
                  seconds(3)) == false &&
      found.expected != NULL && strlen(found.actual) < 200000) {
    /* Keep the report readable: from the first line that differs. */
    size_t same = 0;
    while (found.expected[same] && found.expected[same] == found.actual[same])
      same++;
    while (same > 0 && found.expected[same - 1] != '\n') same--;
    char *expected = strndup(found.expected + same, 400);
    char *actual = strndup(found.actual + same, 400);
    free(found.expected);
    free(found.actual);
    found.expected = expected;
    found.actual = actual;
    size_t length = strlen(found.message);
    snprintf(found.message + length, sizeof found.message - length,
             " (shown from the first line that differs)");
  }
  free(text);
  async_stream_close(client);
  return 0;
}

static void test_pipelined_lines(void **state) {
  (void)state;
  run(pipelined);
}

/* ---- The longest line allowed ---- */

static int longest_line(int port) {
  async_stream_t *client = connect_client(port, "a client");
  if (client == NULL) return 0;
  size_t length = ECHO_LINE_LIMIT + 1; /* 65,536 bytes and the '\n' */
  char *line = malloc(length);
  if (line == NULL) abort();
  for (size_t i = 0; i < length - 1; i++) line[i] = (char)('a' + i % 26);
  line[length - 1] = '\n';
  if (!expect_echo(client, "a client sending a line of 65,536 bytes", line,
                   length, seconds(3))) {
    /* 65 KiB of letters help no one: say how much came back. */
    free(found.expected);
    free(found.actual);
    found.expected = found.actual = NULL;
  }
  free(line);
  async_stream_close(client);
  return 0;
}

static void test_64k_line(void **state) {
  (void)state;
  run(longest_line);
}

/* ---- A line over the limit ---- */

/* A line of ECHO_LINE_LIMIT + 1 bytes before its '\n', then "after\n". */
static char *too_long_line(size_t *length) {
  *length = ECHO_LINE_LIMIT + 2 + 6;
  char *line = malloc(*length);
  if (line == NULL) abort();
  memset(line, 'z', ECHO_LINE_LIMIT + 1);
  memcpy(line + ECHO_LINE_LIMIT + 1, "\nafter\n", 7);
  return line;
}

static int over_the_limit(int port) {
  /* Both connected at once; the first sends the over-long line. */
  async_stream_t *first = connect_client(port, "the first client");
  async_stream_t *second = connect_client(port, "the second client");
  if (first != NULL && second != NULL &&
      expect_echo(first, "the first client", "before\n", 7, seconds(2))) {
    size_t length;
    char *line = too_long_line(&length);
    /* The server may close before it has read it all: a write error here
     * is fine. */
    async_stream_write(first, line, length);
    free(line);
    if (expect_closed(first,
                      "the first client sent a line of 65,537 bytes, then "
                      "\"after\"",
                      seconds(3),
                      "the server should close that connection, echoing "
                      "none of it") &&
        expect_echo(second,
                    "the second client, connected all along, after that",
                    "still here\n", 11, seconds(2))) {
      async_stream_close(second);
      second = NULL;
      async_stream_t *third =
          connect_client(port, "a client connecting after that");
      if (third != NULL) {
        expect_echo(third, "a client connecting after that", "three\n", 6,
                    seconds(2));
        async_stream_close(third);
      }
    }
  }
  if (first != NULL) async_stream_close(first);
  if (second != NULL) async_stream_close(second);
  return 0;
}

static void test_long_line_closes_only_its_connection(void **state) {
  (void)state;
  run(over_the_limit);
}

/* stderr goes to a file while the scenario runs. */
static int over_the_limit_alone(int port) {
  async_stream_t *client = connect_client(port, "a client");
  if (client == NULL) return 0;
  if (!expect_echo(client, "a client", "before\n", 7, seconds(2))) {
    async_stream_close(client);
    return 0;
  }
  size_t length;
  char *line = too_long_line(&length);
  async_stream_write(client, line, length);
  free(line);
  expect_closed(client, "a client that sent a line of 65,537 bytes", seconds(3),
                "the server should close that connection");
  async_stream_close(client);
  return 0;
}

static void test_long_line_is_logged(void **state) {
  (void)state;
  FILE *capture = tmpfile();
  assert_non_null(capture);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(capture), STDERR_FILENO);
  int rc = serve_scenario(over_the_limit_alone);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  long logged = ftell(capture);
  fclose(capture);
  if (rc < 0) problem("async_run() returned %s", async_strerror(rc));
  if (!found.failed && logged <= 0)
    problem("a client sent a line of 65,537 bytes and the server closed the "
            "connection without a word on stderr: log why (fprintf to "
            "stderr, naming the client with async_stream_peername)");
  report();
}

/* ---- The last line without '\n' ---- */

static int unterminated(int port) {
  async_stream_t *client = connect_client(port, "a client");
  if (client == NULL) return 0;
  const char text[] = "first\nsecond\nthe last line, with no newline";
  async_stream_write(client, text, sizeof text - 1);
  /* The end of the stream: no more from this client. */
  async_stream_shutdown(client);
  received_t got = receive(client, 4096, seconds(3));
  if (got.end == UV_ETIMEDOUT)
    problem_text(text, sizeof text - 1, got.data, got.length,
                 "a client sent three lines, the last without '\\n', and "
                 "ended its stream: the server should echo them all and "
                 "close, but the connection was still open %g s later",
                 seconds(3));
  else if (got.length != sizeof text - 1 ||
           memcmp(got.data, text, got.length) != 0)
    problem_text(text, sizeof text - 1, got.data, got.length,
                 "a client sent three lines, the last without '\\n', then "
                 "ended its stream: every line should come back, the last "
                 "one too (readline gives it before it returns 0)");
  free(got.data);
  async_stream_close(client);
  return 0;
}

static void test_unterminated_last_line(void **state) {
  (void)state;
  run(unterminated);
}

/* ---- 100 clients at once ---- */

enum { CROWD = 100, CROWD_LINES = 3 };

typedef struct crowd {
  int port;
  int connected, echoed;
  async_event_t all_connected, all_echoed;
} crowd_t;

typedef struct member {
  crowd_t *crowd;
  int id;
} member_t;

/* Connects, waits until all have, sends its lines one by one, each echo
 * awaited, then stays connected until every client has had its echoes. */
static int crowd_member(void *arg) {
  member_t *member = arg;
  crowd_t *crowd = member->crowd;
  char who[32];
  snprintf(who, sizeof who, "client %d of %d", member->id, CROWD);
  async_stream_t *stream = connect_client(crowd->port, who);
  if (stream == NULL) return 0;
  if (++crowd->connected == CROWD) async_event_set(&crowd->all_connected);
  int rc = async_event_wait(&crowd->all_connected);
  for (int i = 1; rc == 0 && i <= CROWD_LINES; i++) {
    char line[64];
    int length = snprintf(line, sizeof line, "%s, line %d\n", who, i);
    if (!expect_echo(stream, who, line, (size_t)length, seconds(5))) rc = -1;
  }
  if (rc == 0 && ++crowd->echoed == CROWD) async_event_set(&crowd->all_echoed);
  if (rc == 0) async_event_wait(&crowd->all_echoed);
  async_stream_close(stream);
  return 0;
}

static int crowd(int port) {
  static crowd_t crowd;
  static member_t members[CROWD];
  static async_task_t *tasks[CROWD];
  memset(&crowd, 0, sizeof crowd);
  crowd.port = port;
  async_event_init(&crowd.all_connected);
  async_event_init(&crowd.all_echoed);
  for (int i = 0; i < CROWD; i++) {
    members[i] = (member_t){&crowd, i + 1};
    tasks[i] = async_spawn("client", crowd_member, &members[i]);
    if (tasks[i] == NULL) abort(); /* out of memory: no test to run */
  }
  int done = async_wait(tasks, CROWD, ASYNC_ALL_COMPLETED, seconds(3));
  if (done < CROWD && !found.failed) {
    if (crowd.connected < CROWD)
      problem("only %d of %d clients could connect within %g s",
              crowd.connected, CROWD, seconds(3));
    else
      problem("%d clients connected at once, each sending %d lines and "
              "waiting for each echo: after %g s only %d had all their "
              "echoes back. Is one client's handler keeping the others "
              "waiting (a lock held for a whole connection, a blocking "
              "call)?",
              CROWD, CROWD_LINES, seconds(3), crowd.echoed);
  }
  for (int i = 0; i < CROWD; i++) {
    async_task_cancel(tasks[i]);
    async_task_join(tasks[i]);
    async_task_release(tasks[i]);
  }
  return 0;
}

static void test_100_clients_at_once(void **state) {
  (void)state;
  run(crowd);
}

/* ---- An idle client ---- */

static int idle_client(int port) {
  async_stream_t *idle = connect_client(port, "the idle client");
  async_stream_t *other = NULL;
  if (idle != NULL && expect_echo(idle, "a client", "hello\n", 6, seconds(2))) {
    /* Half a line, then silence: its handler waits in readline for the
     * rest, and must wait alone. */
    async_stream_write(idle, "half a line", 11);
    other = connect_client(port, "another client");
    if (other != NULL &&
        expect_echo(other,
                    "while a client was idle in the middle of a line, "
                    "another client",
                    "is anyone there?\n", 17, seconds(2))) {
      /* The rest of the line: all of it comes back. */
      async_stream_write(idle, "\n", 1);
      received_t got = receive(idle, 12, seconds(2));
      if (got.length != 12 || memcmp(got.data, "half a line\n", 12) != 0)
        problem_text("half a line\n", 12, got.data, got.length,
                     "a client sent \"half a line\", waited, then sent "
                     "'\\n': the whole line should come back");
      free(got.data);
    }
  }
  if (idle != NULL) async_stream_close(idle);
  if (other != NULL) async_stream_close(other);
  return 0;
}

static void test_idle_client_does_not_stall_another(void **state) {
  (void)state;
  run(idle_client);
}

#define TEST(name)                                                             \
  cmocka_unit_test_setup_teardown(name, reset_found, reset_found)

CHECK_MAIN(TEST(test_lines_echoed_verbatim), TEST(test_pipelined_lines),
           TEST(test_64k_line), TEST(test_long_line_closes_only_its_connection),
           TEST(test_long_line_is_logged), TEST(test_unterminated_last_line),
           TEST(test_100_clients_at_once),
           TEST(test_idle_client_does_not_stall_another))
