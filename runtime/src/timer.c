/* timer.c: the runtime's own timers, and sleep / call_later / loop time.
 *
 * Every timed wait (sleep, timeouts, call_later) is an entry in one binary
 * min-heap ordered by (deadline, arming order); a single uv_timer_t is armed
 * for the earliest entry when the scheduler is about to block. Owning the
 * heap, rather than giving each sleeper a uv_timer_t, means no handle to
 * close per sleep, ties fire in arming order, and the scheduler decides what
 * "now" is: libuv's timers fire on a millisecond-rounded cached clock (up to
 * ~0.8 ms early here), while an entry fires only once the monotonic clock
 * has truly passed its deadline, so a sleep never returns early.
 */
#include "internal.h"

#include <math.h>

/* ---- The heap ---- */

static bool earlier(const struct async__timer_entry *a,
                    const struct async__timer_entry *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->sequence < b->sequence;
}

static void place(async__runtime_t *rt, size_t index,
                  struct async__timer_entry *entry) {
  rt->timers[index] = entry;
  entry->heap_index = index;
}

static void sift_up(async__runtime_t *rt, size_t index) {
  struct async__timer_entry *entry = rt->timers[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!earlier(entry, rt->timers[parent])) break;
    place(rt, index, rt->timers[parent]);
    index = parent;
  }
  place(rt, index, entry);
}

static void sift_down(async__runtime_t *rt, size_t index) {
  struct async__timer_entry *entry = rt->timers[index];
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= rt->timer_count) break;
    if (child + 1 < rt->timer_count &&
        earlier(rt->timers[child + 1], rt->timers[child]))
      child++;
    if (!earlier(rt->timers[child], entry)) break;
    place(rt, index, rt->timers[child]);
    index = child;
  }
  place(rt, index, entry);
}

void async__timer_init(struct async__timer_entry *entry,
                       void (*fire)(struct async__timer_entry *)) {
  entry->deadline = 0;
  entry->sequence = 0;
  entry->heap_index = SIZE_MAX;
  entry->fire = fire;
}

void async__timer_start(struct async__timer_entry *entry, uint64_t deadline) {
  async__runtime_t *rt = async__rt;
  if (async__timer_armed(entry)) async__timer_stop(entry);
  if (rt->timer_count == rt->timer_capacity) {
    size_t capacity = rt->timer_capacity ? rt->timer_capacity * 2 : 64;
    struct async__timer_entry **grown =
        realloc(rt->timers, capacity * sizeof *grown);
    if (grown == NULL) abort(); /* a few bytes per sleeper: out of memory */
    rt->timers = grown;
    rt->timer_capacity = capacity;
  }
  entry->deadline = deadline;
  entry->sequence = rt->timer_sequence++;
  place(rt, rt->timer_count++, entry);
  sift_up(rt, entry->heap_index);
}

void async__timer_stop(struct async__timer_entry *entry) {
  async__runtime_t *rt = async__rt;
  if (!async__timer_armed(entry)) return;
  size_t index = entry->heap_index;
  entry->heap_index = SIZE_MAX;
  struct async__timer_entry *last = rt->timers[--rt->timer_count];
  if (last == entry) return;
  place(rt, index, last);
  sift_up(rt, index);
  sift_down(rt, last->heap_index);
}

uint64_t async__timers_next(const async__runtime_t *rt) {
  return rt->timer_count ? rt->timers[0]->deadline : ASYNC__NO_DEADLINE;
}

size_t async__timers_fire_due(async__runtime_t *rt) {
  if (rt->timer_count == 0) return 0;
  uint64_t now = async__now();
  size_t fired = 0;
  while (rt->timer_count && rt->timers[0]->deadline <= now) {
    struct async__timer_entry *entry = rt->timers[0];
    async__timer_stop(entry);
    entry->fire(entry);
    fired++;
  }
  return fired;
}

void async__timers_destroy(async__runtime_t *rt) {
  for (size_t i = 0; i < rt->timer_count; i++)
    rt->timers[i]->heap_index = SIZE_MAX;
  free(rt->timers);
  rt->timers = NULL;
  rt->timer_count = rt->timer_capacity = 0;
}

