/* test_http.c: the HTTP client, async_http_get on libcurl.
 *
 * Each test starts the kit's fixture server (tests/fixtures/http_fixture.c)
 * as a child process on a free port, serving a fresh temporary directory,
 * and stops it with SIGTERM afterwards. The fixture binary is found through
 * the environment variable HTTP_FIXTURE, else next to this test binary:
 * build/<variant>/tests/runtime/test_http looks for
 * build/<variant>/tests/fixtures/http_fixture.
 *
 * Tasks record what they saw into structs; the assertions run once
 * async_run() has returned. Waiting for the server to reach a state uses
 * its own endpoints (/await/inflight/N, /gate/N/...), never a sleep.
 */
#include "harness.h"
#include "tools.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- The fixture server, one per test ---- */

static struct {
  pid_t pid;
  int port;
  char directory[64];
  char base[64]; /* "http://127.0.0.1:PORT" */
} fixture;

static void fixture_path(char *path, size_t size) {
  const char *from_environment = getenv("HTTP_FIXTURE");
  if (from_environment != NULL && from_environment[0] != '\0') {
    snprintf(path, size, "%s", from_environment);
    return;
  }
  char self[PATH_MAX - 64]; /* room for the relative part */
  ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(length > 0);
  self[length] = '\0';
  char *slash = strrchr(self, '/');
  assert_non_null(slash);
  *slash = '\0';
  snprintf(path, size, "%s/../fixtures/http_fixture", self);
}

static void write_file(const char *name, const void *data, size_t size) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", fixture.directory, name);
  FILE *file = fopen(path, "wb");
  assert_non_null(file);
  assert_int_equal(fwrite(data, 1, size, file), size);
  assert_int_equal(fclose(file), 0);
}

/* What /bytes/N serves, computed here the way the fixture documents it. */
static void expected_bytes(unsigned char *out, size_t n) {
  uint32_t x = 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    out[i] = (unsigned char)(x >> 24);
  }
}

/* A binary file with NUL bytes in it, as the fixture's directory holds. */
enum { BINARY_SIZE = 70001 };
static void binary_content(unsigned char *out) {
  for (size_t i = 0; i < BINARY_SIZE; i++)
    out[i] = (unsigned char)(i % 7 == 0 ? 0 : (i * 31) & 0xff);
}

/* Unsets every ASYNC_* variable (check mode's settings among them). */
static void unset_runtime_settings(void) {
  extern char **environ;
  for (size_t i = 0; environ[i] != NULL;) {
    char name[128];
    size_t length = strcspn(environ[i], "=");
    if (strncmp(environ[i], "ASYNC_", 6) == 0 && length < sizeof name) {
      memcpy(name, environ[i], length);
      name[length] = '\0';
      unsetenv(name); /* shifts the rest down: look at i again */
    } else {
      i++;
    }
  }
}

