/* test_stream.c: async_stream_t, the runtime's StreamReader and
 * StreamWriter, over real loopback TCP connections (port 0).
 *
 * Most tests open a pair (net.h): both ends of one connection, driven from
 * main. What the tasks saw goes into a struct or log_text; the assertions
 * come after harness_run. No sleeps: the tests wait for events, and where
 * they must give a wrong implementation the chance to misbehave, they yield
 * (which also polls the network) a bounded number of times.
 */
#include "harness.h"
#include "log.h"
#include "net.h"
#include "tools.h"

#include <signal.h>

/* The pipe streams process.c builds on (internal.h), tested here. */
int async__stream_new_pipe(async_stream_t **stream);
uv_pipe_t *async__stream_pipe(async_stream_t *stream);
int async__stream_start(async_stream_t *stream);
void async__stream_free(async_stream_t *stream);

/* ---- Echo ---- */

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

static int echo_roundtrip(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, echo_handler, NULL);
  if (rc != 0) return rc;
  async_stream_t *client;
  rc = async_connect(&client, "127.0.0.1", async_server_port(server));
  if (rc != 0) return rc;
  const char *lines[] = {"hello\n", "\n", "a longer line, with spaces\n"};
  char reply[256];
  for (size_t i = 0; i < 3; i++) {
    async_stream_write(client, lines[i], strlen(lines[i]));
    ssize_t n = async_stream_readline(client, reply, sizeof reply);
    log_add("%zd:%s", n, n > 0 && strcmp(reply, lines[i]) == 0 ? "same" : "?");
  }
  async_stream_close(client);
  return async_server_close(server, false);
}

static void test_echo_roundtrip_returns_each_line_to_its_sender(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(echo_roundtrip, NULL), 0);
  assert_string_equal(log_text, "6:same 1:same 27:same");
}

/* ---- read ---- */

static int read_then_end(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_write(pair.client, "abcdef", 6);
  async_stream_shutdown(pair.client);
  char buffer[4];
  ssize_t n;
  /* At most the size asked for, then the rest, then 0 for good. */
  while ((n = async_stream_read(pair.accepted, buffer, sizeof buffer)) > 0)
    log_add("%.*s", (int)n, buffer);
  log_add("%zd", n);
  log_add("%zd", async_stream_read(pair.accepted, buffer, sizeof buffer));
  return pair_close(&pair);
}

static void test_read_returns_what_arrived_then_0_at_end_of_stream(void **s) {
  (void)s;
  log_reset();
  assert_int_equal(harness_run(read_then_end, NULL), 0);
  assert_string_equal(log_text, "abcd ef 0 0");
}

/* ---- readline and its limit ---- */

typedef struct line_case {
  size_t limit;     /* 0: the default */
  size_t before_nl; /* bytes of the long line before its '\n' */
  size_t size;      /* readline's buffer */
  ssize_t results[3];
  bool long_line_intact;
  char after[32];
} line_case_t;

/* Sends a line of before_nl bytes, then "next\n", then ends; reads three
 * times. */
static int read_long_line(void *arg) {
  line_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  if (c->limit != 0) async_stream_set_limit(pair.accepted, c->limit);
  char *data = pattern_new(c->before_nl + 1);
  data[c->before_nl] = '\n';
  async_stream_write(pair.client, data, c->before_nl + 1);
  async_stream_write(pair.client, "next\n", 5);
  async_stream_shutdown(pair.client);
  char *line = malloc(c->size);
  c->results[0] = async_stream_readline(pair.accepted, line, c->size);
  c->long_line_intact =
      c->results[0] > 0 && memcmp(line, data, c->before_nl + 1) == 0;
  c->results[1] = async_stream_readline(pair.accepted, line, c->size);
  if (c->results[1] > 0) snprintf(c->after, sizeof c->after, "%s", line);
  c->results[2] = async_stream_readline(pair.accepted, line, c->size);
  free(line);
  free(data);
  return pair_close(&pair);
}

static void test_readline_takes_a_line_of_exactly_the_limit_before_its_newline(
    void **state) {
  (void)state;
  line_case_t c = {.before_nl = ASYNC_STREAM_DEFAULT_LIMIT,
                   .size = ASYNC_STREAM_DEFAULT_LIMIT + 2};
  assert_int_equal(harness_run(read_long_line, &c), 0);
  assert_int_equal(c.results[0], ASYNC_STREAM_DEFAULT_LIMIT + 1);
  assert_true(c.long_line_intact);
  assert_int_equal(c.results[1], 5);
  assert_string_equal(c.after, "next\n");
  assert_int_equal(c.results[2], 0);
}

static void test_readline_refuses_a_line_one_byte_over_the_limit(void **state) {
  (void)state;
  line_case_t c = {.before_nl = ASYNC_STREAM_DEFAULT_LIMIT + 1,
                   .size = ASYNC_STREAM_DEFAULT_LIMIT + 16};
  assert_int_equal(harness_run(read_long_line, &c), 0);
  assert_int_equal(c.results[0], UV_ENOBUFS);
  assert_int_equal(c.results[1], 5);
  assert_string_equal(c.after, "next\n");
  assert_int_equal(c.results[2], 0);
}

