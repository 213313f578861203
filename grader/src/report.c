/* report.c: writes a grade as text, JSON, JUnit XML, TAP or Gradescope JSON.
 *
 * Text is for people (colour only on a terminal); the others are for
 * machines, and each must stay valid whatever a submission printed, so all
 * text goes through text.c's escaping. The JSON schema is documented in
 * grader/README.md and grader/results.schema.json. */
#include "grader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Lines of a check's output the text report shows (the last ones). */
#define TEXT_OUTPUT_LINES 25

bool parse_format(const char *name, report_format_t *format) {
  const struct {
    const char *name;
    report_format_t format;
  } formats[] = {{"text", FORMAT_TEXT},
                 {"json", FORMAT_JSON},
                 {"junit", FORMAT_JUNIT},
                 {"tap", FORMAT_TAP},
                 {"gradescope", FORMAT_GRADESCOPE}};
  for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
    if (strcmp(name, formats[i].name) == 0) {
      *format = formats[i].format;
      return true;
    }
  }
  return false;
}

const char *status_name(check_status_t status) {
  switch (status) {
  case STATUS_PASS:
    return "pass";
  case STATUS_FAIL:
    return "fail";
  case STATUS_ERROR:
    return "error";
  case STATUS_SKIP:
    return "skip";
  }
  return "error";
}

int grade_exit_status(const grade_t *grade) {
  if (grade->kit_error) return 2;
  for (size_t i = 0; i < grade->exercise->check_count; i++)
    if (grade->exercise->checks[i].status != STATUS_PASS) return 1;
  return 0;
}

void put_number(strbuf_t *out, double value) {
  if (!isfinite(value)) value = 0;
  if (value == floor(value) && fabs(value) < 1e15)
    sb_printf(out, "%.0f", value);
  else
    sb_printf(out, "%.3f", value);
}

/* "pass", "fail" or "error" for the whole grade, as Exercism says it. */
static const char *overall_status(const grade_t *grade) {
  if (grade->kit_error || grade->build_failed) return "error";
  return grade_exit_status(grade) == 0 ? "pass" : "fail";
}

static char *overall_message(const grade_t *grade) {
  if (grade->kit_error && grade->kit_message)
    return xasprintf("the kit could not run: %s", grade->kit_message);
  if (grade->build_failed && grade->exercise->check_count)
    return xstrdup(grade->exercise->checks[0].message);
  return NULL;
}

/* The last `lines` lines of text. */
static const char *last_lines(const char *text, int lines) {
  size_t length = strlen(text);
  if (length && text[length - 1] == '\n') length--;
  const char *start = text + length;
  while (start > text) {
    if (start[-1] == '\n' && --lines == 0) break;
    start--;
  }
  return start;
}

/* The first `lines` lines of text, and a note of how many more there are. */
static char *first_lines(const char *text, int lines) {
  const char *end = text;
  for (int i = 0; i < lines && *end; i++) {
    end += strcspn(end, "\n");
    if (*end == '\n') end++;
  }
  strbuf_t head = {0};
  sb_append(&head, text, (size_t)(end - text));
  int more = 0;
  for (const char *c = end; *c; c++) more += *c == '\n';
  if (*end) sb_printf(&head, "[... %d more lines ...]\n", more + 1);
  return sb_take(&head);
}

static void indented(strbuf_t *out, const char *text, const char *indent) {
  for (const char *line = text; *line;) {
    size_t length = strcspn(line, "\n");
    sb_puts(out, indent);
    sb_append(out, line, length);
    sb_putc(out, '\n');
    line += length;
    if (*line == '\n') line++;
  }
}

