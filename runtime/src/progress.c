/* progress.c: check mode's starvation, livelock and loop-hog reports.
 *
 * Starvation and livelock need to know what progress means, which only
 * the program does: a task says when it wants to progress
 * (async_check_want, "hungry") and when it did (async_check_progress,
 * "ate"). Then, measured in virtual time:
 *
 * - starvation: a task has wanted for longer than ASYNC_STARVATION seconds
 *   while other tasks made progress;
 * - livelock: once the hooks are in use, ASYNC_LIVELOCK seconds or
 *   ASYNC_LIVELOCK_STEPS task steps pass with no progress at all, though
 *   tasks keep running (a deadlock would have stopped them). The waiting
 *   calls then return ASYNC_EDEADLK, as after a deadlock, so that a
 *   program that checks them can stop.
 *
 * A loop hog needs no hook: a task that runs longer than ASYNC_HOG_MS of
 * real time between two awaits (every other task waits that long) is
 * named with the two lines. It is measured from the pick that gave the
 * task the CPU, or its last await, to its next await or its return.
 *
 * Rejected: a watchdog thread or timer signal for hogs. It would also
 * catch a task that never awaits again, but it reads the scheduler's
 * state from another thread; the task dump on SIGQUIT covers that case.
 */
#include "check.h"

#include <inttypes.h>
#include <string.h>

/* A starvation pattern already reported: later tasks starving the same way
 * are counted, not reported again, and summed up at the end of the run. */
typedef struct starved_pattern {
  async_site_t want_at, waiting_at;
  char *waiting_for; /* NULL: not parked */
  size_t later;      /* tasks that starved this way after the report */
} starved_pattern_t;

typedef struct progress_state {
  bool armed; /* a hook was used: livelock is watched */
  uint64_t events;
  uint64_t last_progress_ns;
  uint64_t steps_since;
  uint64_t picks;
  bool livelock_reported;
  async_task_t **wanting;
  size_t wanting_count, wanting_capacity;
  async_task_t *slice_task; /* whose stretch without an await is timed */
  uint64_t slice_start;     /* real time */
  char **hogs;              /* sites of hogs reported */
  size_t hog_count, hog_capacity;
  starved_pattern_t *starved; /* patterns reported */
  size_t starved_count, starved_capacity;
} progress_state_t;

static _Thread_local progress_state_t *state;

static progress_state_t *the_state(void) {
  if (state == NULL) {
    state = calloc(1, sizeof *state);
    if (state == NULL) abort();
  }
  return state;
}

void async__progress_free(void) {
  if (state == NULL) return;
  for (size_t i = 0; i < state->starved_count; i++) {
    starved_pattern_t *pattern = &state->starved[i];
    char at[512];
    if (pattern->later != 0)
      fprintf(stderr,
              "async: starvation: %zu more task%s starved the same way as "
              "reported above (wanting at %s)\n",
              pattern->later, pattern->later == 1 ? "" : "s",
              async__site_text(pattern->want_at, at, sizeof at));
    free(pattern->waiting_for);
  }
  free(state->starved);
  free(state->wanting);
  for (size_t i = 0; i < state->hog_count; i++) free(state->hogs[i]);
  free(state->hogs);
  free(state);
  state = NULL;
}

static void stop_wanting(async_task_t *task) {
  for (size_t i = 0; i < state->wanting_count; i++) {
    if (state->wanting[i] == task) {
      state->wanting[i] = state->wanting[--state->wanting_count];
      return;
    }
  }
}

static void report_hog(async_task_t *task, uint64_t elapsed,
                       const async_site_t *until);

/* A task that returned wants nothing more: it cannot starve; and its
 * stretch without an await ends at its return, not at the next pick
 * (which may come after the loop has waited for I/O). */
void async__progress_task_finished(async_task_t *task) {
  if (state == NULL) return;
  if (task->check->wanting) {
    task->check->wanting = false;
    stop_wanting(task);
  }
  uint64_t budget = async__check_config()->hog_ns;
  if (state->slice_task == task) {
    uint64_t elapsed = uv_hrtime() - state->slice_start;
    if (budget != 0 && elapsed > budget) report_hog(task, elapsed, NULL);
    state->slice_task = NULL;
  }
}

void async__progress_task_free(async_task_t *task) {
  if (state == NULL) return;
  if (task->check->wanting) stop_wanting(task);
  if (state->slice_task == task) state->slice_task = NULL;
}

