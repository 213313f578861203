/* test_chat.c: ex4-chat's cmocka checks of chat_server.c, with the room
 * served in this process on loopback and real clients talking to it.
 *
 * The server is the student's chat_handle_client behind async_server_start
 * on 127.0.0.1 port 0; the clients are runtime streams, raw sockets (for a
 * client that never reads) and real peers (nc, socat) run as child
 * processes. Nothing waits by sleeping:
 *
 * - A name gets no reply in the protocol, so chat_room_size() tells when
 *   the clients that said their names are in the room.
 * - Each connection's handler is wrapped, so that a test knows when it has
 *   returned (a client that left has been dealt with).
 * - Every read has a deadline (DEADLINE seconds, times TIMEOUT_SCALE) that
 *   only a broken server reaches; a check then fails with what was missing,
 *   not by the grader's timeout.
 *
 * Checks with several talking clients run in the runtime's check mode on
 * seeded random schedules (ASYNC_SCHEDULE=random), which shuffle the order
 * in which ready tasks run at every call that may block: an order that
 * holds only by luck shows up there. A failure prints the line that
 * replays it. Any check-mode finding (a loop hog, a deadlock) fails the
 * check too.
 *
 * Failures are recorded from inside tasks (the first one wins) and turned
 * into cmocka failures once async_run() has returned. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <async.h>

#include "chat_server.h"

/* Seconds a client waits for what a working server sends at once. */
#define DEADLINE 3.0
/* Seconds without a single line, in the flood, that count as a stall. */
#define STALL 3.0
#define PROMPT_LENGTH (sizeof CHAT_PROMPT - 1)

static double scaled(double seconds) {
  const char *scale = getenv("TIMEOUT_SCALE");
  double factor = scale ? atof(scale) : 1.0;
  return seconds * (factor > 0 ? factor : 1.0);
}

/* ---- The outcome of a run: the first failure, with its texts ---- */

static struct {
  bool failed;
  char message[1024];
  char *expected, *actual; /* malloc'd, for a text comparison */
} outcome;

static void outcome_reset(void) {
  free(outcome.expected);
  free(outcome.actual);
  memset(&outcome, 0, sizeof outcome);
}

static void failv(const char *format, va_list args) {
  if (outcome.failed) return;
  outcome.failed = true;
  vsnprintf(outcome.message, sizeof outcome.message, format, args);
}

/* Records a failure (if none was recorded yet) and returns UV_EPROTO, for
 * `return failure(...)` from a task. */
