/* test_time.c: sleep, yield, loop time, call_soon and call_later.
 *
 * Sleeps here are measured, never relied on to order tasks: orderings come
 * from the timer heap's own guarantees (an earlier deadline fires first) or
 * from yields.
 */
#include "harness.h"
#include "tools.h"

#include <math.h>
#include <stdlib.h>

#define MS (1000ull * 1000)

/* A log of single letters, to compare orders with one string. */
typedef struct order_log {
  char text[64];
  size_t length;
} order_log_t;

static void log_letter(order_log_t *log, char letter) {
  assert_true(log->length + 1 < sizeof log->text);
  log->text[log->length++] = letter;
  log->text[log->length] = '\0';
}

/* Joins and releases every task, expecting each to return 0. */
static void join_all(async_task_t **tasks, size_t count) {
  for (size_t i = 0; i < count; i++) {
    assert_int_equal(async_task_join(tasks[i]), 0);
    async_task_release(tasks[i]);
  }
}

/* ---- sleep ---- */

typedef struct early {
  unsigned milliseconds;
  int repeats;
} early_t;

static int sleep_and_measure(void *arg) {
  const early_t *early = arg;
  uint64_t requested = early->milliseconds * MS;
  for (int i = 0; i < early->repeats; i++) {
    uint64_t start = uv_hrtime();
    assert_int_equal(async_sleep(early->milliseconds / 1000.0), 0);
    uint64_t elapsed = uv_hrtime() - start;
    if (elapsed < requested)
      fail_msg("async_sleep(%u ms) returned after %.3f ms (sleep %d): a "
               "sleep must never be shorter than asked for",
               early->milliseconds, elapsed / 1e6, i);
  }
  return 0;
}

static int sleep_side_by_side(void *arg) {
  (void)arg;
  int repeats = under_valgrind() ? 3 : 25;
  static const unsigned durations[] = {1, 2, 5, 10};
  early_t early[4];
  async_task_t *tasks[4];
  for (size_t i = 0; i < 4; i++) {
    early[i] = (early_t){durations[i], repeats};
    tasks[i] = async_spawn("sleeper", sleep_and_measure, &early[i]);
    assert_non_null(tasks[i]);
  }
  /* Main sleeps too, on its own: no other timer is armed when it wakes. */
  early_t alone = {1, repeats};
  assert_int_equal(sleep_and_measure(&alone), 0);
  join_all(tasks, 4);
  alone.milliseconds = 2;
  assert_int_equal(sleep_and_measure(&alone), 0);
  return 0;
}

static void test_sleep_never_returns_early(void **state) {
  (void)state;
  assert_int_equal(harness_run(sleep_side_by_side, NULL), 0);
}

typedef struct timed_sleeper {
  double seconds;
  char letter;
  order_log_t *log;
  uint64_t deadline; /* a lower bound of the sleep's own deadline */
} timed_sleeper_t;

static int sleep_then_log(void *arg) {
  timed_sleeper_t *sleeper = arg;
  sleeper->deadline = uv_hrtime() + (uint64_t)(sleeper->seconds * 1e9);
  assert_int_equal(async_sleep(sleeper->seconds), 0);
  log_letter(sleeper->log, sleeper->letter);
  return 0;
}

static int sleep_30_10_20(void *arg) {
  (void)arg;
  order_log_t log = {0};
  timed_sleeper_t sleepers[3] = {
      {0.03, 'C', &log, 0}, {0.01, 'A', &log, 0}, {0.02, 'B', &log, 0}};
  async_task_t *tasks[3];
  for (size_t i = 0; i < 3; i++) {
    tasks[i] = async_spawn("sleeper", sleep_then_log, &sleepers[i]);
    assert_non_null(tasks[i]);
  }
  join_all(tasks, 3);
  /* The three sleeps start within microseconds of each other, so their
   * deadlines come 10, 20, 30 ms later: A, B, C. Should the machine stall
   * for 10 ms between two of them, the deadlines (and so the order) change:
   * the expectation follows the deadlines rather than fail for that. */
  char expected[4] = "";
  for (size_t n = 0; n < 3; n++) {
    size_t earliest = 3;
    for (size_t i = 0; i < 3; i++)
      if (strchr(expected, sleepers[i].letter) == NULL &&
          (earliest == 3 || sleepers[i].deadline < sleepers[earliest].deadline))
        earliest = i;
    expected[n] = sleepers[earliest].letter;
  }
  assert_string_equal(log.text, expected);
  return 0;
}

