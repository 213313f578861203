/* main.c: ex7-cron's program, `cron -f CRONTAB [-t SECONDS] [-v]`
 * (kit-owned; do not edit: you write cron.c).
 *
 * Reads the crontab line by line, hands each line to cron_parse_line and
 * reports a bad one as CRONTAB:LINE: reason (exit 2); then runs every
 * command through cron_command_run, scheduled by cron_run, until -t
 * SECONDS have passed or SIGINT / SIGTERM arrives. With -v it logs on
 * stderr when each run starts, in seconds since cron_run was called:
 *
 *   cron: +0.400012 crontab:3 starts: date +%s.%N
 */
#include <async.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cron.h"

/* A day per run is long enough for a workshop; beyond it, a typo. */
#define MAX_SECONDS 86400.0

/* One crontab command, the argument of its job's run function. */
typedef struct command_job {
  char *command;
  char name[64]; /* CRONTAB:LINE, as errors name the line */
} command_job_t;

typedef struct program {
  const char *crontab;
  double duration; /* -t, or ASYNC_FOREVER */
  bool verbose;
  cron_job_t *jobs;
  command_job_t *commands;
  size_t count;
  int stopped_by; /* the signal that stopped cron, or 0 */
} program_t;

/* What the run functions share: when cron_run started, and how many
 * commands run right now (to tell whether cron_run waited for them). */
static double started_at;
static bool verbose;
static int commands_running;

static int run_command_job(void *arg);

static void usage(void) {
  fprintf(stderr,
          "usage: cron -f CRONTAB [-t SECONDS] [-v]\n"
          "  -f CRONTAB  one job per line: PERIOD COMMAND..., e.g.\n"
          "              `5 date` runs date every 5 seconds; # comments\n"
          "  -t SECONDS  stop after that long (default: until Ctrl-C)\n"
          "  -v          log on stderr when each command starts\n");
  exit(2);
}

/* A finite number of seconds greater than 0, or -1. */
static double parse_seconds(const char *text) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(value) ||
      value <= 0 || value > MAX_SECONDS)
    return -1;
  return value;
}

static void parse_options(int argc, char **argv, program_t *program) {
  int option;
  while ((option = getopt(argc, argv, "f:t:v")) != -1) {
    switch (option) {
    case 'f':
      program->crontab = optarg;
      break;
    case 't':
      program->duration = parse_seconds(optarg);
      if (program->duration < 0) {
        fprintf(stderr,
                "cron: -t wants a number of seconds greater than 0 and at "
                "most %.0f, not '%s'\n",
                MAX_SECONDS, optarg);
        usage();
      }
      break;
    case 'v':
      program->verbose = true;
      break;
    default:
      usage();
    }
  }
  if (program->crontab == NULL) {
    fprintf(stderr, "cron: which crontab? -f CRONTAB is missing\n");
    usage();
  }
  if (optind < argc) {
    fprintf(stderr, "cron: unexpected argument '%s'\n", argv[optind]);
    usage();
  }
}

/* Adds a job for `entry`, parsed from line `number`. */
static void add_job(program_t *program, const cron_entry_t *entry,
                    unsigned long number) {
  size_t count = program->count + 1;
  cron_job_t *jobs = realloc(program->jobs, count * sizeof *jobs);
  if (jobs != NULL) program->jobs = jobs;
  command_job_t *commands =
      realloc(program->commands, count * sizeof *commands);
  if (commands != NULL) program->commands = commands;
  char *command = strdup(entry->command);
  if (jobs == NULL || commands == NULL || command == NULL) {
    fprintf(stderr, "cron: out of memory\n");
    exit(1);
  }
  command_job_t *job = &commands[program->count];
  job->command = command;
  jobs[program->count] =
      (cron_job_t){.period = entry->period, .run = run_command_job};
  snprintf(job->name, sizeof job->name, "%s:%lu", program->crontab, number);
  program->count = count;
}

