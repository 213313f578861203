/* batch.c: `grader batch`: grades a class's submissions in parallel.
 *
 * Each (submission, exercise) pair is graded by a grader process of its
 * own (this same program), at most --jobs at once. A grader process is
 * already a sandbox keeper: a subreaper that kills whatever its checks
 * leave behind, giving each check its own limits, network and (as root)
 * user. So a hostile submission costs only its own marks, and the class's
 * other submissions grade as they would alone. Results: one JSON report per
 * pair, OUT/STUDENT/EXERCISE.json (its log beside it), a summary.csv, and a
 * table on stdout. */
#include "grader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char batch_usage[] =
    "usage: grader batch [OPTIONS] DIR...\n"
    "\n"
    "Grades every submission in each DIR: DIR's subfolders, one per student\n"
    "(or DIR itself, when it holds exN-name/ or exercises/ folders).\n"
    "\n"
    "  --jobs N          graders at once (default: the number of CPUs)\n"
    "  --output-dir OUT  where the results go (default: grader-results)\n"
    "  --exercise exN    grade this exercise (repeatable; default: each\n"
    "                    exercise the submission has files for)\n"
    "  --kit DIR         the kit (default: the grader's own)\n"
    "\n"
    "Writes OUT/STUDENT/EXERCISE.json (the --format json report) and .log,\n"
    "OUT/summary.csv, and prints a table. Exits 0 when every submission was\n"
    "graded (whatever its marks), 2 when some could not be.\n";

typedef struct job {
  char *student;
  char *submission;
  char *exercise;
  char *report;
  pid_t pid;
  int exit_status;
  /* From the report. */
  char *status;
  double score;
  double max_score;
  double seconds;
} job_t;

/* Whether a folder is one submission rather than a class of them. */
static bool is_one_submission(const char *directory, const strlist_t *names) {
  char *exercises = path_join(directory, "exercises");
  bool one = is_directory(exercises);
  free(exercises);
  for (size_t i = 0; !one && i < names->count; i++) {
    char *path = path_join(directory, names->items[i]);
    one = is_directory(path);
    free(path);
  }
  return one;
}

/* Whether the submission has any of the exercise's student files. */
static bool has_files_for(const char *submission, const exercise_t *exercise) {
  for (size_t i = 0; i < exercise->student_files.count; i++) {
    char *file =
        submission_file(submission, exercise, exercise->student_files.items[i]);
    /* DIR/FILE alone says nothing about which exercise it is for. */
    bool found = false;
    if (file) {
      char *loose = path_join(submission, exercise->student_files.items[i]);
      found = strcmp(file, loose) != 0;
      free(loose);
    }
    free(file);
    if (found) return true;
  }
  return false;
}

