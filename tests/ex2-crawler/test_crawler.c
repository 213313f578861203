/* test_crawler.c: ex2-crawler's cmocka checks of crawler.c, against the
 * kit's HTTP fixture (started here as a child process) over real sockets.
 *
 * Each scenario starts http_fixture, reads its "listening on HOST:PORT"
 * line, then runs one async_run() that calls crawler_fetch or
 * crawler_crawl in a fresh directory and asks the fixture what it saw; the
 * fixture is stopped after the run. Every call into crawler.c runs inside
 * a timeout scope (the guard), so that a crawler that waits for ever fails
 * the test with a reason instead of hanging it.
 *
 * The crawl tests run in the runtime's check mode under seeded random
 * schedules (ASYNC_CHECK=1, ASYNC_SCHEDULE=random, ASYNC_SEED): the tasks
 * become ready in a different order each seed, and check mode reports what
 * it finds (in ASYNC_FINDINGS). Its virtual clock also makes a stuck crawl
 * fail at once: with no task ready and no transfer in flight, time jumps
 * to the guard's deadline. SEED=N runs one seed only, which is how a
 * failure is replayed. */
#include "check.h"

#include <async.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crawler.h"

extern char **environ;

/* How long the guard around a call into crawler.c waits (seconds): a
 * crawl, and one fetch (whose transfers take 0.5 s at most). */
#define GUARD_SECONDS 4.0
#define FETCH_GUARD_SECONDS 2.0

/* ---- The test's own directory and files ---- */

/* A fresh, empty directory under TMPDIR (the grader gives each check one). */
static void make_directory(char *path, size_t size) {
  const char *base = getenv("TMPDIR");
  snprintf(path, size, "%s/crawl-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(path));
}

/* The names in `directory`, comma-separated, into list[size]; returns how
 * many there are. Hidden names (a temporary file) count too. */
static int list_directory(const char *directory, char *list, size_t size) {
  DIR *dir = opendir(directory);
  assert_non_null(dir);
  int count = 0;
  list[0] = '\0';
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    size_t used = strlen(list);
    snprintf(list + used, size - used, "%s%s", count ? ", " : "",
             entry->d_name);
    count++;
  }
  closedir(dir);
  return count;
}

static void remove_directory(const char *directory) {
  DIR *dir = opendir(directory);
  if (dir == NULL) return;
  struct dirent *entry;
  char path[PATH_MAX];
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
    unlink(path);
  }
  closedir(dir);
  rmdir(directory);
}

/* Reads a whole file; NULL if it is not there. */
static unsigned char *read_file(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return NULL;
  unsigned char *data = NULL;
  size_t used = 0, capacity = 0;
  for (;;) {
    if (used == capacity) {
      capacity = capacity ? 2 * capacity : 4096;
      data = realloc(data, capacity);
      assert_non_null(data);
    }
    size_t got = fread(data + used, 1, capacity - used, file);
    used += got;
    if (got == 0) break;
  }
  fclose(file);
  *size = used;
  return data;
}

/* The bytes the fixture's /bytes/N sends (see tests/fixtures/http_fixture.c):
 * byte i is the top byte of x(i+1), x(0) = 1, x(k+1) = x(k) * 1664525 +
 * 1013904223 mod 2^32. */
static void expected_bytes(unsigned char *out, size_t n) {
  uint32_t x = 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    out[i] = (unsigned char)(x >> 24);
  }
}

/* Fails unless directory/NAME holds exactly the n bytes of /bytes/n. */
static void expect_bytes_file(const char *directory, size_t n) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%zu", directory, n);
  size_t size = 0;
  unsigned char *data = read_file(path, &size);
  if (data == NULL) {
    check_message("%zu (the body of /bytes/%zu) was not saved", n, n);
    fail();
  }
  unsigned char *expected = malloc(n ? n : 1);
  assert_non_null(expected);
  expected_bytes(expected, n);
  size_t same = 0;
  while (same < size && same < n && data[same] == expected[same]) same++;
  if (size != n || same != n) {
    const unsigned char *nul = memchr(expected, 0, n);
    if (size != n && nul != NULL && size == (size_t)(nul - expected))
      check_message("saved %zu bytes of %zu: the file stops right before "
                    "the body's first NUL byte. The body is binary: write "
                    "response.body_size bytes (fwrite), never strlen() or "
                    "fputs()",
                    size, n);
    else if (size != n)
      check_message("saved %zu bytes of %zu: save the body byte for byte "
                    "(response.body_size bytes, NUL bytes too)",
                    size, n);
    else
      check_message("the saved body differs from the one sent at byte %zu: "
                    "save the body byte for byte, untouched",
                    same);
    free(expected);
    free(data);
    fail();
  }
  free(expected);
  free(data);
}

