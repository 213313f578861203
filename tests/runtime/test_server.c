/* test_server.c: async_server_* and async_connect, the runtime's
 * start_server and open_connection, on real loopback sockets (port 0).
 *
 * What the tasks saw goes into log_text or a struct; the assertions come
 * after harness_run. Interleavings come from events and spawn order; where
 * a test needs a task to be spawned but not yet run, it relies on the
 * ready queue's FIFO order, which the scheduler guarantees.
 */
#include "harness.h"
#include "log.h"
#include "net.h"
#include "tools.h"

/* ---- Handlers ---- */

static int echo_handler(async_stream_t *stream, void *arg) {
  (void)arg;
  char line[256];
  ssize_t n;
  while ((n = async_stream_readline(stream, line, sizeof line)) > 0) {
    async_stream_write(stream, line, (size_t)n);
    int rc = async_stream_drain(stream);
    if (rc != 0) return rc;
  }
  return (int)n;
}

/* Sends `line` and checks that it comes back; returns 0 or an error. */
static int echo_once(async_stream_t *client, const char *line) {
  async_stream_write(client, line, strlen(line));
  char reply[256];
  ssize_t n = async_stream_readline(client, reply, sizeof reply);
  if (n < 0) return (int)n;
  return strcmp(reply, line) == 0 ? 0 : UV_EPROTO;
}

/* ---- Naming and addresses ---- */

typedef struct naming {
  char task_name[64], peername[64], client_sockname[64];
  char address[64];
  int port;
  async_event_t handled;
} naming_t;

static int naming_handler(async_stream_t *stream, void *arg) {
  naming_t *n = arg;
  snprintf(n->task_name, sizeof n->task_name, "%s",
           async_task_name(async_current_task()));
  snprintf(n->peername, sizeof n->peername, "%s",
           async_stream_peername(stream));
  async_event_set(&n->handled);
  return 0;
}

static int naming(void *arg) {
  naming_t *n = arg;
  async_event_init(&n->handled);
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, naming_handler, n);
  if (rc != 0) return rc;
  n->port = async_server_port(server);
  snprintf(n->address, sizeof n->address, "%s", async_server_address(server));
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", n->port);
  if (rc != 0) return rc;
  snprintf(n->client_sockname, sizeof n->client_sockname, "%s",
           async_stream_sockname(client));
  async_event_wait(&n->handled);
  async_stream_close(client);
  return async_server_close(server, false);
}

static void
test_each_connection_runs_in_a_task_named_after_the_peer(void **state) {
  (void)state;
  naming_t n;
  assert_int_equal(harness_run(naming, &n), 0);
  assert_string_equal(n.task_name, n.client_sockname);
  assert_string_equal(n.peername, n.client_sockname);
}

static void
test_port_0_binds_a_free_port_and_the_address_reports_it(void **state) {
  (void)state;
  naming_t n;
  assert_int_equal(harness_run(naming, &n), 0);
  assert_true(n.port > 0 && n.port < 65536);
  char expected[64];
  snprintf(expected, sizeof expected, "127.0.0.1:%d", n.port);
  assert_string_equal(n.address, expected);
}

/* ---- Many clients ---- */

enum { CLIENTS = 100 };

typedef struct crowd {
  async_server_t *server;
  int active, peak, served;
  async_event_t all_in;
} crowd_t;

static int crowd_handler(async_stream_t *stream, void *arg) {
  crowd_t *c = arg;
  if (++c->active > c->peak) c->peak = c->active;
  if (c->active == CLIENTS) async_event_set(&c->all_in);
  /* Every handler waits for all the others to be running: only a server
   * that runs them at once gets past this (a bounded wait, so that a
   * wrong one fails instead of hanging). */
  async_timeout_t scope;
  async_timeout_enter(&scope, 5.0);
  int rc = async_event_wait(&c->all_in);
  async_timeout_exit(&scope);
  if (rc == 0) rc = echo_handler(stream, NULL);
  c->active--;
  if (rc == 0) c->served++;
  return rc;
}

static int crowd_client(void *arg) {
  crowd_t *c = arg;
  async_stream_t *client;
  int rc = async_connect(&client, "127.0.0.1", async_server_port(c->server));
  if (rc != 0) return rc;
  char line[64];
  snprintf(line, sizeof line, "I am %s\n",
           async_task_name(async_current_task()));
  rc = echo_once(client, line);
  int closed = async_stream_close(client);
  return rc != 0 ? rc : closed;
}