static void
test_readline_over_the_limit_skips_that_line_and_goes_on(void **state) {
  (void)state;
  /* Far longer than the read-ahead bound (4 x limit): the skip must go on
   * as the rest of the line arrives. */
  line_case_t c = {.limit = 1000, .before_nl = 3 * 1000 * 1000, .size = 2000};
  assert_int_equal(harness_run(read_long_line, &c), 0);
  assert_int_equal(c.results[0], UV_ENOBUFS);
  assert_int_equal(c.results[1], 5);
  assert_string_equal(c.after, "next\n");
  assert_int_equal(c.results[2], 0);
}

static void
test_readline_longer_than_its_buffer_is_enobufs_and_skips_it(void **state) {
  (void)state;
  /* Within the limit, but not within size - 1 = 9 bytes. */
  line_case_t c = {.before_nl = 9, .size = 10};
  assert_int_equal(harness_run(read_long_line, &c), 0);
  assert_int_equal(c.results[0], UV_ENOBUFS);
  assert_int_equal(c.results[1], 5);
  assert_string_equal(c.after, "next\n");
  assert_int_equal(c.results[2], 0);
}

static void test_readline_fills_its_buffer_exactly(void **state) {
  (void)state;
  /* 8 bytes, '\n' and the NUL: exactly size 10. */
  line_case_t c = {.before_nl = 8, .size = 10};
  assert_int_equal(harness_run(read_long_line, &c), 0);
  assert_int_equal(c.results[0], 9);
  assert_true(c.long_line_intact);
  assert_int_equal(c.results[1], 5);
}

static int unterminated_last_line(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_write(pair.client, "one\npart", 8);
  async_yield();
  async_stream_write(pair.client, "ial", 3);
  /* The peer goes away in the middle of a line. */
  async_stream_close(pair.client);
  pair.client = NULL;
  char line[64];
  for (int i = 0; i < 3; i++) {
    ssize_t n = async_stream_readline(pair.accepted, line, sizeof line);
    log_add("%zd:%s", n, n > 0 ? line : "");
  }
  log_add("eof:%d", async_stream_at_eof(pair.accepted));
  return pair_close(&pair);
}

static void test_readline_returns_an_unterminated_last_line_then_0(void **s) {
  (void)s;
  log_reset();
  assert_int_equal(harness_run(unterminated_last_line, NULL), 0);
  assert_string_equal(log_text, "4:one\n 7:partial 0: eof:1");
}

/* A last line without '\n' needs no room for one: 9 bytes fit line[10],
 * 10 do not. */
static int last_line_fits(void *arg) {
  (void)arg;
  for (int extra = 0; extra < 2; extra++) {
    pair_t pair;
    int rc = pair_open(&pair);
    if (rc != 0) return rc;
    async_stream_write(pair.client, "1234567890", 9 + (size_t)extra);
    async_stream_shutdown(pair.client);
    char line[10];
    ssize_t n = async_stream_readline(pair.accepted, line, sizeof line);
    log_add("%s", n > 0 ? line : async_err_name((int)n));
    log_add("%zd", async_stream_readline(pair.accepted, line, sizeof line));
    pair_close(&pair);
  }
  return 0;
}

static void
test_readline_returns_a_last_line_that_just_fits_its_buffer(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(last_line_fits, NULL), 0);
  assert_string_equal(log_text, "123456789 0 ENOBUFS 0");
}

/* ---- readexactly ---- */

typedef struct exactly_case {
  size_t send, ask;
  bool end_after;
  int rc;
  bool intact;
} exactly_case_t;

static int read_exactly(void *arg) {
  exactly_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  char *data = pattern_new(c->send);
  /* In pieces, so that the reader has to wait for more than once. */
  for (size_t sent = 0; sent < c->send;) {
    size_t piece = c->send - sent < 1000 ? c->send - sent : 1000;
    if (sent > 100 * 1000) piece = c->send - sent;
    async_stream_write(pair.client, data + sent, piece);
    sent += piece;
    async_yield();
  }
  if (c->end_after) async_stream_shutdown(pair.client);
  char *buffer = malloc(c->ask);
  c->rc = async_stream_readexactly(pair.accepted, buffer, c->ask);
  c->intact = c->rc == 0 && memcmp(buffer, data, c->ask) == 0;
  free(buffer);
  free(data);
  return pair_close(&pair);
}

static void
test_readexactly_returns_the_bytes_asked_for_across_writes(void **state) {
  (void)state;
  exactly_case_t c = {.send = 5000, .ask = 4500};
  assert_int_equal(harness_run(read_exactly, &c), 0);
  assert_int_equal(c.rc, 0);
  assert_true(c.intact);
}

static void test_readexactly_is_eof_when_the_stream_ends_first(void **state) {
  (void)state;
  exactly_case_t c = {.send = 3000, .ask = 3001, .end_after = true};
  assert_int_equal(harness_run(read_exactly, &c), 0);
  assert_int_equal(c.rc, UV_EOF);
}

static void test_readexactly_reads_past_the_read_ahead_bound(void **state) {
  (void)state;
  /* 2 MB: eight times what reading ahead buffers (4 x 64 KiB). */
  exactly_case_t c = {.send = 2 * 1000 * 1000, .ask = 2 * 1000 * 1000};
  assert_int_equal(harness_run(read_exactly, &c), 0);
  assert_int_equal(c.rc, 0);
  assert_true(c.intact);
}

/* ---- readuntil ---- */