/* ---- The fixture, as a child process ---- */

/* Started before async_run() and stopped after it, not with the runtime's
 * subprocess support: a child the runtime watches is work in flight, and
 * check mode would then wait for it in real time instead of seeing at once
 * that a crawl is stuck (no task ready, nothing in flight). */
typedef struct fixture {
  pid_t pid;
  char base[96]; /* "http://127.0.0.1:PORT" */
} fixture_t;

static int fixture_start(fixture_t *fixture) {
  int out[2];
  assert_int_equal(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  char *argv[] = {"http_fixture", "-p", "0", NULL};
  int rc = posix_spawnp(&fixture->pid, "http_fixture", &actions, NULL, argv,
                        environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    fixture->pid = 0;
    check_message("cannot start http_fixture: %s", strerror(rc));
    return -1;
  }
  /* It says where it listens once it does: read that line, then let its
   * output go (it prints nothing more). */
  FILE *from = fdopen(out[0], "r");
  assert_non_null(from);
  char line[256] = "";
  const char *address = fgets(line, sizeof line, from) != NULL
                            ? strstr(line, "listening on ")
                            : NULL;
  fclose(from);
  if (address == NULL) {
    check_message("http_fixture did not say where it listens");
    return -1;
  }
  address += strlen("listening on ");
  line[strcspn(line, "\r\n")] = '\0';
  snprintf(fixture->base, sizeof fixture->base, "http://%s", address);
  return 0;
}

static void fixture_stop(fixture_t *fixture) {
  if (fixture->pid <= 0) return;
  kill(fixture->pid, SIGTERM);
  waitpid(fixture->pid, NULL, 0);
  fixture->pid = 0;
}

/* Asks the fixture a question (/peak...) and returns the number it
 * answers, or -1. */
static int fixture_ask(const fixture_t *fixture, const char *question) {
  char url[160];
  snprintf(url, sizeof url, "%s%s", fixture->base, question);
  async_http_response_t response;
  int rc = async_http_get(url, NULL, &response);
  int answer = rc == 0 && response.status == 200 ? atoi(response.body) : -1;
  async_http_free(&response);
  return answer;
}

/* ---- Running a scenario ---- */

typedef struct scenario scenario_t;
struct scenario {
  /* The test's part, run inside the task once the fixture listens. */
  void (*run)(scenario_t *scenario);
  fixture_t fixture;
  char directory[PATH_MAX];
  crawler_options_t options;
  /* Filled by the scenario for the test to look at afterwards. */
  int rc;
  bool guard_expired;
  double seconds;
  char why[512];
  int peak;
  /* Fetch scenarios first fetch a good URL, so that a crawler_fetch that
   * fails on everything cannot pass a check about failing well. */
  bool control;
  int control_rc;
  char control_why[512];
};

/* http_fixture is built beside this program: put that folder first in
 * PATH (the grader does; a run by hand may not). */
static void put_own_folder_on_path(void) {
  static bool done;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (done || n <= 0) return;
  done = true;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash == NULL) return;
  *slash = '\0';
  const char *path = getenv("PATH");
  char *value = malloc(strlen(self) + strlen(path ? path : "") + 2);
  assert_non_null(value);
  sprintf(value, "%s:%s", self, path ? path : "");
  setenv("PATH", value, 1);
  free(value);
}

static int scenario_main(void *arg) {
  scenario_t *scenario = arg;
  scenario->run(scenario);
  return 0;
}

/* Runs `scenario` in a fresh directory; check mode with this seed when
 * seed > 0. Findings of check mode go to *findings (NULL: none). */