static int crowd(void *arg) {
  crowd_t *c = arg;
  async_event_init(&c->all_in);
  int rc = async_server_start(&c->server, "127.0.0.1", 0, crowd_handler, c);
  if (rc != 0) return rc;
  async_task_t *clients[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    char name[16];
    snprintf(name, sizeof name, "client-%d", i);
    clients[i] = async_spawn(name, crowd_client, c);
  }
  int results[CLIENTS];
  rc = async_gather(clients, CLIENTS, results, ASYNC_RETURN_ERRORS);
  for (int i = 0; i < CLIENTS; i++) {
    if (rc == 0 && results[i] != 0) rc = results[i];
    async_task_release(clients[i]);
  }
  int closed = async_server_close(c->server, false);
  return rc != 0 ? rc : closed;
}

static void test_a_hundred_clients_are_served_at_once(void **state) {
  (void)state;
  crowd_t c = {0};
  assert_int_equal(harness_run(crowd, &c), 0);
  assert_int_equal(c.peak, CLIENTS);
  assert_int_equal(c.served, CLIENTS);
}

/* ---- Closing a server ---- */

static int logging_handler(async_stream_t *stream, void *arg) {
  (void)arg;
  char line[64];
  ssize_t n = async_stream_readline(stream, line, sizeof line);
  if (n > 0) line[n - 1] = '\0';
  log_add("handler:%s", n > 0 ? line : async_err_name((int)n));
  return n < 0 ? (int)n : 0;
}

typedef struct closer {
  async_server_t *server;
  bool cancel;
  bool started;
} closer_t;

static int close_server(void *arg) {
  closer_t *c = arg;
  c->started = true;
  log_add("closing");
  int rc = async_server_close(c->server, c->cancel);
  log_add("closed:%d", rc);
  return rc;
}

/* A handler blocked in readline while another task closes the server;
 * main then sends the line. */
static int close_while_handling(void *arg) {
  closer_t *c = arg;
  int rc =
      async_server_start(&c->server, "127.0.0.1", 0, logging_handler, NULL);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(c->server));
  if (rc != 0) return rc;
  async_task_t *task = async_spawn("closer", close_server, c);
  yield_until(&c->started, 100);
  for (int i = 0; i < 1000 && !async_task_done(task); i++) async_yield();
  log_add("sending");
  /* Unless the handler has gone already (cancelled). */
  if (!async_task_done(task)) async_stream_write(client, "hello\n", 6);
  rc = join_and_release(task);
  /* Either way, the handler's stream was closed: the client reads 0. */
  char line[8];
  log_add("client:%zd", async_stream_readline(client, line, sizeof line));
  async_stream_close(client);
  return rc;
}

static void
test_close_without_cancelling_waits_for_the_handlers_to_return(void **state) {
  (void)state;
  log_reset();
  closer_t c = {.cancel = false};
  assert_int_equal(harness_run(close_while_handling, &c), 0);
  assert_string_equal(log_text,
                      "closing sending handler:hello closed:0 client:0");
}

static void
test_close_with_cancelling_cancels_the_handlers_quietly(void **state) {
  (void)state;
  log_reset();
  closer_t c = {.cancel = true};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run(close_while_handling, &c);
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  assert_string_equal(log_text,
                      "closing handler:ECANCELED closed:0 sending client:0");
  assert_not_contains(text, "failed");
  free(text);
}

static int refused_after_close(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  int port = async_server_port(server);
  async_stream_t *client;
  log_add("open:%d", async_connect(&client, "127.0.0.1", port));
  async_stream_close(client);
  async_server_close(server, false);
  /* Nothing listens there now. */
  rc = async_connect(&client, "127.0.0.1", port);
  log_add("closed:%s", async_err_name(rc));
  if (rc == 0) async_stream_close(client);
  return 0;
}

static void test_a_closed_server_accepts_no_more_connections(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(refused_after_close, NULL), 0);
  assert_string_equal(log_text, "open:0 closed:ECONNREFUSED");
}

