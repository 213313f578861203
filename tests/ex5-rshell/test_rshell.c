/* test_rshell.c: ex5-rshell's cmocka checks of rshell.c, under seeded
 * schedules.
 *
 * The server (rshell_start, rshell_session) runs in this process, with
 * clients as tasks of the same run, in the runtime's check mode: each seed
 * picks another order in which ready tasks run, so a session whose
 * tear-down depends on which of its tasks the loop happens to run first
 * fails for some seeds, and the failing seed replays it. Shells and
 * sockets are real; only the interleaving of tasks is chosen. */
#include "check.h"

#include <async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rshell.h"

/* How long a scenario may take before it counts as stuck, and how long a
 * shell may outlive its session (real seconds: the virtual clock follows
 * real time while shells run), before TIMEOUT_SCALE. */
static const double SCENARIO_LIMIT = 3.0;
static const double SHELL_GONE_LIMIT = 1.0;

static double scaled(double seconds) {
  const char *scale = getenv("TIMEOUT_SCALE");
  double factor = scale ? strtod(scale, NULL) : 1.0;
  return seconds * (factor > 0 ? factor : 1.0);
}

/* A client's side of one session. */
typedef struct client {
  int port;
  const char *script; /* sent at once */
  bool hang_up;       /* close after two lines back, not at the end */
  int connect_rc;
  char received[4096];
  size_t length;
  bool ended; /* the server closed the connection */
} client_t;

/* Sends the script, then reads until the server closes the connection (or
 * after one line, for a client that hangs up). */
static int run_client(void *arg) {
  client_t *client = arg;
  async_stream_t *stream = NULL;
  client->connect_rc = async_connect(&stream, "127.0.0.1", client->port);
  if (client->connect_rc != 0) return 0;
  async_stream_write(stream, client->script, strlen(client->script));
  for (;;) {
    size_t room = sizeof client->received - 1 - client->length;
    if (room == 0) break;
    ssize_t n =
        async_stream_read(stream, client->received + client->length, room);
    if (n <= 0) {
      client->ended = n == 0;
      break;
    }
    client->length += (size_t)n;
    client->received[client->length] = '\0';
    const char *newline = strchr(client->received, '\n');
    if (client->hang_up && newline && strchr(newline + 1, '\n')) break;
  }
  async_stream_close(stream);
  return 0;
}

typedef struct scenario {
  client_t clients[2];
  size_t client_count;
  int start_rc;
  bool stuck;     /* the limit passed before every session had ended */
  int shell_left; /* a hung-up client's shell, still running afterwards */
  int job_left;   /* or the job that shell was running */
} scenario_t;

/* On a thread (it blocks): waits until process *arg is gone, or has ended
 * and only waits to be reaped, for at most SHELL_GONE_LIMIT seconds;
 * returns 1 if it is still running then. */
static int shell_still_running(void *arg) {
  int pid = *(int *)arg;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    size_t got = fread(line, 1, sizeof line - 1, file);
    fclose(file);
    line[got] = '\0';
    char *after = strrchr(line, ')');
    if (after == NULL || after[1] == '\0' || after[2] == 'Z') return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited = (double)(now.tv_sec - start.tv_sec) +
                    (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (waited > scaled(SHELL_GONE_LIMIT)) return 1;
    usleep(20 * 1000);
  }
}

/* Starts the server, runs the clients to their end, then closes the server
 * without cancelling the sessions: that waits for every session to return
 * on its own. */