static int fixture_start(void **state) {
  (void)state;
  /* The tests talk to 127.0.0.1 directly, whatever the environment says. */
  unsetenv("http_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("https_proxy");
  unsetenv("ALL_PROXY");
  unsetenv("all_proxy");

  snprintf(fixture.directory, sizeof fixture.directory,
           "/tmp/test_http.XXXXXX");
  assert_non_null(mkdtemp(fixture.directory));
  static unsigned char binary[BINARY_SIZE];
  binary_content(binary);
  write_file("binary.bin", binary, sizeof binary);
  write_file("hello.txt", "hello\n", 6);

  char path[PATH_MAX];
  fixture_path(path, sizeof path);
  if (access(path, X_OK) != 0)
    fail_msg("the fixture server %s is missing (%s): build it (make "
             "test-runtime does), or set HTTP_FIXTURE to its path",
             path, strerror(errno));

  int out[2];
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    /* The fixture is the tests' infrastructure: it runs plainly, even when
     * the tests run in check mode. */
    unset_runtime_settings();
    execl(path, path, "-p", "0", "-d", fixture.directory, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  fixture.pid = pid;
  /* Blocks until the fixture listens, or ends its output by dying. */
  FILE *lines = fdopen(out[0], "r");
  assert_non_null(lines);
  char line[128] = "";
  char *got = fgets(line, sizeof line, lines);
  fclose(lines);
  if (got == NULL ||
      sscanf(line, "listening on 127.0.0.1:%d", &fixture.port) != 1)
    fail_msg("the fixture %s did not say \"listening on 127.0.0.1:PORT\" "
             "(it said \"%s\")",
             path, line);
  snprintf(fixture.base, sizeof fixture.base, "http://127.0.0.1:%d",
           fixture.port);
  return 0;
}

/* Stops it: SIGTERM, then SIGKILL if it has not gone within 5 s.
 * Returns its wait status. */
static int fixture_stop(void) {
  if (fixture.pid <= 0) return 0;
  int status = 0;
  kill(fixture.pid, SIGTERM);
  for (int waited_ms = 0;; waited_ms++) {
    pid_t done = waitpid(fixture.pid, &status, WNOHANG);
    if (done == fixture.pid || done < 0) break;
    if (waited_ms == 5000) {
      kill(fixture.pid, SIGKILL);
      waitpid(fixture.pid, &status, 0);
      break;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  fixture.pid = 0;
  return status;
}

static void remove_directory(const char *path) {
  DIR *directory = opendir(path);
  if (directory == NULL) return;
  struct dirent *entry;
  while ((entry = readdir(directory)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
    unlink(file);
  }
  closedir(directory);
  rmdir(path);
}

static int fixture_teardown(void **state) {
  (void)state;
  fixture_stop();
  remove_directory(fixture.directory);
  return 0;
}

/* ---- Helpers for the tasks ---- */

/* The fixture's URL for path, in url[URL_SIZE]. Each task needs a buffer
 * of its own: another task may run inside the call that reads it. */
enum { URL_SIZE = 512 };
static char *url_of(char *url, const char *path) {
  snprintf(url, URL_SIZE, "%s%s", fixture.base, path);
  return url;
}

/* GETs a fixture path. */
static int get(const char *path, const async_http_options_t *options,
               async_http_response_t *response) {
  char url[URL_SIZE];
  return async_http_get(url_of(url, path), options, response);
}

/* Asks the fixture a question whose answer is a number; -1 on failure. */
static int fixture_number(const char *path) {
  async_http_response_t response;
  async_http_options_t options = {.timeout = 10};
  int rc = get(path, &options, &response);
  int value = rc == 0 && response.status == 200 ? atoi(response.body) : -1;
  if (value < 0)
    print_message("fixture %s: rc %d status %ld: %s\n", path, rc,
                  response.status, response.error);
  async_http_free(&response);
  return value;
}

static bool file_exists(const char *path) {
  struct stat info;
  return stat(path, &info) == 0;
}

static long file_size(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

static int do_nothing(void *arg) {
  (void)arg;
  return 0;
}

/* The descriptors open now. The first run opens some for good (libuv's
 * process-wide signal pipe): count after one, so that only what a
 * transfer leaves behind shows. */
static int open_descriptors(void) {
  static bool warmed_up;
  if (!warmed_up) {
    warmed_up = true;
    harness_run(do_nothing, NULL);
  }
  int count = 0;
  DIR *directory = opendir("/proc/self/fd");
  if (directory == NULL) return -1;
  while (readdir(directory) != NULL) count++;
  closedir(directory);
  return count;
}

/* What one transfer gave, copied out of the task. */
typedef struct outcome {
  int rc;
  long status;
  size_t body_size;
  bool body_is_null;
  char body[256]; /* its start */
  char effective_url[256];
  char error[256];
  bool equal; /* body equal to what the test expected */
} outcome_t;

static void keep(outcome_t *out, int rc, const async_http_response_t *r) {
  out->rc = rc;
  out->status = r->status;
  out->body_size = r->body_size;
  out->body_is_null = r->body == NULL;
  snprintf(out->body, sizeof out->body, "%s", r->body ? r->body : "");
  snprintf(out->effective_url, sizeof out->effective_url, "%s",
           r->effective_url ? r->effective_url : "");
  snprintf(out->error, sizeof out->error, "%s", r->error);
}

static void assert_ends_with(const char *text, const char *end) {
  size_t length = strlen(text), end_length = strlen(end);
  if (length < end_length || strcmp(text + length - end_length, end) != 0)
    fail_msg("expected \"%s\" to end with \"%s\"", text, end);
}

/* ---- Bodies ---- */

static int get_binary_file(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/binary.bin", NULL, &response);
  keep(out, rc, &response);
  static unsigned char expected[BINARY_SIZE];
  binary_content(expected);
  out->equal = rc == 0 && response.body_size == BINARY_SIZE &&
               memcmp(response.body, expected, BINARY_SIZE) == 0 &&
               response.body[BINARY_SIZE] == '\0';
  async_http_free(&response);
  return 0;
}

static void test_get_returns_a_binary_file_byte_for_byte(void **state) {
  (void)state;
  outcome_t out = {0};
  assert_int_equal(harness_run(get_binary_file, &out), 0);
  assert_int_equal(out.rc, 0);
  assert_int_equal(out.status, 200);
  assert_int_equal(out.body_size, BINARY_SIZE);
  assert_true(out.equal);
}

/* The fixture serves its files behind /delay/MS/ too (the crawler's checks
 * delay real files). */
static int get_delayed_file(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/delay/10/binary.bin", NULL, &response);
  keep(out, rc, &response);
  static unsigned char expected[BINARY_SIZE];
  binary_content(expected);
  out->equal = rc == 0 && response.body_size == BINARY_SIZE &&
               memcmp(response.body, expected, BINARY_SIZE) == 0;
  async_http_free(&response);
  return 0;
}

static void test_a_delayed_file_is_served_whole(void **state) {
  (void)state;
  outcome_t out = {0};
  assert_int_equal(harness_run(get_delayed_file, &out), 0);
  assert_int_equal(out.status, 200);
  assert_true(out.equal);
}

static int get_missing_and_503(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/no-such-file", NULL, &response);
  keep(&out[0], rc, &response);
  async_http_free(&response);
  rc = get("/status/503", NULL, &response);
  keep(&out[1], rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_error_statuses_are_responses_not_failures(void **state) {
  (void)state;
  outcome_t out[2] = {{0}};
  assert_int_equal(harness_run(get_missing_and_503, out), 0);
  assert_int_equal(out[0].rc, 0);
  assert_int_equal(out[0].status, 404);
  assert_string_equal(out[0].body, "not found\n");
  assert_int_equal(out[1].rc, 0);
  assert_int_equal(out[1].status, 503);
  assert_string_equal(out[1].body, "status 503\n");
}

typedef struct head_outcome {
  outcome_t outcome;
  int length_rc;
  char length[32];
} head_outcome_t;

static int head_request(void *arg) {
  head_outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.method = "HEAD"};
  int rc = get("/bytes/5000", &options, &response);
  keep(&out->outcome, rc, &response);
  out->length_rc = async_http_header(&response, "Content-Length", out->length,
                                     sizeof out->length);
  async_http_free(&response);
  return 0;
}

static void test_head_gives_the_headers_and_no_body(void **state) {
  (void)state;
  head_outcome_t out = {0};
  assert_int_equal(harness_run(head_request, &out), 0);
  assert_int_equal(out.outcome.rc, 0);
  assert_int_equal(out.outcome.status, 200);
  assert_int_equal(out.outcome.body_size, 0);
  assert_false(out.outcome.body_is_null); /* "", not NULL */
  assert_int_equal(out.length_rc, 0);
  assert_string_equal(out.length, "5000");
}

/* Over 1 MiB: curl asks "Expect: 100-continue" for bodies that large. */
enum { POST_SIZE = 1100 * 1000 };

static void post_content(unsigned char *out) {
  for (size_t i = 0; i < POST_SIZE; i++) out[i] = (unsigned char)(i * 7);
}

typedef struct post_outcome {
  outcome_t outcome;
  char method[16];
  int expect_rc; /* did the request carry an Expect header? */
} post_outcome_t;

static int post_echo(void *arg) {
  post_outcome_t *out = arg;
  static unsigned char body[POST_SIZE]; /* too big for a task's stack */
  post_content(body);
  async_http_response_t response;
  async_http_options_t options = {
      .method = "POST", .body = body, .body_size = sizeof body, .timeout = 10};
  int rc = get("/echo", &options, &response);
  keep(&out->outcome, rc, &response);
  out->outcome.equal = rc == 0 && response.body_size == sizeof body &&
                       memcmp(response.body, body, sizeof body) == 0;
  async_http_header(&response, "x-method", out->method, sizeof out->method);
  char expect[64];
  out->expect_rc =
      async_http_header(&response, "x-expect", expect, sizeof expect);
  async_http_free(&response);
  return 0;
}

static void test_post_sends_its_binary_body(void **state) {
  (void)state;
  post_outcome_t out = {0};
  assert_int_equal(harness_run(post_echo, &out), 0);
  assert_int_equal(out.outcome.rc, 0);
  assert_int_equal(out.outcome.status, 200);
  assert_string_equal(out.method, "POST");
  /* No "Expect: 100-continue": the fixture, like many servers, never
   * answers it, and curl would wait a second before sending the body. */
  assert_int_equal(out.expect_rc, UV_ENOENT);
  assert_int_equal(out.outcome.body_size, POST_SIZE);
  assert_true(out.outcome.equal);
}

/* ---- Headers ---- */

typedef struct header_outcome {
  int rc;
  int server_rc, path_rc, length_rc, missing_rc, small_rc;
  char server[64], path[64], length[16], small[4];
} header_outcome_t;

static int look_up_headers(void *arg) {
  header_outcome_t *out = arg;
  async_http_response_t response;
  out->rc = get("/status/200", NULL, &response);
  out->server_rc =
      async_http_header(&response, "SERVER", out->server, sizeof out->server);
  out->path_rc = async_http_header(&response, "x-fixture-path", out->path,
                                   sizeof out->path);
  out->length_rc = async_http_header(&response, "content-length", out->length,
                                     sizeof out->length);
  char unused[16];
  out->missing_rc =
      async_http_header(&response, "X-Not-There", unused, sizeof unused);
  /* "http_fixture" does not fit in 4 bytes. */
  out->small_rc =
      async_http_header(&response, "server", out->small, sizeof out->small);
  async_http_free(&response);
  return 0;
}

static void test_header_lookup_ignores_case_and_reports_absence(void **state) {
  (void)state;
  header_outcome_t out = {0};
  assert_int_equal(harness_run(look_up_headers, &out), 0);
  assert_int_equal(out.rc, 0);
  assert_int_equal(out.server_rc, 0);
  assert_string_equal(out.server, "http_fixture");
  assert_int_equal(out.path_rc, 0);
  assert_string_equal(out.path, "/status/200");
  assert_int_equal(out.length_rc, 0);
  assert_string_equal(out.length, "11"); /* "status 200\n" */
  assert_int_equal(out.missing_rc, UV_ENOENT);
  assert_int_equal(out.small_rc, UV_ENOBUFS);
}

/* ---- Redirects ---- */

typedef struct redirect_outcome {
  outcome_t outcome;
  char location[64];
  bool has_location;
} redirect_outcome_t;

typedef struct redirect_case {
  const char *path;
  int max_redirects;
  redirect_outcome_t out;
} redirect_case_t;

static int follow(void *arg) {
  redirect_case_t *cases = arg;
  for (redirect_case_t *c = cases; c->path != NULL; c++) {
    async_http_response_t response;
    async_http_options_t options = {.max_redirects = c->max_redirects};
    int rc = get(c->path, &options, &response);
    keep(&c->out.outcome, rc, &response);
    c->out.has_location =
        async_http_header(&response, "location", c->out.location,
                          sizeof c->out.location) == 0;
    async_http_free(&response);
  }
  return 0;
}

static void test_redirects_are_not_followed_by_default(void **state) {
  (void)state;
  redirect_case_t cases[] = {{.path = "/redirect/2", .max_redirects = 0},
                             {.path = NULL}};
  assert_int_equal(harness_run(follow, cases), 0);
  assert_int_equal(cases[0].out.outcome.rc, 0);
  assert_int_equal(cases[0].out.outcome.status, 302);
  assert_string_equal(cases[0].out.location, "/redirect/1");
  assert_ends_with(cases[0].out.outcome.effective_url, "/redirect/2");
}

static void test_redirects_are_followed_when_asked(void **state) {
  (void)state;
  redirect_case_t cases[] = {{.path = "/redirect/3", .max_redirects = -1},
                             {.path = "/redirect/3", .max_redirects = 3},
                             {.path = NULL}};
  assert_int_equal(harness_run(follow, cases), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cases[i].out.outcome.rc, 0);
    assert_int_equal(cases[i].out.outcome.status, 200);
    assert_string_equal(cases[i].out.outcome.body, "redirects done\n");
    assert_ends_with(cases[i].out.outcome.effective_url, "/redirect/0");
    /* The headers are the last hop's: no Location left from the 302s. */
    assert_false(cases[i].out.has_location);
  }
}

static void test_redirects_beyond_the_limit_fail_with_eloop(void **state) {
  (void)state;
  redirect_case_t cases[] = {{.path = "/redirect/3", .max_redirects = 2},
                             {.path = NULL}};
  assert_int_equal(harness_run(follow, cases), 0);
  assert_int_equal(cases[0].out.outcome.rc, UV_ELOOP);
  assert_contains(cases[0].out.outcome.error, "redirects");
  assert_true(cases[0].out.outcome.body_is_null);
}

/* ---- Failures ---- */

typedef struct stall_outcome {
  outcome_t outcome;
  double took;
  int in_flight_after; /* what the fixture saw once the call returned */
} stall_outcome_t;

static int time_out_on_stall(void *arg) {
  stall_outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.timeout = 0.2};
  double start = async_time();
  int rc = get("/stall", &options, &response);
  out->took = async_time() - start;
  keep(&out->outcome, rc, &response);
  async_http_free(&response);
  /* The client must have closed its connection: the stalled request ends. */
  out->in_flight_after = fixture_number("/await/inflight/0");
  return 0;
}

static void test_total_timeout_against_a_stalled_server(void **state) {
  (void)state;
  stall_outcome_t out = {0};
  int descriptors = open_descriptors();
  assert_int_equal(harness_run(time_out_on_stall, &out), 0);
  assert_int_equal(out.outcome.rc, UV_ETIMEDOUT);
  assert_contains(out.outcome.error, "timed out");
  assert_true(out.took >= 0.1); /* not at once (check mode's clock may round) */
  assert_int_equal(out.in_flight_after, 0);
  assert_int_equal(open_descriptors(), descriptors);
}

static int connect_to(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", out->rc);
  int rc = async_http_get(url, NULL, &response);
  keep(out, rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_connect_to_a_closed_port_is_refused(void **state) {
  (void)state;
  /* Bound but not listening: the port is ours, and refuses connections. */
  int socket_fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(socket_fd >= 0);
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(socket_fd, (struct sockaddr *)&address, sizeof address),
                   0);
  socklen_t length = sizeof address;
  assert_int_equal(getsockname(socket_fd, (struct sockaddr *)&address, &length),
                   0);
  outcome_t out = {.rc = ntohs(address.sin_port)};
  assert_int_equal(harness_run(connect_to, &out), 0);
  close(socket_fd);
  assert_int_equal(out.rc, UV_ECONNREFUSED);
  assert_contains(out.error, "refused");
}

/* A listener whose accept queue is full drops new SYNs (Linux), so a
 * connection to it hangs in connect without touching the network. */
static double connect_took;

static int connect_with_timeout(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", out->rc);
  async_http_options_t options = {.connect_timeout = 0.2};
  double start = async_time();
  int rc = async_http_get(url, &options, &response);
  connect_took = async_time() - start;
  keep(out, rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_connect_timeout_against_a_full_accept_queue(void **state) {
  (void)state;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(listener >= 0);
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof address),
                   0);
  assert_int_equal(listen(listener, 0), 0);
  socklen_t length = sizeof address;
  assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &length),
                   0);
  /* Fill the queue (backlog 0 holds one) with connections never accepted. */
  int fillers[2];
  for (int i = 0; i < 2; i++) {
    fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fillers[i] >= 0);
    connect(fillers[i], (struct sockaddr *)&address, sizeof address);
  }
  outcome_t out = {.rc = ntohs(address.sin_port)};
  assert_int_equal(harness_run(connect_with_timeout, &out), 0);
  for (int i = 0; i < 2; i++) close(fillers[i]);
  close(listener);
  assert_int_equal(out.rc, UV_ETIMEDOUT);
  assert_contains(out.error, "timed out");
  /* Its own timeout, not the default connect timeout (10 s). */
  if (!(connect_took >= 0.1 && connect_took < 5))
    fail_msg("the connect took %.3f s, expected 0.2 s", connect_took);
}

static int malformed_urls(void *arg) {
  outcome_t *out = arg;
  const char *urls[5] = {"http://", "http://[::1/", "ftp://127.0.0.1/x",
                         "file:///etc/passwd", NULL};
  for (int i = 0; i < 5; i++) {
    async_http_response_t response;
    int rc = async_http_get(urls[i], NULL, &response);
    keep(&out[i], rc, &response);
    async_http_free(&response);
  }
  return 0;
}

static void test_malformed_urls_are_einval(void **state) {
  (void)state;
  outcome_t out[5] = {{0}};
  assert_int_equal(harness_run(malformed_urls, out), 0);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(out[i].rc, UV_EINVAL);
    assert_true(out[i].error[0] != '\0');
  }
}

typedef struct bounded_case {
  const char *path;
  size_t max_body;
  outcome_t out;
} bounded_case_t;

static int bounded_gets(void *arg) {
  bounded_case_t *cases = arg;
  for (bounded_case_t *c = cases; c->path != NULL; c++) {
    async_http_response_t response;
    async_http_options_t options = {.max_body = c->max_body};
    int rc = get(c->path, &options, &response);
    keep(&c->out, rc, &response);
    async_http_free(&response);
  }
  return 0;
}

static void test_a_body_over_max_body_is_e2big(void **state) {
  (void)state;
  bounded_case_t cases[] = {
      {.path = "/bytes/10000", .max_body = 1000}, /* announced too large */
      {.path = "/stream/10000",
       .max_body = 1000}, /* found too large as it arrives */
      {.path = "/bytes/1000", .max_body = 1000}, /* exactly the limit: fine */
      {.path = NULL}};
  assert_int_equal(harness_run(bounded_gets, cases), 0);
  assert_int_equal(cases[0].out.rc, UV_E2BIG);
  assert_contains(cases[0].out.error, "max_body");
  assert_int_equal(cases[1].out.rc, UV_E2BIG);
  assert_int_equal(cases[2].out.rc, 0);
  assert_int_equal(cases[2].out.body_size, 1000);
}

static int reset_and_truncate(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/reset", NULL, &response);
  keep(&out[0], rc, &response);
  async_http_free(&response);
  rc = get("/truncate/1000", NULL, &response);
  keep(&out[1], rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_a_reset_or_cut_connection_is_an_error(void **state) {
  (void)state;
  outcome_t out[2] = {{0}};
  assert_int_equal(harness_run(reset_and_truncate, out), 0);
  assert_int_equal(out[0].rc, UV_ECONNRESET);
  assert_contains(out[0].error, "reset"); /* a real RST, not a plain close */
  assert_true(out[0].body_is_null);
  assert_int_equal(out[1].rc, UV_EIO);
  assert_contains(out[1].error, "whole body");
}

/* A name under .invalid never resolves (RFC 6761); a resolver that still
 * asks the network may hang, and this test is not about the network. */
static bool resolver_answers_quickly(void) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct addrinfo *result = NULL;
    int rc = getaddrinfo("no-such-host.invalid", "80", NULL, &result);
    if (result != NULL) freeaddrinfo(result);
    _exit(rc == 0 ? 1 : 0);
  }
  int status;
  for (int waited_ms = 0; waited_ms < 2000; waited_ms++) {
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return false;
}

static int get_invalid_name(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = async_http_get("http://no-such-host.invalid/", NULL, &response);
  keep(out, rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_a_name_that_does_not_resolve_is_eai_noname(void **state) {
  (void)state;
  if (!resolver_answers_quickly()) {
    print_message("skipped: this machine's resolver takes over 2 s to give "
                  "up on a .invalid name\n");
    skip();
  }
  outcome_t out = {0};
  assert_int_equal(harness_run(get_invalid_name, &out), 0);
  assert_int_equal(out.rc, UV_EAI_NONAME);
  assert_contains(out.error, "resolve");
}

/* ---- Bodies into files ---- */

typedef struct file_outcome {
  outcome_t outcome;
  char path[128];
  bool equal;
  long size_seen_while_running;
  bool exists_after;
  int in_flight_after;
} file_outcome_t;

static int download_to_file(void *arg) {
  file_outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.output_path = out->path};
  int rc = get("/bytes/200000", &options, &response);
  keep(&out->outcome, rc, &response);
  async_http_free(&response);
  return 0;
}

static void test_output_path_receives_the_body_byte_for_byte(void **state) {
  (void)state;
  file_outcome_t out = {0};
  snprintf(out.path, sizeof out.path, "%s/out.bin", fixture.directory);
  assert_int_equal(harness_run(download_to_file, &out), 0);
  assert_int_equal(out.outcome.rc, 0);
  assert_int_equal(out.outcome.status, 200);
  assert_true(out.outcome.body_is_null);
  assert_int_equal(out.outcome.body_size, 200000);
  static unsigned char expected[200000], got[200001];
  expected_bytes(expected, sizeof expected);
  FILE *file = fopen(out.path, "rb");
  assert_non_null(file);
  assert_int_equal(fread(got, 1, sizeof got, file), sizeof expected);
  fclose(file);
  assert_memory_equal(got, expected, sizeof expected);
}

static int download_cut_short(void *arg) {
  file_outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.output_path = out->path};
  int rc = get("/truncate/50000", &options, &response);
  keep(&out->outcome, rc, &response);
  async_http_free(&response);
  out->exists_after = file_exists(out->path);
  return 0;
}

static void test_output_path_is_removed_when_the_transfer_fails(void **state) {
  (void)state;
  file_outcome_t out = {0};
  snprintf(out.path, sizeof out.path, "%s/partial.bin", fixture.directory);
  assert_int_equal(harness_run(download_cut_short, &out), 0);
  assert_int_equal(out.outcome.rc, UV_EIO);
  assert_false(out.exists_after);
}

static int download_stalled(void *arg) {
  file_outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.output_path = out->path};
  int rc = get("/stall-after/50000", &options, &response);
  keep(&out->outcome, rc, &response);
  async_http_free(&response);
  return rc;
}

/* Looks at the file every millisecond until it has `size` bytes (or 10 s
 * passed) and returns its size. Nothing tells a test when the client has
 * written bytes to disk, so it watches; no timing decides the outcome. */
static long wait_for_file_size(const char *path, long size) {
  long now;
  for (int tries = 0; (now = file_size(path)) < size && tries < 10000; tries++)
    async_sleep(0.001);
  return now;
}

static int cancel_a_download(void *arg) {
  file_outcome_t *out = arg;
  async_task_t *task = async_spawn("download", download_stalled, out);
  out->size_seen_while_running = wait_for_file_size(out->path, 50000);
  async_task_cancel(task);
  async_task_join(task);
  async_task_release(task);
  out->exists_after = file_exists(out->path);
  out->in_flight_after = fixture_number("/await/inflight/0");
  return 0;
}

static void
test_output_path_is_written_as_it_arrives_and_removed_on_cancel(void **state) {
  (void)state;
  file_outcome_t out = {0};
  snprintf(out.path, sizeof out.path, "%s/stalled.bin", fixture.directory);
  int descriptors = open_descriptors();
  assert_int_equal(harness_run(cancel_a_download, &out), 0);
  assert_int_equal(out.size_seen_while_running, 50000);
  assert_int_equal(out.outcome.rc, UV_ECANCELED);
  assert_false(out.exists_after);
  assert_int_equal(out.in_flight_after, 0);
  assert_int_equal(open_descriptors(), descriptors);
}

/* ---- Many at once, cancellation, timeouts ---- */

enum { MANY = 20 };

typedef struct many {
  outcome_t outcomes[MANY];
  int peak;
} many_t;

static int gated_get(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  async_http_options_t options = {.timeout = 10};
  /* The fixture answers none of them before all twenty are in. */
  int rc = get("/gate/20/bytes/1000", &options, &response);
  keep(out, rc, &response);
  async_http_free(&response);
  return 0;
}

static int many_at_once(void *arg) {
  many_t *many = arg;
  async_task_t *tasks[MANY];
  for (int i = 0; i < MANY; i++)
    tasks[i] = async_spawn("get", gated_get, &many->outcomes[i]);
  int rc = async_gather(tasks, MANY, NULL, 0);
  for (int i = 0; i < MANY; i++) async_task_release(tasks[i]);
  many->peak = fixture_number("/peak");
  return rc;
}

static void test_many_transfers_run_at_once(void **state) {
  (void)state;
  many_t many = {0};
  assert_int_equal(harness_run(many_at_once, &many), 0);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(many.outcomes[i].rc, 0);
    assert_int_equal(many.outcomes[i].status, 200);
    assert_int_equal(many.outcomes[i].body_size, 1000);
  }
  assert_int_equal(many.peak, MANY);
}

typedef struct cancel_outcome {
  outcome_t outcome;
  int in_flight_before, in_flight_after;
  int join_rc;
} cancel_outcome_t;

static int stalled_get(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/stall", NULL, &response);
  keep(out, rc, &response);
  async_http_free(&response);
  return rc;
}

static int cancel_mid_transfer(void *arg) {
  cancel_outcome_t *out = arg;
  async_task_t *task = async_spawn("stalled", stalled_get, &out->outcome);
  /* Once the fixture holds the request, the transfer is under way. */
  out->in_flight_before = fixture_number("/await/inflight/1");
  async_task_cancel(task);
  out->join_rc = async_task_join(task);
  async_task_release(task);
  out->in_flight_after = fixture_number("/await/inflight/0");
  return 0;
}

static void test_cancelling_a_transfer_closes_its_connection(void **state) {
  (void)state;
  cancel_outcome_t out = {0};
  int descriptors = open_descriptors();
  assert_int_equal(harness_run(cancel_mid_transfer, &out), 0);
  assert_int_equal(out.in_flight_before, 1);
  assert_int_equal(out.join_rc, UV_ECANCELED);
  assert_int_equal(out.outcome.rc, UV_ECANCELED);
  assert_true(out.outcome.body_is_null);
  assert_int_equal(out.in_flight_after, 0);
  assert_int_equal(open_descriptors(), descriptors);
}

typedef struct scope_outcome {
  outcome_t outcome;
  int exit_rc;
  int in_flight_after;
} scope_outcome_t;

static int get_in_timeout_scope(void *arg) {
  scope_outcome_t *out = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.2);
  async_http_response_t response;
  int rc = get("/stall", NULL, &response);
  keep(&out->outcome, rc, &response);
  async_http_free(&response);
  out->exit_rc = async_timeout_exit(&scope);
  out->in_flight_after = fixture_number("/await/inflight/0");
  return 0;
}