static int failure(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static int failure(const char *format, ...) {
  va_list args;
  va_start(args, format);
  failv(format, args);
  va_end(args);
  return UV_EPROTO;
}

/* The same, with the expected and actual texts, shown side by side. */
static int failure_text(const char *expected, const char *actual,
                        const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int failure_text(const char *expected, const char *actual,
                        const char *format, ...) {
  if (outcome.failed) return UV_EPROTO;
  va_list args;
  va_start(args, format);
  failv(format, args);
  va_end(args);
  outcome.expected = strdup(expected);
  outcome.actual = strdup(actual);
  return UV_EPROTO;
}

/* ---- The server under test ---- */

typedef struct room_server {
  async_server_t *server;
  chat_room_t *room;
  int port;
  int handlers_started;  /* connections whose handler has run */
  int handlers_returned; /* connections whose handler has returned */
  async_event_t handler_returned;
} room_server_t;

static room_server_t the_server;

/* The student's handler, and a note when it starts and returns. */
static int observed_handler(async_stream_t *stream, void *arg) {
  room_server_t *server = arg;
  server->handlers_started++;
  int rc = chat_handle_client(stream, server->room);
  server->handlers_returned++;
  async_event_set(&server->handler_returned);
  return rc;
}

static int server_open(size_t max_pending) {
  memset(&the_server, 0, sizeof the_server);
  async_event_init(&the_server.handler_returned);
  the_server.room = chat_room_new(max_pending);
  if (the_server.room == NULL)
    return failure("chat_room_new(%zu) returned NULL", max_pending);
  int rc = async_server_start(&the_server.server, "127.0.0.1", 0,
                              observed_handler, &the_server);
  if (rc != 0) {
    chat_room_free(the_server.room);
    return failure("could not start the server: %s", async_strerror(rc));
  }
  the_server.port = async_server_port(the_server.server);
  return 0;
}

/* Stops accepting, cancels the handlers still running, waits for them. */
static void server_close(void) {
  if (the_server.server == NULL) return;
  async_server_close(the_server.server, true);
  the_server.server = NULL;
  chat_room_free(the_server.room);
  the_server.room = NULL;
}

/* Waits until `count` handlers in all have returned. */
static int wait_handlers_returned(int count, const char *who) {
  double deadline = scaled(DEADLINE);
  while (the_server.handlers_returned < count) {
    async_event_clear(&the_server.handler_returned);
    async_timeout_t scope;
    async_timeout_enter(&scope, deadline);
    async_event_wait(&the_server.handler_returned);
    if (async_timeout_exit(&scope) == UV_ETIMEDOUT)
      return failure("%s, but chat_handle_client had not returned %g s later: "
                     "when readline says the client has gone (0 or an "
                     "error), leave the room and return",
                     who, deadline);
  }
  return 0;
}

/* Once the scenario's clients have all gone: every handler must return
 * and leave the room empty. Then the server is closed. Returns rc, or the
 * failure found. */
static int server_finish(int rc) {
  if (rc == 0)
    rc = wait_handlers_returned(the_server.handlers_started,
                                "every client has closed its connection");
  size_t size = the_server.room ? chat_room_size(the_server.room) : 0;
  if (rc == 0 && size != 0)
    rc = failure("every client has gone and every handler returned, but "
                 "chat_room_size() is %zu, not 0: a client that goes must "
                 "leave the room",
                 size);
  server_close();
  return rc;
}

/* Waits until the room holds `count` named clients. A name gets no reply,
 * so this asks the room; it yields (never sleeps) meanwhile. */
static int wait_room_size(size_t count, const char *what) {
  uint64_t deadline = uv_hrtime() + (uint64_t)(scaled(DEADLINE) * 1e9);
  size_t size;
  while ((size = chat_room_size(the_server.room)) != count) {
    if (uv_hrtime() > deadline)
      return failure("%s, chat_room_size() should be %zu, but it is still %zu "
                     "after %g s: a client joins the room once it has sent a "
                     "name that is not empty, and leaves it when it goes",
                     what, count, size, scaled(DEADLINE));
    int rc = async_yield();
    if (rc != 0) return rc; /* cancelled: another task failed */
  }
  return 0;
}

/* ---- Test clients: runtime streams ---- */

typedef struct client {
  char name[32];
  async_stream_t *stream;
} client_t;

/* Shows control characters in a message the way the grader shows text. */
static void visible(const char *text, size_t length, char *out, size_t size) {
  size_t used = 0;
  for (size_t i = 0; i < length && used + 5 < size; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n')
      used += (size_t)snprintf(out + used, size - used, "\\n");
    else if (c == '\r')
      used += (size_t)snprintf(out + used, size - used, "\\r");
    else if (c < 32 || c == 127)
      used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
    else
      out[used++] = (char)c;
  }
  out[used] = '\0';
}

static int client_connect(client_t *client, const char *name) {
  memset(client, 0, sizeof *client);
  snprintf(client->name, sizeof client->name, "%s", name);
  int rc = async_connect(&client->stream, "127.0.0.1", the_server.port);
  if (rc != 0)
    return failure("%s could not connect to the server: %s", name,
                   async_strerror(rc));
  return 0;
}

static void client_close(client_t *client) {
  if (client->stream != NULL) async_stream_close(client->stream);
  client->stream = NULL;
}

/* Reads exactly `size` bytes (or what came before the end, the deadline or
 * an error) into buffer; returns how many. */
static size_t read_bytes(client_t *client, char *buffer, size_t size,
                         int *error) {
  size_t got = 0;
  async_timeout_t scope;
  async_timeout_enter(&scope, scaled(DEADLINE));
  *error = 0;
  while (got < size) {
    ssize_t n = async_stream_read(client->stream, buffer + got, size - got);
    if (n <= 0) {
      *error = n == 0 ? UV_EOF : (int)n;
      break;
    }
    got += (size_t)n;
  }
  async_timeout_exit(&scope);
  buffer[got] = '\0';
  return got;
}

/* Why a read ended early, for a student. */
static const char *read_problem(int error) {
  static char text[64];
  switch (error) {
  case UV_EOF:
    return "the server closed the connection";
  case UV_ETIMEDOUT:
    snprintf(text, sizeof text, "nothing more came within %g s",
             scaled(DEADLINE));
    return text;
  default:
    return async_strerror(error);
  }
}

/* Reads the prompt and checks it byte for byte. `count` prompts in a row
 * are expected (an empty name brings another). */
static int expect_prompts(client_t *client, int count, const char *after) {
  char expected[PROMPT_LENGTH * 4 + 1] = "";
  for (int i = 0; i < count; i++) strcat(expected, CHAT_PROMPT);
  size_t length = strlen(expected);
  char got[sizeof expected];
  int error;
  size_t n = read_bytes(client, got, length, &error);
  if (n == length && memcmp(got, expected, length) == 0) return 0;
  if (n == 0 && count == 1 && error == UV_EOF)
    return failure_text(expected, got,
                        "%s connected%s and %s before sending anything: send "
                        "the prompt \"%s\" first (no newline)",
                        client->name, after, read_problem(error), CHAT_PROMPT);
  return failure_text(expected, got,
                      "%s connected%s and should have received %d prompt%s, "
                      "exactly \"%s\" (no newline); it got %zu bytes, then %s",
                      client->name, after, count, count == 1 ? "" : "s",
                      CHAT_PROMPT, n, read_problem(error));
}

static int client_send(client_t *client, const char *text) {
  int rc = async_stream_write(client->stream, text, strlen(text));
  if (rc == 0) rc = async_stream_drain(client->stream);
  if (rc != 0)
    return failure("%s could not send to the server: %s (did the server close "
                   "its connection?)",
                   client->name, async_strerror(rc));
  return 0;
}

/* Connects, reads the prompt, says its name with `line_end`. */
static int client_join(client_t *client, const char *name,
                       const char *line_end) {
  int rc = client_connect(client, name);
  if (rc == 0) rc = expect_prompts(client, 1, "");
  if (rc != 0) return rc;
  char line[64];
  snprintf(line, sizeof line, "%s%s", name, line_end);
  return client_send(client, line);
}

/* Reads one line ("\n" included), within the deadline. Returns its length,
 * or a negative error (UV_EOF at the end, UV_ETIMEDOUT). */
static ssize_t read_line(client_t *client, char *line, size_t size,
                         double seconds) {
  async_timeout_t scope;
  async_timeout_enter(&scope, seconds);
  ssize_t n = async_stream_readline(client->stream, line, size);
  if (async_timeout_exit(&scope) == UV_ETIMEDOUT) n = UV_ETIMEDOUT;
  if (n == 0) n = UV_EOF;
  return n;
}

/* Reads the next line and checks that it is exactly `expected`. `why`
 * says what should have produced it. */
static int expect_line(client_t *client, const char *expected,
                       const char *why) {
  char line[1024];
  ssize_t n = read_line(client, line, sizeof line, scaled(DEADLINE));
  if (n < 0)
    return failure_text(expected, "",
                        "%s: %s should then receive \"%.*s\\n\", but %s", why,
                        client->name, (int)strlen(expected) - 1, expected,
                        read_problem((int)n));
  if (strcmp(line, expected) != 0) {
    char shown[256];
    visible(line, strlen(line), shown, sizeof shown);
    return failure_text(
        expected, line,
        "%s: %s should then receive \"%.*s\\n\", but got \"%s\"", why,
        client->name, (int)strlen(expected) - 1, expected, shown);
  }
  return 0;
}

/* ---- Running a scenario, in check mode where asked ---- */

typedef int (*scenario_fn)(void *arg);

static char findings_path[4096];

static void set_check_mode(const char *schedule, unsigned seed) {
  char text[32];
  snprintf(text, sizeof text, "%u", seed);
  setenv("ASYNC_CHECK", "1", 1);
  setenv("ASYNC_SCHEDULE", schedule, 1);
  setenv("ASYNC_SEED", text, 1);
  /* The loop-hog watch measures real time: on a loaded machine a whole
   * second can pass between two awaits of a correct server, so it only
   * reports a task that keeps the loop for far longer than that. */
  char hog[32];
  snprintf(hog, sizeof hog, "%.0f", scaled(5.0) * 1000);
  setenv("ASYNC_HOG_MS", hog, 1);
  snprintf(findings_path, sizeof findings_path, "%s/findings-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  int fd = mkstemp(findings_path);
  if (fd >= 0) {
    close(fd);
    setenv("ASYNC_FINDINGS", findings_path, 1);
  } else {
    findings_path[0] = '\0';
  }
}

/* The first finding's kind, or NULL when check mode found nothing. */
static char *first_finding(void) {
  static char kind[64];
  if (findings_path[0] == '\0') return NULL;
  FILE *file = fopen(findings_path, "r");
  if (file == NULL) return NULL;
  char line[4096];
  char *found = NULL;
  if (fgets(line, sizeof line, file) != NULL) {
    char *start = strstr(line, "\"kind\"");
    if (start != NULL && (start = strchr(start + 6, '"')) != NULL) {
      snprintf(kind, sizeof kind, "%.*s", (int)strcspn(start + 1, "\""),
               start + 1);
      found = kind;
    }
  }
  fclose(file);
  return found;
}

/* Runs scenario(arg) on a fresh loop; then fails the cmocka test with the
 * recorded failure, if any. `replay`: the check-mode settings to print in
 * the replay line ("" for none). */
static void finish(const char *test, const char *replay) {
  char *kind = first_finding();
  if (findings_path[0] != '\0') unlink(findings_path);
  if (!outcome.failed && kind != NULL)
    failure("check mode reported a problem (%s; its report is in the output "
            "above)",
            kind);
  if (!outcome.failed) return;
  if (replay[0] != '\0')
    check_replay("%s build/grader/work/ex4/out/test_chat %s", replay, test);
  check_message("%s", outcome.message);
  if (outcome.expected != NULL)
    check_text_equal(outcome.expected, outcome.actual);
  fail_msg("%s", outcome.message);
}

static void run_scenario(const char *test, scenario_fn scenario, void *arg) {
  outcome_reset();
  findings_path[0] = '\0';
  int rc = async_run(scenario, arg);
  if (rc < 0 && rc != UV_EPROTO && !outcome.failed)
    failure("the test's run ended with %s", async_strerror(rc));
  finish(test, "");
}

/* Runs the scenario once per seed on random schedules, or once with the
 * settings of the environment when ASYNC_SEED is given (a replay). */
static void run_seeded(const char *test, scenario_fn scenario, void *arg,
                       const unsigned *seeds, size_t count) {
  const char *given = getenv("ASYNC_SEED");
  unsigned one = given ? (unsigned)strtoul(given, NULL, 10) : 0;
  const char *schedule = getenv("ASYNC_SCHEDULE");
  if (schedule == NULL || given == NULL) schedule = "random";
  if (given != NULL) {
    seeds = &one;
    count = 1;
  }
  for (size_t i = 0; i < count; i++) {
    outcome_reset();
    set_check_mode(schedule, seeds[i]);
    int rc = async_run(scenario, arg);
    if (rc < 0 && rc != UV_EPROTO && !outcome.failed)
      failure("the test's run ended with %s", async_strerror(rc));
    char replay[128];
    snprintf(replay, sizeof replay,
             "ASYNC_CHECK=1 ASYNC_SCHEDULE=%s ASYNC_SEED=%u", schedule,
             seeds[i]);
    finish(test, replay);
  }
  unsetenv("ASYNC_CHECK");
  unsetenv("ASYNC_SCHEDULE");
  unsetenv("ASYNC_SEED");
  unsetenv("ASYNC_FINDINGS");
  unsetenv("ASYNC_HOG_MS");
}

/* ---- The prompt ---- */

static int prompt_scenario(void *arg) {
  (void)arg;
  client_t alice = {0}, bob = {0};
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc == 0) rc = client_connect(&alice, "alice");
  if (rc == 0) rc = expect_prompts(&alice, 1, "");
  if (rc == 0) rc = client_send(&alice, "alice\n");
  if (rc == 0) rc = wait_room_size(1, "once alice has sent her name");
  if (rc == 0) rc = client_join(&bob, "bob", "\n");
  if (rc == 0) rc = wait_room_size(2, "once bob has sent his name too");
  if (rc == 0) rc = client_send(&bob, "hello\n");
  /* Nothing may come between the prompt and the first message: no "\n"
   * after the prompt, no welcome. */
  if (rc == 0)
    rc = expect_line(&alice, "bob: hello\n",
                     "after her prompt and her name, bob said \"hello\"");
  client_close(&alice);
  client_close(&bob);
  return server_finish(rc);
}

static void test_prompt_is_exact(void **state) {
  (void)state;
  run_scenario("test_prompt_is_exact", prompt_scenario, NULL);
}

/* ---- Names ---- */

static int names_scenario(void *arg) {
  (void)arg;
  client_t ada = {0}, grace = {0};
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc == 0) rc = client_join(&ada, "Ada Lovelace", "\n");
  if (rc == 0) rc = wait_room_size(1, "once Ada Lovelace has sent her name");
  if (rc == 0) rc = client_join(&grace, "grace", "\n");
  if (rc == 0) rc = wait_room_size(2, "once grace has sent her name");
  if (rc == 0) rc = client_send(&grace, "hello, Ada\n");
  if (rc == 0)
    rc = expect_line(&ada, "grace: hello, Ada\n", "grace said \"hello, Ada\"");
  if (rc == 0) rc = client_send(&ada, "hi grace: how are you?\n");
  if (rc == 0)
    rc = expect_line(&grace, "Ada Lovelace: hi grace: how are you?\n",
                     "Ada Lovelace said \"hi grace: how are you?\"");
  client_close(&ada);
  client_close(&grace);
  return server_finish(rc);
}

static void test_lines_carry_the_sender_name(void **state) {
  (void)state;
  run_scenario("test_lines_carry_the_sender_name", names_scenario, NULL);
}

/* ---- Never back to the sender ---- */

static int sender_scenario(void *arg) {
  (void)arg;
  client_t alice = {0}, bob = {0};
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc == 0) rc = client_join(&alice, "alice", "\n");
  if (rc == 0) rc = wait_room_size(1, "once alice has sent her name");
  if (rc == 0) rc = client_join(&bob, "bob", "\n");
  if (rc == 0) rc = wait_room_size(2, "once bob has sent his name");
  if (rc == 0) rc = client_send(&alice, "one\ntwo\n");
  if (rc == 0) rc = expect_line(&bob, "alice: one\n", "alice said \"one\"");
  if (rc == 0) rc = expect_line(&bob, "alice: two\n", "alice said \"two\"");
  if (rc == 0) rc = client_send(&bob, "over\n");
  /* Had alice's lines come back to her, they would be here first. */
  if (rc == 0)
    rc = expect_line(&alice, "bob: over\n",
                     "alice said \"one\" and \"two\" (which must not come "
                     "back to her), then bob said \"over\"");
  client_close(&alice);
  client_close(&bob);
  return server_finish(rc);
}