/* ---- Clock ---- */

uint64_t async__now(void) {
  async__runtime_t *rt = async__rt;
  /* Check mode's clock is virtual: only the scheduler moves it (check.c). */
  if (rt != NULL && rt->check != NULL) return rt->now;
  uint64_t now = uv_hrtime();
  if (rt != NULL) rt->now = now;
  return now;
}

double async_time(void) {
  return (double)async__now() / 1e9;
}

int async__deadline(const char *call, double seconds, uint64_t *deadline) {
  if (isnan(seconds) || seconds < 0)
    return async__misuse(call, UV_EINVAL, "the time must be >= 0");
  if (isinf(seconds) || seconds > 1e9) {
    *deadline = ASYNC__NO_DEADLINE;
    return 0;
  }
  /* Round up: a deadline is never earlier than asked for. */
  *deadline = async__now() + (uint64_t)ceil(seconds * 1e9);
  return 0;
}

/* ---- sleep ---- */

typedef struct sleeper {
  struct async__timer_entry entry;
  async_task_t *task;
} sleeper_t;

static void sleeper_fire(struct async__timer_entry *entry) {
  sleeper_t *sleeper = async__container_of(entry, sleeper_t, entry);
  async__wake(sleeper->task);
}

int(async_sleep)(double seconds) {
  int rc = async__enter_blocking("async_sleep");
  if (rc != 0) return rc;
  uint64_t deadline;
  rc = async__deadline("async_sleep", seconds, &deadline);
  if (rc != 0) return rc;
  if (seconds == 0) return async__yield_now();
  sleeper_t sleeper = {.task = async__rt->current};
  async__timer_init(&sleeper.entry, sleeper_fire);
  if (deadline != ASYNC__NO_DEADLINE)
    async__timer_start(&sleeper.entry, deadline);
  rc = async__park("sleep", NULL, true);
  async__timer_stop(&sleeper.entry);
  return rc;
}

int(async_yield)(void) {
  int rc = async__enter_blocking("async_yield");
  if (rc != 0) return rc;
  return async__yield_now();
}

/* ---- call_soon / call_later ---- */

static void callback_fire(struct async__timer_entry *entry) {
  async_callback_t *cb = async__container_of(entry, async_callback_t, entry);
  cb->scheduled = false;
  cb->fn(cb->arg);
}

int async_call_later(async_callback_t *cb, double delay, async_callback_fn fn,
                     void *arg) {
  if (async__rt == NULL)
    return async__misuse("async_call_later", UV_EPERM,
                         "called outside async_run()");
  if (cb == NULL || fn == NULL)
    return async__misuse("async_call_later", UV_EINVAL, "NULL argument");
  uint64_t deadline;
  int rc = async__deadline("async_call_later", delay, &deadline);
  if (rc != 0) return rc;
  if (deadline == ASYNC__NO_DEADLINE)
    return async__misuse("async_call_later", UV_EINVAL, "infinite delay");
  async_callback_cancel(cb);
  async__timer_init(&cb->entry, callback_fire);
  cb->fn = fn;
  cb->arg = arg;
  cb->scheduled = true;
  async__timer_start(&cb->entry, deadline);
  return 0;
}

int async_call_soon(async_callback_t *cb, async_callback_fn fn, void *arg) {
  if (async__rt == NULL)
    return async__misuse("async_call_soon", UV_EPERM,
                         "called outside async_run()");
  if (cb == NULL || fn == NULL)
    return async__misuse("async_call_soon", UV_EINVAL, "NULL argument");
  async_callback_cancel(cb);
  async__timer_init(&cb->entry, callback_fire); /* not armed: in the queue */
  cb->fn = fn;
  cb->arg = arg;
  cb->scheduled = true;
  async__ready_callback(cb);
  return 0;
}

void async_callback_cancel(async_callback_t *cb) {
  if (cb == NULL || !cb->scheduled || async__rt == NULL) return;
  if (async__timer_armed(&cb->entry))
    async__timer_stop(&cb->entry);
  else
    async__ready_callback_remove(cb);
  cb->scheduled = false;
}