static int read_until(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.accepted, 16);
  char buffer[64];
  /* The separator split across two writes (two passes of the loop). */
  async_stream_write(pair.client, "GET / HTTP/1.0\r\n\r", 17);
  async_yield();
  async_yield();
  async_stream_write(pair.client, "\nbody", 5);
  ssize_t n =
      async_stream_readuntil(pair.accepted, "\r\n\r\n", buffer, sizeof buffer);
  log_add("%zd:%s", n,
          n == 18 && memcmp(buffer, "GET / HTTP/1.0\r\n\r\n", 19) == 0 ? "head"
                                                                       : "?");
  /* Over the limit (16 before the separator): skipped through "END". */
  async_stream_write(pair.client, "0123456789abcdefgh--ENDtail--END", 32);
  n = async_stream_readuntil(pair.accepted, "--END", buffer, sizeof buffer);
  log_add("%s", async_err_name((int)n));
  n = async_stream_readuntil(pair.accepted, "--END", buffer, sizeof buffer);
  log_add("%zd:%s", n, n > 0 ? buffer : "");
  /* Then the end comes before the separator. */
  async_stream_write(pair.client, "no separator", 12);
  async_stream_shutdown(pair.client);
  n = async_stream_readuntil(pair.accepted, "--END", buffer, sizeof buffer);
  log_add("%s", async_err_name((int)n));
  log_add("eof:%d", async_stream_at_eof(pair.accepted));
  return pair_close(&pair);
}

static void
test_readuntil_returns_through_a_separator_skips_and_ends(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(read_until, NULL), 0);
  /* "body" + "0123456789abcdefgh" = 22 bytes before "--END": too long. */
  assert_string_equal(log_text, "18:head ENOBUFS 9:tail--END EOF eof:1");
}

/* ---- at_eof ---- */

static int at_eof_only_when_empty(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_write(pair.client, "xy", 2);
  async_stream_shutdown(pair.client);
  char c;
  log_add("%d", async_stream_at_eof(pair.accepted));
  async_stream_read(pair.accepted, &c, 1);
  /* The end may have arrived, but "y" is still unread. */
  log_add("%d", async_stream_at_eof(pair.accepted));
  async_stream_read(pair.accepted, &c, 1);
  log_add("%zd", async_stream_read(pair.accepted, &c, 1));
  log_add("%d", async_stream_at_eof(pair.accepted));
  return pair_close(&pair);
}

static void test_at_eof_turns_true_only_once_the_buffer_is_empty(void **s) {
  (void)s;
  log_reset();
  assert_int_equal(harness_run(at_eof_only_when_empty, NULL), 0);
  assert_string_equal(log_text, "0 0 0 1");
}

/* ---- Back-pressure on the read side ---- */

typedef struct read_pressure {
  bool paused;
  size_t buffered_when_paused;
  bool intact;
} read_pressure_t;

enum { PRESSURE_LIMIT = 1024, PRESSURE_BYTES = 1000 * 1000 };

static int read_pressure(void *arg) {
  read_pressure_t *r = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.accepted, PRESSURE_LIMIT);
  char *data = pattern_new(PRESSURE_BYTES);
  async_stream_write(pair.client, data, PRESSURE_BYTES);
  /* Nobody reads pair.accepted: reading ahead must stop by itself. */
  for (int i = 0; i < 200000; i++) {
    async_yield();
    if (async__stream_counter(pair.accepted, "buffered") != 0 &&
        !async__stream_counter(pair.accepted, "reading")) {
      r->paused = true;
      break;
    }
  }
  r->buffered_when_paused = async__stream_counter(pair.accepted, "buffered");
  /* And it resumes as the data is taken: all of it arrives, in order. */
  char *got = malloc(PRESSURE_BYTES);
  rc = async_stream_readexactly(pair.accepted, got, PRESSURE_BYTES);
  r->intact = rc == 0 && memcmp(got, data, PRESSURE_BYTES) == 0;
  free(got);
  free(data);
  return pair_close(&pair);
}

static void
test_reading_pauses_when_unread_data_passes_four_times_the_limit(void **state) {
  (void)state;
  read_pressure_t r = {0};
  assert_int_equal(harness_run(read_pressure, &r), 0);
  assert_true(r.paused);
  /* 4 x limit, plus at most one read's worth (64 KiB) past it. */
  assert_true(r.buffered_when_paused <= 4 * PRESSURE_LIMIT + 64 * 1024);
  assert_true(r.intact);
}

/* ---- Writing: coalescing ---- */

typedef struct coalesce {
  size_t writes;
  ssize_t first_read;
  bool intact;
} coalesce_t;

enum { COALESCED_LINES = 100 };

static int coalesce(void *arg) {
  coalesce_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  size_t before = async__stream_counter(pair.client, "writes");
  char expected[COALESCED_LINES * 16] = "";
  size_t length = 0;
  for (int i = 0; i < COALESCED_LINES; i++) {
    char line[16];
    int n = snprintf(line, sizeof line, "line %d\n", i);
    async_stream_write(pair.client, line, (size_t)n);
    memcpy(expected + length, line, (size_t)n);
    length += (size_t)n;
  }
  async_stream_set_high_water(pair.client, 0);
  rc = async_stream_drain(pair.client); /* all handed to the system */
  c->writes = async__stream_counter(pair.client, "writes") - before;
  char got[sizeof expected];
  c->first_read = async_stream_read(pair.accepted, got, sizeof got);
  c->intact =
      c->first_read == (ssize_t)length && memcmp(got, expected, length) == 0;
  int closed = pair_close(&pair);
  return rc != 0 ? rc : closed;
}