static void test_never_back_to_the_sender(void **state) {
  (void)state;
  run_scenario("test_never_back_to_the_sender", sender_scenario, NULL);
}

/* ---- Many clients talking at once: everyone else, in order ---- */

typedef struct crowd {
  int clients; /* how many */
  int lines;   /* each sends */
  client_t *members;
  async_event_t go;
} crowd_t;

typedef struct member {
  crowd_t *crowd;
  int index;
} member_t;

/* Checks a line a member received: from another member, the next line of
 * that member's. next[] holds, per sender, the line expected next. */
static int check_crowd_line(crowd_t *crowd, int me, const char *line,
                            int *next) {
  char shown[256];
  visible(line, strlen(line), shown, sizeof shown);
  int sender, number, used = 0;
  if (sscanf(line, "m%d: line %d from m%*d\n%n", &sender, &number, &used) !=
          2 ||
      sender < 0 || sender >= crowd->clients) {
    char expected[64];
    snprintf(expected, sizeof expected, "mN: line K from mN\n");
    return failure_text(expected, line,
                        "m%d received \"%s\", which is not \"NAME: LINE\" as "
                        "another member sent it",
                        me, shown);
  }
  if (sender == me)
    return failure("m%d received its own line back (\"%s\"): a line goes to "
                   "every other client, never to the one that sent it",
                   me, shown);
  if (number != next[sender]) {
    char expected[96];
    snprintf(expected, sizeof expected, "m%d: line %d from m%d\n", sender,
             next[sender], sender);
    return failure_text(expected, line,
                        "m%d received m%d's line %d when line %d of m%d's was "
                        "due: each client's lines must reach the others in the "
                        "order it sent them, none lost",
                        me, sender, number, next[sender], sender);
  }
  next[sender]++;
  return 0;
}

