/* signal.c: async_signal_wait(_any), loop.add_signal_handler as an await.
 *
 * One uv_signal_t per signal number per runtime, shared by every task that
 * waits for that signal, and started only while at least one call waits for
 * it: libuv installs its handler on the first start and puts the default
 * action (SIG_DFL) back on the last stop, so a signal nobody waits for does
 * what it would do without the runtime (SIGTERM terminates). The waiting
 * calls sit in one list; a delivery wakes every one of them that waits for
 * that signal, asyncio's one handler per signal with tasks as the handlers.
 * A woken call keeps the handle started until it returns, so that a second
 * delivery arriving before the woken task has run is merged into the first
 * rather than killing the process. The handles are closed when the run
 * ends.
 *
 * Rejected: a uv_signal_t per waiting call. libuv would deliver one signal
 * to each handle too, but a call that stops its own handle while another
 * starts one for the same signal leaves a moment with no handler installed,
 * and a server waiting on SIGINT and SIGTERM in a loop would initialise and
 * close two handles per wait.
 */
#include "internal.h"

#include <signal.h>

typedef struct signal_waiter {
  struct async__list link;
  async_task_t *task;
  const int *signums;
  size_t count;
  int delivered; /* the signal that woke it; 0 until then */
} signal_waiter_t;

typedef struct watched_signal {
  uv_signal_t handle;
  bool initialised;
  unsigned holders; /* calls between their start and their return */
} watched_signal_t;

/* A run's signal handles. Freed by the last handle's close callback. */
typedef struct signal_state {
  async__run_end_hook_t hook;
  struct async__list waiters; /* of signal_waiter_t */
  size_t open_handles;
  watched_signal_t signals[NSIG];
} signal_state_t;

static _Thread_local signal_state_t *state;

static void on_handle_closed(uv_handle_t *handle) {
  signal_state_t *closing = handle->data;
  if (--closing->open_handles == 0) free(closing);
}

/* Every task has finished: nothing holds a signal any more. */
static void signals_run_end(async__run_end_hook_t *hook, async__runtime_t *rt) {
  (void)rt;
  signal_state_t *ending = async__container_of(hook, signal_state_t, hook);
  state = NULL;
  if (ending->open_handles == 0) {
    free(ending);
    return;
  }
  for (int signum = 1; signum < NSIG; signum++)
    if (ending->signals[signum].initialised)
      uv_close((uv_handle_t *)&ending->signals[signum].handle,
               on_handle_closed);
}

static signal_state_t *signal_state(void) {
  if (state != NULL) return state;
  state = calloc(1, sizeof *state);
  if (state == NULL) return NULL;
  async__list_init(&state->waiters);
  state->hook.run_end = signals_run_end;
  async__on_run_end(async__rt, &state->hook);
  return state;
}

static bool waits_for(const signal_waiter_t *waiter, int signum) {
  for (size_t i = 0; i < waiter->count; i++)
    if (waiter->signums[i] == signum) return true;
  return false;
}

static void on_signal(uv_signal_t *handle, int signum) {
  signal_state_t *delivering = handle->data;
  struct async__list *link = delivering->waiters.next;
  while (link != &delivering->waiters) {
    signal_waiter_t *waiter = async__container_of(link, signal_waiter_t, link);
    link = link->next;
    if (!waits_for(waiter, signum)) continue;
    waiter->delivered = signum;
    async__list_remove(&waiter->link);
    async__wake(waiter->task);
  }
}

static int hold(signal_state_t *s, int signum) {
  watched_signal_t *watched = &s->signals[signum];
  if (!watched->initialised) {
    int rc = uv_signal_init(&async__rt->loop, &watched->handle);
    if (rc != 0) return rc;
    watched->handle.data = s;
    watched->initialised = true;
    s->open_handles++;
  }
  if (watched->holders == 0) {
    int rc = uv_signal_start(&watched->handle, on_signal, signum);
    if (rc != 0) return rc;
  }
  watched->holders++;
  return 0;
}

static void unhold(signal_state_t *s, int signum) {
  watched_signal_t *watched = &s->signals[signum];
  if (--watched->holders == 0) uv_signal_stop(&watched->handle);
}

static bool valid_signal(int signum) {
  return signum > 0 && signum < NSIG && signum != SIGKILL && signum != SIGSTOP;
}

static int wait_signals(const char *call, const int *signums, size_t count) {
  int rc = async__enter_blocking(call);
  if (rc != 0) return rc;
  if (signums == NULL || count == 0)
    return async__misuse(call, UV_EINVAL, "no signal to wait for");
  for (size_t i = 0; i < count; i++)
    if (!valid_signal(signums[i]))
      return async__misuse(call, UV_EINVAL,
                           "not a signal a task can wait for (SIGKILL and "
                           "SIGSTOP cannot be caught)");
  signal_state_t *s = signal_state();
  if (s == NULL) return UV_ENOMEM;
  size_t held = 0;
  while (held < count && (rc = hold(s, signums[held])) == 0) held++;
  if (rc != 0) {
    while (held > 0) unhold(s, signums[--held]);
    return rc;
  }
  signal_waiter_t waiter = {
      .task = async__rt->current, .signums = signums, .count = count};
  async__list_push(&s->waiters, &waiter.link);
  async__io_begin();
  while (waiter.delivered == 0 && rc == 0)
    rc = async__park("a signal", signums, true);
  async__io_end();
  if (waiter.delivered == 0) async__list_remove(&waiter.link);
  for (size_t i = 0; i < count; i++) unhold(s, signums[i]);
  return rc != 0 ? rc : waiter.delivered;
}

int(async_signal_wait)(int signum) {
  return wait_signals("async_signal_wait", &signum, 1);
}

int(async_signal_wait_any)(const int *signums, size_t count) {
  return wait_signals("async_signal_wait_any", signums, count);
}