static void test_writes_of_one_pass_go_out_in_one_system_call(void **state) {
  (void)state;
  coalesce_t c = {0};
  assert_int_equal(harness_run(coalesce, &c), 0);
  assert_int_equal(c.writes, 1);
  /* So the peer gets them all in its first read. */
  assert_true(c.intact);
}

/* ---- drain ---- */

typedef struct drain_case {
  bool drained;
  int drain_rc;
  bool drained_before_reading;
  size_t received;
  bool intact;
} drain_case_t;

enum { DRAIN_BYTES = 32 * 1000 * 1000 };

typedef struct drainer {
  async_stream_t *stream;
  drain_case_t *c;
} drainer_t;

static int write_and_drain(void *arg) {
  drainer_t *d = arg;
  char *data = pattern_new(DRAIN_BYTES);
  async_stream_write(d->stream, data, DRAIN_BYTES);
  free(data);
  d->c->drain_rc = async_stream_drain(d->stream);
  d->c->drained = true;
  return d->c->drain_rc;
}

static int drain_blocks(void *arg) {
  drain_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  /* The peer reads nothing, and its side stops reading ahead at 4 x 1 KiB:
   * the 32 MB cannot all fit in the kernel's buffers. */
  async_stream_set_limit(pair.accepted, 1024);
  drainer_t d = {pair.client, c};
  async_task_t *writer = async_spawn("writer", write_and_drain, &d);
  /* Many chances to return too early. */
  yield_until(&c->drained, 20000);
  c->drained_before_reading = c->drained;
  char *got = malloc(DRAIN_BYTES);
  rc = async_stream_readexactly(pair.accepted, got, DRAIN_BYTES);
  c->received = rc == 0 ? DRAIN_BYTES : 0;
  char *data = pattern_new(DRAIN_BYTES);
  c->intact = rc == 0 && memcmp(got, data, DRAIN_BYTES) == 0;
  free(data);
  free(got);
  rc = join_and_release(writer);
  int closed = pair_close(&pair);
  return rc != 0 ? rc : closed;
}

static void
test_drain_blocks_until_a_peer_that_did_not_read_reads(void **state) {
  (void)state;
  drain_case_t c = {0};
  assert_int_equal(harness_run(drain_blocks, &c), 0);
  assert_false(c.drained_before_reading);
  assert_true(c.drained);
  assert_int_equal(c.drain_rc, 0);
  assert_true(c.intact);
}

static int buffer_size(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  log_add("%zu", async_stream_write_buffer_size(pair.client));
  async_stream_write(pair.client, "12345", 5);
  log_add("%zu", async_stream_write_buffer_size(pair.client));
  async_stream_set_high_water(pair.client, 0);
  async_stream_drain(pair.client);
  log_add("%zu", async_stream_write_buffer_size(pair.client));
  return pair_close(&pair);
}

static void test_write_buffer_size_counts_what_is_not_yet_sent(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(buffer_size, NULL), 0);
  assert_string_equal(log_text, "0 5 0");
}

/* ---- shutdown ---- */

static int half_close(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  char line[32];
  async_stream_write(pair.client, "ping\n", 5);
  log_add("shutdown:%d", async_stream_shutdown(pair.client));
  log_add("write:%s", async_err_name(async_stream_write(pair.client, "x", 1)));
  ssize_t n = async_stream_readline(pair.accepted, line, sizeof line);
  log_add("%zd", n);
  log_add("%zd", async_stream_readline(pair.accepted, line, sizeof line));
  /* The other direction still works. */
  async_stream_write(pair.accepted, "pong\n", 5);
  n = async_stream_readline(pair.client, line, sizeof line);
  log_add("%zd:%s", n, n > 0 ? line : "");
  return pair_close(&pair);
}

static void
test_shutdown_sends_the_end_and_this_side_can_still_read(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(half_close, NULL), 0);
  assert_string_equal(log_text, "shutdown:0 write:EPIPE 5 0 5:pong\n");
}

/* ---- Failure paths: reset, closed peer ---- */

typedef struct reset_case {
  async_server_t *server;
  ssize_t first_rc, read_rc;
  int write_rc, drain_rc;
  async_event_t got_first, handled;
  bool write_after_reset;
} reset_case_t;

static int reset_handler(async_stream_t *stream, void *arg) {
  reset_case_t *c = arg;
  char line[64];
  c->first_rc = async_stream_readline(stream, line, sizeof line);
  async_event_set(&c->got_first);
  c->read_rc = async_stream_readline(stream, line, sizeof line);
  if (c->write_after_reset) {
    /* After a read error libuv refuses to write: no system call. */
    c->write_rc = async_stream_write(stream, "late\n", 5);
    async_stream_set_high_water(stream, 0);
    c->drain_rc = async_stream_drain(stream);
  }
  async_event_set(&c->handled);
  return 0;
}

/* The peer sends a line and, once it has been read, resets. (A reset that
 * arrives together with data reaches libuv as a hang-up after a partial
 * read, which it reports as the end of the stream.) */
