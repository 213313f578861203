/* check.c: check mode: its settings, seeded schedules, the virtual clock,
 * and how findings are reported.
 *
 * Check mode is switched on by ASYNC_CHECK=1 when async_run() starts (see
 * async.h, "Check mode"). It then owns three decisions the core otherwise
 * makes by itself:
 *
 * - which ready entry runs next (async__check_pick moves the strategy's
 *   choice to the head of the ready ring, so the core's pop is unchanged);
 * - whether a call that may block yields first (a choice point), so that a
 *   schedule can run another task even where nothing had to wait;
 * - what time it is: a virtual clock that stands still while tasks run and
 *   jumps to the next timer when nothing real (I/O, child processes, the
 *   thread pool, signals) is in flight, so that a program that sleeps an
 *   hour ends at once, with the same timestamps every run.
 *
 * Every finding is printed as a report for people (what happened, where,
 * what to try), one line that replays it, and one JSON line appended to
 * ASYNC_FINDINGS for the grader.
 *
 * Rejected: a virtual clock that advances by a small step per task step
 * (some simulators do): timestamps would depend on how many steps a schedule
 * took, and "sleep(1) ends at exactly 1.000" would no longer hold.
 */
#include "check.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

struct async__check {
  async__check_config_t config;
  uint64_t rng[4];         /* xoshiro256** state */
  uint64_t steps;          /* picks made so far */
  uint64_t *change_points; /* PCT: sorted step numbers */
  unsigned change_count, next_change;
  async_task_t *last_picked; /* the task that ran since the last pick */
  bool timer_fired;          /* the virtual clock's real wait ended */
  uv_async_t *wakeup;        /* SIGQUIT's; freed by its close callback */
  async__run_end_hook_t hook;
  size_t findings;
  char *replay; /* made on first use */
};

static _Thread_local async__check_config_t next_config;

/* ---- Settings ---- */

static int bad_setting(const char *name, const char *value,
                       const char *expected) {
  fprintf(stderr, "async: %s=%s is not valid: %s\n", name, value, expected);
  return UV_EINVAL;
}

static bool is_one_of(const char *value, const char *const *words) {
  for (; *words != NULL; words++)
    if (strcmp(value, *words) == 0) return true;
  return false;
}

/* A decimal number in [low, high]; false if `value` is not one. */
static bool parse_number(const char *value, uint64_t low, uint64_t high,
                         uint64_t *out) {
  if (value[0] < '0' || value[0] > '9') return false;
  char *end;
  errno = 0;
  unsigned long long number = strtoull(value, &end, 10);
  if (errno != 0 || *end != '\0' || number < low || number > high) return false;
  *out = number;
  return true;
}

static int read_path(const char *name, char *path, size_t size) {
  const char *value = getenv(name);
  path[0] = '\0';
  if (value == NULL || value[0] == '\0') return 0;
  if (strlen(value) >= size)
    return bad_setting(name, "...", "the path is too long");
  strcpy(path, value);
  return 0;
}

/* Seconds (a decimal number >= 0; 0 switches the watch off) into ns. */
static int read_seconds(const char *name, uint64_t *ns) {
  const char *value = getenv(name);
  if (value == NULL || value[0] == '\0') return 0;
  char *end;
  double seconds = strtod(value, &end);
  if (*end != '\0' || !(seconds >= 0) || seconds > 1e9)
    return bad_setting(name, value,
                       "use seconds of virtual time, such as 10 or 0.5, or 0 "
                       "to stop watching");
  *ns = (uint64_t)(seconds * 1e9);
  return 0;
}