static int member_task(void *arg) {
  member_t *member = arg;
  crowd_t *crowd = member->crowd;
  client_t *me = &crowd->members[member->index];
  char name[16];
  snprintf(name, sizeof name, "m%d", member->index);
  int rc = client_join(me, name, "\n");
  if (rc != 0) return rc;
  rc = async_event_wait(&crowd->go); /* everyone is in the room */
  if (rc != 0) return rc;

  /* Lines go out one by one, with the other members' in between. */
  for (int k = 0; k < crowd->lines; k++) {
    char line[64];
    snprintf(line, sizeof line, "line %d from %s\n", k, name);
    if ((rc = client_send(me, line)) != 0) return rc;
    async_yield();
  }

  int *next = calloc((size_t)crowd->clients, sizeof *next);
  if (next == NULL) return UV_ENOMEM;
  int expected = (crowd->clients - 1) * crowd->lines;
  for (int got = 0; got < expected && rc == 0; got++) {
    char line[256];
    ssize_t n = read_line(me, line, sizeof line, scaled(DEADLINE));
    if (n < 0)
      rc = failure("m%d received %d of the %d lines the other %d members sent, "
                   "then %s",
                   member->index, got, expected, crowd->clients - 1,
                   read_problem((int)n));
    else
      rc = check_crowd_line(crowd, member->index, line, next);
  }
  free(next);
  return rc;
}

