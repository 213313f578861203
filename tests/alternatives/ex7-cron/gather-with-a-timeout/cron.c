/* cron.c: ex7-cron, solved another way: sscanf reads the period, a while
 * loop skips the missed points, and cron_run gathers its tasks inside a
 * timeout scope (asyncio.timeout around a gather) instead of sleeping and
 * cancelling them itself. */
#include <async.h>
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int cron_parse_line(char *line, cron_entry_t *entry, char *reason,
                    size_t reason_size) {
  char *start = line + strspn(line, " \t\r\n\v\f");
  if (*start == '\0' || *start == '#') return 0;
  double period;
  int used = 0;
  /* %n: how far the number went; what follows must be a blank or the end,
   * else the word was not a number ("3s", "5,5"). */
  if (sscanf(start, "%lf%n", &period, &used) != 1 ||
      (start[used] != '\0' && !isspace((unsigned char)start[used])) ||
      !isfinite(period) || period <= 0) {
    snprintf(reason, reason_size,
             "bad period: a number of seconds greater than 0 comes first");
    return UV_EINVAL;
  }
  char *command = start + used;
  command += strspn(command, " \t\r\n\v\f");
  size_t length = strlen(command);
  while (length > 0 && isspace((unsigned char)command[length - 1])) length--;
  command[length] = '\0';
  if (length == 0) {
    snprintf(reason, reason_size, "no command after the period");
    return UV_EINVAL;
  }
  entry->period = period;
  entry->command = command;
  return 1;
}

typedef struct runner {
  const cron_job_t *job;
  double start, end;
} runner_t;

static int run_job(void *arg) {
  runner_t *runner = arg;
  double period = runner->job->period;
  long long tick = 0;
  for (;;) {
    double at = runner->start + (double)tick * period;
    if (at >= runner->end) return 0;
    double wait = at - async_time();
    if (async_sleep(wait > 0 ? wait : 0) != 0) return 0; /* stopped */
    runner->job->run(runner->job->arg);
    /* Then skip the points that passed during the run. Only after a run:
     * before the first, in real time, t0 itself is already a few
     * microseconds past, and must not be skipped. */
    do tick++;
    while (runner->start + (double)tick * period < async_time());
  }
}

int cron_run(const cron_job_t *jobs, size_t count, double duration) {
  if (isnan(duration) || duration < 0) return UV_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!(jobs[i].period > 0) || isinf(jobs[i].period) || !jobs[i].run)
      return UV_EINVAL;
  runner_t *runners = calloc(count + 1, sizeof *runners);
  async_task_t **tasks = calloc(count + 1, sizeof *tasks);
  if (runners == NULL || tasks == NULL) {
    free(runners);
    free(tasks);
    return UV_ENOMEM;
  }
  double start = async_time();
  size_t spawned = 0;
  for (; spawned < count; spawned++) {
    runners[spawned] = (runner_t){&jobs[spawned], start, start + duration};
    tasks[spawned] =
        async_spawn(jobs[spawned].name, run_job, &runners[spawned]);
    if (tasks[spawned] == NULL) break;
  }
  async_timeout_t scope;
  int rc = async_timeout_enter(&scope, duration);
  if (rc == 0) {
    /* Interrupted, by the scope's end or by a cancellation, gather cancels
     * the tasks and waits for them. */
    rc = async_gather(tasks, spawned, NULL, ASYNC_RETURN_ERRORS);
    /* The jobs may all be done before the end: wait for it all the same. */
    if (rc == 0) rc = async_sleep(start + duration - async_time());
    if (async_timeout_exit(&scope) == UV_ETIMEDOUT) rc = 0;
  }
  if (spawned < count && rc == 0) rc = UV_ENOMEM;
  for (size_t i = 0; i < spawned; i++) async_task_release(tasks[i]);
  free(tasks);
  free(runners);
  return rc;
}

int cron_command_run(void *command) {
  async_process_options_t options = {.shell = command,
                                     .stdin_mode = ASYNC_STDIO_DEVNULL,
                                     .new_process_group = true};
  async_process_t *process;
  int rc = async_process_spawn(&process, &options);
  if (rc != 0) return rc;
  int status = async_process_wait(process);
  if (status < 0) killpg(async_process_pid(process), SIGTERM);
  async_process_release(process);
  return status;
}