static void run_scenario(scenario_t *scenario, unsigned seed, char *findings,
                         size_t findings_size) {
  put_own_folder_on_path();
  make_directory(scenario->directory, sizeof scenario->directory);
  if (scenario->options.directory == NULL)
    scenario->options.directory = scenario->directory;
  char findings_path[PATH_MAX + 32] = "";
  if (seed > 0) {
    char text[32];
    snprintf(text, sizeof text, "%u", seed);
    snprintf(findings_path, sizeof findings_path, "%s.findings",
             scenario->directory);
    unlink(findings_path);
    setenv("ASYNC_CHECK", "1", 1);
    setenv("ASYNC_SCHEDULE", "random", 1);
    setenv("ASYNC_SEED", text, 1);
    setenv("ASYNC_FINDINGS", findings_path, 1);
  } else {
    unsetenv("ASYNC_CHECK");
  }
  if (fixture_start(&scenario->fixture) != 0) {
    fixture_stop(&scenario->fixture);
    fail();
  }
  int rc = async_run(scenario_main, scenario);
  fixture_stop(&scenario->fixture);
  if (findings != NULL) {
    findings[0] = '\0';
    size_t size = 0;
    unsigned char *text =
        findings_path[0] ? read_file(findings_path, &size) : NULL;
    if (text != NULL) {
      snprintf(findings, findings_size, "%.*s", (int)size, (char *)text);
      free(text);
    }
  }
  if (findings_path[0]) unlink(findings_path);
  if (rc != 0) {
    check_message("the test's run ended with %s", async_strerror(rc));
    fail();
  }
}

/* Calls crawler_fetch under the guard. */
static void guarded_fetch(scenario_t *scenario, const char *url) {
  async_timeout_t guard;
  async_timeout_enter(&guard, FETCH_GUARD_SECONDS);
  double start = async_time();
  scenario->rc = crawler_fetch(url, &scenario->options, scenario->why,
                               sizeof scenario->why);
  scenario->seconds = async_time() - start;
  scenario->guard_expired = async_timeout_exit(&guard) == UV_ETIMEDOUT;
}

/* Fails the test unless the directory is empty, naming what is left. */
static void expect_empty_directory(scenario_t *scenario, const char *what) {
  char list[2048];
  if (list_directory(scenario->directory, list, sizeof list) != 0) {
    check_message("after %s the directory still holds: %s. A failed fetch "
                  "must leave no file, not even a partial or temporary one "
                  "(unlink it)",
                  what, list);
    fail();
  }
}

/* Fails unless the good URL fetched first was fetched. */
static void expect_control_fetched(scenario_t *scenario) {
  if (scenario->control_rc != 0) {
    check_message("crawler_fetch cannot fetch a good URL yet (it said: %s); "
                  "this check is about failing well, which comes after",
                  scenario->control_why[0]
                      ? scenario->control_why
                      : async_strerror(scenario->control_rc));
    fail();
  }
}

static void expect_guard_kept(scenario_t *scenario, const char *call) {
  if (scenario->guard_expired) {
    bool fetch = strncmp(call, "crawler_fetch", 13) == 0;
    check_message("%s was still running after %g seconds. Is every "
                  "transfer bounded by options->timeout (async_http_options_t"
                  ".timeout)%s?",
                  call, fetch ? FETCH_GUARD_SECONDS : GUARD_SECONDS,
                  fetch ? "" : ", and does every task get its turn");
    fail();
  }
}

/* ---- crawler_fetch ---- */

static const char *scenario_url; /* what the fetch scenarios fetch */

static void fetch_one(scenario_t *scenario) {
  char url[512];
  if (scenario->control) {
    snprintf(url, sizeof url, "%s/bytes/1000", scenario->fixture.base);
    guarded_fetch(scenario, url);
    scenario->control_rc =
        scenario->guard_expired ? UV_ETIMEDOUT : scenario->rc;
    snprintf(scenario->control_why, sizeof scenario->control_why, "%s",
             scenario->why);
    char saved[PATH_MAX + 16];
    snprintf(saved, sizeof saved, "%s/1000", scenario->directory);
    unlink(saved);
    scenario->why[0] = '\0';
  }
  /* A path is the fixture's; anything else is fetched as it is. */
  snprintf(url, sizeof url, "%s%s",
           scenario_url[0] == '/' ? scenario->fixture.base : "", scenario_url);
  guarded_fetch(scenario, url);
}

static void test_fetch_saves_a_binary_body_byte_for_byte(void **state) {
  (void)state;
  /* 100,000 generated bytes: NULs, high bytes, every value, and more
   * than one read's worth. */
  scenario_t scenario = {.run = fetch_one, .options = {.timeout = 5}};
  scenario_url = "/bytes/100000";
  run_scenario(&scenario, 0, NULL, 0);
  expect_guard_kept(&scenario, "crawler_fetch");
  if (scenario.rc != 0) {
    check_message("crawler_fetch(\".../bytes/100000\") returned %d (%s): "
                  "%s",
                  scenario.rc, async_strerror(scenario.rc), scenario.why);
    fail();
  }
  expect_bytes_file(scenario.directory, 100000);
  char list[2048];
  if (list_directory(scenario.directory, list, sizeof list) != 1) {
    check_message("the directory should hold the one file 100000, not: %s. "
                  "Rename the temporary file into place",
                  list);
    fail();
  }
  remove_directory(scenario.directory);
}