static int peer_resets(void *arg) {
  reset_case_t *c = arg;
  async_event_init(&c->got_first);
  async_event_init(&c->handled);
  int rc = async_server_start(&c->server, "127.0.0.1", 0, reset_handler, c);
  if (rc != 0) return rc;
  int fd = raw_connect(async_server_port(c->server));
  if (fd < 0) return UV_EIO;
  ssize_t sent = write(fd, "hello\n", 6);
  (void)sent;
  async_event_wait(&c->got_first);
  raw_reset(fd);
  async_event_wait(&c->handled);
  return async_server_close(c->server, false);
}

static void test_a_peer_reset_makes_readline_return_econnreset(void **state) {
  (void)state;
  reset_case_t c = {0};
  assert_int_equal(harness_run(peer_resets, &c), 0);
  assert_int_equal(c.first_rc, 6);
  assert_int_equal(c.read_rc, UV_ECONNRESET);
}

static void test_writing_to_a_peer_that_reset_is_an_error(void **state) {
  (void)state;
  reset_case_t c = {.write_after_reset = true};
  assert_int_equal(harness_run(peer_resets, &c), 0);
  assert_int_equal(c.read_rc, UV_ECONNRESET);
  assert_int_equal(c.write_rc, 0); /* queued: the error comes with drain */
  assert_true(c.drain_rc == UV_EPIPE || c.drain_rc == UV_ECONNRESET);
}

typedef struct closed_peer {
  int last_rc;
  int writes;
  int later_write;
  int later_drain;
} closed_peer_t;

static int write_to_closed_peer(void *arg) {
  closed_peer_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_close(pair.client);
  pair.client = NULL;
  char byte;
  async_stream_read(pair.accepted, &byte, 1); /* the end */
  async_stream_set_high_water(pair.accepted, 0);
  /* The first writes may still be accepted by the kernel; the peer's
   * reset soon makes them fail, with EPIPE from the kernel, which would
   * raise SIGPIPE and kill the process were it not ignored. Bounded,
   * never a sleep. */
  for (c->writes = 0; c->writes < 10000; c->writes++) {
    rc = async_stream_write(pair.accepted, "hello?\n", 7);
    if (rc == 0) rc = async_stream_drain(pair.accepted);
    if (rc != 0) break;
  }
  c->last_rc = rc;
  c->later_write = async_stream_write(pair.accepted, "x", 1);
  c->later_drain = async_stream_drain(pair.accepted);
  return pair_close(&pair);
}

static void
test_writing_to_a_peer_that_closed_is_an_error_not_sigpipe(void **state) {
  (void)state;
  closed_peer_t c = {0};
  assert_int_equal(harness_run(write_to_closed_peer, &c), 0);
  assert_true(c.last_rc == UV_EPIPE || c.last_rc == UV_ECONNRESET);
  assert_true(c.writes < 10000);
  /* Sticky: later writes and drains report it too. */
  assert_int_equal(c.later_write, UV_EPIPE);
  assert_int_equal(c.later_drain, c.last_rc);
  struct sigaction action;
  sigaction(SIGPIPE, NULL, &action);
  assert_true(action.sa_handler == SIG_IGN);
}

/* ---- close ---- */

enum { CLOSE_BYTES = DRAIN_BYTES }; /* more than the kernel takes at once */

typedef struct close_case {
  int close_rc;
  size_t received;
  bool intact;
  ssize_t after;
} close_case_t;

static int close_task(void *stream) {
  return async_stream_close(stream);
}

static int close_flushes(void *arg) {
  close_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  char *data = pattern_new(CLOSE_BYTES);
  async_stream_write(pair.client, data, CLOSE_BYTES);
  /* More than the kernel takes at once: close must wait for the peer to
   * read, which this task does only after close returns... so read from
   * another task. */
  async_task_t *closer = async_spawn("closer", close_task, pair.client);
  pair.client = NULL;
  char *got = malloc(CLOSE_BYTES);
  rc = async_stream_readexactly(pair.accepted, got, CLOSE_BYTES);
  c->intact = rc == 0 && memcmp(got, data, CLOSE_BYTES) == 0;
  char byte;
  c->after = async_stream_read(pair.accepted, &byte, 1);
  c->close_rc = join_and_release(closer);
  free(got);
  free(data);
  return pair_close(&pair);
}

static void test_close_sends_what_is_queued_before_closing(void **state) {
  (void)state;
  close_case_t c = {0};
  assert_int_equal(harness_run(close_flushes, &c), 0);
  assert_true(c.intact);
  assert_int_equal(c.after, 0);
  assert_int_equal(c.close_rc, 0);
}

typedef struct other_task {
  async_stream_t *stream;
  int mode; /* 0: readline, 1: drain, 2: read */
  ssize_t rc;
  bool started;
} other_task_t;

static int block_on_stream(void *arg) {
  other_task_t *o = arg;
  o->started = true;
  if (o->mode == 0) {
    char line[64];
    o->rc = async_stream_readline(o->stream, line, sizeof line);
  } else if (o->mode == 1) {
    o->rc = async_stream_drain(o->stream);
  } else {
    char buffer[64];
    o->rc = async_stream_read(o->stream, buffer, sizeof buffer);
  }
  return 0;
}