static void test_sleepers_wake_in_deadline_order(void **state) {
  (void)state;
  assert_int_equal(harness_run(sleep_30_10_20, NULL), 0);
}

enum { EQUAL_SLEEPERS = 8 };

typedef struct equal_sleeps {
  order_log_t started, woke;
} equal_sleeps_t;

typedef struct equal_sleeper {
  equal_sleeps_t *sleeps;
  int yields;
  char letter;
} equal_sleeper_t;

static int yield_then_sleep(void *arg) {
  equal_sleeper_t *sleeper = arg;
  for (int i = 0; i < sleeper->yields; i++) assert_int_equal(async_yield(), 0);
  log_letter(&sleeper->sleeps->started, sleeper->letter);
  assert_int_equal(async_sleep(0.005), 0);
  log_letter(&sleeper->sleeps->woke, sleeper->letter);
  return 0;
}

static int sleep_equally(void *arg) {
  (void)arg;
  equal_sleeps_t sleeps = {0};
  equal_sleeper_t sleepers[EQUAL_SLEEPERS];
  async_task_t *tasks[EQUAL_SLEEPERS];
  for (int i = 0; i < EQUAL_SLEEPERS; i++) {
    /* The later a task is spawned, the sooner it starts its sleep, so that
     * neither spawn order nor task ids give the expected order. */
    sleepers[i] =
        (equal_sleeper_t){&sleeps, EQUAL_SLEEPERS - i, (char)('a' + i)};
    tasks[i] = async_spawn("sleeper", yield_then_sleep, &sleepers[i]);
    assert_non_null(tasks[i]);
  }
  join_all(tasks, EQUAL_SLEEPERS);
  assert_string_equal(sleeps.started.text, "hgfedcba");
  assert_string_equal(sleeps.woke.text, sleeps.started.text);
  return 0;
}

static void test_equal_sleeps_wake_in_the_order_they_started(void **state) {
  (void)state;
  assert_int_equal(harness_run(sleep_equally, NULL), 0);
}

static int set_flag(void *arg) {
  *(bool *)arg = true;
  return 0;
}

static int sleep_zero(void *arg) {
  (void)arg;
  bool ran = false;
  async_task_t *task = async_spawn("other", set_flag, &ran);
  assert_non_null(task);
  assert_false(ran);
  assert_int_equal(async_sleep(0), 0);
  assert_true(ran);
  join_all(&task, 1);
  return 0;
}

static void test_sleep_zero_lets_another_ready_task_run_first(void **state) {
  (void)state;
  assert_int_equal(harness_run(sleep_zero, NULL), 0);
}

typedef struct yielder {
  order_log_t *log;
  char letter;
} yielder_t;

static int log_and_yield(void *arg) {
  yielder_t *yielder = arg;
  for (int i = 0; i < 3; i++) {
    log_letter(yielder->log, yielder->letter);
    assert_int_equal(async_yield(), 0);
  }
  return 0;
}

static int yield_round_robin(void *arg) {
  (void)arg;
  order_log_t log = {0};
  yielder_t yielders[3] = {{&log, 'A'}, {&log, 'B'}, {&log, 'C'}};
  async_task_t *tasks[3];
  for (size_t i = 0; i < 3; i++) {
    tasks[i] = async_spawn("yielder", log_and_yield, &yielders[i]);
    assert_non_null(tasks[i]);
  }
  /* Main takes its turns too, as M. */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(async_yield(), 0);
    log_letter(&log, 'M');
  }
  join_all(tasks, 3);
  assert_string_equal(log.text, "ABCMABCMABCM");
  return 0;
}

static void test_yield_order_is_fifo(void **state) {
  (void)state;
  assert_int_equal(harness_run(yield_round_robin, NULL), 0);
}