/* Reads the crontab; reports every bad line and exits 2 if there is one. */
static void read_crontab(program_t *program) {
  FILE *file = fopen(program->crontab, "r");
  if (file == NULL) {
    fprintf(stderr, "cron: %s: %s\n", program->crontab, strerror(errno));
    exit(2);
  }
  char *line = NULL;
  size_t size = 0;
  unsigned long number = 0;
  int bad_lines = 0;
  while (getline(&line, &size, file) != -1) {
    number++;
    cron_entry_t entry = {0, NULL};
    char reason[256] = "";
    int rc = cron_parse_line(line, &entry, reason, sizeof reason);
    if (rc == 1 && entry.command != NULL) {
      add_job(program, &entry, number);
    } else if (rc < 0) {
      fprintf(stderr, "%s:%lu: %s\n", program->crontab, number,
              reason[0] != '\0' ? reason : async_strerror(rc));
      bad_lines++;
    } else if (rc != 0) {
      fprintf(stderr,
              "%s:%lu: cron_parse_line returned %d%s; see cron.h for what "
              "it returns\n",
              program->crontab, number, rc,
              rc == 1 ? " without a command" : "");
      bad_lines++;
    }
  }
  bool failed = ferror(file);
  free(line);
  fclose(file);
  if (failed) {
    fprintf(stderr, "cron: %s: cannot read it\n", program->crontab);
    exit(2);
  }
  if (bad_lines > 0) exit(2);
  /* The arrays are complete now: point each job at its command. */
  for (size_t i = 0; i < program->count; i++) {
    program->jobs[i].arg = &program->commands[i];
    program->jobs[i].name = program->commands[i].name;
  }
}

/* The run function of every job: logs, runs the command, reports how it
 * ended. */
static int run_command_job(void *arg) {
  command_job_t *job = arg;
  if (verbose)
    fprintf(stderr, "cron: +%.6f %s starts: %s\n", async_time() - started_at,
            job->name, job->command);
  commands_running++;
  int status = cron_command_run(job->command);
  commands_running--;
  if (status == UV_ECANCELED) {
    if (verbose)
      fprintf(stderr, "cron: +%.6f %s stopped\n", async_time() - started_at,
              job->name);
  } else if (status < 0) {
    fprintf(stderr, "cron: %s: cannot run '%s': %s\n", job->name, job->command,
            async_strerror(status));
  } else if (status != 0) {
    fprintf(stderr, "cron: %s: '%s' exited with status %d\n", job->name,
            job->command, status);
  } else if (verbose) {
    fprintf(stderr, "cron: +%.6f %s finished\n", async_time() - started_at,
            job->name);
  }
  return status;
}

static int run_jobs(void *arg) {
  program_t *program = arg;
  started_at = async_time();
  return cron_run(program->jobs, program->count, program->duration);
}

static const int stop_signals[] = {SIGINT, SIGTERM};

/* Waits for Ctrl-C or SIGTERM, then cancels the cron task. */
static int stop_on_signal(void *arg) {
  program_t *program = ((void **)arg)[0];
  async_task_t *cron = ((void **)arg)[1];
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
  program->stopped_by = signum;
  fprintf(stderr, "cron: %s: stopping\n",
          signum == SIGINT ? "SIGINT" : "SIGTERM");
  async_task_cancel(cron);
  return 0;
}

static int main_task(void *arg) {
  program_t *program = arg;
  async_task_t *cron = async_spawn("cron", run_jobs, program);
  if (cron == NULL) return UV_ENOMEM;
  void *stopper_arg[2] = {program, cron};
  async_task_t *stopper = async_spawn("stopper", stop_on_signal, stopper_arg);
  if (stopper == NULL) {
    async_task_cancel(cron);
    async_task_join(cron);
    async_task_release(cron);
    return UV_ENOMEM;
  }
  int rc = async_task_join(cron);
  async_task_release(cron);
  async_task_cancel(stopper);
  async_task_join(stopper);
  async_task_release(stopper);
  if (rc == UV_ECANCELED && program->stopped_by != 0) rc = 0;
  if (rc == 0 && commands_running > 0) {
    fprintf(stderr,
            "cron: cron_run returned while %d command%s still running: it "
            "must stop its runs and wait for them before it returns\n",
            commands_running, commands_running == 1 ? " was" : "s were");
    rc = UV_EBUSY;
  } else if (rc < 0) {
    fprintf(stderr, "cron: cron_run failed: %s\n", async_strerror(rc));
  }
  return rc;
}

int main(int argc, char **argv) {
  program_t program = {.duration = ASYNC_FOREVER};
  parse_options(argc, argv, &program);
  verbose = program.verbose;
  read_crontab(&program);
  if (program.count == 0) {
    fprintf(stderr, "cron: %s has no jobs: nothing to do\n", program.crontab);
    return 0;
  }
  int rc = async_run(main_task, &program);
  for (size_t i = 0; i < program.count; i++) free(program.commands[i].command);
  free(program.commands);
  free(program.jobs);
  return rc == 0 ? 0 : 1;
}
