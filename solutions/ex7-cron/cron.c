/* cron.c: ex7-cron, solved: a crontab parser, a scheduler that never
 * drifts, and a command runner that leaves nothing behind.
 *
 * The three ideas worth keeping from this exercise:
 *
 * 1. Sleep until a point in time, not for a length of time. "Run, then
 *    sleep one period" adds the run's duration (and every scheduling
 *    delay) to each period, and the error piles up: after an hour of a
 *    3 s job that takes 1 s, it is 20 minutes late. "Sleep until
 *    t0 + k * period" makes every start independent of the previous ones:
 *    a late start is late once, never again.
 *
 * 2. One task per job. A job is a loop that waits for its next start, runs
 *    and waits again; giving each its own task means a slow job parks only
 *    itself, and the loop's shape alone guarantees it never overlaps with
 *    itself. (asyncio: one create_task per job.)
 *
 * 3. Stopping is part of the job. Whoever stops cron (Ctrl-C, the end of
 *    -t) cancels the tasks and waits for them; each task, cancelled in the
 *    middle of a command, stops that command, and everything it started,
 *    before it returns.
 */
#include <async.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

/* ---- Parsing ---- */

int cron_parse_line(char *line, cron_entry_t *entry, char *reason,
                    size_t reason_size) {
  char *start = line;
  while (isspace((unsigned char)*start)) start++;
  /* Blank, or a comment: nothing to do. '#' counts only as the first
   * character of the line, so `5 echo a # b` is a command with a '#' in
   * it, which the shell will treat as it likes. */
  if (*start == '\0' || *start == '#') return 0;

  /* The period is the first word, and all of it must be a number:
   * strtod stopping early ("3s") means the word is not one. */
  char *word_end = start;
  while (*word_end != '\0' && !isspace((unsigned char)*word_end)) word_end++;
  char *number_end;
  errno = 0;
  double period = strtod(start, &number_end);
  /* !isfinite also refuses "nan" and "inf", which strtod accepts;
   * ERANGE refuses 1e999 (too big) and 1e-999 (rounded to 0). */
  if (number_end != word_end || errno == ERANGE || !isfinite(period) ||
      period <= 0) {
    snprintf(reason, reason_size,
             "bad period '%.*s': it must be a number of seconds greater "
             "than 0",
             (int)(word_end - start), start);
    return UV_EINVAL;
  }

  char *command = word_end;
  while (isspace((unsigned char)*command)) command++;
  /* Cut the blanks at the end (the '\n' among them) in place: the entry
   * points into the line, nothing to allocate or free. */
  char *end = command + strlen(command);
  while (end > command && isspace((unsigned char)end[-1])) end--;
  *end = '\0';
  if (*command == '\0') {
    snprintf(reason, reason_size, "missing command after the period '%.*s'",
             (int)(word_end - start), start);
    return UV_EINVAL;
  }
  entry->period = period;
  entry->command = command;
  return 1;
}

/* ---- Scheduling ---- */

/* What one job's task needs: the job, and the grid it runs on. */
typedef struct job_runner {
  const cron_job_t *job;
  double start; /* t0: every job's grid starts there */
  double end;   /* t0 + duration: no run starts at or after it */
  async_task_t *task;
} job_runner_t;

/* One job's task: wait for the next point of the grid, run, repeat. */
static int run_on_grid(void *arg) {
  job_runner_t *runner = arg;
  const cron_job_t *job = runner->job;
  /* The number of the next grid point. A double counts whole numbers
   * exactly up to 2^53, far more ticks than any run will see. */
  double tick = 0;
  for (;;) {
    /* Where the grid says the next run starts: computed from t0 each
     * time, never from when the last run ended, so no error adds up. */
    double at = runner->start + tick * job->period;
    if (at >= runner->end) return 0;
    /* Sleep until then. When `at` has already come, sleep(0) still
     * yields: the others run, and a cancelled task stops here rather
     * than starting a command it would have to stop at once. */
    double wait = at - async_time();
    int rc = async_sleep(wait > 0 ? wait : 0);
    if (rc != 0) return rc == UV_ECANCELED ? 0 : rc; /* stopped */

    /* The run's result is the job's own business (main.c reports a
     * command's failure): a job that fails once still runs next time. */
    job->run(job->arg);

    /* Skip the grid points that passed while it ran: the next run is at
     * the first point not yet past. The run took as long as it took; the
     * grid stays where it was. A run that ended exactly on a point starts
     * again at once: that point has not passed. */
    double next = ceil((async_time() - runner->start) / job->period);
    tick = next > tick ? next : tick + 1;
  }
}

