/* grader.h: the grader's shared types and the functions its files share.
 *
 * The grader builds one exercise of one submission in a scratch directory,
 * runs each check of tests/exN-name/checks as a sandboxed process of its own
 * (sandbox.c), and reports the results as text, JSON, JUnit, TAP or
 * Gradescope's results.json (report.c). grader/README.md is the manual. */
#ifndef GRADER_H
#define GRADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* ----------------------------------------------------------------------
 * util.c: memory, growing strings, files, paths, clocks
 * ---------------------------------------------------------------------- */

/* Exits with status 2 (the kit could not run) after printing the message. */
void fatal(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *pointer, size_t size);
char *xstrdup(const char *text);
char *xstrndup(const char *text, size_t length);
char *xasprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* A growing byte string, always NUL-terminated (data may hold NULs too). */
typedef struct strbuf {
  char *data;
  size_t length;
  size_t capacity;
} strbuf_t;

void sb_append(strbuf_t *sb, const char *data, size_t length);
void sb_puts(strbuf_t *sb, const char *text);
void sb_putc(strbuf_t *sb, char c);
void sb_printf(strbuf_t *sb, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands over the string (never NULL) and empties the buffer. */
char *sb_take(strbuf_t *sb);
void sb_free(strbuf_t *sb);

/* A list of strings that owns them. */
typedef struct strlist {
  char **items;
  size_t count;
} strlist_t;

void sl_push(strlist_t *list, const char *text);
void sl_free(strlist_t *list);
bool sl_contains(const strlist_t *list, const char *text);
/* Splits on spaces and tabs, appending each word. */
void sl_split_words(strlist_t *list, const char *text);

/* The whole file, NUL-terminated; NULL (errno set) if it cannot be read. */
char *read_file(const char *path, size_t *length);
bool write_file(const char *path, const char *data, size_t length);
bool file_exists(const char *path);
bool is_directory(const char *path);
bool files_equal(const char *path_a, const char *path_b);
/* Copies a regular file; when the copy already has the same content it is
 * left alone, so that make sees an unchanged file as unchanged. */
bool copy_file(const char *from, const char *to);
/* Copies a directory tree of regular files, leaving out the top-level names
 * in skip (may be NULL); symbolic links are skipped, so a submission cannot
 * make the grader read outside it. */
bool copy_tree(const char *from, const char *to, const strlist_t *skip);
/* Removes a tree without following symbolic links. */
void remove_tree(const char *path);
bool make_directories(const char *path, mode_t mode);
/* Gives a tree to a user, for the sandboxed checks (when root). */
void chown_tree(const char *path, uid_t uid, gid_t gid);
char *path_join(const char *directory, const char *name);
/* An absolute, symlink-free path; fatal if it does not exist. */
char *absolute_path(const char *path);
/* A fresh directory under $TMPDIR, mode 0755. */
char *make_temporary_directory(const char *prefix);
/* The sorted names in a directory (no . or ..), matching a prefix. */
strlist_t list_directory(const char *path, const char *prefix);

/* Seconds on the monotonic clock. */
double now_seconds(void);
/* GRADER_TIMEOUT_SCALE (or TIMEOUT_SCALE), a positive number; 1 if unset. */
double timeout_scale(void);

/* ----------------------------------------------------------------------
 * text.c: how text is shown and escaped
 * ---------------------------------------------------------------------- */

/* Appends text with its whitespace made visible: "·" for a space, "⏎" for
 * a newline (followed by a real newline when keep_newlines), "\t", "\r",
 * and "\xNN" for other control bytes and bytes that are not UTF-8. */
void render_visible(strbuf_t *out, const char *text, size_t length,
                    bool keep_newlines);
/* Appends the text as the inside of a JSON string: valid UTF-8 always. */
void json_escape(strbuf_t *out, const char *text, size_t length);
/* A JSON string literal, or null for a NULL text. */
void json_string(strbuf_t *out, const char *text);
/* Appends text escaped for an XML attribute or element: characters XML 1.0
 * forbids become U+FFFD. */
void xml_escape(strbuf_t *out, const char *text, size_t length);
/* Appends a TAP/YAML block scalar: each line indented by `indent`. */
void yaml_block(strbuf_t *out, const char *text, int indent);
/* Length of the valid UTF-8 sequence at text, or 0 if it is not one. */
size_t utf8_sequence_length(const unsigned char *text, size_t available);
/* Cuts text to at most `limit` bytes (on a UTF-8 boundary) and appends a
 * note of how much was cut. Returns a new string. */
char *cap_text(const char *text, size_t length, size_t limit);

/* ----------------------------------------------------------------------
 * sandbox.c: one command, isolated, under a timeout
 * ---------------------------------------------------------------------- */

typedef struct sandbox_options {
  char *const *argv;
  char *const *environment; /* NULL: the grader's own */
  const char *directory;    /* working directory; NULL: unchanged */
  double timeout;           /* wall-clock seconds; 0: none */
  double kill_grace;        /* seconds between SIGQUIT (task dump) and KILL */
  bool isolate;             /* rlimits, own uid when root, own network */
  /* Limits applied when isolate is set; 0 leaves one unchanged. */
  double cpu_seconds;
  size_t memory_bytes;
  size_t file_bytes;
  long processes;
  long open_files;
  uid_t uid; /* when root: run as this user and group (0: stay root) */
  gid_t gid;
  size_t output_keep;  /* bytes of output kept: head and tail */
  size_t output_limit; /* past this many bytes, the process is killed */
} sandbox_options_t;

typedef struct sandbox_result {
  int exit_status; /* -1 when killed by a signal */
  int signal;      /* the signal that ended it, 0 if none */
  bool timed_out;
  bool output_overflowed; /* printed more than output_limit */
  bool could_not_start;
  char *start_error; /* why, when could_not_start */
  char *output;      /* stdout and stderr interleaved, capped */
  size_t output_length;
  size_t output_total; /* bytes printed, before the cap */
  double duration;
  bool network_private; /* ran in a network namespace of its own */
  int survivors_killed; /* processes still alive after it ended */
} sandbox_result_t;

void sandbox_init(void);
/* Runs the command and fills result; never fails (problems are reported in
 * the result). Every process the command started is gone when it returns. */
void sandbox_run(const sandbox_options_t *options, sandbox_result_t *result);
void sandbox_result_free(sandbox_result_t *result);
/* Kills every process the grader is still parent of (its children and the
 * orphans that came to it), until none is left; returns how many. */
int sandbox_kill_orphans(void);
/* Whether this machine lets the grader give a check a network of its own
 * (tried once, remembered). */
bool sandbox_network_available(void);

/* ----------------------------------------------------------------------
 * exercise.c: the kit's exercises, their configuration and checks
 * ---------------------------------------------------------------------- */

typedef enum {
  STATUS_PASS,
  STATUS_FAIL,
  STATUS_ERROR,
  STATUS_SKIP
} check_status_t;

typedef enum { KIND_CMOCKA, KIND_BATS } check_kind_t;

typedef struct check {
  /* From the checks file. */
  char *name;
  double points;
  check_kind_t kind;
  char *target; /* the cmocka test program, or the .bats file */
  char *test;   /* the test's name in it */
  char *hint;
  int line;
  /* The result. */
  check_status_t status;
  double score;
  char *message;
  char *expected;
  char *actual;
  char *diff;
  char *output;
  bool output_truncated;
  bool output_from_start; /* show its first lines, not its last (a build) */
  char *replay;
  char *command; /* how to run it by hand */
  double duration;
} check_t;

typedef struct exercise {
  char *name;         /* ex9-sample */
  int number;         /* 9 */
  char *kit;          /* the kit's root, absolute */
  char *exercise_dir; /* kit/exercises/exN-name */
  char *tests_dir;    /* kit/tests/exN-name */
  char *solution_dir; /* kit/solutions/exN-name */
  strlist_t student_files;
  strlist_t programs;
  strlist_t test_programs;
  double timeout;       /* per check, before scaling */
  double total_timeout; /* per exercise, before scaling */
  double cpu_seconds;
  size_t memory_bytes;
  size_t file_bytes;
  long processes;
  long open_files;
  check_t *checks;
  size_t check_count;
} exercise_t;

/* Finds exercise "exN" or "exN-name" (or "N") in the kit. NULL with a
 * message in *error when there is none. */
exercise_t *exercise_load(const char *kit, const char *which, char **error);
void exercise_free(exercise_t *exercise);
/* The exercises of the kit, sorted by number ("ex1-hello", ...). */
strlist_t kit_exercises(const char *kit);
/* Where a submission keeps a student file: DIR/exN-name/FILE, then
 * DIR/exercises/exN-name/FILE, then DIR/FILE. NULL if in none. */
char *submission_file(const char *submission, const exercise_t *exercise,
                      const char *file);
/* "FILE HASH" lines for the student files of `submission` (NULL: the
 * kit's stub), as tests/exN-name/stub.fingerprint records them. */
char *stub_fingerprint(const exercise_t *exercise, const char *submission);
/* 1 if the submission's student files are the stub as shipped (or are
 * all absent), 0 if not, -1 if the exercise records no fingerprint. */
int stub_untouched(const exercise_t *exercise, const char *submission);

/* ----------------------------------------------------------------------
 * grade.c: build and run
 * ---------------------------------------------------------------------- */

typedef struct grade_options {
  const char *submission; /* directory holding the student files */
  const char *home;       /* the grader's repository: exercise.mk, tests/lib */
  /* Where runtime/include, tests/runtime and build/default/libasync.a are:
   * home, unless GRADER_RUNTIME says otherwise. */
  const char *runtime;
  const char *build_dir; /* NULL: a temporary directory */
  bool quiet;
} grade_options_t;

typedef struct grade {
  exercise_t *exercise;
  const char *submission;
  bool kit_error; /* the kit itself could not run: exit 2 */
  char *kit_message;
  bool build_failed;
  char *build_output; /* the compiler's messages (warnings too) */
  bool network_private;
  double score;
  double max_score;
  double duration;
} grade_t;

/* Builds and runs every check. Returns false only when the kit itself could
 * not run (then grade->kit_message says why). */
bool grade_exercise(exercise_t *exercise, const grade_options_t *options,
                    grade_t *grade);
/* Builds the exercise in scratch (SCRATCH/out holds the programs), with
 * the student files from options->submission. False if that fails; *output
 * is the compiler's messages, or why the sources could not be laid out. */
bool prepare_and_build(const exercise_t *exercise,
                       const grade_options_t *options, const char *scratch,
                       char **output);
bool build_exercise(const exercise_t *exercise, const grade_options_t *options,
                    const char *scratch, char **output);

/* ----------------------------------------------------------------------
 * report.c: the output formats
 * ---------------------------------------------------------------------- */

typedef enum {
  FORMAT_TEXT,
  FORMAT_JSON,
  FORMAT_JUNIT,
  FORMAT_TAP,
  FORMAT_GRADESCOPE
} report_format_t;

bool parse_format(const char *name, report_format_t *format);
/* The whole report in that format. colour only applies to text. */
char *report(const grade_t *grade, report_format_t format, bool colour);
/* The text shown for one failed check (message, expected and actual,
 * diff, hint, replay), shared by text, TAP and Gradescope. */
void describe_failure(strbuf_t *out, const check_t *check, const char *indent,
                      bool colour);
const char *status_name(check_status_t status);
/* The process's exit status for a grade: 0, 1 or 2. */
int grade_exit_status(const grade_t *grade);
/* A number as JSON and people want it: 2, 2.5, never 2.000000. */
void put_number(strbuf_t *out, double value);

/* ----------------------------------------------------------------------
 * batch.c: many submissions at once
 * ---------------------------------------------------------------------- */

int batch_main(int argc, char **argv, const char *kit, const char *home);

#endif /* GRADER_H */