static bool in_check_task(void) {
  return async__rt != NULL && async__rt->check != NULL &&
         async__rt->current != NULL;
}

static void arm(progress_state_t *s) {
  if (s->armed) return;
  s->armed = true;
  s->last_progress_ns = async__rt->now;
  s->steps_since = 0;
}

void(async_check_want)(const char *what) {
  if (!in_check_task()) return;
  progress_state_t *s = the_state();
  arm(s);
  async_task_t *self = async__rt->current;
  struct async__check_task *data = async__check_task(self);
  if (data->wanting) return; /* still wanting since the first call */
  data->wanting = true;
  data->want_what = what != NULL ? what : "to progress";
  data->want_at = async__site;
  data->want_since = async__rt->now;
  data->want_mark = s->events;
  data->starvation_reported = false;
  if (s->wanting_count == s->wanting_capacity) {
    size_t capacity = s->wanting_capacity ? s->wanting_capacity * 2 : 8;
    async_task_t **grown = realloc(s->wanting, capacity * sizeof *grown);
    if (grown == NULL) abort();
    s->wanting = grown;
    s->wanting_capacity = capacity;
  }
  s->wanting[s->wanting_count++] = self;
}

void(async_check_progress)(const char *what) {
  (void)what;
  if (!in_check_task()) return;
  progress_state_t *s = the_state();
  arm(s);
  s->events++;
  s->last_progress_ns = async__rt->now;
  s->steps_since = 0;
  async_task_t *self = async__rt->current;
  struct async__check_task *data = async__check_task(self);
  if (data->wanting) {
    data->wanting = false;
    stop_wanting(self);
  }
}

/* ---- Starvation ---- */

/* Tasks starving the same way (wanting at one line, waiting at another)
 * are one report with a count: a thousand philosophers, one pattern. A
 * pattern reported once is not reported again when more tasks fall into
 * it later: they are counted, and the count is printed when the run ends. */
typedef struct starving {
  async_task_t *task;
  uint64_t others; /* progress events by others since it started wanting */
} starving_t;

static starved_pattern_t pattern_of(async_task_t *task) {
  bool waits = task->state == ASYNC__TASK_PARKED && task->waiting_for != NULL;
  return (starved_pattern_t){
      .want_at = task->check->want_at,
      .waiting_at = waits ? task->waiting_at : (async_site_t){NULL, 0},
      .waiting_for = waits ? (char *)task->waiting_for : NULL};
}

static bool same_site(async_site_t a, async_site_t b) {
  return a.file == b.file && a.line == b.line;
}

static bool same_pattern(const starved_pattern_t *a,
                         const starved_pattern_t *b) {
  return same_site(a->want_at, b->want_at) &&
         same_site(a->waiting_at, b->waiting_at) &&
         (a->waiting_for == NULL) == (b->waiting_for == NULL) &&
         (a->waiting_for == NULL ||
          strcmp(a->waiting_for, b->waiting_for) == 0);
}

/* The pattern as reported before, or NULL. */
static starved_pattern_t *reported_pattern(const starved_pattern_t *key) {
  for (size_t i = 0; i < state->starved_count; i++)
    if (same_pattern(&state->starved[i], key)) return &state->starved[i];
  return NULL;
}

static void remember_pattern(const starved_pattern_t *key) {
  if (state->starved_count == state->starved_capacity) {
    size_t capacity = state->starved_capacity ? state->starved_capacity * 2 : 4;
    starved_pattern_t *grown =
        realloc(state->starved, capacity * sizeof *grown);
    if (grown == NULL) abort();
    state->starved = grown;
    state->starved_capacity = capacity;
  }
  starved_pattern_t *copy = &state->starved[state->starved_count++];
  *copy = *key;
  /* The task's text may not outlive it. */
  if (key->waiting_for != NULL) {
    copy->waiting_for = strdup(key->waiting_for);
    if (copy->waiting_for == NULL) abort();
  }
}

enum { NAMES_SHOWN = 3 };