static int crowd_scenario(void *arg) {
  crowd_t *crowd = arg;
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc != 0) return rc;
  crowd->members = calloc((size_t)crowd->clients, sizeof *crowd->members);
  member_t *members = calloc((size_t)crowd->clients, sizeof *members);
  async_task_t **tasks = calloc((size_t)crowd->clients, sizeof *tasks);
  if (crowd->members == NULL || members == NULL || tasks == NULL) abort();
  async_event_init(&crowd->go);
  /* A group: the first member to fail cancels the others (and this body,
   * until it waits), so that a failure is reported at once. */
  async_group_t group;
  async_group_init(&group);
  for (int i = 0; i < crowd->clients; i++) {
    members[i] = (member_t){crowd, i};
    tasks[i] = async_group_spawn(&group, "member", member_task, &members[i]);
  }
  char what[64];
  snprintf(what, sizeof what, "once all %d clients have sent their names",
           crowd->clients);
  rc = wait_room_size((size_t)crowd->clients, what);
  if (rc == 0) async_event_set(&crowd->go);
  if (rc != 0)
    for (int i = 0; i < crowd->clients; i++) async_task_cancel(tasks[i]);
  int result = async_group_wait(&group);
  if (rc == 0) rc = result;
  for (int i = 0; i < crowd->clients; i++) client_close(&crowd->members[i]);
  free(crowd->members);
  free(members);
  free(tasks);
  return server_finish(rc);
}

static void test_three_clients_each_line_to_every_other_in_order(void **state) {
  (void)state;
  crowd_t crowd = {.clients = 3, .lines = 40};
  static const unsigned seeds[] = {1, 2, 3, 4, 5};
  run_seeded("test_three_clients_each_line_to_every_other_in_order",
             crowd_scenario, &crowd, seeds, 5);
}

static void test_hundred_clients(void **state) {
  (void)state;
  crowd_t crowd = {.clients = 100, .lines = 3};
  static const unsigned seeds[] = {1};
  run_seeded("test_hundred_clients", crowd_scenario, &crowd, seeds, 1);
}

/* ---- A client leaving mid-stream ---- */

typedef struct leaving {
  client_t alice, bob, carol, dave;
  int lines; /* alice sends this many before carol leaves, and again after */
} leaving_t;

/* Bob reads all of alice's lines while carol leaves. */
static int bob_listens(void *arg) {
  leaving_t *leaving = arg;
  for (int k = 0; k < 2 * leaving->lines; k++) {
    char expected[64];
    snprintf(expected, sizeof expected, "alice: line %d\n", k);
    int rc =
        expect_line(&leaving->bob, expected,
                    k < leaving->lines ? "alice kept talking"
                                       : "alice kept talking after carol left");
    if (rc != 0) return rc;
  }
  return 0;
}

static int alice_talks(leaving_t *leaving, int from, int to) {
  for (int k = from; k < to; k++) {
    char line[64];
    snprintf(line, sizeof line, "line %d\n", k);
    int rc = client_send(&leaving->alice, line);
    if (rc != 0) return rc;
  }
  return 0;
}

static int leaving_scenario(void *arg) {
  leaving_t *leaving = arg;
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc != 0) return rc;
  if (rc == 0) rc = client_join(&leaving->alice, "alice", "\n");
  if (rc == 0) rc = client_join(&leaving->bob, "bob", "\n");
  if (rc == 0) rc = client_join(&leaving->carol, "carol", "\n");
  if (rc == 0) rc = wait_room_size(3, "once alice, bob and carol are named");
  async_task_t *bob = NULL;
  if (rc == 0) bob = async_spawn("bob", bob_listens, leaving);

  /* Carol reads a few lines, then goes with lines still coming to her:
   * abort closes at once, with unread data, so the server gets a reset. */
  if (rc == 0) rc = alice_talks(leaving, 0, leaving->lines);
  for (int k = 0; rc == 0 && k < 3; k++) {
    char expected[64];
    snprintf(expected, sizeof expected, "alice: line %d\n", k);
    rc = expect_line(&leaving->carol, expected, "alice started talking");
  }
  if (rc == 0) {
    async_stream_abort(leaving->carol.stream);
    leaving->carol.stream = NULL;
  }
  /* One more leaves before it even says a name. */
  client_t erin = {0};
  if (rc == 0) rc = client_connect(&erin, "erin");
  if (rc == 0) rc = expect_prompts(&erin, 1, "");
  client_close(&erin);

  if (rc == 0)
    rc = wait_handlers_returned(2, "carol left in the middle of alice's "
                                   "lines and erin left before naming "
                                   "herself");
  size_t size = the_server.room ? chat_room_size(the_server.room) : 0;
  if (rc == 0 && size != 2)
    rc = failure("carol left and her handler returned, but chat_room_size() is "
                 "%zu, not 2: take a client out of the room when it goes (and "
                 "only clients that said a name are in it), or the next "
                 "broadcast writes to a stream that no longer exists",
                 size);
  /* And alice goes on talking. */
  if (rc == 0) rc = alice_talks(leaving, leaving->lines, 2 * leaving->lines);
  if (bob != NULL) {
    int result = rc == 0 ? async_task_join(bob) : 0;
    if (rc != 0) {
      async_task_cancel(bob);
      async_task_join(bob);
    }
    if (rc == 0) rc = result;
    async_task_release(bob);
  }

  /* The room goes on: a newcomer hears what is said from now on. */
  if (rc == 0) rc = client_join(&leaving->dave, "dave", "\n");
  if (rc == 0) rc = wait_room_size(3, "once dave joined after carol left");
  if (rc == 0) rc = client_send(&leaving->alice, "welcome, dave\n");
  if (rc == 0)
    rc = expect_line(&leaving->dave, "alice: welcome, dave\n",
                     "dave joined after carol left, and alice said "
                     "\"welcome, dave\"");
  if (rc == 0)
    rc = expect_line(&leaving->bob, "alice: welcome, dave\n",
                     "dave joined after carol left, and alice said "
                     "\"welcome, dave\"");
  client_close(&leaving->alice);
  client_close(&leaving->bob);
  client_close(&leaving->dave);
  return server_finish(rc);
}