static void test_a_timeout_scope_interrupts_a_transfer(void **state) {
  (void)state;
  scope_outcome_t out = {0};
  assert_int_equal(harness_run(get_in_timeout_scope, &out), 0);
  assert_int_equal(out.outcome.rc, UV_ETIMEDOUT);
  assert_int_equal(out.exit_rc, UV_ETIMEDOUT);
  assert_int_equal(out.in_flight_after, 0);
}

static int get_hello(void *arg) {
  outcome_t *out = arg;
  async_http_response_t response;
  int rc = get("/hello.txt", NULL, &response);
  keep(out, rc, &response);
  async_http_free(&response);
  return 0;
}

/* The client (multi handle, polls, timer) ends with its run; the next run
 * makes a new one. */
static void test_each_run_gets_a_client_of_its_own(void **state) {
  (void)state;
  outcome_t first = {0}, second = {0};
  assert_int_equal(harness_run(get_hello, &first), 0);
  assert_int_equal(harness_run(get_hello, &second), 0);
  assert_int_equal(first.rc, 0);
  assert_string_equal(first.body, "hello\n");
  assert_int_equal(second.rc, 0);
  assert_string_equal(second.body, "hello\n");
}

/* ---- Misuse ---- */

typedef struct misuse_outcome {
  int null_response, null_url, bad_method, negative_timeout, nan_connect,
      null_body, cancelled;
  char bad_method_error[256], cancelled_error[256];
} misuse_outcome_t;