/* Fills the kernel's buffers so that a drain blocks. */
static void fill(async_stream_t *stream) {
  char *data = pattern_new(DRAIN_BYTES);
  async_stream_write(stream, data, DRAIN_BYTES);
  free(data);
}

typedef struct closing_case {
  int mode;
  ssize_t rc;
  int close_rc;
  ssize_t read_after;
} closing_case_t;

static int close_under_another_task(void *arg) {
  closing_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.client, 1024);
  other_task_t o = {.stream = pair.accepted, .mode = c->mode};
  if (c->mode == 1) fill(pair.accepted);
  async_task_t *task = async_spawn("blocked", block_on_stream, &o);
  yield_until(&o.started, 100);
  for (int i = 0; i < 10; i++) async_yield();
  /* The accepted stream is its handler's: closed, it stays valid (the
   * handler frees it), so it can still be asked. Abort: with 32 MB queued
   * and a peer that does not read, a flushing close would wait. */
  c->close_rc = c->mode == 1 ? async_stream_abort(pair.accepted)
                             : async_stream_close(pair.accepted);
  join_and_release(task);
  c->rc = o.rc;
  char line[8];
  c->read_after = async_stream_readline(pair.accepted, line, sizeof line);
  return pair_close(&pair);
}

static void
test_close_wakes_a_reader_in_another_task_with_ecanceled(void **state) {
  (void)state;
  closing_case_t c = {.mode = 0};
  assert_int_equal(harness_run(close_under_another_task, &c), 0);
  assert_int_equal(c.close_rc, 0);
  assert_int_equal(c.rc, UV_ECANCELED);
  assert_int_equal(c.read_after, UV_ECANCELED);
}

static void
test_abort_wakes_a_drainer_in_another_task_with_ecanceled(void **state) {
  (void)state;
  closing_case_t c = {.mode = 1};
  assert_int_equal(harness_run(close_under_another_task, &c), 0);
  assert_int_equal(c.close_rc, 0);
  assert_int_equal(c.rc, UV_ECANCELED);
}

typedef struct abort_case {
  size_t received;
  ssize_t end;
} abort_case_t;

static int abort_drops(void *arg) {
  abort_case_t *c = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.accepted, 1024);
  fill(pair.client);
  async_yield(); /* let the first part go */
  /* Returns at once, though the peer has read nothing. */
  rc = async_stream_abort(pair.client);
  pair.client = NULL;
  char *buffer = malloc(64 * 1024);
  ssize_t n;
  while ((n = async_stream_read(pair.accepted, buffer, 64 * 1024)) > 0)
    c->received += (size_t)n;
  c->end = n;
  free(buffer);
  int closed = pair_close(&pair);
  return rc != 0 ? rc : closed;
}

static void test_abort_drops_what_is_queued_and_closes_at_once(void **state) {
  (void)state;
  abort_case_t c = {0};
  assert_int_equal(harness_run(abort_drops, &c), 0);
  assert_true(c.received < DRAIN_BYTES);
  assert_true(c.end == 0 || c.end == UV_ECONNRESET);
}

static int cancelled_close(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.accepted, 1024);
  fill(pair.client);
  /* A cancelled task closes: it must not wait for a peer that never reads,
   * and the stream is still freed (valgrind and ASan check). */
  async_task_cancel(async_current_task());
  log_add("close:%s", async_err_name(async_stream_close(pair.client)));
  pair.client = NULL;
  async_event_set(&pair.done);
  log_add("server:%s", async_err_name(async_server_close(pair.server, false)));
  return 0;
}

static void test_a_cancelled_close_drops_the_queue_and_still_frees(void **s) {
  (void)s;
  log_reset();
  assert_int_equal(harness_run(cancelled_close, NULL), 0);
  assert_string_equal(log_text, "close:ECANCELED server:ECANCELED");
}

/* ---- Cancellation of blocked reads and drains ---- */

static int cancel_readline(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  other_task_t o = {.stream = pair.accepted, .mode = 0};
  async_stream_write(pair.client, "hel", 3);
  async_task_t *task = async_spawn("reader", block_on_stream, &o);
  yield_until(&o.started, 100);
  for (int i = 0; i < 1000; i++) async_yield(); /* "hel" arrives */
  async_task_cancel(task);
  join_and_release(task);
  log_add("%s", async_err_name((int)o.rc));
  /* Nothing was lost: the next readline gets the whole line. */
  async_stream_write(pair.client, "lo\n", 3);
  char line[16];
  ssize_t n = async_stream_readline(pair.accepted, line, sizeof line);
  log_add("%zd:%s", n, n > 0 ? line : "");
  return pair_close(&pair);
}

static void
test_cancelling_a_blocked_readline_keeps_the_partial_line(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_readline, NULL), 0);
  assert_string_equal(log_text, "ECANCELED 6:hello\n");
}

static int exactly_ten(void *arg) {
  other_task_t *o = arg;
  o->started = true;
  char block[10];
  o->rc = async_stream_readexactly(o->stream, block, sizeof block);
  return 0;
}

static int cancel_readexactly(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  other_task_t o = {.stream = pair.accepted};
  async_stream_write(pair.client, "01234", 5);
  async_task_t *task = async_spawn("reader", exactly_ten, &o);
  yield_until(&o.started, 100);
  for (int i = 0; i < 1000; i++) async_yield(); /* "01234" arrives */
  async_task_cancel(task);
  join_and_release(task);
  log_add("%s", async_err_name((int)o.rc));
  /* The five bytes are still there for the next reader. */
  async_stream_write(pair.client, "56789", 5);
  char block[11] = "";
  rc = async_stream_readexactly(pair.accepted, block, 10);
  log_add("%d:%s", rc, block);
  return pair_close(&pair);
}