/* One finding for pattern[0 .. count), all starving the same way. */
static void report_starvation(starving_t *pattern, size_t count) {
  async__runtime_t *rt = async__rt;
  async_task_t *first = pattern[0].task;
  struct async__check_task *data = first->check;
  char at[512];
  async__finding_t finding;
  async__finding_init(&finding, "starvation");
  if (count == 1) {
    async__text_add(&finding.text, "starvation: task '%s'",
                    async_task_name(first));
  } else {
    async__text_add(&finding.text, "starvation: %zu tasks (", count);
    for (size_t i = 0; i < count && i < NAMES_SHOWN; i++)
      async__text_add(&finding.text, "%s'%s'", i ? ", " : "",
                      async_task_name(pattern[i].task));
    if (count > NAMES_SHOWN)
      async__text_add(&finding.text, " and %zu more", count - NAMES_SHOWN);
    async__text_add(&finding.text, "); the first");
  }
  async__text_add(
      &finding.text,
      " has wanted %s since %.3f s (at %s), %.3f s ago; other "
      "tasks made progress %" PRIu64 " times meanwhile, it did not.\n",
      data->want_what, (double)data->want_since / 1e9,
      async__site_text(data->want_at, at, sizeof at),
      (double)(rt->now - data->want_since) / 1e9, pattern[0].others);
  bool waits = first->state == ASYNC__TASK_PARKED && first->waiting_for;
  if (waits) {
    async__text_add(&finding.text, "  %s now waits for %s at %s.\n",
                    count == 1 ? "it" : "each", first->waiting_for,
                    async__site_text(first->waiting_at, at, sizeof at));
    async__finding_site(&finding, first->waiting_at);
    /* Waiting in line and still overtaken: the line itself is long. */
    async__text_add(&finding.text,
                    "  fix: tasks that hold one resource while waiting in "
                    "line for the next form chains that serialise everyone "
                    "behind them; take what a step needs together (one "
                    "waiter lock, or fewer seats than resources), or hold "
                    "nothing while you wait.");
  } else {
    async__text_add(&finding.text,
                    "  fix: a task that only tries (try_acquire, polling) "
                    "loses to tasks that wait in line: wait for the resource "
                    "instead, and release what you hold before you retry.");
  }
  for (size_t i = 0; i < count; i++)
    async__finding_task(&finding, async_task_name(pattern[i].task));
  async__finding_site(&finding, data->want_at);
  async__finding_emit(&finding);
}

static void check_starvation(async__runtime_t *rt) {
  uint64_t bound = rt->check != NULL ? async__check_config()->starvation_ns : 0;
  if (bound == 0) return;
  starving_t *found = NULL;
  size_t count = 0;
  for (size_t i = 0; i < state->wanting_count; i++) {
    async_task_t *task = state->wanting[i];
    struct async__check_task *data = task->check;
    uint64_t others = state->events - data->want_mark;
    if (data->starvation_reported || others == 0 ||
        rt->now - data->want_since <= bound)
      continue;
    data->starvation_reported = true;
    starved_pattern_t key = pattern_of(task);
    starved_pattern_t *before = reported_pattern(&key);
    if (before != NULL) {
      before->later++;
      continue;
    }
    if (found == NULL) {
      found = malloc(state->wanting_count * sizeof *found);
      if (found == NULL) abort();
    }
    found[count++] = (starving_t){task, others};
  }
  /* Group in place: move each pattern's members together, in the order
   * they were found, then report each group once. */
  for (size_t start = 0; start < count;) {
    starved_pattern_t key = pattern_of(found[start].task);
    size_t end = start + 1;
    for (size_t i = end; i < count; i++) {
      starved_pattern_t other = pattern_of(found[i].task);
      if (!same_pattern(&key, &other)) continue;
      starving_t member = found[i];
      memmove(&found[end + 1], &found[end], (i - end) * sizeof *found);
      found[end++] = member;
    }
    report_starvation(&found[start], end - start);
    remember_pattern(&key);
    start = end;
  }
  free(found);
}

/* ---- Livelock ---- */

static void report_livelock(async__runtime_t *rt) {
  state->livelock_reported = true;
  async__finding_t finding;
  async__finding_init(&finding, "livelock");
  async__text_add(&finding.text,
                  "livelock: tasks keep running, but none has made progress "
                  "for %.3f s and %" PRIu64
                  " steps (since %.3f s). What they do now:\n",
                  (double)(rt->now - state->last_progress_ns) / 1e9,
                  state->steps_since, (double)state->last_progress_ns / 1e9);
  async__dump_tasks(rt, &finding.text, "  ", &finding);
  async__text_add(&finding.text,
                  "  fix: tasks that back off and retry in step with each "
                  "other can do so for ever: wait in line for the resource "
                  "(acquire rather than try), or take resources in one "
                  "global order. The waits return ASYNC_EDEADLK now.");
  async__finding_emit(&finding);
  /* Stop them, as after a deadlock. */
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state == ASYNC__TASK_DONE || task->cancelled_with != 0) continue;
    task->cancelled_with = ASYNC_EDEADLK;
    async__interrupt_changed(task);
  }
}