static int wait_for_server(void *server) {
  int rc = async_server_wait(server);
  log_add("wait:%s", rc == 0 ? "0" : async_err_name(rc));
  return rc;
}

static int server_wait_until_closed(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  async_task_t *waiter = async_spawn("waiter", wait_for_server, server);
  for (int i = 0; i < 10; i++) async_yield();
  log_add("closing");
  rc = async_server_close(server, false);
  log_add("closed");
  int waited = join_and_release(waiter);
  return rc != 0 ? rc : waited;
}

static void
test_server_wait_returns_once_another_task_closes_the_server(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(server_wait_until_closed, NULL), 0);
  assert_string_equal(log_text, "closing wait:0 closed");
}

static int cancelled_server_wait(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  async_task_t *waiter = async_spawn("waiter", wait_for_server, server);
  for (int i = 0; i < 10; i++) async_yield();
  async_task_cancel(waiter);
  join_and_release(waiter);
  /* The server goes on serving. */
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc == 0) {
    log_add("echo:%d", echo_once(client, "still here\n"));
    async_stream_close(client);
  }
  int closed = async_server_close(server, false);
  return rc != 0 ? rc : closed;
}

static void
test_a_cancelled_server_wait_leaves_the_server_serving(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_server_wait, NULL), 0);
  assert_string_equal(log_text, "wait:ECANCELED echo:0");
}

/* A connection accepted, its handler task spawned but not yet run, when
 * the server is closed with cancel: the handler never runs, and its
 * connection must still be closed and freed. */
typedef struct never_ran {
  bool handler_ran;
  size_t tasks_before_close;
  int close_rc;
  ssize_t client_read;
} never_ran_t;

static int never_run_handler(async_stream_t *stream, void *arg) {
  (void)stream;
  never_ran_t *n = arg;
  n->handler_ran = true;
  return 0;
}

static int close_before_the_handler_runs(void *arg) {
  never_ran_t *n = arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, never_run_handler, n);
  if (rc != 0) return rc;
  int fd = raw_connect(async_server_port(server)); /* done by the kernel */
  if (fd < 0) return UV_EIO;
  /* Yielding puts main at the back of the ready queue before each poll of
   * the network, so the handler task, spawned by that poll, is behind. */
  for (int i = 0; i < 100000 && async_all_tasks(NULL, 0) < 2; i++)
    async_yield();
  n->tasks_before_close = async_all_tasks(NULL, 0);
  n->close_rc = async_server_close(server, true);
  char byte;
  n->client_read = read(fd, &byte, 1);
  close(fd);
  return 0;
}

static void
test_closing_before_a_handler_ever_ran_closes_its_connection(void **state) {
  (void)state;
  never_ran_t n = {0};
  assert_int_equal(harness_run(close_before_the_handler_runs, &n), 0);
  assert_int_equal(n.tasks_before_close, 2);
  assert_false(n.handler_ran);
  assert_int_equal(n.close_rc, 0);
  assert_int_equal(n.client_read, 0);
}

static int close_own_server(async_stream_t *stream, void *arg) {
  (void)stream;
  int rc = async_server_close(*(async_server_t **)arg, false);
  log_add("%s", async_err_name(rc));
  return 0;
}

static int handler_closes_its_server(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc =
      async_server_start(&server, "127.0.0.1", 0, close_own_server, &server);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc != 0) return rc;
  char byte;
  async_stream_read(client, &byte, 1); /* until the handler is done */
  async_stream_close(client);
  return async_server_close(server, false);
}

static void test_a_handler_cannot_close_its_own_server(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(handler_closes_its_server, NULL), 0);
  assert_string_equal(log_text, "EDEADLK");
}

/* ---- What happens when a handler returns ---- */

static int bye_handler(async_stream_t *stream, void *arg) {
  (void)arg;
  /* Neither drained nor closed: the runtime sends it, then closes. */
  async_stream_write(stream, "bye\n", 4);
  return 0;
}

static int handler_returns(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, bye_handler, NULL);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc != 0) return rc;
  char line[16];
  ssize_t n = async_stream_readline(client, line, sizeof line);
  log_add("%zd:%s", n, n > 0 ? line : "");
  log_add("%zd", async_stream_readline(client, line, sizeof line));
  async_stream_close(client);
  return async_server_close(server, false);
}