void describe_failure(strbuf_t *out, const check_t *check, const char *indent,
                      bool colour) {
  const char *dim = colour ? "\033[2m" : "";
  const char *bold = colour ? "\033[1m" : "";
  const char *green = colour ? "\033[32m" : "";
  const char *red = colour ? "\033[31m" : "";
  const char *plain = colour ? "\033[0m" : "";
  if (check->message) {
    strbuf_t message = {0};
    sb_printf(&message, "%s%s%s", bold, check->message, plain);
    indented(out, message.data, indent);
    sb_free(&message);
  }
  if (check->diff) {
    sb_printf(out,
              "%sexpected and actual differ (%s-expected%s "
              "%s+actual%s, ·=space ⏎=newline):\n",
              indent, red, plain, green, plain);
    strbuf_t diff = {0};
    for (const char *line = check->diff; *line;) {
      size_t length = strcspn(line, "\n");
      const char *tint = *line == '+' ? green : *line == '-' ? red : "";
      sb_printf(&diff, "%s%.*s%s\n", tint, (int)length, line, plain);
      line += length;
      if (*line == '\n') line++;
    }
    strbuf_t prefix = {0};
    sb_printf(&prefix, "%s  ", indent);
    indented(out, diff.data ? diff.data : "", prefix.data);
    sb_free(&prefix);
    sb_free(&diff);
  } else if (check->expected || check->actual) {
    strbuf_t value = {0};
    if (check->expected) {
      render_visible(&value, check->expected, strlen(check->expected), false);
      sb_printf(out, "%sexpected: %s%s%s\n", indent, green,
                value.data ? value.data : "(empty)", plain);
      sb_free(&value);
    }
    if (check->actual) {
      render_visible(&value, check->actual, strlen(check->actual), false);
      sb_printf(out, "%sactual:   %s%s%s\n", indent, red,
                value.data ? value.data : "(empty)", plain);
      sb_free(&value);
    }
  } else if (check->output && *check->output &&
             (check->status == STATUS_ERROR || !check->message)) {
    /* A failure with a message says enough; a crash or a timeout needs
     * what the program printed (a task dump, a sanitizer report). */
    strbuf_t prefix = {0};
    sb_printf(&prefix, "%s  | ", indent);
    if (check->output_from_start) {
      char *head = first_lines(check->output, TEXT_OUTPUT_LINES * 2);
      sb_printf(out, "%s%soutput:%s\n", indent, dim, plain);
      indented(out, head, prefix.data);
      free(head);
    } else {
      sb_printf(out, "%s%soutput (last lines):%s\n", indent, dim, plain);
      indented(out, last_lines(check->output, TEXT_OUTPUT_LINES), prefix.data);
    }
    sb_free(&prefix);
  }
  if (check->hint && check->status != STATUS_SKIP)
    sb_printf(out, "%shint: %s\n", indent, check->hint);
  if (check->replay) sb_printf(out, "%sreplay: %s\n", indent, check->replay);
}

/* ---------------------------------------------------------------------- */

static void text_report(strbuf_t *out, const grade_t *grade, bool colour) {
  const exercise_t *exercise = grade->exercise;
  const char *green = colour ? "\033[32m" : "";
  const char *red = colour ? "\033[31m" : "";
  const char *yellow = colour ? "\033[33m" : "";
  const char *bold = colour ? "\033[1m" : "";
  const char *plain = colour ? "\033[0m" : "";

  sb_printf(out, "%s%s%s (submission: %s)\n", bold, exercise->name, plain,
            grade->submission);
  if (!grade->build_failed && grade->build_output && *grade->build_output) {
    sb_printf(out, "%sthe compiler warns (not an error, but worth a look):%s\n",
              yellow, plain);
    indented(out, grade->build_output, "  ");
  }
  int width = 0;
  for (size_t i = 0; i < exercise->check_count; i++) {
    int length = (int)strlen(exercise->checks[i].name);
    if (length > width) width = length;
  }
  if (width > 60) width = 60;
  for (size_t i = 0; i < exercise->check_count; i++) {
    const check_t *check = &exercise->checks[i];
    const char *mark, *tint;
    switch (check->status) {
    case STATUS_PASS:
      mark = "ok   ";
      tint = green;
      break;
    case STATUS_FAIL:
      mark = "FAIL ";
      tint = red;
      break;
    case STATUS_ERROR:
      mark = "ERROR";
      tint = red;
      break;
    default:
      mark = "skip ";
      tint = yellow;
      break;
    }
    sb_printf(out, "  %s%s%s  %-*s  ", tint, mark, plain, width, check->name);
    put_number(out, check->score);
    sb_putc(out, '/');
    put_number(out, check->points);
    sb_putc(out, '\n');
    if (check->status == STATUS_PASS) continue;
    if (check->status == STATUS_SKIP) {
      if (check->message) sb_printf(out, "         %s\n", check->message);
      continue;
    }
    describe_failure(out, check, "         ", colour);
  }
  if (grade->kit_error && grade->kit_message)
    sb_printf(out, "%sthe kit itself could not run:%s %s\n", red, plain,
              grade->kit_message);
  sb_printf(out, "%sScore: ", bold);
  put_number(out, grade->score);
  sb_putc(out, '/');
  put_number(out, grade->max_score);
  sb_printf(out, "%s\n", plain);
}