static void test_fetch_http_error_fails_and_leaves_no_file(void **state) {
  (void)state;
  /* The fixture answers 404 with a body ("not found"), and /status/500
   * with one too: a body that must not pass for the document. */
  const char *paths[] = {"/017_missing.patch.sig", "/status/500"};
  const char *codes[] = {"404", "500"};
  for (int i = 0; i < 2; i++) {
    scenario_t scenario = {
        .run = fetch_one, .control = true, .options = {.timeout = 5}};
    scenario_url = paths[i];
    run_scenario(&scenario, 0, NULL, 0);
    expect_control_fetched(&scenario);
    expect_guard_kept(&scenario, "crawler_fetch");
    if (scenario.rc >= 0) {
      check_message("crawler_fetch(\"...%s\") returned %d, but the server "
                    "answered %s: a status of 400 or more is a failure "
                    "(a negative error)",
                    paths[i], scenario.rc, codes[i]);
      fail();
    }
    if (strstr(scenario.why, codes[i]) == NULL) {
      check_message("crawler_fetch failed on an HTTP %s, but its reason "
                    "(\"%s\") does not say so: write \"HTTP status %s\" "
                    "into why",
                    codes[i], scenario.why, codes[i]);
      fail();
    }
    char what[64];
    snprintf(what, sizeof what, "an HTTP %s", codes[i]);
    expect_empty_directory(&scenario, what);
    remove_directory(scenario.directory);
  }
}

/* A port on 127.0.0.1 that refuses connections for as long as the socket
 * returned stays open: bound, never listening (a connection to it is
 * answered with a reset). Not a fixed port such as 1: on a shared network
 * anything may listen there. */
static int closed_port(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
  *port = ntohs(address.sin_port);
  return fd;
}

static void
test_fetch_refused_connection_fails_and_leaves_no_file(void **state) {
  (void)state;
  int port;
  int fd = closed_port(&port);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/018_refused.patch.sig", port);
  scenario_t scenario = {
      .run = fetch_one, .control = true, .options = {.timeout = 5}};
  scenario_url = url;
  run_scenario(&scenario, 0, NULL, 0);
  close(fd);
  expect_control_fetched(&scenario);
  expect_guard_kept(&scenario, "crawler_fetch");
  if (scenario.rc >= 0) {
    check_message("crawler_fetch returned %d for a refused connection: "
                  "when async_http_get fails, return its error",
                  scenario.rc);
    fail();
  }
  if (scenario.why[0] == '\0') {
    check_message("crawler_fetch failed on a refused connection without a "
                  "reason: copy response.error into why");
    fail();
  }
  expect_empty_directory(&scenario, "a refused connection");
  remove_directory(scenario.directory);
}

static void test_fetch_timeout_fails_and_leaves_no_partial_file(void **state) {
  (void)state;
  /* /stall-after/4000 announces 8000 bytes, sends 4000, then stalls: a
   * transfer that only options->timeout can end, half a file on disk. */
  scenario_t scenario = {
      .run = fetch_one, .control = true, .options = {.timeout = 0.5}};
  scenario_url = "/stall-after/4000";
  run_scenario(&scenario, 0, NULL, 0);
  expect_control_fetched(&scenario);
  expect_guard_kept(&scenario, "crawler_fetch with options->timeout 0.5");
  if (scenario.rc >= 0) {
    check_message("crawler_fetch returned %d for a transfer that stalled "
                  "half-way: that is a failure (a negative error)",
                  scenario.rc);
    fail();
  }
  if (scenario.seconds > 3) {
    check_message("crawler_fetch gave up after %.1f seconds, though "
                  "options->timeout was 0.5: set async_http_options_t's "
                  "timeout to it",
                  scenario.seconds);
    fail();
  }
  expect_empty_directory(&scenario, "a transfer that timed out half-way");
  remove_directory(scenario.directory);
}