/* A file name safe for anyone's folder name. */
static char *safe_name(const char *name) {
  char *safe = xstrdup(name);
  for (char *c = safe; *c; c++)
    if (!(*c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
          (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
      *c = '_';
  if (safe[0] == '.') safe[0] = '_';
  return safe;
}

/* The value after "KEY": in our own JSON report's top level (which comes
 * before its tests). */
static char *top_level_value(const char *json, const char *key) {
  char *pattern = xasprintf("\"%s\": ", key);
  const char *tests = strstr(json, "\"tests\":");
  const char *found = strstr(json, pattern);
  char *value = NULL;
  if (found && (!tests || found < tests)) {
    found += strlen(pattern);
    if (*found == '"') {
      found++;
      value = xstrndup(found, strcspn(found, "\""));
    } else {
      value = xstrndup(found, strcspn(found, ",\n}"));
    }
  }
  free(pattern);
  return value;
}

static void read_report(job_t *job) {
  char *json = read_file(job->report, NULL);
  if (!json) {
    job->status = xstrdup("error");
    return;
  }
  job->status = top_level_value(json, "status");
  if (!job->status) job->status = xstrdup("error");
  char *score = top_level_value(json, "score");
  char *max_score = top_level_value(json, "max_score");
  char *seconds = top_level_value(json, "execution_time");
  job->score = score ? strtod(score, NULL) : 0;
  job->max_score = max_score ? strtod(max_score, NULL) : 0;
  job->seconds = seconds ? strtod(seconds, NULL) : 0;
  free(score);
  free(max_score);
  free(seconds);
  free(json);
}

static pid_t start_job(const job_t *job, const char *self, const char *kit,
                       const char *log) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) fatal("fork: %s", strerror(errno));
  if (pid > 0) return pid;
  /* A group of its own, so that the batch can stop it as a whole. */
  setpgid(0, 0);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  execl(self, self, job->exercise, "--kit", kit, "--submission",
        job->submission, "--format", "json", "--output", job->report, "--quiet",
        (char *)NULL);
  _exit(2);
}

static void csv_field(FILE *file, const char *text, bool last) {
  bool quote = strpbrk(text, ",\"\n") != NULL;
  if (quote) {
    fputc('"', file);
    for (const char *c = text; *c; c++) {
      if (*c == '"') fputc('"', file);
      fputc(*c, file);
    }
    fputc('"', file);
  } else {
    fputs(text, file);
  }
  fputc(last ? '\n' : ',', file);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int number) {
  (void)number;
  interrupted = 1;
}

int batch_main(int argc, char **argv, const char *kit, const char *home) {
  (void)home;
  long jobs_at_once = sysconf(_SC_NPROCESSORS_ONLN);
  if (jobs_at_once < 1) jobs_at_once = 1;
  const char *output_dir = "grader-results";
  strlist_t wanted = {0}, folders = {0};
  for (int i = 0; i < argc; i++) {
    bool has_value = i + 1 < argc;
    if (strcmp(argv[i], "--jobs") == 0 && has_value) {
      jobs_at_once = strtol(argv[++i], NULL, 10);
      if (jobs_at_once < 1) {
        fprintf(stderr, "grader: --jobs needs a number >= 1\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--output-dir") == 0 && has_value) {
      output_dir = argv[++i];
    } else if (strcmp(argv[i], "--exercise") == 0 && has_value) {
      sl_push(&wanted, argv[++i]);
    } else if (strcmp(argv[i], "--kit") == 0 && has_value) {
      i++; /* main() read it already */
    } else if (strcmp(argv[i], "--help") == 0) {
      fputs(batch_usage, stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "grader: unknown batch option %s\n\n%s", argv[i],
              batch_usage);
      return 2;
    } else {
      sl_push(&folders, argv[i]);
    }
  }
  if (folders.count == 0) {
    fputs(batch_usage, stderr);
    return 2;
  }

  /* The exercises to grade. */
  strlist_t exercise_names = kit_exercises(kit);
  exercise_t **exercises = xcalloc(exercise_names.count + 1, sizeof *exercises);
  size_t exercise_count = 0;
  for (size_t i = 0; i < exercise_names.count; i++) {
    char *error = NULL;
    exercise_t *exercise = exercise_load(kit, exercise_names.items[i], &error);
    if (!exercise) {
      fprintf(stderr, "grader: %s\n", error);
      free(error);
      return 2;
    }
    bool chosen = wanted.count == 0;
    for (size_t w = 0; w < wanted.count && !chosen; w++) {
      char *also = xasprintf("ex%d", exercise->number);
      chosen = strcmp(wanted.items[w], exercise->name) == 0 ||
               strcmp(wanted.items[w], also) == 0;
      free(also);
    }
    if (chosen)
      exercises[exercise_count++] = exercise;
    else
      exercise_free(exercise);
  }
  if (wanted.count && exercise_count != wanted.count) {
    fprintf(stderr, "grader: not every --exercise is in the kit\n");
    return 2;
  }

  /* The submissions, and a job for each exercise they have. */
  if (!make_directories(output_dir, 0755))
    fatal("cannot make %s: %s", output_dir, strerror(errno));
  job_t *jobs = NULL;
  size_t job_count = 0;
  strlist_t students = {0};
  for (size_t f = 0; f < folders.count; f++) {
    if (!is_directory(folders.items[f])) {
      fprintf(stderr, "grader: %s is not a folder\n", folders.items[f]);
      return 2;
    }
    char *folder = absolute_path(folders.items[f]);
    strlist_t submissions = {0};
    if (is_one_submission(folder, &exercise_names)) {
      sl_push(&submissions, folder);
    } else {
      strlist_t names = list_directory(folder, "");
      for (size_t i = 0; i < names.count; i++) {
        char *path = path_join(folder, names.items[i]);
        if (is_directory(path)) sl_push(&submissions, path);
        free(path);
      }
      sl_free(&names);
    }
    for (size_t s = 0; s < submissions.count; s++) {
      const char *submission = submissions.items[s];
      const char *base = strrchr(submission, '/');
      char *student = safe_name(base ? base + 1 : submission);
      /* Two classes may share a name: the second gets a suffix. */
      for (int n = 2; sl_contains(&students, student); n++) {
        char *other = xasprintf("%s-%d", base ? base + 1 : submission, n);
        free(student);
        student = safe_name(other);
        free(other);
      }
      sl_push(&students, student);
      char *student_dir = path_join(output_dir, student);
      make_directories(student_dir, 0755);
      for (size_t e = 0; e < exercise_count; e++) {
        if (wanted.count == 0 && !has_files_for(submission, exercises[e]))
          continue;
        jobs = xrealloc(jobs, (job_count + 1) * sizeof *jobs);
        job_t *job = &jobs[job_count++];
        memset(job, 0, sizeof *job);
        job->student = xstrdup(student);
        job->submission = xstrdup(submission);
        job->exercise = xstrdup(exercises[e]->name);
        job->report = xasprintf("%s/%s.json", student_dir, exercises[e]->name);
        unlink(job->report);
      }
      free(student_dir);
      free(student);
    }
    sl_free(&submissions);
    free(folder);
  }

  /* Run them, --jobs at a time. */
  char *self = realpath("/proc/self/exe", NULL);
  if (!self) fatal("cannot find the grader's own program");
  signal(SIGINT, on_interrupt);
  signal(SIGTERM, on_interrupt);
  double start = now_seconds();
  size_t next = 0, running = 0, done = 0;
  while (done < job_count && !interrupted) {
    while (running < (size_t)jobs_at_once && next < job_count) {
      job_t *job = &jobs[next++];
      char *log = xstrdup(job->report);
      strcpy(log + strlen(log) - 5, ".log");
      job->pid = start_job(job, self, kit, log);
      free(log);
      running++;
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < next; i++) {
      if (jobs[i].pid != pid) continue;
      jobs[i].exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
      jobs[i].pid = 0;
      running--;
      done++;
      read_report(&jobs[i]);
      if (isatty(STDERR_FILENO))
        fprintf(stderr, "\rgraded %zu of %zu\033[K", done, job_count);
    }
    /* Anything else that ended was an orphan of a grader: reaped. */
  }
  if (interrupted) {
    for (size_t i = 0; i < next; i++)
      if (jobs[i].pid > 0) kill(-jobs[i].pid, SIGTERM);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    fprintf(stderr, "\ninterrupted\n");
    return 2;
  }
  if (isatty(STDERR_FILENO)) fputc('\n', stderr);
  /* A grader that died left its checks' processes to us: none survives. */
  sandbox_kill_orphans();
  double elapsed = now_seconds() - start;

  /* summary.csv: one line per submission and exercise. */
  char *csv_path = path_join(output_dir, "summary.csv");
  FILE *csv = fopen(csv_path, "w");
  if (!csv) fatal("cannot write %s: %s", csv_path, strerror(errno));
  fputs("student,exercise,status,score,max_score,seconds,submission\n", csv);
  int result = 0;
  for (size_t i = 0; i < job_count; i++) {
    job_t *job = &jobs[i];
    if (job->exit_status == 2) {
      free(job->status);
      job->status = xstrdup("kit-error");
      result = 2;
    }
    csv_field(csv, job->student, false);
    csv_field(csv, job->exercise, false);
    csv_field(csv, job->status, false);
    fprintf(csv, "%g,%g,%.1f,", job->score, job->max_score, job->seconds);
    csv_field(csv, job->submission, true);
  }
  fclose(csv);

  /* The table: a row per student, a column per exercise. */
  printf("%-24s", "student");
  for (size_t e = 0; e < exercise_count; e++)
    printf(" %-14.14s", exercises[e]->name);
  printf(" %s\n", "total");
  for (size_t s = 0; s < students.count; s++) {
    printf("%-24.24s", students.items[s]);
    double total = 0, total_max = 0;
    for (size_t e = 0; e < exercise_count; e++) {
      const job_t *found = NULL;
      for (size_t i = 0; i < job_count; i++)
        if (strcmp(jobs[i].student, students.items[s]) == 0 &&
            strcmp(jobs[i].exercise, exercises[e]->name) == 0)
          found = &jobs[i];
      char cell[64] = "-";
      if (found && strcmp(found->status, "kit-error") == 0) {
        snprintf(cell, sizeof cell, "kit error");
      } else if (found) {
        snprintf(cell, sizeof cell, "%g/%g%s", found->score, found->max_score,
                 strcmp(found->status, "error") == 0 ? " (error)" : "");
        total += found->score;
        total_max += found->max_score;
      }
      printf(" %-14s", cell);
    }
    printf(" %g/%g\n", total, total_max);
  }
  printf("%zu submission%s, %zu grading%s, %.1f s, %ld at once; results in "
         "%s\n",
         students.count, students.count == 1 ? "" : "s", job_count,
         job_count == 1 ? "" : "s", elapsed, jobs_at_once, output_dir);

  for (size_t i = 0; i < job_count; i++) {
    free(jobs[i].student);
    free(jobs[i].submission);
    free(jobs[i].exercise);
    free(jobs[i].report);
    free(jobs[i].status);
  }
  free(jobs);
  for (size_t e = 0; e < exercise_count; e++) exercise_free(exercises[e]);
  free(exercises);
  sl_free(&exercise_names);
  sl_free(&students);
  sl_free(&wanted);
  sl_free(&folders);
  free(csv_path);
  free(self);
  return result;
}
