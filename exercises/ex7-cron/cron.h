/* cron.h: ex7-cron's crontab parser, scheduling engine and command runner,
 * the three functions you write in cron.c (kit-owned; do not edit). */
#ifndef CRON_H
#define CRON_H

#include <stddef.h>

/* One crontab line, parsed: `PERIOD COMMAND...`. */
typedef struct cron_entry {
  double period;       /* seconds between two starts: finite, > 0 */
  const char *command; /* the rest of the line: points into that line */
} cron_entry_t;

/* Parses one line of a crontab, with or without its '\n'. Returns
 *   1   a job: entry->period and entry->command are set; the command is
 *       what follows the period and the blanks after it, without the blanks
 *       at the end of the line (the parser may write a '\0' into `line` to
 *       cut them);
 *   0   nothing to do: a blank line, or a comment (its first character
 *       other than a blank is '#');
 *   UV_EINVAL  a bad line: the period is not a number of seconds greater
 *       than 0, or no command follows it. A one-line reason, without the
 *       file name or line number (main.c adds them), goes to
 *       reason[reason_size]. */
int cron_parse_line(char *line, cron_entry_t *entry, char *reason,
                    size_t reason_size);

/* A job: call run(arg) every `period` seconds. */
typedef struct cron_job {
  double period;         /* seconds: finite, > 0 */
  int (*run)(void *arg); /* one run of the job; may block (await) */
  void *arg;
  const char *name; /* for reports and task names; may be NULL */
} cron_job_t;

/* Blocks: from inside a task, runs every job on its own grid: job j starts
 * at t0, t0 + period, t0 + 2 * period, ... where t0 is async_time() when
 * cron_run was called, whatever its runs take. A job never runs twice at
 * once: a grid point that passes while its previous run still goes on is
 * skipped, and the job starts again at the next point of its grid. A slow
 * job never delays another. Only grid points before t0 + duration start a
 * run; at t0 + duration the runs still going are cancelled, and cron_run
 * returns 0 once each has returned. duration may be ASYNC_FOREVER.
 *
 * If the calling task is cancelled, every run still going is cancelled
 * too, and cron_run returns UV_ECANCELED once each has returned.
 * UV_EINVAL for a period that is not finite and > 0, a NULL run, or a
 * duration that is NaN or negative; UV_ENOMEM. */
int cron_run(const cron_job_t *jobs, size_t count, double duration);

/* A job's run function for a crontab command (arg: the command line, a
 * char *). Blocks: runs the command with /bin/sh -c, its output and errors
 * going straight to this program's stdout and stderr, and returns its exit
 * status (0-255, or 128 + the signal that killed it) once it has exited.
 * If the calling task is cancelled meanwhile, it stops the command and
 * everything the command started (SIGTERM to the command's own process
 * group), and returns UV_ECANCELED. A negative error if it cannot start. */
int cron_command_run(void *command);

#endif /* CRON_H */