static void test_client_leaving_mid_stream(void **state) {
  (void)state;
  static leaving_t leaving;
  memset(&leaving, 0, sizeof leaving);
  leaving.lines = 300;
  static const unsigned seeds[] = {1, 2};
  run_seeded("test_client_leaving_mid_stream", leaving_scenario, &leaving,
             seeds, 2);
}

/* ---- Empty names ---- */

static int empty_names_scenario(void *arg) {
  (void)arg;
  client_t bob = {0}, alice = {0};
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc == 0) rc = client_join(&bob, "bob", "\n");
  if (rc == 0) rc = wait_room_size(1, "once bob has sent his name");
  if (rc == 0) rc = client_connect(&alice, "alice");
  if (rc == 0) rc = expect_prompts(&alice, 1, "");
  /* Two empty lines (one telnet-style) before the name, and a line after:
   * all at once, as a client may type ahead. */
  if (rc == 0) rc = client_send(&alice, "\n\r\nalice\nhello\n");
  if (rc == 0)
    rc = expect_line(&bob, "alice: hello\n",
                     "alice sent an empty line, another (\"\\r\\n\"), then "
                     "\"alice\" as her name and \"hello\"; empty lines are "
                     "not names");
  if (rc == 0)
    rc = expect_prompts(&alice, 2,
                        ", sent two empty lines (each must bring the prompt "
                        "again)");
  if (rc == 0) rc = wait_room_size(2, "once alice has sent her name");
  client_close(&alice);
  client_close(&bob);
  return server_finish(rc);
}

static void test_empty_names_are_asked_again(void **state) {
  (void)state;
  run_scenario("test_empty_names_are_asked_again", empty_names_scenario, NULL);
}

/* ---- CRLF (telnet-style) clients ---- */

static int crlf_scenario(void *arg) {
  (void)arg;
  client_t alice = {0}, bob = {0}, carol = {0};
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc == 0) rc = client_join(&alice, "alice", "\r\n");
  if (rc == 0) rc = client_join(&bob, "bob", "\r\n");
  if (rc == 0) rc = client_join(&carol, "carol", "\n");
  if (rc == 0) rc = wait_room_size(3, "once alice, bob and carol are named");
  if (rc == 0) rc = client_send(&bob, "hi all\r\n");
  if (rc == 0)
    rc = expect_line(&alice, "bob: hi all\n",
                     "bob, a telnet-style client, named himself \"bob\\r\\n\" "
                     "and sent \"hi all\\r\\n\"; strip the \"\\r\" from "
                     "names and lines");
  if (rc == 0)
    rc = expect_line(&carol, "bob: hi all\n",
                     "bob, a telnet-style client, named himself \"bob\\r\\n\" "
                     "and sent \"hi all\\r\\n\"; strip the \"\\r\" from "
                     "names and lines");
  if (rc == 0) rc = client_send(&carol, "hey\n");
  if (rc == 0)
    rc = expect_line(&alice, "carol: hey\n", "carol sent \"hey\\n\"");
  if (rc == 0) rc = client_send(&alice, "bye\r\n");
  if (rc == 0)
    rc = expect_line(&carol, "alice: bye\n",
                     "alice, a telnet-style client, sent \"bye\\r\\n\"");
  client_close(&alice);
  client_close(&bob);
  client_close(&carol);
  return server_finish(rc);
}

static void test_crlf_clients(void **state) {
  (void)state;
  run_scenario("test_crlf_clients", crlf_scenario, NULL);
}

/* ---- A client that never reads ---- */

#define FLOOD_LINE 1000 /* bytes of text per line */

/* How many lines the flood has: twice what the kernel may hold towards the
 * non-reader (the server socket's send buffer grows up to tcp_wmem's
 * maximum, 4 MiB by default on Linux; the non-reader's receive window is
 * small) plus the room's bound, so that a server that drops it past the
 * bound has done so long before the flood ends. */
static int flood_lines(void) {
  long send_buffer_max = 4L << 20;
  FILE *file = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
  if (file != NULL) {
    long low, initial, high;
    if (fscanf(file, "%ld %ld %ld", &low, &initial, &high) == 3 &&
        high > send_buffer_max)
      send_buffer_max = high;
    fclose(file);
  }
  if (send_buffer_max > 64L << 20) send_buffer_max = 64L << 20;
  long bytes = 2 * (send_buffer_max + (256L << 10) + CHAT_MAX_PENDING);
  return (int)(bytes / (FLOOD_LINE + 1));
}

typedef struct flood {
  client_t reader, flooder;
  int silent;            /* the raw socket that never reads */
  size_t sent_to_silent; /* bytes a server that never dropped it would send */
  int lines;             /* in the flood */
} flood_t;

static void flood_line(int k, char *line) {
  int used = snprintf(line, FLOOD_LINE + 2, "%06d ", k);
  for (int i = used; i < FLOOD_LINE; i++) line[i] = (char)('a' + (k + i) % 26);
  line[FLOOD_LINE] = '\n';
  line[FLOOD_LINE + 1] = '\0';
}

static int flooder_task(void *arg) {
  flood_t *flood = arg;
  static char line[FLOOD_LINE + 2];
  for (int k = 0; k < flood->lines; k++) {
    flood_line(k, line);
    int rc = async_stream_write(flood->flooder.stream, line, FLOOD_LINE + 1);
    /* Back-pressure from the server, a line at a time. */
    if (rc == 0) rc = async_stream_drain(flood->flooder.stream);
    if (rc != 0)
      return failure("flooder could not send line %d: %s", k,
                     async_strerror(rc));
  }
  return 0;
}