static void
test_a_returning_handler_gets_its_stream_flushed_and_closed(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(handler_returns, NULL), 0);
  assert_string_equal(log_text, "4:bye\n 0");
}

static int failing_handler(async_stream_t *stream, void *arg) {
  (void)stream;
  (void)arg;
  return UV_EPROTO;
}

static int handler_fails(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, failing_handler, NULL);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc != 0) return rc;
  char byte;
  async_stream_read(client, &byte, 1);
  async_stream_close(client);
  return async_server_close(server, false);
}

static void
test_a_failing_handler_is_reported_once_and_counts_as_retrieved(void **state) {
  (void)state;
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run(handler_fails, NULL); /* tidy: nothing unretrieved */
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  assert_contains(text, "the handler of connection 127.0.0.1:");
  assert_contains(text, "failed: EPROTO");
  assert_true(strstr(strstr(text, "failed: EPROTO") + 1, "failed") == NULL);
  assert_not_contains(text, "retrieved");
  free(text);
}

typedef struct chat_case {
  async_stream_t *accepted;
  async_event_t ready;
  ssize_t handler_read;
} chat_case_t;

static int chat_handler(async_stream_t *stream, void *arg) {
  chat_case_t *c = arg;
  c->accepted = stream;
  async_event_set(&c->ready);
  char line[64];
  c->handler_read = async_stream_readline(stream, line, sizeof line);
  return (int)c->handler_read;
}

/* Another task (say, a chat server's broadcaster giving up on a slow
 * client) closes a connection while its handler reads it. */
static int close_a_connection_from_outside(void *arg) {
  chat_case_t *c = arg;
  async_event_init(&c->ready);
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, chat_handler, c);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc != 0) return rc;
  async_event_wait(&c->ready);
  for (int i = 0; i < 10; i++) async_yield();
  log_add("close:%d", async_stream_close(c->accepted));
  /* Closed, but the handler has not returned: still safe to ask. */
  log_add("write:%s", async_err_name(async_stream_write(c->accepted, "x", 1)));
  char byte;
  log_add("client:%zd", async_stream_read(client, &byte, 1));
  async_stream_close(client);
  return async_server_close(server, false);
}

static void
test_a_connection_closed_by_another_task_lives_until_its_handler_ends(
    void **state) {
  (void)state;
  log_reset();
  chat_case_t c = {0};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run(close_a_connection_from_outside, &c);
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  assert_string_equal(log_text, "close:0 write:EPIPE client:0");
  assert_int_equal(c.handler_read, UV_ECANCELED);
  assert_not_contains(text, "failed");
  free(text);
}

/* ---- Clients ---- */

static int connect_refused(void *arg) {
  (void)arg;
  /* A port that was free a moment ago: bound, then released. */
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  int port = async_server_port(server);
  async_server_close(server, false);
  async_stream_t *client = NULL;
  rc = async_connect(&client, "127.0.0.1", port);
  log_add("%s", async_err_name(rc));
  log_add("%s", client == NULL ? "untouched" : "set");
  if (rc == 0) async_stream_close(client);
  return 0;
}

static void
test_connect_to_a_port_nobody_listens_on_is_econnrefused(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(connect_refused, NULL), 0);
  assert_string_equal(log_text, "ECONNREFUSED untouched");
}

static int connect_by_name(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  async_stream_t *client;
  /* localhost may resolve to ::1 first, where nobody listens: the next
   * address is tried. */
  rc = async_connect(&client, "localhost", async_server_port(server));
  log_add("connect:%d", rc);
  if (rc == 0) {
    log_add("echo:%d", echo_once(client, "by name\n"));
    log_add("%s", async_stream_peername(client));
    async_stream_close(client);
  }
  int closed = async_server_close(server, false);
  return rc != 0 ? rc : closed;
}

static void
test_connect_resolves_a_host_name_and_tries_its_addresses(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(connect_by_name, NULL), 0);
  assert_true(strncmp(log_text, "connect:0 echo:0 127.0.0.1:", 27) == 0);
}

