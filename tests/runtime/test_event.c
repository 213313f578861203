/* test_event.c: async_event_t, the runtime's asyncio.Event.
 *
 * Interleavings are made with spawn order and async_yield(); each test notes
 * events in log_text and compares the whole story at the end.
 */
#include "harness.h"
#include "log.h"

typedef struct waiter {
  async_event_t *event;
  const char *name;
} waiter_t;

static int wait_and_note(void *arg) {
  waiter_t *waiter = arg;
  int rc = async_event_wait(waiter->event);
  log_add("%s:%s", waiter->name, rc == 0 ? "0" : async_err_name(rc));
  return rc;
}

static void let_others_run(void) {
  for (int i = 0; i < 8; i++) async_yield();
}

/* How many tasks wait on the event (a peek at its private list). */
static int waiter_count(const async_event_t *event) {
  int count = 0;
  for (const struct async__list *node = event->waiters.next;
       node != &event->waiters; node = node->next)
    count++;
  return count;
}

static int wake_all(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  waiter_t a = {&event, "A"}, b = {&event, "B"}, c = {&event, "C"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  async_task_t *tc = async_spawn("C", wait_and_note, &c);
  let_others_run();
  log_add("set");
  async_event_set(&event);
  return join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
}

static void test_event_wakes_all_waiters(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(wake_all, NULL), 0);
  assert_string_equal(log_text, "set A:0 B:0 C:0");
}

static int note_x(void *arg) {
  (void)arg;
  log_add("X");
  return 0;
}

static int wait_when_set(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  async_event_set(&event);
  async_task_t *other = async_spawn("X", note_x, NULL);
  /* No switch: X must not get to run before main notes its return. */
  int rc = async_event_wait(&event);
  log_add("main:%d", rc);
  return rc | join_and_release(other);
}

static void test_event_wait_returns_at_once_when_set(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(wait_when_set, NULL), 0);
  assert_string_equal(log_text, "main:0 X");
}

static int clear_then_wait(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  log_add("is_set:%d", async_event_is_set(&event));
  async_event_set(&event);
  log_add("is_set:%d", async_event_is_set(&event));
  async_event_clear(&event);
  log_add("is_set:%d", async_event_is_set(&event));
  waiter_t a = {&event, "A"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  log_add("A-done:%d", async_task_done(ta));
  async_event_set(&event);
  return join_and_release(ta);
}

static void test_event_clear_makes_wait_block_again(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(clear_then_wait, NULL), 0);
  assert_string_equal(log_text, "is_set:0 is_set:1 is_set:0 A-done:0 A:0");
}

static int pulse(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  waiter_t a = {&event, "A"}, b = {&event, "B"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  /* A pulse: the waiters were released by the set; the clear that follows
   * before they run must not strand them. */
  async_event_set(&event);
  async_event_clear(&event);
  return join_and_release(ta) | join_and_release(tb);
}

static void test_event_waiters_released_by_set_return_even_if_cleared_at_once(
    void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(pulse, NULL), 0);
  assert_string_equal(log_text, "A:0 B:0");
}

static int cancel_waiting(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  waiter_t a = {&event, "A"}, b = {&event, "B"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  async_task_cancel(ta);
  int ra = join_and_release(ta);
  log_add("waiters:%d", waiter_count(&event));
  /* A left the waiters: set must wake B alone (and not touch A's waiter,
   * which lived on A's finished stack). */
  async_event_set(&event);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  return 0;
}

static void
test_cancelled_event_waiter_returns_ecanceled_and_leaves(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_waiting, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED waiters:1 B:0 A=ECANCELED B=0");
}

static int cancel_woken(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  waiter_t a = {&event, "A"}, b = {&event, "B"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  async_event_set(&event);
  async_task_cancel(ta); /* woken, not yet run: the cancellation wins */
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  return 0;
}

static void
test_event_waiter_cancelled_after_set_returns_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B:0 A=ECANCELED B=0");
}

static int wait_when_cancelled(void *arg) {
  async_event_t *event = arg;
  async_task_cancel(async_current_task());
  int rc = async_event_wait(event); /* set, yet cancellation is sticky */
  log_add("%s", async_err_name(rc));
  return rc;
}

static int cancelled_wait_on_set_event(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  async_event_set(&event);
  join_and_release(async_spawn("T", wait_when_cancelled, &event));
  return 0;
}

static void test_event_wait_in_a_cancelled_task_is_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_wait_on_set_event, NULL), 0);
  assert_string_equal(log_text, "ECANCELED");
}

static void set_from_callback(void *arg) {
  log_add("callback");
  async_event_set(arg);
}

static int set_by_callback(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  async_callback_t callback = {0};
  async_call_soon(&callback, set_from_callback, &event);
  int rc = async_event_wait(&event);
  log_add("main:%d", rc);
  return rc;
}

static void test_event_set_from_a_callback_wakes_waiters(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(set_by_callback, NULL), 0);
  assert_string_equal(log_text, "callback main:0");
}

static int set_twice(void *arg) {
  (void)arg;
  async_event_t event;
  async_event_init(&event);
  waiter_t a = {&event, "A"};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  async_event_set(&event);
  async_event_set(&event);
  int rc = join_and_release(ta);
  log_add("is_set:%d", async_event_is_set(&event));
  return rc;
}

static void test_event_set_twice_is_harmless(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(set_twice, NULL), 0);
  assert_string_equal(log_text, "A:0 is_set:1");
}

static void test_event_wait_outside_a_task_is_eperm(void **state) {
  (void)state;
  async_event_t event;
  async_event_init(&event);
  assert_int_equal(async_event_wait(&event), UV_EPERM);
  async_event_set(&event); /* set and clear need no task */
  assert_true(async_event_is_set(&event));
  assert_int_equal(async_event_wait(&event), UV_EPERM);
}

static int null_event(void *arg) {
  (void)arg;
  log_add("%s", async_err_name(async_event_wait(NULL)));
  log_add("%d", async_event_is_set(NULL));
  async_event_init(NULL); /* these only complain */
  async_event_set(NULL);
  async_event_clear(NULL);
  return 0;
}

static void test_event_null_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(null_event, NULL), 0);
  assert_string_equal(log_text, "EINVAL 0");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_event_wakes_all_waiters),
    cmocka_unit_test(test_event_wait_returns_at_once_when_set),
    cmocka_unit_test(test_event_clear_makes_wait_block_again),
    cmocka_unit_test(
        test_event_waiters_released_by_set_return_even_if_cleared_at_once),
    cmocka_unit_test(test_cancelled_event_waiter_returns_ecanceled_and_leaves),
    cmocka_unit_test(test_event_waiter_cancelled_after_set_returns_ecanceled),
    cmocka_unit_test(test_event_wait_in_a_cancelled_task_is_ecanceled),
    cmocka_unit_test(test_event_set_from_a_callback_wakes_waiters),
    cmocka_unit_test(test_event_set_twice_is_harmless),
    cmocka_unit_test(test_event_wait_outside_a_task_is_eperm),
    cmocka_unit_test(test_event_null_is_einval))