int async__check_read_env(void) {
  static const char *const on[] = {"1", "on", "yes", "true", NULL};
  static const char *const off[] = {"", "0", "off", "no", "false", NULL};
  async__check_config_t config = {.pct_depth = 3,
                                  .pct_steps = 1000,
                                  .starvation_ns = 10000000000u,
                                  .livelock_ns = 60000000000u,
                                  .livelock_steps = 100000,
                                  .hog_ns = 1000000000u};
  next_config = config;
  const char *value = getenv("ASYNC_CHECK");
  if (value == NULL || is_one_of(value, off)) return 0;
  if (!is_one_of(value, on))
    return bad_setting("ASYNC_CHECK", value, "use 1 to switch check mode on");
  config.enabled = true;

  value = getenv("ASYNC_SCHEDULE");
  if (value == NULL || value[0] == '\0' || strcmp(value, "fifo") == 0)
    config.schedule = ASYNC__SCHEDULE_FIFO;
  else if (strcmp(value, "fifo-yield") == 0)
    config.schedule = ASYNC__SCHEDULE_FIFO_YIELD;
  else if (strcmp(value, "random") == 0)
    config.schedule = ASYNC__SCHEDULE_RANDOM;
  else if (strcmp(value, "pct") == 0)
    config.schedule = ASYNC__SCHEDULE_PCT;
  else
    return bad_setting("ASYNC_SCHEDULE", value,
                       "use fifo, fifo-yield, random or pct");

  value = getenv("ASYNC_SEED");
  if (value != NULL && value[0] != '\0') {
    if (!parse_number(value, 0, UINT64_MAX, &config.seed))
      return bad_setting("ASYNC_SEED", value,
                         "use a decimal number, such as 1234");
    config.seed_given = true;
  }
  uint64_t number;
  value = getenv("ASYNC_PCT_DEPTH");
  if (value != NULL && value[0] != '\0') {
    if (!parse_number(value, 1, 1000, &number))
      return bad_setting("ASYNC_PCT_DEPTH", value,
                         "use a bug depth between 1 and 1000 (3 if unset)");
    config.pct_depth = (unsigned)number;
  }
  value = getenv("ASYNC_PCT_STEPS");
  if (value != NULL && value[0] != '\0') {
    if (!parse_number(value, 1, UINT64_MAX / 2, &number))
      return bad_setting("ASYNC_PCT_STEPS", value,
                         "use an estimate of the steps a run takes, >= 1 "
                         "(1000 if unset)");
    config.pct_steps = number;
  }
  int rc = read_path("ASYNC_FINDINGS", config.findings, sizeof config.findings);
  if (rc != 0) return rc;
  rc = read_path("ASYNC_TRACE", config.trace, sizeof config.trace);
  if (rc != 0) return rc;
  rc = read_seconds("ASYNC_STARVATION", &config.starvation_ns);
  if (rc == 0) rc = read_seconds("ASYNC_LIVELOCK", &config.livelock_ns);
  if (rc != 0) return rc;
  value = getenv("ASYNC_LIVELOCK_STEPS");
  if (value != NULL && value[0] != '\0' &&
      !parse_number(value, 0, UINT64_MAX, &config.livelock_steps))
    return bad_setting("ASYNC_LIVELOCK_STEPS", value,
                       "use a number of steps, or 0 for no limit "
                       "(100000 if unset)");
  value = getenv("ASYNC_HOG_MS");
  if (value != NULL && value[0] != '\0') {
    if (!parse_number(value, 0, UINT64_MAX / 1000000, &number))
      return bad_setting("ASYNC_HOG_MS", value,
                         "use milliseconds, or 0 to stop watching (1000 if "
                         "unset)");
    config.hog_ns = number * 1000000;
  }
  /* The bounds a finding depends on go into its replay line. */
  const char *const watches[] = {"ASYNC_STARVATION", "ASYNC_LIVELOCK",
                                 "ASYNC_LIVELOCK_STEPS", "ASYNC_HOG_MS"};
  for (size_t i = 0; i < sizeof watches / sizeof watches[0]; i++) {
    value = getenv(watches[i]);
    size_t used = strlen(config.watches);
    if (value != NULL && value[0] != '\0')
      snprintf(config.watches + used, sizeof config.watches - used, " %s=%s",
               watches[i], value);
  }
  next_config = config;
  return 0;
}

const async__check_config_t *async__check_config(void) {
  return &async__rt->check->config;
}

bool async_check_enabled(void) {
  return async__rt != NULL && async__rt->check != NULL;
}