static int sleep_invalid(void *arg) {
  (void)arg;
  bool ran = false;
  async_task_t *task = async_spawn("other", set_flag, &ran);
  assert_non_null(task);
  assert_int_equal(async_sleep(-1), UV_EINVAL);
  assert_int_equal(async_sleep(-1e-9), UV_EINVAL);
  assert_int_equal(async_sleep(NAN), UV_EINVAL);
  assert_int_equal(async_sleep(-INFINITY), UV_EINVAL);
  /* Refused at once, without blocking: the other task did not get in. */
  assert_false(ran);
  join_all(&task, 1);
  return 0;
}

static void test_sleep_rejects_negative_and_nan_durations(void **state) {
  (void)state;
  assert_int_equal(harness_run(sleep_invalid, NULL), 0);
}

/* ---- loop time ---- */

static int watch_the_clock(void *arg) {
  (void)arg;
  double previous = async_time();
  for (int i = 0; i < 10000; i++) {
    double now = async_time();
    if (now < previous)
      fail_msg("async_time() went back from %.9f to %.9f", previous, now);
    previous = now;
  }
  double before = async_time();
  uint64_t real_before = uv_hrtime();
  assert_int_equal(async_sleep(0.02), 0);
  double after = async_time();
  double real = (uv_hrtime() - real_before) / 1e9;
  if (after - before < 0.02 || after - before > real + 0.001)
    fail_msg("async_time() advanced by %.6f s over a 0.02 s sleep that took "
             "%.6f s: it must be in seconds and follow the real clock",
             after - before, real);
  return 0;
}

static void test_time_is_monotonic_and_advances_by_the_sleep(void **state) {
  (void)state;
  assert_int_equal(harness_run(watch_the_clock, NULL), 0);
}

/* ---- call_soon, call_later ---- */

typedef struct call {
  int calls;
  uint64_t at;
  bool in_task;
  order_log_t *log;
} call_t;

static void record_call(void *arg) {
  call_t *call = arg;
  call->calls++;
  call->at = uv_hrtime();
  call->in_task = async_current_task() != NULL;
  if (call->log != NULL) log_letter(call->log, 'C');
}

static int log_a(void *arg) {
  log_letter(arg, 'A');
  return 0;
}

static int call_soon_then_block(void *arg) {
  (void)arg;
  order_log_t log = {0};
  call_t call = {.log = &log};
  async_callback_t callback = {0};
  async_task_t *task = async_spawn("ready", log_a, &log);
  assert_non_null(task);
  assert_int_equal(async_call_soon(&callback, record_call, &call), 0);
  /* Not run in the call itself, nor while this task goes on. */
  assert_int_equal(call.calls, 0);
  for (volatile int i = 0; i < 100000; i++) {
  }
  assert_int_equal(call.calls, 0);
  /* Blocking lets the ready task run, then the callback. */
  assert_int_equal(async_sleep(0.001), 0);
  log_letter(&log, 'M');
  assert_int_equal(call.calls, 1);
  assert_false(call.in_task);
  assert_string_equal(log.text, "ACM");
  join_all(&task, 1);
  return 0;
}

static void
test_call_soon_runs_the_callback_once_the_task_blocks(void **state) {
  (void)state;
  assert_int_equal(harness_run(call_soon_then_block, NULL), 0);
}

typedef struct lettered_call {
  order_log_t *log;
  char letter;
} lettered_call_t;

static void log_call(void *arg) {
  lettered_call_t *call = arg;
  log_letter(call->log, call->letter);
}

static int log_task(void *arg) {
  lettered_call_t *call = arg;
  log_letter(call->log, call->letter);
  return 0;
}

static int interleave_soon_and_tasks(void *arg) {
  (void)arg;
  order_log_t log = {0};
  lettered_call_t a = {&log, 'A'}, b = {&log, 'B'}, one = {&log, '1'},
                  two = {&log, '2'};
  async_callback_t first = {0}, second = {0};
  async_task_t *tasks[2];
  tasks[0] = async_spawn("a", log_task, &a);
  assert_int_equal(async_call_soon(&first, log_call, &one), 0);
  tasks[1] = async_spawn("b", log_task, &b);
  assert_int_equal(async_call_soon(&second, log_call, &two), 0);
  assert_non_null(tasks[0]);
  assert_non_null(tasks[1]);
  /* As in asyncio, where create_task and call_soon append to one queue:
   * everything scheduled runs, in order, before the yield returns. */
  assert_int_equal(async_yield(), 0);
  log_letter(&log, 'M');
  assert_string_equal(log.text, "A1B2M");
  join_all(tasks, 2);
  return 0;
}