/* ---------------------------------------------------------------------- */

static void json_field(strbuf_t *out, const char *name, const char *value,
                       bool comma) {
  sb_printf(out, "\"%s\": ", name);
  json_string(out, value);
  if (comma) sb_puts(out, ", ");
}

static void json_number_field(strbuf_t *out, const char *name, double value,
                              bool comma) {
  sb_printf(out, "\"%s\": ", name);
  put_number(out, value);
  if (comma) sb_puts(out, ", ");
}

static void json_report(strbuf_t *out, const grade_t *grade) {
  const exercise_t *exercise = grade->exercise;
  char *message = overall_message(grade);
  sb_puts(out, "{\n  \"schema\": \"async-kit-grader-results/1\", "
               "\"version\": 3,\n  ");
  json_field(out, "exercise", exercise->name, true);
  json_field(out, "submission", grade->submission, false);
  sb_puts(out, ",\n  ");
  json_field(out, "status", overall_status(grade), true);
  json_field(out, "message", message, false);
  sb_puts(out, ",\n  ");
  json_number_field(out, "score", grade->score, true);
  json_number_field(out, "max_score", grade->max_score, true);
  sb_printf(out, "\"execution_time\": %.3f,\n  ", grade->duration);
  json_field(out, "network", grade->network_private ? "private" : "shared",
             false);
  sb_puts(out, ",\n  \"build\": {");
  json_field(out, "status", grade->build_failed ? "error" : "ok", true);
  json_field(out, "output", grade->build_output ? grade->build_output : "",
             false);
  sb_puts(out, "},\n  \"tests\": [");
  for (size_t i = 0; i < exercise->check_count; i++) {
    const check_t *check = &exercise->checks[i];
    sb_puts(out, i ? ",\n    {" : "\n    {");
    json_field(out, "name", check->name, true);
    json_field(out, "status", status_name(check->status), true);
    json_number_field(out, "score", check->score, true);
    json_number_field(out, "max_score", check->points, true);
    sb_puts(out, "\n     ");
    json_field(out, "message", check->message, true);
    json_field(out, "expected", check->expected, true);
    json_field(out, "actual", check->actual, true);
    json_field(out, "diff", check->diff, true);
    sb_puts(out, "\n     ");
    json_field(out, "output", check->output, true);
    sb_printf(out, "\"output_truncated\": %s, ",
              check->output_truncated ? "true" : "false");
    json_field(out, "hint", check->hint, true);
    json_field(out, "replay", check->replay, true);
    sb_puts(out, "\n     ");
    json_field(out, "test_code", check->command, true);
    sb_printf(out, "\"duration\": %.3f}", check->duration);
  }
  sb_puts(out, exercise->check_count ? "\n  ]\n}\n" : "]\n}\n");
  free(message);
}

/* ---------------------------------------------------------------------- */

static void xml_attribute(strbuf_t *out, const char *name, const char *value) {
  sb_printf(out, " %s=\"", name);
  xml_escape(out, value ? value : "", value ? strlen(value) : 0);
  sb_putc(out, '"');
}