static void test_fetch_malformed_url_fails_clearly(void **state) {
  (void)state;
  /* No scheme, no host, an empty last segment: nothing to fetch, or
   * nothing to name the file after. */
  const char *urls[] = {"001_tcb_invalidation.patch.sig", "http:///a.sig",
                        "/dir/"};
  for (int i = 0; i < 3; i++) {
    scenario_t scenario = {
        .run = fetch_one, .control = true, .options = {.timeout = 5}};
    scenario_url = urls[i];
    run_scenario(&scenario, 0, NULL, 0);
    expect_control_fetched(&scenario);
    expect_guard_kept(&scenario, "crawler_fetch");
    if (scenario.rc >= 0 || scenario.why[0] == '\0') {
      check_message("crawler_fetch(\"%s%s\") returned %d%s: a malformed URL "
                    "fails with crawler_file_name's error and its sentence "
                    "in why",
                    urls[i][0] == '/' ? "http://HOST:PORT" : "", urls[i],
                    scenario.rc, scenario.rc < 0 ? " without a reason" : "");
      fail();
    }
    expect_empty_directory(&scenario, "a malformed URL");
    remove_directory(scenario.directory);
  }
}

/* ---- crawler_crawl ---- */

enum { MAX_URLS = 32 };
static char crawl_paths[MAX_URLS][96]; /* fixture paths to crawl */
static size_t crawl_count;

static void crawl_all(scenario_t *scenario) {
  static char urls[MAX_URLS][192];
  char *list[MAX_URLS];
  for (size_t i = 0; i < crawl_count; i++) {
    snprintf(urls[i], sizeof urls[i], "%.95s%.95s", scenario->fixture.base,
             crawl_paths[i]);
    list[i] = urls[i];
  }
  async_timeout_t guard;
  async_timeout_enter(&guard, GUARD_SECONDS);
  scenario->rc = crawler_crawl(list, crawl_count, &scenario->options);
  scenario->guard_expired = async_timeout_exit(&guard) == UV_ETIMEDOUT;
  scenario->peak = fixture_ask(&scenario->fixture, "/peak");
}

/* Fails when the crawl saved nothing at all: part 1 comes first. */
static void expect_something_fetched(scenario_t *scenario) {
  char list[2048];
  if (scenario->peak == 0 &&
      list_directory(scenario->directory, list, sizeof list) == 0) {
    check_message("no transfer reached the fixture and nothing was saved: "
                  "crawler_fetch fetches nothing yet (part 1 comes first)");
    fail();
  }
}

/* The seeds a crawl test tries: SEED=N alone when given (a replay). */
static void seed_range(unsigned *first, unsigned *last, unsigned count) {
  const char *only = getenv("SEED");
  *first = only ? (unsigned)atoi(only) : 1;
  *last = only ? *first : count;
}

/* Fails with check mode's first finding, if it reported any. */
static void expect_no_findings(const char *findings, unsigned seed,
                               const char *test) {
  if (findings[0] == '\0') return;
  const char *kind = strstr(findings, "\"kind\"");
  char name[64] = "a problem";
  if (kind != NULL) sscanf(kind, "\"kind\": \"%63[^\"]\"", name);
  check_message("check mode reported %s (seed %u); its report is above", name,
                seed);
  check_replay("SEED=%u ./test_crawler %s", seed, test);
  printf("%s\n", findings);
  fail();
}

static void test_crawl_holds_the_limit_and_reaches_it(void **state) {
  (void)state;
  /* Three URLs wait at the fixture's gate until three requests are in
   * progress at once: a crawler that keeps 3 in flight opens it at once,
   * one that never does sees them time out. The others take 50 ms each,
   * so that more than 3 at once would overlap and show in the peak. */
  crawl_count = 9;
  for (size_t i = 0; i < crawl_count; i++)
    snprintf(crawl_paths[i], sizeof crawl_paths[i],
             i < 3 ? "/gate/3/bytes/%zu" : "/delay/50/bytes/%zu", 1001 + i);
  unsigned first, last;
  seed_range(&first, &last, 3);
  for (unsigned seed = first; seed <= last; seed++) {
    scenario_t scenario = {.run = crawl_all,
                           .options = {.limit = 3, .timeout = 1}};
    char findings[4096];
    run_scenario(&scenario, seed, findings, sizeof findings);
    if (scenario.guard_expired || scenario.rc != 0 || scenario.peak != 3)
      check_replay("SEED=%u ./test_crawler "
                   "test_crawl_holds_the_limit_and_reaches_it",
                   seed);
    /* The guard first: a crawl that never ends says most about itself. */
    expect_guard_kept(&scenario, "crawler_crawl");
    expect_no_findings(findings, seed,
                       "test_crawl_holds_the_limit_and_reaches_it");
    expect_something_fetched(&scenario);
    if (scenario.peak > 3) {
      check_message("with limit 3 the fixture saw %d transfers in flight at "
                    "once: take a seat of a semaphore of 3 before each "
                    "transfer, give it back after",
                    scenario.peak);
      fail();
    }
    if (scenario.peak < 3) {
      check_message("with limit 3 the crawl never had 3 transfers in flight "
                    "at once (the fixture saw %d): spawn a task per URL "
                    "before waiting for any, and let the semaphore hold "
                    "them back",
                    scenario.peak);
      fail();
    }
    if (scenario.rc != 0) {
      check_message("crawler_crawl returned %d, but every URL could be "
                    "fetched: it returns how many failed",
                    scenario.rc);
      fail();
    }
    for (size_t i = 0; i < crawl_count; i++)
      expect_bytes_file(scenario.directory, 1001 + i);
    remove_directory(scenario.directory);
  }
}