static void test_cancelling_a_blocked_readexactly_loses_no_bytes(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_readexactly, NULL), 0);
  assert_string_equal(log_text, "ECANCELED 0:0123456789");
}

static int cancel_drain(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_set_limit(pair.accepted, 1024);
  fill(pair.client);
  other_task_t o = {.stream = pair.client, .mode = 1};
  async_task_t *task = async_spawn("drainer", block_on_stream, &o);
  yield_until(&o.started, 100);
  for (int i = 0; i < 10; i++) async_yield();
  async_task_cancel(task);
  join_and_release(task);
  log_add("%s", async_err_name((int)o.rc));
  /* The stream goes on: everything still arrives. */
  char *got = malloc(DRAIN_BYTES);
  char *data = pattern_new(DRAIN_BYTES);
  rc = async_stream_readexactly(pair.accepted, got, DRAIN_BYTES);
  log_add("%s",
          rc == 0 && memcmp(got, data, DRAIN_BYTES) == 0 ? "intact" : "broken");
  free(got);
  free(data);
  return pair_close(&pair);
}

static void test_cancelling_a_blocked_drain_returns_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_drain, NULL), 0);
  assert_string_equal(log_text, "ECANCELED intact");
}

static int second_reader(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  other_task_t o = {.stream = pair.accepted, .mode = 2};
  async_task_t *task = async_spawn("reader", block_on_stream, &o);
  yield_until(&o.started, 100);
  char buffer[8];
  log_add("%s",
          async_err_name((int)async_stream_read(pair.accepted, buffer, 8)));
  async_stream_write(pair.client, "x", 1);
  join_and_release(task);
  log_add("%zd", o.rc);
  return pair_close(&pair);
}

static void test_a_second_reader_gets_ebusy(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(second_reader, NULL), 0);
  assert_string_equal(log_text, "EBUSY 1");
}

/* ---- Names ---- */

typedef struct names {
  char client_peer[64], client_sock[64], accepted_peer[64], accepted_sock[64],
      server[64];
} names_t;

static int names(void *arg) {
  names_t *n = arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  snprintf(n->client_peer, 64, "%s", async_stream_peername(pair.client));
  snprintf(n->client_sock, 64, "%s", async_stream_sockname(pair.client));
  snprintf(n->accepted_peer, 64, "%s", async_stream_peername(pair.accepted));
  snprintf(n->accepted_sock, 64, "%s", async_stream_sockname(pair.accepted));
  snprintf(n->server, 64, "%s", async_server_address(pair.server));
  return pair_close(&pair);
}

static void test_peername_and_sockname_name_both_ends(void **state) {
  (void)state;
  names_t n;
  assert_int_equal(harness_run(names, &n), 0);
  assert_string_equal(n.client_peer, n.server);
  assert_string_equal(n.accepted_sock, n.server);
  assert_string_equal(n.accepted_peer, n.client_sock);
  assert_true(strncmp(n.client_sock, "127.0.0.1:", 10) == 0);
  assert_true(atoi(n.client_sock + 10) > 0);
}

/* ---- Misuse ---- */

static int misuse(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  char line[4];
  log_add("%s", async_err_name((int)async_stream_read(NULL, line, 1)));
  log_add("%s", async_err_name((int)async_stream_read(pair.client, NULL, 1)));
  log_add("%s",
          async_err_name((int)async_stream_readline(pair.client, line, 1)));
  log_add("%s", async_err_name(
                    (int)async_stream_readuntil(pair.client, "", line, 4)));
  log_add("%s", async_err_name(async_stream_set_limit(pair.client, 0)));
  log_add("%s", async_err_name(async_stream_write(NULL, "x", 1)));
  log_add("%zd", async_stream_read(pair.client, line, 0));
  return pair_close(&pair);
}

static void test_bad_arguments_are_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(misuse, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL 0");
}

static void test_blocking_calls_outside_a_task_are_eperm(void **state) {
  (void)state;
  char line[4];
  assert_int_equal(async_stream_read(NULL, line, 4), UV_EPERM);
  assert_int_equal(async_stream_close(NULL), UV_EPERM);
  assert_int_equal(async_connect(NULL, "127.0.0.1", 1), UV_EPERM);
}

/* ---- Leftovers ---- */

static int leave_client_open(void *arg) {
  (void)arg;
  pair_t pair;
  int rc = pair_open(&pair);
  if (rc != 0) return rc;
  async_stream_write(pair.client, "unsent", 6);
  async_stream_t *client = pair.client;
  pair.client = NULL;
  rc = pair_close(&pair);
  (void)client; /* never closed */
  return rc;
}

static void
test_a_stream_left_open_is_reported_and_closed_at_the_end(void **state) {
  (void)state;
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run_untidy(leave_client_open, NULL);
  char *text = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  async_run_stats_t stats;
  async_run_stats(&stats);
  assert_int_equal(stats.handles_left_open, 1);
  assert_contains(text, "was never closed (async_stream_close)");
  free(text);
}

