/* cron.c: ex7-cron, a known-wrong variant: one task runs every job, one after
 * the other. (The rest is the reference solution.) */
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

int cron_run(const cron_job_t *jobs, size_t count, double duration) {
  if (isnan(duration) || duration < 0 || (jobs == NULL && count > 0))
    return UV_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!isfinite(jobs[i].period) || jobs[i].period <= 0 || jobs[i].run == NULL)
      return UV_EINVAL;
  double *ticks = calloc(count > 0 ? count : 1, sizeof *ticks);
  if (ticks == NULL) return UV_ENOMEM;
  double start = async_time(), end = start + duration;
  int rc = 0;
  for (;;) {
    /* The job whose next point of the grid comes first. */
    size_t first = count;
    double first_at = end;
    for (size_t i = 0; i < count; i++) {
      double at = start + ticks[i] * jobs[i].period;
      if (at < first_at) {
        first = i;
        first_at = at;
      }
    }
    double wait = first_at - async_time();
    rc = async_sleep(wait > 0 ? wait : 0);
    if (rc != 0 || first == count) break;
    /* Wrong: every job runs in this one task: while one runs, the others
     * wait. */
    jobs[first].run(jobs[first].arg);
    double next = ceil((async_time() - start) / jobs[first].period);
    ticks[first] = next > ticks[first] ? next : ticks[first] + 1;
  }
  free(ticks);
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