static int listen_by_name(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "localhost", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  const char *address = async_server_address(server);
  /* Whichever address localhost gave first; its port is the one bound. */
  log_add("%s", strncmp(address, "127.0.0.1:", 10) == 0 ||
                        strncmp(address, "[::1]:", 6) == 0
                    ? "loopback"
                    : address);
  log_add("%s", atoi(strrchr(address, ':') + 1) == async_server_port(server)
                    ? "port"
                    : "?");
  async_stream_t *client;
  rc = async_connect(&client, "localhost", async_server_port(server));
  if (rc == 0) {
    log_add("echo:%d", echo_once(client, "hi\n"));
    async_stream_close(client);
  }
  int closed = async_server_close(server, false);
  return rc != 0 ? rc : closed;
}

static void test_a_server_listens_on_a_host_name(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(listen_by_name, NULL), 0);
  assert_string_equal(log_text, "loopback port echo:0");
}

static int unknown_host(void *arg) {
  int *rc = arg;
  async_stream_t *client;
  *rc = async_connect(&client, "no-such-host.invalid", 80);
  if (*rc == 0) async_stream_close(client);
  return 0;
}

static void test_an_unknown_host_is_an_eai_error(void **state) {
  (void)state;
  int rc = 0;
  assert_int_equal(harness_run(unknown_host, &rc), 0);
  assert_true(rc < 0);
  assert_true(strncmp(async_err_name(rc), "EAI_", 4) == 0);
}

typedef struct cancel_connect {
  const char *host;
  int port;
  int rc;
  bool started;
} cancel_connect_t;

static int connecting_task(void *arg) {
  cancel_connect_t *c = arg;
  c->started = true;
  async_stream_t *client = NULL;
  c->rc = async_connect(&client, c->host, c->port);
  if (c->rc == 0) async_stream_close(client);
  return 0;
}

/* Spawns a task that connects to host, lets it park, cancels it. No
 * network poll happens in between (fewer yields than the poll interval), so
 * the cancel always finds the task still waiting. */
static int cancel_a_connect(void *arg) {
  cancel_connect_t *c = arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  c->port = async_server_port(server);
  async_task_t *task = async_spawn("connecting", connecting_task, c);
  async_yield();
  async_task_cancel(task);
  join_and_release(task);
  /* The runtime still works afterwards. */
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", c->port);
  if (rc == 0) {
    rc = echo_once(client, "after\n");
    async_stream_close(client);
  }
  int closed = async_server_close(server, true);
  return rc != 0 ? rc : closed;
}

static void
test_cancelling_a_connect_while_it_resolves_returns_ecanceled(void **state) {
  (void)state;
  cancel_connect_t c = {.host = "localhost"};
  assert_int_equal(harness_run(cancel_a_connect, &c), 0);
  assert_true(c.started);
  assert_int_equal(c.rc, UV_ECANCELED);
}

static void
test_cancelling_a_connect_while_it_connects_returns_ecanceled(void **state) {
  (void)state;
  cancel_connect_t c = {.host = "127.0.0.1"};
  assert_int_equal(harness_run(cancel_a_connect, &c), 0);
  assert_true(c.started);
  assert_int_equal(c.rc, UV_ECANCELED);
}

/* ---- IPv6, ports in use, bad arguments ---- */

typedef struct v6 {
  int start_rc;
  char address[64];
  char log[128];
} v6_t;

static int ipv6(void *arg) {
  v6_t *v = arg;
  async_server_t *server;
  v->start_rc = async_server_start(&server, "::1", 0, echo_handler, NULL);
  if (v->start_rc != 0) return 0;
  snprintf(v->address, sizeof v->address, "%s", async_server_address(server));
  int port = async_server_port(server);
  const char *hosts[] = {"::1", "[::1]"};
  for (int i = 0; i < 2; i++) {
    async_stream_t *client;
    int rc = async_connect(&client, hosts[i], port);
    if (rc == 0) {
      rc = echo_once(client, "six\n");
      async_stream_close(client);
    }
    log_add("%s:%d", hosts[i], rc);
  }
  return async_server_close(server, false);
}

static void test_a_server_and_its_clients_work_over_ipv6(void **state) {
  (void)state;
  v6_t v = {0};
  log_reset();
  assert_int_equal(harness_run(ipv6, &v), 0);
  if (v.start_rc == UV_EADDRNOTAVAIL || v.start_rc == UV_EAFNOSUPPORT) {
    skip(); /* no IPv6 in this kernel */
    return;
  }
  assert_int_equal(v.start_rc, 0);
  assert_true(strncmp(v.address, "[::1]:", 6) == 0);
  assert_true(atoi(v.address + 6) > 0);
  assert_string_equal(log_text, "::1:0 [::1]:0");
}