/* ---- Pipe streams (for process.c) ---- */

static int open_pipe_end(int fd, async_stream_t **stream) {
  int rc = async__stream_new_pipe(stream);
  if (rc != 0) return rc;
  rc = uv_pipe_open(async__stream_pipe(*stream), fd);
  if (rc == 0) rc = async__stream_start(*stream);
  return rc;
}

static int pipes(void *arg) {
  (void)arg;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return UV_EIO;
  async_stream_t *a, *b;
  int rc = open_pipe_end(fds[0], &a);
  if (rc == 0) rc = open_pipe_end(fds[1], &b);
  if (rc != 0) return rc;
  char line[32];
  async_stream_write(a, "to b\n", 5);
  ssize_t n = async_stream_readline(b, line, sizeof line);
  log_add("%zd:%s", n, n > 0 ? line : "");
  async_stream_write(b, "to a\n", 5);
  n = async_stream_readline(a, line, sizeof line);
  log_add("%zd:%s", n, n > 0 ? line : "");
  log_add("names:'%s''%s'", async_stream_peername(a), async_stream_sockname(a));
  /* Freed without blocking, after sending what is queued; b reads it and
   * then the end. */
  char *data = pattern_new(1000 * 1000);
  async_stream_write(a, data, 1000 * 1000);
  async__stream_free(a);
  char *got = malloc(1000 * 1000);
  rc = async_stream_readexactly(b, got, 1000 * 1000);
  log_add("%s",
          rc == 0 && memcmp(got, data, 1000 * 1000) == 0 ? "intact" : "broken");
  log_add("%zd", async_stream_readline(b, line, sizeof line));
  free(got);
  free(data);
  async__stream_free(b);
  return 0;
}

static void test_pipe_streams_carry_bytes_and_free_after_sending(void **s) {
  (void)s;
  log_reset();
  assert_int_equal(harness_run(pipes, NULL), 0);
  assert_string_equal(log_text, "5:to b\n 5:to a\n names:'''' intact 0");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_echo_roundtrip_returns_each_line_to_its_sender),
    cmocka_unit_test(test_read_returns_what_arrived_then_0_at_end_of_stream),
    cmocka_unit_test(
        test_readline_takes_a_line_of_exactly_the_limit_before_its_newline),
    cmocka_unit_test(test_readline_refuses_a_line_one_byte_over_the_limit),
    cmocka_unit_test(test_readline_over_the_limit_skips_that_line_and_goes_on),
    cmocka_unit_test(
        test_readline_longer_than_its_buffer_is_enobufs_and_skips_it),
    cmocka_unit_test(test_readline_fills_its_buffer_exactly),
    cmocka_unit_test(test_readline_returns_an_unterminated_last_line_then_0),
    cmocka_unit_test(
        test_readline_returns_a_last_line_that_just_fits_its_buffer),
    cmocka_unit_test(
        test_readexactly_returns_the_bytes_asked_for_across_writes),
    cmocka_unit_test(test_readexactly_is_eof_when_the_stream_ends_first),
    cmocka_unit_test(test_readexactly_reads_past_the_read_ahead_bound),
    cmocka_unit_test(test_readuntil_returns_through_a_separator_skips_and_ends),
    cmocka_unit_test(test_at_eof_turns_true_only_once_the_buffer_is_empty),
    cmocka_unit_test(
        test_reading_pauses_when_unread_data_passes_four_times_the_limit),
    cmocka_unit_test(test_writes_of_one_pass_go_out_in_one_system_call),
    cmocka_unit_test(test_drain_blocks_until_a_peer_that_did_not_read_reads),
    cmocka_unit_test(test_write_buffer_size_counts_what_is_not_yet_sent),
    cmocka_unit_test(test_shutdown_sends_the_end_and_this_side_can_still_read),
    cmocka_unit_test(test_a_peer_reset_makes_readline_return_econnreset),
    cmocka_unit_test(test_writing_to_a_peer_that_reset_is_an_error),
    cmocka_unit_test(
        test_writing_to_a_peer_that_closed_is_an_error_not_sigpipe),
    cmocka_unit_test(test_close_sends_what_is_queued_before_closing),
    cmocka_unit_test(test_close_wakes_a_reader_in_another_task_with_ecanceled),
    cmocka_unit_test(test_abort_wakes_a_drainer_in_another_task_with_ecanceled),
    cmocka_unit_test(test_abort_drops_what_is_queued_and_closes_at_once),
    cmocka_unit_test(test_a_cancelled_close_drops_the_queue_and_still_frees),
    cmocka_unit_test(test_cancelling_a_blocked_readline_keeps_the_partial_line),
    cmocka_unit_test(test_cancelling_a_blocked_readexactly_loses_no_bytes),
    cmocka_unit_test(test_cancelling_a_blocked_drain_returns_ecanceled),
    cmocka_unit_test(test_a_second_reader_gets_ebusy),
    cmocka_unit_test(test_peername_and_sockname_name_both_ends),
    cmocka_unit_test(test_bad_arguments_are_einval),
    cmocka_unit_test(test_blocking_calls_outside_a_task_are_eperm),
    cmocka_unit_test(test_a_stream_left_open_is_reported_and_closed_at_the_end),
    cmocka_unit_test(test_pipe_streams_carry_bytes_and_free_after_sending))