static void
test_call_soon_runs_in_order_with_ready_tasks_before_a_yield(void **state) {
  (void)state;
  assert_int_equal(harness_run(interleave_soon_and_tasks, NULL), 0);
}

static int call_later_then_watch(void *arg) {
  (void)arg;
  call_t call = {0};
  async_callback_t callback = {0};
  uint64_t start = uv_hrtime();
  assert_int_equal(async_call_later(&callback, 0.03, record_call, &call), 0);
  /* Main's deadline comes some 25 ms before the callback's: the heap wakes
   * main first, and the callback must not have run yet. */
  assert_int_equal(async_sleep(0.005), 0);
  if (uv_hrtime() - start < 30 * MS) assert_int_equal(call.calls, 0);
  /* Main's next deadline comes after the callback's: by then the callback
   * has run, once. */
  assert_int_equal(async_sleep(0.05), 0);
  assert_int_equal(call.calls, 1);
  if (call.at - start < 30 * MS)
    fail_msg("a call_later of 30 ms ran after %.3f ms",
             (call.at - start) / 1e6);
  assert_false(call.in_task);
  return 0;
}

static void test_call_later_runs_after_the_delay_and_not_before(void **state) {
  (void)state;
  assert_int_equal(harness_run(call_later_then_watch, NULL), 0);
}

static int cancel_callbacks(void *arg) {
  (void)arg;
  call_t soon = {0}, later = {0}, kept = {0};
  async_callback_t soon_callback = {0}, later_callback = {0},
                   kept_callback = {0};
  assert_int_equal(async_call_soon(&soon_callback, record_call, &soon), 0);
  assert_int_equal(
      async_call_later(&later_callback, 0.002, record_call, &later), 0);
  assert_int_equal(async_call_later(&kept_callback, 0.002, record_call, &kept),
                   0);
  async_callback_cancel(&soon_callback);
  async_callback_cancel(&later_callback);
  async_callback_cancel(&later_callback); /* twice is harmless */
  assert_int_equal(async_sleep(0.01), 0);
  assert_int_equal(soon.calls, 0);
  assert_int_equal(later.calls, 0);
  assert_int_equal(kept.calls, 1); /* cancelling the others left it alone */
  async_callback_cancel(&kept_callback); /* after it ran: harmless */

  /* A cancelled callback can be scheduled again. */
  assert_int_equal(async_call_soon(&soon_callback, record_call, &soon), 0);
  assert_int_equal(async_sleep(0.001), 0);
  assert_int_equal(soon.calls, 1);
  return 0;
}

static void test_callback_cancel_prevents_the_call(void **state) {
  (void)state;
  assert_int_equal(harness_run(cancel_callbacks, NULL), 0);
}

static int call_later_invalid(void *arg) {
  (void)arg;
  call_t call = {0};
  async_callback_t callback = {0};
  assert_int_equal(async_call_later(&callback, -0.001, record_call, &call),
                   UV_EINVAL);
  assert_int_equal(async_call_later(&callback, -1, record_call, &call),
                   UV_EINVAL);
  assert_int_equal(async_call_later(&callback, NAN, record_call, &call),
                   UV_EINVAL);
  assert_int_equal(async_sleep(0.005), 0);
  assert_int_equal(call.calls, 0); /* nothing was scheduled */
  return 0;
}

static void test_call_later_rejects_a_negative_delay(void **state) {
  (void)state;
  assert_int_equal(harness_run(call_later_invalid, NULL), 0);
}

static void test_call_soon_outside_async_run_is_eperm(void **state) {
  (void)state;
  call_t call = {0};
  async_callback_t callback = {0};
  assert_int_equal(async_call_soon(&callback, record_call, &call), UV_EPERM);
  assert_int_equal(async_call_later(&callback, 0.001, record_call, &call),
                   UV_EPERM);
  assert_int_equal(call.calls, 0);
}