static int misuse(void *arg) {
  misuse_outcome_t *out = arg;
  char url[URL_SIZE];
  async_http_response_t response;
  out->null_response = async_http_get(url_of(url, "/"), NULL, NULL);
  out->null_url = async_http_get(NULL, NULL, &response);
  async_http_free(&response);
  out->bad_method = async_http_get(
      url_of(url, "/"), &(async_http_options_t){.method = "BREW"}, &response);
  snprintf(out->bad_method_error, sizeof out->bad_method_error, "%s",
           response.error);
  async_http_free(&response);
  out->negative_timeout = async_http_get(
      url_of(url, "/"), &(async_http_options_t){.timeout = -1}, &response);
  async_http_free(&response);
  out->nan_connect = async_http_get(
      url_of(url, "/"), &(async_http_options_t){.connect_timeout = NAN},
      &response);
  async_http_free(&response);
  async_http_options_t no_body = {.method = "POST", .body_size = 10};
  out->null_body = async_http_get(url_of(url, "/echo"), &no_body, &response);
  async_http_free(&response);
  /* Cancelled already: returns at once, before any transfer. */
  async_task_cancel(async_current_task());
  out->cancelled = async_http_get(url_of(url, "/"), NULL, &response);
  snprintf(out->cancelled_error, sizeof out->cancelled_error, "%s",
           response.error);
  async_http_free(&response);
  return 0;
}

