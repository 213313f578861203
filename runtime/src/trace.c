/* trace.c: check mode's trace: task lifetimes, awaits and lock holds as
 * Chrome trace-event JSON (ASYNC_TRACE=path), for Perfetto or
 * chrome://tracing.
 *
 * Each task is a thread (tid = its id, named after it) with "running"
 * slices between picks and "waiting for ..." slices while it is parked;
 * each lock hold is an async slice ("b"/"e", id = the lock's number).
 * Timestamps are the virtual clock, with each event at least a nanosecond
 * after the one before, so that slices that take no virtual time still
 * show in order. Everything comes from the schedule, so two runs with one
 * seed give byte-identical files.
 *
 * Rejected: real timestamps (no two traces would be alike, and a hang in
 * real time is what the task dump is for) and a buffer written at the end
 * (a program that is killed would leave nothing).
 */
#include "check.h"

#include <inttypes.h>

typedef struct trace {
  FILE *file;
  uint64_t last_ns;      /* of the last event */
  async_task_t *running; /* whose "running" slice is open */
  size_t events;
} trace_t;

static _Thread_local trace_t *trace;

static void add_json(FILE *file, const char *string) {
  fputc('"', file);
  for (const unsigned char *c = (const unsigned char *)string; *c; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(file, "\\%c", *c);
    else if (*c < 0x20)
      fprintf(file, "\\u%04x", *c);
    else
      fputc(*c, file);
  }
  fputc('"', file);
}

/* Starts an event: separator, name, phase, timestamp, process and thread. */
static void begin_event(const char *name, char phase, uint64_t tid) {
  uint64_t now = async__rt->now;
  uint64_t ns =
      trace->events == 0 || now > trace->last_ns ? now : trace->last_ns + 1;
  trace->last_ns = ns;
  fprintf(trace->file, "%s{\"name\":", trace->events++ ? ",\n" : "\n");
  add_json(trace->file, name);
  fprintf(trace->file,
          ",\"ph\":\"%c\",\"ts\":%" PRIu64 ".%03u,\"pid\":1,\"tid\":%" PRIu64,
          phase, ns / 1000, (unsigned)(ns % 1000), tid);
}

static void end_event(void) {
  fputc('}', trace->file);
}

static void add_site_arg(const char *key, async_site_t site) {
  char buffer[512];
  fprintf(trace->file, ",\"args\":{\"%s\":", key);
  add_json(trace->file, async__site_text(site, buffer, sizeof buffer));
  fputc('}', trace->file);
}

bool async__trace_start(const char *path) {
  FILE *file = fopen(path, "w");
  if (file == NULL) {
    fprintf(stderr, "async: cannot write the trace %s: %s\n", path,
            strerror(errno));
    return false;
  }
  trace = calloc(1, sizeof *trace);
  if (trace == NULL) abort();
  trace->file = file;
  fprintf(file, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
  begin_event("process_name", 'M', 0);
  fprintf(file, ",\"args\":{\"name\":\"async_run\"}");
  end_event();
  return true;
}

void async__trace_stop(void) {
  if (trace == NULL) return;
  fprintf(trace->file, "\n]}\n");
  fclose(trace->file);
  free(trace);
  trace = NULL;
}

/* The running slice of `task` ends: it parked, yielded or finished. */
static void leave_cpu(async_task_t *task) {
  begin_event("running", 'E', task->id);
  end_event();
  trace->running = NULL;
  if (task->state == ASYNC__TASK_DONE) {
    begin_event("finished", 'i', task->id);
    fprintf(trace->file, ",\"s\":\"t\",\"args\":{\"result\":%d}", task->result);
    end_event();
  } else if (task->state == ASYNC__TASK_PARKED && task->waiting_for) {
    char name[128];
    snprintf(name, sizeof name, "waiting for %s", task->waiting_for);
    begin_event(name, 'B', task->id);
    add_site_arg("at", task->waiting_at);
    end_event();
    async__check_task(task)->trace_waiting = true;
  }
}

void async__trace_pick(async_task_t *next) {
  if (trace == NULL) return;
  /* Picked from a task that yields, by itself: it just goes on. */
  if (next != NULL && next == trace->running && next == async__rt->current)
    return;
  if (trace->running != NULL) leave_cpu(trace->running);
  if (next == NULL) return;
  struct async__check_task *data = async__check_task(next);
  if (!data->trace_named) {
    data->trace_named = true;
    begin_event("thread_name", 'M', next->id);
    fprintf(trace->file, ",\"args\":{\"name\":");
    add_json(trace->file, async_task_name(next));
    fputc('}', trace->file);
    end_event();
    begin_event("spawned", 'i', next->id);
    fprintf(trace->file, ",\"s\":\"t\"");
    if (next != async__rt->main_task) add_site_arg("at", next->created_at);
    end_event();
  }
  if (data->trace_waiting) {
    data->trace_waiting = false;
    begin_event("waiting", 'E', next->id);
    end_event();
  }
  begin_event("running", 'B', next->id);
  end_event();
  trace->running = next;
}

void async__trace_idle(void) {
  if (trace != NULL && trace->running != NULL) leave_cpu(trace->running);
}

void async__trace_task_gone(async_task_t *task) {
  if (trace != NULL && trace->running == task) leave_cpu(task);
}

void async__trace_lock(uint64_t serial, const char *name, async_task_t *from,
                       async_task_t *to, async_site_t site) {
  if (trace == NULL) return;
  char holds[128];
  snprintf(holds, sizeof holds, "holds %s", name);
  if (from != NULL) {
    begin_event(holds, 'e', from->id);
    fprintf(trace->file, ",\"cat\":\"lock\",\"id\":%" PRIu64, serial);
    end_event();
  }
  if (to != NULL) {
    begin_event(holds, 'b', to->id);
    fprintf(trace->file, ",\"cat\":\"lock\",\"id\":%" PRIu64, serial);
    char buffer[512];
    fprintf(trace->file, ",\"args\":{\"taken at\":");
    add_json(trace->file, async__site_text(site, buffer, sizeof buffer));
    fputc('}', trace->file);
    end_event();
  }
}