/* ---- The generator: xoshiro256**, seeded through splitmix64 ---- */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t next_random(struct async__check *check) {
  uint64_t *s = check->rng;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, bound), bound > 0 (Lemire's multiply, with rejection). */
static uint64_t random_below(struct async__check *check, uint64_t bound) {
  for (;;) {
    __uint128_t product = (__uint128_t)next_random(check) * bound;
    uint64_t low = (uint64_t)product;
    if (low >= bound || low >= (0 - bound) % bound)
      return (uint64_t)(product >> 64);
  }
}

/* ---- SIGQUIT: a task dump on demand ----
 *
 * A plain handler notes the signal and wakes the loop through an
 * unreferenced uv_async_t (async-signal-safe); the note is also read at
 * every pick. A uv_signal_t would be seen only when libuv polls, which it
 * never does while the virtual clock jumps, and a referenced handle would
 * keep the loop alive. One runtime at a time owns the handler.
 */
static volatile sig_atomic_t sigquit_pending;
static uv_async_t *volatile sigquit_wakeup;
static struct sigaction sigquit_previous;

static void on_sigquit(int signum) {
  (void)signum;
  int saved_errno = errno;
  sigquit_pending = 1;
  uv_async_t *wakeup = sigquit_wakeup;
  if (wakeup != NULL) uv_async_send(wakeup);
  errno = saved_errno;
}

static inline void dump_if_asked(void) {
  if (!sigquit_pending) return;
  sigquit_pending = 0;
  async_dump_tasks(stderr);
}

static void on_wakeup(uv_async_t *handle) {
  (void)handle;
  dump_if_asked();
}

static void wakeup_closed(uv_handle_t *handle) {
  free(handle);
}

static void sigquit_install(async__runtime_t *rt, struct async__check *check) {
  if (sigquit_wakeup != NULL) return; /* another runtime has it */
  uv_async_t *wakeup = malloc(sizeof *wakeup);
  if (wakeup == NULL) return;
  if (uv_async_init(&rt->loop, wakeup, on_wakeup) != 0) {
    free(wakeup);
    return;
  }
  uv_unref((uv_handle_t *)wakeup);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_sigquit;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigquit_pending = 0;
  sigquit_wakeup = wakeup;
  if (sigaction(SIGQUIT, &action, &sigquit_previous) != 0) {
    sigquit_wakeup = NULL;
    uv_close((uv_handle_t *)wakeup, wakeup_closed);
    return;
  }
  check->wakeup = wakeup;
}

static void sigquit_remove(struct async__check *check) {
  if (check->wakeup == NULL) return;
  sigaction(SIGQUIT, &sigquit_previous, NULL);
  sigquit_wakeup = NULL;
  uv_close((uv_handle_t *)check->wakeup, wakeup_closed);
  check->wakeup = NULL;
}

/* ---- Starting and ending ---- */

static void check_run_end(async__run_end_hook_t *hook, async__runtime_t *rt) {
  struct async__check *check =
      async__container_of(hook, struct async__check, hook);
  sigquit_remove(check);
  async__lockorder_free(rt);
  async__shared_free();
  async__trace_stop();
  async__progress_free();
  free(check->change_points);
  free(check->replay);
  free(check);
  rt->check = NULL;
}

static int compare_steps(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void async__check_start(async__runtime_t *rt) {
  if (!next_config.enabled) return;
  struct async__check *check = calloc(1, sizeof *check);
  if (check == NULL) abort(); /* a few hundred bytes: out of memory */
  check->config = next_config;
  if (!check->config.seed_given)
    check->config.seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
  uint64_t state = check->config.seed;
  for (int i = 0; i < 4; i++) check->rng[i] = splitmix64(&state);

  if (check->config.schedule == ASYNC__SCHEDULE_PCT &&
      check->config.pct_depth > 1) {
    check->change_count = check->config.pct_depth - 1;
    check->change_points = malloc(check->change_count * sizeof(uint64_t));
    if (check->change_points == NULL) abort();
    for (unsigned i = 0; i < check->change_count; i++)
      check->change_points[i] =
          1 + random_below(check, check->config.pct_steps);
    qsort(check->change_points, check->change_count, sizeof(uint64_t),
          compare_steps);
  }

  /* SIGQUIT (Ctrl-\, or the grader's timeout) prints the task dump and
   * the program goes on. */
  sigquit_install(rt, check);
  if (check->config.trace[0] != '\0') async__trace_start(check->config.trace);

  rt->check = check;
  async__on_run_end(rt, &check->hook);
  check->hook.run_end = check_run_end;
}

/* ---- Per-task data ---- */

struct async__check_task *async__check_task(async_task_t *task) {
  if (task->check == NULL) {
    task->check = calloc(1, sizeof *task->check);
    if (task->check == NULL) abort();
    async__check_task_born(task);
  }
  return task->check;
}

void async__check_task_free(async_task_t *task) {
  async__runtime_t *rt = async__rt;
  if (rt != NULL && rt->check != NULL && rt->check->last_picked == task)
    rt->check->last_picked = NULL;
  async__trace_task_gone(task);
  async__progress_task_free(task);
  async__check_task_died(task);
  free(task->check->held);
  async__shared_task_free(task->check);
  free(task->check);
  task->check = NULL;
}

/* ---- Schedules ---- */

#define CALLBACK_TAG ((uintptr_t)1) /* as in scheduler.c */

static inline async_task_t **ready_slot(async__runtime_t *rt, size_t i) {
  size_t index = rt->ready_head + i;
  if (index >= rt->ready_capacity) index -= rt->ready_capacity;
  return &rt->ready[index];
}

/* A PCT priority: initial ones are drawn at or above the depth, so that
 * every change point (d - 1, d - 2, ... 1) ranks below all of them. */
static uint64_t priority_of(struct async__check *check, async_task_t *task) {
  struct async__check_task *data = async__check_task(task);
  if (data->priority == 0)
    data->priority =
        check->config.pct_depth + 1 +
        random_below(check, UINT64_MAX - check->config.pct_depth - 1);
  return data->priority;
}

static size_t pct_pick(async__runtime_t *rt, struct async__check *check) {
  check->steps++;
  while (check->next_change < check->change_count &&
         check->change_points[check->next_change] <= check->steps) {
    /* Change point i lowers the task that ran last to priority d - i. */
    check->next_change++;
    if (check->last_picked != NULL)
      async__check_task(check->last_picked)->priority =
          check->config.pct_depth - check->next_change;
  }
  size_t best = 0;
  uint64_t best_priority = 0;
  for (size_t i = 0; i < rt->ready_count; i++) {
    async_task_t *entry = *ready_slot(rt, i);
    /* A call_soon callback runs as soon as it is the head's turn. */
    if ((uintptr_t)entry & CALLBACK_TAG) return i;
    uint64_t priority = priority_of(check, entry);
    if (priority > best_priority) {
      best_priority = priority;
      best = i;
    }
  }
  return best;
}

void async__check_pick(async__runtime_t *rt) {
  struct async__check *check = rt->check;
  dump_if_asked();
  async__shared_after_step(check->last_picked);
  size_t chosen = 0;
  switch (check->config.schedule) {
  case ASYNC__SCHEDULE_FIFO:
  case ASYNC__SCHEDULE_FIFO_YIELD:
    break;
  case ASYNC__SCHEDULE_RANDOM:
    if (rt->ready_count > 1) chosen = random_below(check, rt->ready_count);
    break;
  case ASYNC__SCHEDULE_PCT:
    chosen = pct_pick(rt, check);
    break;
  }
  async_task_t **head = ready_slot(rt, 0);
  if (chosen != 0) {
    async_task_t **slot = ready_slot(rt, chosen);
    async_task_t *entry = *slot;
    *slot = *head;
    *head = entry;
  }
  if (!((uintptr_t)*head & CALLBACK_TAG)) check->last_picked = *head;
  async__trace_pick((uintptr_t)*head & CALLBACK_TAG ? NULL : *head);
  async__progress_pick(rt, (uintptr_t)*head & CALLBACK_TAG ? NULL : *head);
}

int async__check_choice_point(void) {
  async__runtime_t *rt = async__rt;
  async_task_t *self = rt->current;
  if (self->check != NULL) async__shared_await(self, async__site);
  async__progress_await(self, async__site);
  if (self->interrupt != 0) return self->interrupt;
  /* FIFO keeps today's order: a call that need not wait does not yield. */
  if (rt->check->config.schedule == ASYNC__SCHEDULE_FIFO) return 0;
  return async__yield_now();
}

void async__check_yield(void) {
  async_task_t *self = async__rt->current;
  if (self->check != NULL) async__shared_await(self, async__site);
  async__progress_await(self, async__site);
  if (async__rt->check->config.schedule != ASYNC__SCHEDULE_FIFO)
    async__yield_now();
}

/* ---- The virtual clock ---- */

static void on_clock_timer(uv_timer_t *timer) {
  (void)timer;
  async__rt->check->timer_fired = true;
}

/* Something outside the program may wake a task: a task parked on real
 * I/O, or any libuv handle or request still active (a listening server, a
 * signal handler, a child process, thread-pool work). The runtime's own
 * timer is stopped first so that it does not count. */
static bool real_work_in_flight(async__runtime_t *rt) {
  if (rt->io_waits != 0) return true;
  uv_timer_stop(&rt->timer);
  return uv_loop_alive(&rt->loop) != 0;
}

bool async__check_wait_for_events(async__runtime_t *rt) {
  struct async__check *check = rt->check;
  async__trace_idle();
  uint64_t next = async__timers_next(rt);
  if (!real_work_in_flight(rt)) {
    if (next == ASYNC__NO_DEADLINE) return false;
    /* Nothing else can happen before the next timer: jump to it. */
    if (next > rt->now) rt->now = next;
    async__timers_fire_due(rt);
    async__progress_time_passed(rt);
    return true;
  }
  /* Real work in flight: wait for it in real time, the clock advancing by
   * the time waited, but never past the next timer. */
  check->timer_fired = false;
  if (next != ASYNC__NO_DEADLINE) {
    uint64_t wait_ns = next > rt->now ? next - rt->now : 0;
    /* libuv arms timers on its cached clock, which is as old as the last
     * poll: refresh it, or the wait ends early by that much. */
    uv_update_time(&rt->loop);
    uv_timer_start(&rt->timer, on_clock_timer, (wait_ns + 999999) / 1000000, 0);
  }
  uint64_t start = uv_hrtime();
  uv_run(&rt->loop, UV_RUN_ONCE);
  uint64_t now = rt->now + (uv_hrtime() - start);
  if (next != ASYNC__NO_DEADLINE && (check->timer_fired || now > next))
    now = next;
  if (now > rt->now) rt->now = now;
  rt->steps_since_poll = 0;
  async__timers_fire_due(rt);
  async__progress_time_passed(rt);
  return true;
}

/* ---- Text ---- */

void async__text_add(async__text_t *text, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int length = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (length < 0) return;
  size_t needed = text->length + (size_t)length + 1;
  if (needed > text->capacity) {
    size_t capacity = text->capacity ? text->capacity : 256;
    while (capacity < needed) capacity *= 2;
    char *grown = realloc(text->data, capacity);
    if (grown == NULL) abort();
    text->data = grown;
    text->capacity = capacity;
  }
  va_start(args, format);
  vsnprintf(text->data + text->length, (size_t)length + 1, format, args);
  va_end(args);
  text->length += (size_t)length;
}

void async__text_free(async__text_t *text) {
  free(text->data);
  *text = (async__text_t){0};
}

const char *async__text_str(const async__text_t *text) {
  return text->data != NULL ? text->data : "";
}

static void add_json_string(async__text_t *text, const char *string) {
  async__text_add(text, "\"");
  for (const unsigned char *c = (const unsigned char *)string; *c; c++) {
    if (*c == '"' || *c == '\\')
      async__text_add(text, "\\%c", *c);
    else if (*c == '\n')
      async__text_add(text, "\\n");
    else if (*c == '\t')
      async__text_add(text, "\\t");
    else if (*c < 0x20)
      async__text_add(text, "\\u%04x", *c);
    else
      async__text_add(text, "%c", *c);
  }
  async__text_add(text, "\"");
}

const char *async__site_text(async_site_t site, char *buffer, size_t size) {
  if (site.file == NULL) return "an unknown place";
  const char *file = strrchr(site.file, '/');
  snprintf(buffer, size, "%s:%d", file ? file + 1 : site.file, site.line);
  return buffer;
}

/* ---- Replay ---- */

static const char *schedule_name(async__schedule_t schedule) {
  switch (schedule) {
  case ASYNC__SCHEDULE_FIFO:
    return "fifo";
  case ASYNC__SCHEDULE_FIFO_YIELD:
    return "fifo-yield";
  case ASYNC__SCHEDULE_RANDOM:
    return "random";
  case ASYNC__SCHEDULE_PCT:
    return "pct";
  }
  return "?";
}

static bool seeded(const struct async__check *check) {
  return check->config.schedule == ASYNC__SCHEDULE_RANDOM ||
         check->config.schedule == ASYNC__SCHEDULE_PCT;
}

/* Quotes a word for a POSIX shell when it needs it. */
static void add_shell_word(async__text_t *text, const char *word) {
  bool plain = word[0] != '\0';
  for (const char *c = word; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789-_./=:,+@%",
                *c))
      plain = false;
  if (plain) {
    async__text_add(text, "%s", word);
    return;
  }
  async__text_add(text, "'");
  for (const char *c = word; *c; c++) {
    if (*c == '\'')
      async__text_add(text, "'\\''");
    else
      async__text_add(text, "%c", *c);
  }
  async__text_add(text, "'");
}

/* The command line this process was started with. */
static void add_command(async__text_t *text) {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  char buffer[8192];
  ssize_t length = fd >= 0 ? read(fd, buffer, sizeof buffer - 1) : -1;
  if (fd >= 0) close(fd);
  if (length <= 0) {
    extern char *program_invocation_name;
    add_shell_word(text, program_invocation_name);
    return;
  }
  buffer[length] = '\0';
  for (ssize_t at = 0; at < length; at += (ssize_t)strlen(buffer + at) + 1) {
    if (at != 0) async__text_add(text, " ");
    add_shell_word(text, buffer + at);
  }
}

static const char *replay_line(struct async__check *check) {
  if (check->replay != NULL) return check->replay;
  async__text_t text = {0};
  async__text_add(&text, "ASYNC_CHECK=1 ASYNC_SCHEDULE=%s",
                  schedule_name(check->config.schedule));
  if (seeded(check))
    async__text_add(&text, " ASYNC_SEED=%" PRIu64, check->config.seed);
  if (check->config.schedule == ASYNC__SCHEDULE_PCT)
    async__text_add(&text, " ASYNC_PCT_DEPTH=%u ASYNC_PCT_STEPS=%" PRIu64,
                    check->config.pct_depth, check->config.pct_steps);
  async__text_add(&text, "%s", check->config.watches);
  async__text_add(&text, " ");
  add_command(&text);
  check->replay = text.data;
  return check->replay;
}

/* ---- Findings ---- */

void async__finding_init(async__finding_t *finding, const char *kind) {
  *finding = (async__finding_t){.kind = kind};
}

static void add_item(async__text_t *list, size_t *count, const char *item) {
  if (*count != 0) async__text_add(list, ",");
  add_json_string(list, item);
  (*count)++;
}

void async__finding_task(async__finding_t *finding, const char *name) {
  if (finding->task_count < ASYNC__FINDING_MAX_NAMES) {
    size_t kept = finding->task_count;
    add_item(&finding->tasks, &kept, name);
  }
  finding->task_count++;
}

void async__finding_lock(async__finding_t *finding, const char *name) {
  if (finding->lock_count < ASYNC__FINDING_MAX_NAMES) {
    size_t kept = finding->lock_count;
    add_item(&finding->locks, &kept, name);
  }
  finding->lock_count++;
}

void async__finding_site(async__finding_t *finding, async_site_t site) {
  if (site.file == NULL) return;
  char buffer[512];
  async__site_text(site, buffer, sizeof buffer);
  async__text_t quoted = {0};
  add_json_string(&quoted, buffer);
  const char *sites = async__text_str(&finding->sites);
  const char *found = strstr(sites, quoted.data);
  /* A whole item: at the start or after a comma, ending at one or at the
   * end. */
  bool present = false;
  while (found != NULL && !present) {
    char after = found[quoted.length];
    present =
        (found == sites || found[-1] == ',') && (after == ',' || after == '\0');
    found = strstr(found + 1, quoted.data);
  }
  async__text_free(&quoted);
  if (!present) add_item(&finding->sites, &finding->site_count, buffer);
}

static void append_findings_file(const char *path, const async__text_t *line) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "async: cannot write the findings file %s: %s\n", path,
            strerror(errno));
    return;
  }
  /* One write of the whole line: lines from several processes appending
   * to the same file do not interleave. */
  ssize_t written = write(fd, line->data, line->length);
  if (written != (ssize_t)line->length)
    fprintf(stderr, "async: could not write the whole finding to %s\n", path);
  close(fd);
}