static int port_in_use(void *arg) {
  (void)arg;
  async_server_t *first, *second = NULL;
  int rc = async_server_start(&first, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  rc = async_server_start(&second, "127.0.0.1", async_server_port(first),
                          echo_handler, NULL);
  log_add("%s", async_err_name(rc));
  if (rc == 0) async_server_close(second, false);
  return async_server_close(first, false);
}

static void test_starting_on_a_port_in_use_is_eaddrinuse(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(port_in_use, NULL), 0);
  assert_string_equal(log_text, "EADDRINUSE");
}

static int bad_arguments(void *arg) {
  (void)arg;
  async_server_t *server;
  async_stream_t *client;
  log_add("%s", async_err_name(async_server_start(&server, "127.0.0.1", 70000,
                                                  echo_handler, NULL)));
  log_add("%s", async_err_name(
                    async_server_start(&server, "127.0.0.1", 0, NULL, NULL)));
  log_add("%s", async_err_name(async_connect(&client, "127.0.0.1", 0)));
  log_add("%s", async_err_name(async_connect(&client, NULL, 80)));
  log_add("%s", async_err_name(async_server_close(NULL, false)));
  log_add("%d", async_server_port(NULL));
  return 0;
}

static void test_bad_arguments_are_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(bad_arguments, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL EINVAL EINVAL EINVAL -22");
}

/* ---- Leftovers ---- */

static int leave_server_open(void *arg) {
  (void)arg;
  async_server_t *server;
  return async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
}

static void
test_a_server_left_open_is_reported_and_closed_at_the_end(void **state) {
  (void)state;
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run_untidy(leave_server_open, NULL);
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  async_run_stats_t stats;
  async_run_stats(&stats);
  assert_int_equal(stats.handles_left_open, 1);
  assert_contains(text, "was never closed (async_server_close)");
  free(text);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_each_connection_runs_in_a_task_named_after_the_peer),
    cmocka_unit_test(test_port_0_binds_a_free_port_and_the_address_reports_it),
    cmocka_unit_test(test_a_hundred_clients_are_served_at_once),
    cmocka_unit_test(
        test_close_without_cancelling_waits_for_the_handlers_to_return),
    cmocka_unit_test(test_close_with_cancelling_cancels_the_handlers_quietly),
    cmocka_unit_test(test_a_closed_server_accepts_no_more_connections),
    cmocka_unit_test(
        test_server_wait_returns_once_another_task_closes_the_server),
    cmocka_unit_test(test_a_cancelled_server_wait_leaves_the_server_serving),
    cmocka_unit_test(
        test_closing_before_a_handler_ever_ran_closes_its_connection),
    cmocka_unit_test(test_a_handler_cannot_close_its_own_server),
    cmocka_unit_test(
        test_a_returning_handler_gets_its_stream_flushed_and_closed),
    cmocka_unit_test(
        test_a_failing_handler_is_reported_once_and_counts_as_retrieved),
    cmocka_unit_test(
        test_a_connection_closed_by_another_task_lives_until_its_handler_ends),
    cmocka_unit_test(test_connect_to_a_port_nobody_listens_on_is_econnrefused),
    cmocka_unit_test(test_connect_resolves_a_host_name_and_tries_its_addresses),
    cmocka_unit_test(test_a_server_listens_on_a_host_name),
    cmocka_unit_test(test_an_unknown_host_is_an_eai_error),
    cmocka_unit_test(
        test_cancelling_a_connect_while_it_resolves_returns_ecanceled),
    cmocka_unit_test(
        test_cancelling_a_connect_while_it_connects_returns_ecanceled),
    cmocka_unit_test(test_a_server_and_its_clients_work_over_ipv6),
    cmocka_unit_test(test_starting_on_a_port_in_use_is_eaddrinuse),
    cmocka_unit_test(test_bad_arguments_are_einval),
    cmocka_unit_test(test_a_server_left_open_is_reported_and_closed_at_the_end))