static int reader_task(void *arg) {
  flood_t *flood = arg;
  static char expected[FLOOD_LINE + 16], line[FLOOD_LINE + 64];
  for (int k = 0; k < flood->lines; k++) {
    snprintf(expected, sizeof expected, "flooder: ");
    flood_line(k, expected + 9);
    ssize_t n = read_line(&flood->reader, line, sizeof line, scaled(STALL));
    if (n == UV_ETIMEDOUT && k == 0)
      return failure("the reader received none of the flooder's lines within "
                     "%g s: does the broadcast write each line to every "
                     "other client?",
                     scaled(STALL));
    if (n == UV_ETIMEDOUT) {
      printf("The tasks when the reader stalled (the server's handlers are "
             "named after their clients' addresses):\n");
      async_dump_tasks(stdout);
      return failure("the reader received %d of the flooder's %d lines, then "
                     "nothing for %g s, while another client did not read: "
                     "the room stalled behind it. Never await a recipient "
                     "(drain) in the broadcast: queue the line and move on",
                     k, flood->lines, scaled(STALL));
    }
    if (n < 0)
      return failure("the reader received %d of the flooder's %d lines, then "
                     "%s; only the client that does not read may be dropped",
                     k, flood->lines, read_problem((int)n));
    if (strcmp(line, expected) != 0)
      return failure_text(expected, line,
                          "line %d of the flooder's reached the reader wrong: "
                          "lines must arrive whole, in order, none lost",
                          k);
  }
  return 0;
}

/* On the thread pool: reads the non-reader's socket at last. 0 once the
 * server has closed it (end or reset), 1 if everything a server that kept
 * it would have sent came, ETIMEDOUT if neither. */