static void check_livelock(async__runtime_t *rt) {
  if (!state->armed || state->livelock_reported) return;
  const async__check_config_t *config = async__check_config();
  bool too_long = config->livelock_ns != 0 &&
                  rt->now - state->last_progress_ns > config->livelock_ns;
  bool too_many = config->livelock_steps != 0 &&
                  state->steps_since > config->livelock_steps;
  if (too_long || too_many) report_livelock(rt);
}

/* ---- Loop hogs ---- */

static bool hog_reported_before(const char *key) {
  for (size_t i = 0; i < state->hog_count; i++)
    if (strcmp(state->hogs[i], key) == 0) return true;
  if (state->hog_count == state->hog_capacity) {
    size_t capacity = state->hog_capacity ? state->hog_capacity * 2 : 4;
    char **grown = realloc(state->hogs, capacity * sizeof *grown);
    if (grown == NULL) abort();
    state->hogs = grown;
    state->hog_capacity = capacity;
  }
  state->hogs[state->hog_count] = strdup(key);
  if (state->hogs[state->hog_count] == NULL) abort();
  state->hog_count++;
  return false;
}

/* task ran `elapsed` ns of real time from its last await to `to` (NULL:
 * its return). */
static void report_hog(async_task_t *task, uint64_t elapsed,
                       const async_site_t *to) {
  struct async__check_task *data = task->check;
  char from_text[512], to_text[512];
  async_site_t from =
      data->last_await.file != NULL ? data->last_await : task->created_at;
  async__site_text(from, from_text, sizeof from_text);
  if (to != NULL)
    async__site_text(*to, to_text, sizeof to_text);
  else
    snprintf(to_text, sizeof to_text, "its return");
  char key[1100];
  snprintf(key, sizeof key, "%s|%s", from_text, to_text);
  if (hog_reported_before(key)) return;
  async__finding_t finding;
  async__finding_init(&finding, "loop-hog");
  async__text_add(&finding.text,
                  "loop hog: task '%s' ran for %.3f s of real time without "
                  "an await, from %s%s to %s: every other task waited that "
                  "long.\n"
                  "  fix: split the work with async_yield() every so often, "
                  "or run it on a thread with async_to_thread(); blocking "
                  "calls (sleep, read, a busy loop) belong there too.",
                  async_task_name(task), (double)elapsed / 1e9,
                  data->last_await.file != NULL ? "the await at "
                                                : "its start at ",
                  from_text, to_text);
  async__finding_task(&finding, async_task_name(task));
  async__finding_site(&finding, from);
  if (to != NULL) async__finding_site(&finding, *to);
  async__finding_emit(&finding);
}

void async__progress_await(async_task_t *task, async_site_t site) {
  uint64_t budget = async__check_config()->hog_ns;
  struct async__check_task *data = async__check_task(task);
  if (budget != 0 && state != NULL && state->slice_task == task) {
    uint64_t now = uv_hrtime();
    if (now - state->slice_start > budget)
      report_hog(task, now - state->slice_start, &site);
    state->slice_start = uv_hrtime();
  }
  data->last_await = site;
}

/* ---- Every step ---- */

void async__progress_pick(async__runtime_t *rt, async_task_t *next) {
  progress_state_t *s = the_state();
  const async__check_config_t *config = async__check_config();
  if (config->hog_ns != 0) {
    uint64_t now = uv_hrtime();
    async_task_t *last = s->slice_task;
    if (last != NULL && last != next && last->state == ASYNC__TASK_DONE &&
        now - s->slice_start > config->hog_ns)
      report_hog(last, now - s->slice_start, NULL);
    if (next != NULL) async__check_task(next);
    s->slice_task = next;
    s->slice_start = now;
  }
  if (!s->armed) return;
  s->steps_since++;
  check_livelock(rt);
  if ((++s->picks & 255) == 0) check_starvation(rt);
}

void async__progress_time_passed(async__runtime_t *rt) {
  if (state == NULL || !state->armed) return;
  check_starvation(rt);
  check_livelock(rt);
}