void async__finding_emit(async__finding_t *finding) {
  async__runtime_t *rt = async__rt;
  struct async__check *check = rt->check;
  const char *replay = replay_line(check);
  check->findings++;

  fflush(stdout);
  fprintf(stderr, "async: %s\n  replay: %s\n", async__text_str(&finding->text),
          replay);
  fflush(stderr);

  if (check->config.findings[0] != '\0') {
    async__text_t line = {0};
    async__text_add(&line, "{\"kind\":");
    add_json_string(&line, finding->kind);
    async__text_add(&line, ",\"message\":");
    add_json_string(&line, async__text_str(&finding->text));
    async__text_add(&line, ",\"tasks\":[%s],\"task_count\":%zu",
                    async__text_str(&finding->tasks), finding->task_count);
    async__text_add(&line, ",\"locks\":[%s],\"lock_count\":%zu",
                    async__text_str(&finding->locks), finding->lock_count);
    async__text_add(&line, ",\"sites\":[%s]", async__text_str(&finding->sites));
    async__text_add(&line, ",\"time\":%.9f", (double)rt->now / 1e9);
    async__text_add(&line, ",\"replay\":");
    add_json_string(&line, replay);
    async__text_add(&line, ",\"schedule\":");
    add_json_string(&line, schedule_name(check->config.schedule));
    if (seeded(check))
      async__text_add(&line, ",\"seed\":%" PRIu64 "}\n", check->config.seed);
    else
      async__text_add(&line, ",\"seed\":null}\n");
    append_findings_file(check->config.findings, &line);
    async__text_free(&line);
  }
  async__text_free(&finding->text);
  async__text_free(&finding->tasks);
  async__text_free(&finding->locks);
  async__text_free(&finding->sites);
}

/* ---- Quiescence ---- */

void async__check_report_stuck(async__runtime_t *rt) {
  async__finding_t finding;
  async__finding_init(&finding, "deadlock");
  size_t waiting = 0;
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state == ASYNC__TASK_PARKED) waiting++;
  }
  async__text_add(&finding.text,
                  "deadlock: %zu task%s wait%s, and nothing can wake them: no "
                  "task is ready, no timer is set, nothing is in flight.\n",
                  waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
  async__dump_tasks(rt, &finding.text, "  ", &finding);
  async__text_add(&finding.text,
                  "  fix: each of them waits for something only another task "
                  "could do (release a lock, set an event, put an item, "
                  "finish): find which task was meant to do it, and why it "
                  "did not. The waits return ASYNC_EDEADLK now.");
  async__finding_emit(&finding);
}