static int run_scenario(void *arg) {
  scenario_t *scenario = arg;
  async_server_t *server = NULL;
  scenario->start_rc = rshell_start(&server, 0);
  if (scenario->start_rc != 0 || server == NULL) return 0;
  async_timeout_t limit;
  async_timeout_enter(&limit, scaled(SCENARIO_LIMIT));
  async_task_t *tasks[2];
  for (size_t i = 0; i < scenario->client_count; i++) {
    scenario->clients[i].port = async_server_port(server);
    tasks[i] = async_spawn("client", run_client, &scenario->clients[i]);
  }
  async_gather(tasks, scenario->client_count, NULL, 0);
  for (size_t i = 0; i < scenario->client_count; i++)
    async_task_release(tasks[i]);
  int rc = async_server_close(server, false);
  scenario->stuck = async_timeout_exit(&limit) == UV_ETIMEDOUT;
  if (scenario->stuck) return 0;
  /* Every session has returned: the shell of a client that hung up must be
   * gone. Checked now, since the runtime kills whatever is left when the
   * run ends, which would hide it. That client's first line is the shell's
   * pid, the second the pid of the job it runs. */
  for (size_t i = 0; i < scenario->client_count; i++) {
    client_t *client = &scenario->clients[i];
    if (!client->hang_up) continue;
    int pid = atoi(client->received);
    const char *second = strchr(client->received, '\n');
    int job = second ? atoi(second + 1) : 0;
    if (pid > 0 && async_to_thread(shell_still_running, &pid) == 1)
      scenario->shell_left = pid;
    if (job > 0 && async_to_thread(shell_still_running, &job) == 1)
      scenario->job_left = job;
  }
  return rc == UV_ECANCELED ? 0 : rc;
}

/* The seeds to run: SEED=N runs one (a replay), else 1..count. */
static void seed_range(unsigned count, unsigned *first, unsigned *last) {
  const char *only = getenv("SEED");
  *first = only ? (unsigned)strtoul(only, NULL, 10) : 1;
  *last = only ? *first : count;
}

/* Check mode for one run: random schedules on odd seeds, PCT on even. */
static const char *check_mode_on(unsigned seed, const char *findings) {
  const char *schedule = seed % 2 ? "random" : "pct";
  char text[32];
  snprintf(text, sizeof text, "%u", seed);
  setenv("ASYNC_CHECK", "1", 1);
  setenv("ASYNC_SCHEDULE", schedule, 1);
  setenv("ASYNC_SEED", text, 1);
  setenv("ASYNC_FINDINGS", findings, 1);
  return schedule;
}

/* An empty file for check mode's findings, in TMPDIR (the check's own
 * directory under the grader). */
static void make_findings_file(char *path, size_t size) {
  const char *directory = getenv("TMPDIR");
  snprintf(path, size, "%s/rshell-findings-XXXXXX",
           directory && *directory ? directory : "/tmp");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

/* The first line of the findings file, or NULL when it is empty. */
static char *first_finding(const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) return NULL;
  static char line[1024];
  char *got = fgets(line, sizeof line, file);
  fclose(file);
  return got;
}

static void visible(const char *text, char *out, size_t size) {
  size_t used = 0;
  for (; *text && used + 4 < size; text++) {
    if (*text == '\n') {
      memcpy(out + used, "\\n", 2);
      used += 2;
    } else {
      out[used++] = *text;
    }
  }
  out[used] = '\0';
}

/* What a shell prints just before `exit` must reach the client, and the
 * connection must then close: whatever order the session's tasks run in. */
static void test_output_before_exit_is_never_lost(void **state) {
  (void)state;
  char findings[4096];
  make_findings_file(findings, sizeof findings);
  unsigned first, last;
  seed_range(30, &first, &last);
  for (unsigned seed = first; seed <= last; seed++) {
    const char *schedule = check_mode_on(seed, findings);
    scenario_t scenario = {.client_count = 1};
    scenario.clients[0].script = "echo one; echo two >&2; printf last; exit\n";
    int rc = async_run(run_scenario, &scenario);
    client_t *client = &scenario.clients[0];
    const char *why = NULL;
    if (scenario.start_rc != 0) {
      check_message("rshell_start failed: %s",
                    async_strerror(scenario.start_rc));
      fail();
    } else if (client->connect_rc != 0) {
      why = "the client could not connect";
    } else if (scenario.stuck) {
      why = "the session had not ended 3 s after the shell exited";
    } else if (!client->ended) {
      why = "the connection did not close after exit";
    } else if (strncmp(client->received, "one\n", 4) != 0) {
      why = "the shell's output did not come back";
    } else if (strcmp(client->received, "one\ntwo\nlast") != 0) {
      why = "what the shell printed just before exit did not all arrive: "
            "let the output copy reach the end of the pipe before closing";
    } else if (rc != 0) {
      why = "the run failed";
    }
    if (why != NULL) {
      char got[512];
      visible(client->received, got, sizeof got);
      check_message("schedule %s, seed %u: %s (received \"%s\")%s%s", schedule,
                    seed, why, got, rc != 0 ? "; the run: " : "",
                    rc != 0 ? async_strerror(rc) : "");
      check_replay(
          "SEED=%u ./test_rshell test_output_before_exit_is_never_lost", seed);
      unlink(findings);
      check_text_equal("one\ntwo\nlast", client->received);
      fail();
    }
  }
  unlink(findings);
}