static void test_bad_arguments_are_einval_and_change_nothing(void **state) {
  (void)state;
  misuse_outcome_t out = {0};
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  assert_int_equal(harness_run(misuse, &out), 0);
  free(stderr_capture_end(&capture));
  assert_int_equal(out.null_response, UV_EINVAL);
  assert_int_equal(out.null_url, UV_EINVAL);
  assert_int_equal(out.bad_method, UV_EINVAL);
  assert_contains(out.bad_method_error, "method");
  assert_int_equal(out.negative_timeout, UV_EINVAL);
  assert_int_equal(out.nan_connect, UV_EINVAL);
  assert_int_equal(out.null_body, UV_EINVAL);
  assert_int_equal(out.cancelled, UV_ECANCELED);
  assert_true(out.cancelled_error[0] != '\0');
}

static void test_outside_a_task_is_eperm(void **state) {
  (void)state;
  char url[URL_SIZE];
  async_http_response_t response;
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = async_http_get(url_of(url, "/"), NULL, &response);
  free(stderr_capture_end(&capture));
  assert_int_equal(rc, UV_EPERM);
  async_http_free(&response);
}

/* ---- The fixture itself ---- */

static void test_fixture_exits_cleanly_on_sigterm(void **state) {
  (void)state;
  int status = fixture_stop();
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- A real peer: lighttpd, when installed ---- */

static bool on_path(const char *program, char *found, size_t size) {
  const char *path = getenv("PATH");
  char directories[4096];
  snprintf(directories, sizeof directories, "%s:/usr/sbin:/sbin",
           path ? path : "/usr/bin:/bin");
  for (char *save = NULL, *dir = strtok_r(directories, ":", &save); dir != NULL;
       dir = strtok_r(NULL, ":", &save)) {
    snprintf(found, size, "%s/%s", dir, program);
    if (access(found, X_OK) == 0) return true;
  }
  return false;
}

static void
test_a_real_peer_lighttpd_serves_a_file_byte_for_byte(void **state) {
  (void)state;
  char lighttpd[PATH_MAX];
  if (!on_path("lighttpd", lighttpd, sizeof lighttpd)) {
    print_message("skipped: lighttpd is not installed\n");
    skip();
  }
  /* A listening socket handed over as systemd would (LISTEN_FDS): the port
   * is free and taken before lighttpd starts, and connections queue until
   * it accepts, so there is nothing to wait for. */
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(listener >= 0);
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof address),
                   0);
  assert_int_equal(listen(listener, 64), 0);
  socklen_t length = sizeof address;
  assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &length),
                   0);
  int port = ntohs(address.sin_port);
  char config[PATH_MAX];
  snprintf(config, sizeof config, "%s/lighttpd.conf", fixture.directory);
  FILE *file = fopen(config, "w");
  assert_non_null(file);
  fprintf(file,
          "server.document-root = \"%s\"\n"
          "server.bind = \"127.0.0.1\"\n"
          "server.port = %d\n"
          "server.systemd-socket-activation = \"enable\"\n"
          "server.errorlog = \"/dev/null\"\n",
          fixture.directory, port);
  fclose(file);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (listener == 3)
      fcntl(3, F_SETFD, 0); /* dup2 would leave close-on-exec set */
    else
      dup2(listener, 3);
    char me[32];
    snprintf(me, sizeof me, "%d", (int)getpid());
    setenv("LISTEN_PID", me, 1);
    setenv("LISTEN_FDS", "1", 1);
    int null = open("/dev/null", O_RDWR);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execl(lighttpd, lighttpd, "-D", "-f", config, (char *)NULL);
    _exit(127);
  }
  close(listener);
  /* Talk to lighttpd instead of the fixture. */
  snprintf(fixture.base, sizeof fixture.base, "http://127.0.0.1:%d", port);
  outcome_t out = {0};
  int rc = harness_run(get_binary_file, &out);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  assert_int_equal(rc, 0);
  assert_int_equal(out.rc, 0);
  assert_int_equal(out.status, 200);
  assert_int_equal(out.body_size, BINARY_SIZE);
  assert_true(out.equal);
}