static void junit_report(strbuf_t *out, const grade_t *grade) {
  const exercise_t *exercise = grade->exercise;
  size_t failures = 0, errors = 0, skipped = 0;
  for (size_t i = 0; i < exercise->check_count; i++) {
    check_status_t status = exercise->checks[i].status;
    failures += status == STATUS_FAIL;
    errors += status == STATUS_ERROR;
    skipped += status == STATUS_SKIP;
  }
  char timestamp[32];
  time_t now = time(NULL);
  strftime(timestamp, sizeof timestamp, "%Y-%m-%dT%H:%M:%S", gmtime(&now));
  char hostname[256] = "localhost";
  gethostname(hostname, sizeof hostname - 1);
  char counts[160];
  snprintf(counts, sizeof counts,
           " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\""
           " time=\"%.3f\"",
           exercise->check_count, failures, errors, skipped, grade->duration);

  sb_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
  xml_attribute(out, "name", exercise->name);
  sb_printf(out, "%s>\n  <testsuite", counts);
  xml_attribute(out, "name", exercise->name);
  sb_puts(out, counts);
  xml_attribute(out, "timestamp", timestamp);
  xml_attribute(out, "hostname", hostname);
  sb_puts(out, ">\n    <properties>\n");
  strbuf_t number = {0};
  put_number(&number, grade->score);
  sb_puts(out, "      <property name=\"score\"");
  xml_attribute(out, "value", number.data);
  sb_puts(out, "/>\n");
  sb_free(&number);
  put_number(&number, grade->max_score);
  sb_puts(out, "      <property name=\"max_score\"");
  xml_attribute(out, "value", number.data);
  sb_puts(out, "/>\n");
  sb_free(&number);
  sb_puts(out, "      <property name=\"submission\"");
  xml_attribute(out, "value", grade->submission);
  sb_puts(out, "/>\n    </properties>\n");

  for (size_t i = 0; i < exercise->check_count; i++) {
    const check_t *check = &exercise->checks[i];
    sb_puts(out, "    <testcase");
    xml_attribute(out, "name", check->name);
    xml_attribute(out, "classname", exercise->name);
    sb_printf(out, " time=\"%.3f\"", check->duration);
    if (check->status == STATUS_PASS && !(check->output && *check->output)) {
      sb_puts(out, "/>\n");
      continue;
    }
    sb_puts(out, ">\n");
    if (check->status == STATUS_SKIP) {
      sb_puts(out, "      <skipped");
      xml_attribute(out, "message", check->message);
      sb_puts(out, "/>\n");
    } else if (check->status != STATUS_PASS) {
      const char *element = check->status == STATUS_FAIL ? "failure" : "error";
      sb_printf(out, "      <%s", element);
      xml_attribute(out, "message", check->message);
      xml_attribute(out, "type", status_name(check->status));
      sb_puts(out, ">");
      strbuf_t details = {0};
      check_t plain_check = *check;
      plain_check.output = NULL; /* in system-out below */
      describe_failure(&details, &plain_check, "", false);
      if (details.data) xml_escape(out, details.data, details.length);
      sb_free(&details);
      sb_printf(out, "</%s>\n", element);
    }
    if (check->output && *check->output) {
      sb_puts(out, "      <system-out>");
      xml_escape(out, check->output, strlen(check->output));
      sb_puts(out, "</system-out>\n");
    }
    sb_puts(out, "    </testcase>\n");
  }
  sb_puts(out, "    <system-out>");
  if (grade->build_output)
    xml_escape(out, grade->build_output, strlen(grade->build_output));
  sb_puts(out, "</system-out>\n    <system-err>");
  if (grade->kit_error && grade->kit_message)
    xml_escape(out, grade->kit_message, strlen(grade->kit_message));
  sb_puts(out, "</system-err>\n  </testsuite>\n</testsuites>\n");
}

/* ---------------------------------------------------------------------- */