/* ---- A busy task does not starve the loop ---- */

typedef struct starving {
  uv_timer_t timer;
  uv_async_t wakeup;
  bool timer_fired;
  bool wakeup_fired;
  bool sleeper_woke;
  unsigned long yields;
} starving_t;

static void on_timer(uv_timer_t *timer) {
  starving_t *starving = timer->data;
  starving->timer_fired = true;
}

static void on_wakeup(uv_async_t *wakeup) {
  starving_t *starving = wakeup->data;
  starving->wakeup_fired = true;
}

static int sleep_a_little(void *arg) {
  starving_t *starving = arg;
  assert_int_equal(async_sleep(0.002), 0);
  starving->sleeper_woke = true;
  return 0;
}

/* Yields, and nothing else, until everything else has happened (or for at
 * most 10 seconds: a starved loop fails the test rather than hang it). */
static int spin(void *arg) {
  starving_t *starving = arg;
  uint64_t start = uv_hrtime();
  while (!(starving->timer_fired && starving->wakeup_fired &&
           starving->sleeper_woke) &&
         uv_hrtime() - start < 10000 * MS) {
    assert_int_equal(async_yield(), 0);
    starving->yields++;
  }
  return 0;
}

static int spin_while_io_waits(void *arg) {
  starving_t *starving = arg;
  uv_loop_t *loop = async_loop();
  assert_non_null(loop);
  assert_int_equal(uv_timer_init(loop, &starving->timer), 0);
  starving->timer.data = starving;
  assert_int_equal(uv_async_init(loop, &starving->wakeup, on_wakeup), 0);
  starving->wakeup.data = starving;

  async_task_t *tasks[2];
  tasks[0] = async_spawn("sleeper", sleep_a_little, starving);
  tasks[1] = async_spawn("spinner", spin, starving);
  assert_non_null(tasks[0]);
  assert_non_null(tasks[1]);
  /* Let both start: the sleeper is then asleep, the spinner spinning. */
  assert_int_equal(async_yield(), 0);
  assert_int_equal(uv_timer_start(&starving->timer, on_timer, 1, 0), 0);
  assert_int_equal(uv_async_send(&starving->wakeup), 0);
  join_all(tasks, 2);

  uv_close((uv_handle_t *)&starving->timer, NULL);
  uv_close((uv_handle_t *)&starving->wakeup, NULL);
  return 0;
}

static void
test_a_task_yielding_in_a_loop_does_not_starve_io_or_timers(void **state) {
  (void)state;
  starving_t starving = {0};
  assert_int_equal(harness_run(spin_while_io_waits, &starving), 0);
  if (!starving.timer_fired || !starving.wakeup_fired || !starving.sleeper_woke)
    fail_msg("after %lu yields in 10 s: uv timer %s, uv_async %s, sleeping "
             "task %s",
             starving.yields, starving.timer_fired ? "fired" : "never fired",
             starving.wakeup_fired ? "fired" : "never fired",
             starving.sleeper_woke ? "woke" : "never woke");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_sleep_never_returns_early),
    cmocka_unit_test(test_sleepers_wake_in_deadline_order),
    cmocka_unit_test(test_equal_sleeps_wake_in_the_order_they_started),
    cmocka_unit_test(test_sleep_zero_lets_another_ready_task_run_first),
    cmocka_unit_test(test_yield_order_is_fifo),
    cmocka_unit_test(test_sleep_rejects_negative_and_nan_durations),
    cmocka_unit_test(test_time_is_monotonic_and_advances_by_the_sleep),
    cmocka_unit_test(test_call_soon_runs_the_callback_once_the_task_blocks),
    cmocka_unit_test(
        test_call_soon_runs_in_order_with_ready_tasks_before_a_yield),
    cmocka_unit_test(test_call_later_runs_after_the_delay_and_not_before),
    cmocka_unit_test(test_callback_cancel_prevents_the_call),
    cmocka_unit_test(test_call_later_rejects_a_negative_delay),
    cmocka_unit_test(test_call_soon_outside_async_run_is_eperm),
    cmocka_unit_test(
        test_a_task_yielding_in_a_loop_does_not_starve_io_or_timers))