static int read_silent(void *arg) {
  flood_t *flood = arg;
  struct timeval wait = {(time_t)scaled(DEADLINE), 0};
  setsockopt(flood->silent, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  static char buffer[65536];
  size_t total = 0;
  for (;;) {
    ssize_t n = read(flood->silent, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    total += (size_t)n;
    if (total >= flood->sent_to_silent) return 1;
  }
}

static int silent_connect(flood_t *flood) {
  flood->silent = socket(AF_INET, SOCK_STREAM, 0);
  if (flood->silent < 0) return failure("socket: %s", strerror(errno));
  /* A small window, set before connecting, so the kernel holds little. */
  int small = 4096;
  setsockopt(flood->silent, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in address;
  uv_ip4_addr("127.0.0.1", the_server.port, &address);
  if (connect(flood->silent, (struct sockaddr *)&address, sizeof address) != 0)
    return failure("the non-reader could not connect: %s", strerror(errno));
  /* Its name, and never a read: the prompt stays unread too. */
  if (write(flood->silent, "silent\n", 7) != 7)
    return failure("the non-reader could not send its name");
  return 0;
}

static int flood_scenario(void *arg) {
  flood_t *flood = arg;
  flood->silent = -1;
  flood->lines = flood_lines();
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc != 0) return rc;
  if (rc == 0) rc = silent_connect(flood);
  if (rc == 0) rc = client_join(&flood->reader, "reader", "\n");
  if (rc == 0) rc = client_join(&flood->flooder, "flooder", "\n");
  if (rc == 0)
    rc = wait_room_size(3, "once the non-reader, the reader and the flooder "
                           "have sent their names");
  flood->sent_to_silent =
      PROMPT_LENGTH +
      (size_t)flood->lines * (strlen("flooder: ") + FLOOD_LINE + 1);
  if (rc == 0) {
    /* A group: if the reader fails, the flooder (perhaps stuck behind a
     * stalled server) is cancelled. */
    async_group_t group;
    async_group_init(&group);
    async_group_spawn(&group, "reader", reader_task, flood);
    async_group_spawn(&group, "flooder", flooder_task, flood);
    rc = async_group_wait(&group);
  }
  if (rc == 0) {
    rc = async_to_thread(read_silent, flood);
    if (rc == 1)
      rc = failure("the client that never reads was sent all %zu bytes of the "
                   "flood, far more than CHAT_MAX_PENDING (%d) beyond what the "
                   "system buffers: disconnect a client once "
                   "async_stream_write_buffer_size() passes the room's bound",
                   flood->sent_to_silent, CHAT_MAX_PENDING);
    else if (rc == UV_EAGAIN || rc == UV_ETIMEDOUT)
      rc = failure("the client that never reads was still connected %g s after "
                   "the flood: disconnect a client once "
                   "async_stream_write_buffer_size() passes the room's bound "
                   "(async_stream_abort drops what is queued)",
                   scaled(DEADLINE));
    else if (rc < 0)
      rc = failure("reading the non-reader's socket failed: %s",
                   async_strerror(rc));
  }
  if (rc == 0)
    rc = wait_handlers_returned(1, "the non-reader was disconnected");
  if (rc == 0 && chat_room_size(the_server.room) != 2)
    rc = failure("the non-reader was disconnected, but chat_room_size() is "
                 "%zu, not 2: take a dropped client out of the room",
                 chat_room_size(the_server.room));
  /* The two others are still in the room, and still talk. */
  if (rc == 0) rc = client_send(&flood->reader, "still here\n");
  if (rc == 0)
    rc = expect_line(&flood->flooder, "reader: still here\n",
                     "after the flood, the reader said \"still here\"");
  if (flood->silent >= 0) close(flood->silent);
  client_close(&flood->reader);
  client_close(&flood->flooder);
  return server_finish(rc);
}

static void test_client_that_never_reads_is_dropped(void **state) {
  (void)state;
  static flood_t flood;
  memset(&flood, 0, sizeof flood);
  run_scenario("test_client_that_never_reads_is_dropped", flood_scenario,
               &flood);
}

/* ---- Real peers: nc and socat as clients ---- */

typedef struct peer {
  const char *name;
  async_process_t *process;
  client_t output; /* its stdout, read as a client's stream */
} peer_t;

static bool on_path(const char *program) {
  const char *path = getenv("PATH");
  if (path == NULL) return false;
  char *copy = strdup(path), *save = NULL;
  bool found = false;
  for (char *dir = strtok_r(copy, ":", &save); dir && !found;
       dir = strtok_r(NULL, ":", &save)) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", dir, program);
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

static int peer_start(peer_t *peer, const char *name, const char *const *argv) {
  memset(peer, 0, sizeof *peer);
  peer->name = name;
  async_process_options_t options = {.argv = argv,
                                     .stdin_mode = ASYNC_STDIO_PIPE,
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  int rc = async_process_spawn(&peer->process, &options);
  if (rc != 0)
    return failure("could not start %s: %s", argv[0], async_strerror(rc));
  snprintf(peer->output.name, sizeof peer->output.name, "%s (%s)", name,
           argv[0]);
  peer->output.stream = async_process_stdout(peer->process);
  return 0;
}

/* Types a line into the peer (it sends it on with its own line end). */
static int peer_type(peer_t *peer, const char *line) {
  int rc = async_stream_write(async_process_stdin(peer->process), line,
                              strlen(line));
  if (rc != 0)
    return failure("could not type into %s: %s (did it exit?)",
                   peer->output.name, async_strerror(rc));
  return 0;
}

static void peer_stop(peer_t *peer) {
  if (peer->process == NULL) return;
  async_process_kill(peer->process);
  async_process_wait(peer->process);
  async_process_release(peer->process);
  peer->process = NULL;
}

static int peers_scenario(void *arg) {
  (void)arg;
  int rc = server_open(CHAT_MAX_PENDING);
  if (rc != 0) return rc;
  char port[16];
  snprintf(port, sizeof port, "%d", the_server.port);
  char address[64];
  snprintf(address, sizeof address, "TCP:127.0.0.1:%d", the_server.port);
  /* nc -C sends "\r\n" line ends, as telnet does. */
  const char *nc[] = {"nc", "-C", "127.0.0.1", port, NULL};
  const char *socat[] = {"socat", "-", address, NULL};
  peer_t alice, bob;
  client_t carol = {0};
  memset(&alice, 0, sizeof alice);
  memset(&bob, 0, sizeof bob);

  /* socat first: it ends when the server hangs up, so a server that does
   * fails at once (nc would wait for more input). */
  if (rc == 0) rc = peer_start(&bob, "bob", socat);
  if (rc == 0) rc = expect_prompts(&bob.output, 1, "");
  if (rc == 0) rc = peer_type(&bob, "bob\n");
  if (rc == 0) rc = wait_room_size(1, "once bob (socat) typed his name");
  if (rc == 0) rc = peer_start(&alice, "alice", nc);
  if (rc == 0) rc = expect_prompts(&alice.output, 1, "");
  if (rc == 0) rc = peer_type(&alice, "alice\n");
  if (rc == 0) rc = wait_room_size(2, "once alice (nc -C) typed her name");
  if (rc == 0) rc = client_join(&carol, "carol", "\n");
  if (rc == 0) rc = wait_room_size(3, "once carol is named too");

  if (rc == 0) rc = peer_type(&alice, "hi from nc\n");
  if (rc == 0)
    rc = expect_line(&bob.output, "alice: hi from nc\n",
                     "alice (nc -C, so \"\\r\\n\") typed \"hi from nc\"");
  if (rc == 0)
    rc = expect_line(&carol, "alice: hi from nc\n",
                     "alice (nc -C, so \"\\r\\n\") typed \"hi from nc\"");
  if (rc == 0) rc = peer_type(&bob, "hi from socat\n");
  if (rc == 0)
    rc = expect_line(&alice.output, "bob: hi from socat\n",
                     "bob (socat) typed \"hi from socat\"");
  if (rc == 0)
    rc = expect_line(&carol, "bob: hi from socat\n",
                     "bob (socat) typed \"hi from socat\"");
  if (rc == 0) rc = client_send(&carol, "hi both\n");
  if (rc == 0)
    rc = expect_line(&alice.output, "carol: hi both\n",
                     "carol said \"hi both\"");
  if (rc == 0)
    rc = expect_line(&bob.output, "carol: hi both\n", "carol said \"hi both\"");
  client_close(&carol);
  peer_stop(&alice);
  peer_stop(&bob);
  return server_finish(rc);
}

static void test_real_peers_nc_and_socat(void **state) {
  (void)state;
  if (!on_path("nc") || !on_path("socat")) {
    printf("skipped: this check needs nc (netcat-openbsd) and socat "
           "installed\n");
    skip();
  }
  run_scenario("test_real_peers_nc_and_socat", peers_scenario, NULL);
}

CHECK_MAIN(
    cmocka_unit_test(test_prompt_is_exact),
    cmocka_unit_test(test_lines_carry_the_sender_name),
    cmocka_unit_test(test_never_back_to_the_sender),
    cmocka_unit_test(test_three_clients_each_line_to_every_other_in_order),
    cmocka_unit_test(test_hundred_clients),
    cmocka_unit_test(test_client_leaving_mid_stream),
    cmocka_unit_test(test_empty_names_are_asked_again),
    cmocka_unit_test(test_crlf_clients),
    cmocka_unit_test(test_client_that_never_reads_is_dropped),
    cmocka_unit_test(test_real_peers_nc_and_socat))