static void tap_report(strbuf_t *out, const grade_t *grade) {
  const exercise_t *exercise = grade->exercise;
  sb_printf(out, "TAP version 13\n1..%zu\n", exercise->check_count);
  for (size_t i = 0; i < exercise->check_count; i++) {
    const check_t *check = &exercise->checks[i];
    bool ok = check->status == STATUS_PASS || check->status == STATUS_SKIP;
    /* "#" would start a TAP directive inside the description. */
    strbuf_t name = {0};
    for (const char *c = check->name; *c; c++) {
      if (*c == '#') sb_putc(&name, '\\');
      sb_putc(&name, *c);
    }
    sb_printf(out, "%s %zu - %s", ok ? "ok" : "not ok", i + 1, name.data);
    sb_free(&name);
    if (check->status == STATUS_SKIP) {
      char *reason = xstrdup(check->message ? check->message : "skipped");
      reason[strcspn(reason, "\n")] = '\0';
      sb_printf(out, " # SKIP %s", reason);
      free(reason);
    }
    sb_putc(out, '\n');
    if (ok) continue;
    sb_puts(out, "  ---\n");
    sb_printf(out, "  status: %s\n  score: ", status_name(check->status));
    put_number(out, check->score);
    sb_puts(out, "\n  max_score: ");
    put_number(out, check->points);
    sb_puts(out, "\n");
    const struct {
      const char *key;
      const char *value;
    } fields[] = {{"message", check->message}, {"expected", check->expected},
                  {"actual", check->actual},   {"diff", check->diff},
                  {"hint", check->hint},       {"replay", check->replay},
                  {"output", check->output}};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
      if (!fields[f].value) continue;
      /* "|2": the block is indented 2 past its key, whatever its first
       * line starts with. */
      sb_printf(out, "  %s: |2\n", fields[f].key);
      yaml_block(out, fields[f].value, 4);
    }
    sb_puts(out, "  ...\n");
  }
  sb_puts(out, "# Score: ");
  put_number(out, grade->score);
  sb_putc(out, '/');
  put_number(out, grade->max_score);
  sb_putc(out, '\n');
}

/* ---------------------------------------------------------------------- */

static void gradescope_report(strbuf_t *out, const grade_t *grade) {
  const exercise_t *exercise = grade->exercise;
  char *message = overall_message(grade);
  strbuf_t summary = {0};
  if (message) sb_printf(&summary, "%s\n", message);
  if (!grade->build_failed && grade->build_output && *grade->build_output)
    sb_printf(&summary, "The compiler warns:\n%s", grade->build_output);
  sb_puts(out, "{\n  ");
  json_number_field(out, "score", grade->kit_error ? 0 : grade->score, true);
  sb_printf(out, "\"execution_time\": %.0f,\n  ", ceil(grade->duration));
  json_field(out, "output", summary.data ? summary.data : "", true);
  sb_puts(out, "\"output_format\": \"text\", \"test_output_format\": "
               "\"text\",\n  \"visibility\": \"visible\", "
               "\"stdout_visibility\": \"hidden\",\n  \"tests\": [");
  for (size_t i = 0; i < exercise->check_count; i++) {
    const check_t *check = &exercise->checks[i];
    strbuf_t text = {0};
    if (check->status == STATUS_SKIP)
      sb_printf(&text, "%s\n", check->message ? check->message : "skipped");
    else if (check->status != STATUS_PASS)
      describe_failure(&text, check, "", false);
    sb_puts(out, i ? ",\n    {" : "\n    {");
    json_field(out, "name", check->name, true);
    sb_printf(out, "\"number\": \"%zu\", ", i + 1);
    json_number_field(out, "score", check->score, true);
    json_number_field(out, "max_score", check->points, true);
    json_field(out, "status",
               check->status == STATUS_PASS ? "passed" : "failed", true);
    json_field(out, "output", text.data ? text.data : "", true);
    sb_puts(out, "\"output_format\": \"text\", \"visibility\": \"visible\"}");
    sb_free(&text);
  }
  sb_puts(out, exercise->check_count ? "\n  ]\n}\n" : "]\n}\n");
  sb_free(&summary);
  free(message);
}

char *report(const grade_t *grade, report_format_t format, bool colour) {
  strbuf_t out = {0};
  switch (format) {
  case FORMAT_TEXT:
    text_report(&out, grade, colour);
    break;
  case FORMAT_JSON:
    json_report(&out, grade);
    break;
  case FORMAT_JUNIT:
    junit_report(&out, grade);
    break;
  case FORMAT_TAP:
    tap_report(&out, grade);
    break;
  case FORMAT_GRADESCOPE:
    gradescope_report(&out, grade);
    break;
  }
  return sb_take(&out);
}