static void test_crawl_counts_failures_and_goes_on(void **state) {
  (void)state;
  /* Three URLs that fail first (404: this fixture has no files), then
   * six that take 50 ms each. A crawler that loses a seat on each
   * failure has none left; one that gives a seat back twice lets more
   * than 3 through; one that stops at the first failure saves nothing. */
  crawl_count = 9;
  for (size_t i = 0; i < crawl_count; i++)
    snprintf(crawl_paths[i], sizeof crawl_paths[i],
             i < 3 ? "/%03zu_missing.patch.sig" : "/delay/50/bytes/%zu",
             i < 3 ? 17 + i : 1001 + i);
  unsigned first, last;
  seed_range(&first, &last, 3);
  for (unsigned seed = first; seed <= last; seed++) {
    scenario_t scenario = {.run = crawl_all,
                           .options = {.limit = 3, .timeout = 5}};
    char findings[4096];
    run_scenario(&scenario, seed, findings, sizeof findings);
    if (scenario.guard_expired || scenario.rc != 3 || scenario.peak > 3)
      check_replay("SEED=%u ./test_crawler "
                   "test_crawl_counts_failures_and_goes_on",
                   seed);
    expect_something_fetched(&scenario);
    if (scenario.guard_expired) {
      check_message("crawler_crawl never finished after 3 of its URLs had "
                    "failed: its tasks waited with no transfer in flight "
                    "(check mode's clock ran to the %g s guard at once). "
                    "Does a task give its seat back when its fetch fails?",
                    GUARD_SECONDS);
      fail();
    }
    expect_no_findings(findings, seed,
                       "test_crawl_counts_failures_and_goes_on");
    if (scenario.peak > 3) {
      check_message("with limit 3 the fixture saw %d transfers in flight at "
                    "once after 3 failures: give a seat back exactly once, "
                    "whether the fetch worked or not",
                    scenario.peak);
      fail();
    }
    for (size_t i = 3; i < crawl_count; i++) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%s/%zu", scenario.directory, 1001 + i);
      if (access(path, F_OK) != 0) {
        check_message("after 3 URLs failed, %zu (a good URL) was not saved: "
                      "a failure must not stop or cancel the other "
                      "transfers",
                      1001 + i);
        fail();
      }
      expect_bytes_file(scenario.directory, 1001 + i);
    }
    if (scenario.rc != 3) {
      check_message("crawler_crawl returned %d, but 3 URLs failed: it "
                    "returns how many failed",
                    scenario.rc);
      fail();
    }
    char list[2048];
    if (list_directory(scenario.directory, list, sizeof list) != 6) {
      check_message("the directory should hold the 6 files fetched, but "
                    "holds: %s",
                    list);
      fail();
    }
    remove_directory(scenario.directory);
  }
}

CHECK_MAIN(
    cmocka_unit_test(test_fetch_saves_a_binary_body_byte_for_byte),
    cmocka_unit_test(test_fetch_http_error_fails_and_leaves_no_file),
    cmocka_unit_test(test_fetch_refused_connection_fails_and_leaves_no_file),
    cmocka_unit_test(test_fetch_timeout_fails_and_leaves_no_partial_file),
    cmocka_unit_test(test_fetch_malformed_url_fails_clearly),
    cmocka_unit_test(test_crawl_holds_the_limit_and_reaches_it),
    cmocka_unit_test(test_crawl_counts_failures_and_goes_on))