/* Cancels every task of runners[0..count) and waits for each. */
static void stop_all(job_runner_t *runners, size_t count) {
  /* Cancel them all first, then wait: they stop side by side, and stopping
   * takes as long as the slowest, not the sum. */
  for (size_t i = 0; i < count; i++) async_task_cancel(runners[i].task);
  for (size_t i = 0; i < count; i++) {
    /* A join made by a cancelled task still waits for the task to finish
     * (the runtime's rule, as asyncio's `await task`): when cron_run
     * returns, every run has really stopped. */
    async_task_join(runners[i].task);
    async_task_release(runners[i].task);
  }
}

int cron_run(const cron_job_t *jobs, size_t count, double duration) {
  if (isnan(duration) || duration < 0 || (jobs == NULL && count > 0))
    return UV_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!isfinite(jobs[i].period) || jobs[i].period <= 0 || jobs[i].run == NULL)
      return UV_EINVAL;
  if (async_current_task() == NULL) return UV_EPERM;

  job_runner_t *runners = calloc(count > 0 ? count : 1, sizeof *runners);
  if (runners == NULL) return UV_ENOMEM;
  /* One t0 for every job, read once: the jobs' grids line up. */
  double start = async_time();
  size_t started = 0;
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    runners[i] = (job_runner_t){&jobs[i], start, start + duration, NULL};
    runners[i].task = async_spawn(jobs[i].name ? jobs[i].name : "cron job",
                                  run_on_grid, &runners[i]);
    if (runners[i].task == NULL) {
      rc = UV_ENOMEM;
      break;
    }
    started++;
  }
  /* The tasks do the work; this one only waits for the end: the end of
   * the duration (sleep returns 0), or its own cancellation (sleep returns
   * UV_ECANCELED, which is then what cron_run returns). */
  if (rc == 0) rc = async_sleep(duration);
  /* Either way, a run may still be going: a command that outlives its
   * cron is exactly what must not happen. */
  stop_all(runners, started);
  free(runners);
  return rc;
}

/* ---- Running a command ---- */

int cron_command_run(void *command) {
  async_process_options_t options = {
      .shell = command,
      /* No input: a job must not steal the terminal's keystrokes. Its
       * output, left INHERIT, goes straight to our stdout and stderr. */
      .stdin_mode = ASYNC_STDIO_DEVNULL,
      /* The shell and everything it starts (`sleep 30` in
       * `echo hi; sleep 30` is the shell's child, not ours) share a
       * process group of their own, so one kill() reaches them all. It is
       * also out of the terminal's reach: Ctrl-C is ours to handle. */
      .new_process_group = true,
  };
  async_process_t *process;
  int rc = async_process_spawn(&process, &options);
  if (rc != 0) return rc;
  int status = async_process_wait(process);
  if (status < 0) {
    /* Cancelled (or timed out) while the command runs: the runtime does
     * not kill it for us (neither does asyncio). SIGTERM to the whole
     * group: terminating the shell alone would leave its children running,
     * orphaned. This task cannot wait any more (cancellation is sticky),
     * but it need not: the runtime reaps every child as it exits, and
     * when the run ends it SIGKILLs whatever ignored our SIGTERM. */
    kill(-async_process_pid(process), SIGTERM);
  }
  async_process_release(process);
  return status;
}