/* A client that talks then hangs up, another whose shell exits: both
 * sessions return by themselves, and the run they leave is tidy. */
static void test_sessions_end_tidily(void **state) {
  (void)state;
  char findings[4096];
  make_findings_file(findings, sizeof findings);
  unsigned first, last;
  seed_range(12, &first, &last);
  for (unsigned seed = first; seed <= last; seed++) {
    const char *schedule = check_mode_on(seed, findings);
    scenario_t scenario = {.client_count = 2};
    scenario.clients[0].script = "echo hello; exit\n";
    scenario.clients[1].script = "echo $$; sleep 1000 & echo $!; wait\n";
    scenario.clients[1].hang_up = true;
    int rc = async_run(run_scenario, &scenario);
    async_run_stats_t stats;
    async_run_stats(&stats);
    char *finding = first_finding(findings);
    char why[512] = "";
    if (scenario.start_rc != 0) {
      snprintf(why, sizeof why, "rshell_start failed: %s",
               async_strerror(scenario.start_rc));
    } else if (scenario.stuck) {
      snprintf(why, sizeof why,
               "a session had not returned 3 s after its client hung up "
               "or its shell exited");
    } else if (scenario.shell_left != 0) {
      snprintf(why, sizeof why,
               "every session has returned, but the shell of the client "
               "that hung up (pid %d, busy with `sleep 1000`) still runs: "
               "end the shell's process group when the client goes",
               scenario.shell_left);
    } else if (scenario.job_left != 0) {
      snprintf(why, sizeof why,
               "every session has returned, but the job (`sleep 1000`, pid "
               "%d) that the shell of the client that hung up was running "
               "still runs: signal the shell's whole process group "
               "(kill(-pid, ...)), not the shell alone",
               scenario.job_left);
    } else if (scenario.clients[0].connect_rc != 0 ||
               scenario.clients[1].connect_rc != 0) {
      snprintf(why, sizeof why, "a client could not connect");
    } else if (strcmp(scenario.clients[0].received, "hello\n") != 0) {
      snprintf(why, sizeof why, "'echo hello; exit' did not answer hello");
    } else if (stats.tasks_cancelled_at_exit != 0) {
      snprintf(why, sizeof why,
               "%zu task(s) were still running after every session had "
               "returned: join (or cancel and join) the tasks a session "
               "spawns before it returns",
               stats.tasks_cancelled_at_exit);
    } else if (stats.failures_unretrieved != 0) {
      snprintf(why, sizeof why,
               "%zu task failure(s) nobody looked at: join each task",
               stats.failures_unretrieved);
    } else if (stats.handles_left_open != 0) {
      snprintf(why, sizeof why, "%zu stream(s) or handle(s) left open",
               stats.handles_left_open);
    } else if (finding != NULL) {
      snprintf(why, sizeof why, "check mode reported: %s", finding);
    } else if (rc != 0) {
      snprintf(why, sizeof why, "the run failed: %s", async_strerror(rc));
    }
    if (why[0] != '\0') {
      check_message("schedule %s, seed %u: %s", schedule, seed, why);
      check_replay("SEED=%u ./test_rshell test_sessions_end_tidily", seed);
      unlink(findings);
      fail();
    }
  }
  unlink(findings);
}

CHECK_MAIN(cmocka_unit_test(test_output_before_exit_is_never_lost),
           cmocka_unit_test(test_sessions_end_tidily))