#define FIXTURE_TEST(test)                                                     \
  cmocka_unit_test_setup_teardown(test, fixture_start, fixture_teardown)

ASYNC_TEST_MAIN(
    FIXTURE_TEST(test_get_returns_a_binary_file_byte_for_byte),
    FIXTURE_TEST(test_a_delayed_file_is_served_whole),
    FIXTURE_TEST(test_error_statuses_are_responses_not_failures),
    FIXTURE_TEST(test_head_gives_the_headers_and_no_body),
    FIXTURE_TEST(test_post_sends_its_binary_body),
    FIXTURE_TEST(test_header_lookup_ignores_case_and_reports_absence),
    FIXTURE_TEST(test_redirects_are_not_followed_by_default),
    FIXTURE_TEST(test_redirects_are_followed_when_asked),
    FIXTURE_TEST(test_redirects_beyond_the_limit_fail_with_eloop),
    FIXTURE_TEST(test_total_timeout_against_a_stalled_server),
    FIXTURE_TEST(test_connect_to_a_closed_port_is_refused),
    FIXTURE_TEST(test_connect_timeout_against_a_full_accept_queue),
    FIXTURE_TEST(test_malformed_urls_are_einval),
    FIXTURE_TEST(test_a_body_over_max_body_is_e2big),
    FIXTURE_TEST(test_a_reset_or_cut_connection_is_an_error),
    FIXTURE_TEST(test_a_name_that_does_not_resolve_is_eai_noname),
    FIXTURE_TEST(test_output_path_receives_the_body_byte_for_byte),
    FIXTURE_TEST(test_output_path_is_removed_when_the_transfer_fails),
    FIXTURE_TEST(
        test_output_path_is_written_as_it_arrives_and_removed_on_cancel),
    FIXTURE_TEST(test_many_transfers_run_at_once),
    FIXTURE_TEST(test_cancelling_a_transfer_closes_its_connection),
    FIXTURE_TEST(test_a_timeout_scope_interrupts_a_transfer),
    FIXTURE_TEST(test_each_run_gets_a_client_of_its_own),
    FIXTURE_TEST(test_bad_arguments_are_einval_and_change_nothing),
    FIXTURE_TEST(test_outside_a_task_is_eperm),
    FIXTURE_TEST(test_fixture_exits_cleanly_on_sigterm),
    FIXTURE_TEST(test_a_real_peer_lighttpd_serves_a_file_byte_for_byte))
