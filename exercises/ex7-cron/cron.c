/* cron.c: ex7-cron, the file you edit: the crontab parser, the scheduler
 * and the command runner (see cron.h for what each must do).
 *
 * The scheduler and the runner below are a first draft: they run, and
 * `make run-ex7` shows them at work once you have written the parser. The
 * checks show what is wrong with them. Look for TODO(ex7).
 */
#include <async.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cron.h"

int cron_parse_line(char *line, cron_entry_t *entry, char *reason,
                    size_t reason_size) {
  /* TODO(ex7): parse `PERIOD COMMAND...` (see cron.h): return 0 for a
   * blank line or a comment, 1 with entry->period and entry->command set
   * for a job, UV_EINVAL and a reason for a bad period or a missing
   * command. strtod() reads a number and tells you where it stopped. */
  (void)line;
  (void)entry;
  snprintf(reason, reason_size,
           "cron_parse_line is not written yet (TODO(ex7) in cron.c)");
  return UV_ENOSYS;
}

int cron_run(const cron_job_t *jobs, size_t count, double duration) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(jobs[i].period) || jobs[i].period <= 0) return UV_EINVAL;
  double end = async_time() + duration;
  /* When each job is due next: all of them now. */
  double *due = calloc(count > 0 ? count : 1, sizeof *due);
  if (due == NULL) return UV_ENOMEM;
  for (size_t i = 0; i < count; i++) due[i] = async_time();

  int rc = 0;
  while (rc == 0 && async_time() < end) {
    /* TODO(ex7): one loop for all the jobs: while one runs, the others
     * wait, however late that makes them. Give each job a task of its
     * own. */
    for (size_t i = 0; i < count; i++) {
      if (due[i] > async_time()) continue;
      jobs[i].run(jobs[i].arg);
      /* TODO(ex7): one period after the run ended: every run's duration
       * is added to the schedule, which drifts further at each run.
       * Sleep until t0 + k * period instead, and skip the points of the
       * grid that passed while the job ran. */
      due[i] = async_time() + jobs[i].period;
    }
    double next = end;
    for (size_t i = 0; i < count; i++)
      if (due[i] < next) next = due[i];
    double wait = next - async_time();
    rc = async_sleep(wait > 0 ? wait : 0);
  }
  /* TODO(ex7): at the end (or when cancelled), stop the runs still going
   * and wait for them before returning. */
  free(due);
  return rc;
}

int cron_command_run(void *command) {
  async_process_options_t options = {
      .shell = command,
      .stdin_mode = ASYNC_STDIO_DEVNULL,
  };
  async_process_t *process;
  int rc = async_process_spawn(&process, &options);
  if (rc != 0) return rc;
  /* TODO(ex7): if this task is cancelled (Ctrl-C, the end of -t), the
   * wait returns UV_ECANCELED and the command runs on, and so does every
   * process it started. Stop them all: see cron.h. */
  int status = async_process_wait(process);
  async_process_release(process);
  return status;
}
