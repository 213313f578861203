/* test_condition.c: async_condition_t, the runtime's asyncio.Condition.
 *
 * Interleavings are made with spawn order and async_yield(); each test notes
 * events in log_text and compares the whole story at the end. "holds:1"
 * in a log says the task held the condition's lock when its wait returned.
 */
#include "harness.h"
#include "log.h"

typedef struct waiter {
  async_condition_t *cond;
  const char *name;
  int yields_before; /* arrive after this many yields */
} waiter_t;

static bool holds_lock(const async_condition_t *cond) {
  return cond->lock->owner == async_current_task();
}

/* acquire; wait; note how it returned and whether it holds the lock;
 * release. */
static int wait_and_note(void *arg) {
  waiter_t *waiter = arg;
  for (int i = 0; i < waiter->yields_before; i++) async_yield();
  int rc = async_condition_acquire(waiter->cond);
  if (rc != 0) return rc;
  rc = async_condition_wait(waiter->cond);
  log_add("%s:%s holds:%d", waiter->name, rc == 0 ? "0" : async_err_name(rc),
          holds_lock(waiter->cond));
  async_condition_release(waiter->cond);
  return rc;
}

static void let_others_run(void) {
  for (int i = 0; i < 8; i++) async_yield();
}

/* Notifies n waiters (n < 0: all) the proper way, under the lock. */
static void notify(async_condition_t *cond, int n) {
  async_condition_acquire(cond);
  if (n < 0)
    async_condition_notify_all(cond);
  else
    async_condition_notify(cond, n);
  async_condition_release(cond);
}

static int wait_without_lock(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  log_add("%s", async_err_name(async_condition_wait(&cond)));
  log_add("locked:%d", async_lock_locked(cond.lock));
  return 0;
}

static void test_condition_wait_without_lock_is_eperm(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(wait_without_lock, NULL), 0);
  assert_string_equal(log_text, "EPERM locked:0");
}

static int hold_until_set(void *arg) {
  async_condition_t *cond = arg;
  async_condition_acquire(cond);
  let_others_run();
  async_condition_release(cond);
  return 0;
}

static int notify_without_lock(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  log_add("%s", async_err_name(async_condition_notify(&cond, 1)));
  log_add("%s", async_err_name(async_condition_notify_all(&cond)));
  /* Locked, but by another task: still not the caller's to notify under. */
  async_task_t *holder = async_spawn("H", hold_until_set, &cond);
  async_yield();
  log_add("%s", async_err_name(async_condition_notify(&cond, 1)));
  log_add("%s", async_err_name(async_condition_wait(&cond)));
  int rh = join_and_release(holder);
  let_others_run();
  log_add("A-done:%d", async_task_done(ta));
  notify(&cond, 1);
  return rh | join_and_release(ta);
}

static void test_condition_notify_without_lock_is_eperm(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(notify_without_lock, NULL), 0);
  assert_string_equal(log_text, "EPERM EPERM EPERM EPERM A-done:0 A:0 holds:1");
}

static int notify_in_order(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  /* Spawned A, B, C; arriving B, C, A. */
  waiter_t a = {&cond, "A", 2}, b = {&cond, "B", 0}, c = {&cond, "C", 1};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  async_task_t *tc = async_spawn("C", wait_and_note, &c);
  let_others_run();
  log_add("notify(1)");
  notify(&cond, 1);
  let_others_run();
  log_add("notify(0)");
  notify(&cond, 0);
  let_others_run();
  log_add("notify(5)");
  notify(&cond, 5);
  return join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
}

static void test_condition_notify_wakes_n_waiters_in_fifo_order(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(notify_in_order, NULL), 0);
  assert_string_equal(log_text, "notify(1) B:0 holds:1 notify(0) notify(5) "
                                "C:0 holds:1 A:0 holds:1");
}

static int notify_everyone(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0}, b = {&cond, "B", 0}, c = {&cond, "C", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  async_task_t *tc = async_spawn("C", wait_and_note, &c);
  let_others_run();
  log_add("notify_all");
  notify(&cond, -1);
  return join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
}

static void test_condition_notify_all_wakes_every_waiter(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(notify_everyone, NULL), 0);
  assert_string_equal(log_text,
                      "notify_all A:0 holds:1 B:0 holds:1 C:0 holds:1");
}

static int lock_free_during_wait(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  log_add("locked:%d", async_lock_locked(cond.lock));
  log_add("try:%d", async_lock_try_acquire(cond.lock));
  async_condition_notify(&cond, 1);
  async_condition_release(&cond);
  return join_and_release(ta);
}

static void test_condition_wait_releases_the_lock_while_waiting(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(lock_free_during_wait, NULL), 0);
  assert_string_equal(log_text, "locked:0 try:1 A:0 holds:1");
}

static int returns_with_lock(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  async_condition_acquire(&cond);
  async_condition_notify(&cond, 1);
  let_others_run(); /* A is notified but must wait for the lock */
  log_add("release");
  async_condition_release(&cond);
  return join_and_release(ta);
}

static void
test_condition_wait_returns_only_once_the_lock_is_back(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(returns_with_lock, NULL), 0);
  assert_string_equal(log_text, "release A:0 holds:1");
}

static int cancel_while_lock_held(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  async_condition_acquire(&cond);
  async_task_cancel(ta);
  let_others_run(); /* cancelled, A still needs the lock back to return */
  log_add("release");
  async_condition_release(&cond);
  int ra = join_and_release(ta);
  log_add("A=%s locked:%d", async_err_name(ra), async_lock_locked(cond.lock));
  return 0;
}

static void test_condition_wait_reacquires_lock_when_cancelled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_while_lock_held, NULL), 0);
  assert_string_equal(log_text,
                      "release A:ECANCELED holds:1 A=ECANCELED locked:0");
}

static int notified_then_cancelled(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0}, b = {&cond, "B", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  async_condition_acquire(&cond);
  async_condition_notify(&cond, 1); /* A's */
  async_task_cancel(ta);            /* before A ran: B must get it instead */
  async_condition_release(&cond);
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  return 0;
}

static void
test_condition_notified_then_cancelled_passes_notification_on(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(notified_then_cancelled, NULL), 0);
  assert_string_equal(log_text,
                      "A:ECANCELED holds:1 B:0 holds:1 A=ECANCELED B=0");
}

static int cancelled_while_reacquiring(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0}, b = {&cond, "B", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  async_condition_acquire(&cond);
  async_condition_notify(&cond, 1);
  let_others_run(); /* A runs and queues for the lock */
  async_task_cancel(ta);
  async_condition_release(&cond);
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  return 0;
}

static void
test_condition_waiter_cancelled_while_taking_the_lock_back_passes_on(
    void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_while_reacquiring, NULL), 0);
  assert_string_equal(log_text,
                      "A:ECANCELED holds:1 B:0 holds:1 A=ECANCELED B=0");
}

static int cancelled_unnotified(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  waiter_t a = {&cond, "A", 0}, b = {&cond, "B", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  async_task_t *tb = async_spawn("B", wait_and_note, &b);
  let_others_run();
  async_task_cancel(ta); /* not notified: nothing to pass on, just leave */
  int ra = join_and_release(ta);
  let_others_run();
  log_add("notify");
  notify(&cond, 1);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  return 0;
}

static void
test_condition_cancelled_waiter_leaves_without_a_wakeup(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_unnotified, NULL), 0);
  assert_string_equal(log_text,
                      "A:ECANCELED holds:1 notify B:0 holds:1 A=ECANCELED B=0");
}

static int wait_when_cancelled(void *arg) {
  async_condition_t *cond = arg;
  async_condition_acquire(cond);
  async_task_cancel(async_current_task());
  int rc = async_condition_wait(cond);
  log_add("%s holds:%d", async_err_name(rc), holds_lock(cond));
  async_condition_release(cond);
  return rc;
}

static int cancelled_before_wait(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  join_and_release(async_spawn("T", wait_when_cancelled, &cond));
  log_add("locked:%d", async_lock_locked(cond.lock));
  return 0;
}

static void
test_condition_wait_in_a_cancelled_task_keeps_the_lock(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_before_wait, NULL), 0);
  assert_string_equal(log_text, "ECANCELED holds:1 locked:0");
}

typedef struct gauge {
  async_condition_t cond;
  int level;
} gauge_t;

static bool level_reached_three(void *arg) {
  gauge_t *gauge = arg;
  log_add("p%d", gauge->level);
  return gauge->level >= 3;
}

static int wait_for_three(void *arg) {
  gauge_t *gauge = arg;
  async_condition_acquire(&gauge->cond);
  int rc = async_condition_wait_for(&gauge->cond, level_reached_three, gauge);
  log_add("W:%d holds:%d level:%d", rc, holds_lock(&gauge->cond), gauge->level);
  async_condition_release(&gauge->cond);
  return rc;
}

static int raise_level(void *arg) {
  gauge_t *gauge = arg;
  async_condition_init(&gauge->cond, NULL);
  async_task_t *waiter = async_spawn("W", wait_for_three, gauge);
  let_others_run();
  for (int i = 0; i < 4; i++) {
    async_condition_acquire(&gauge->cond);
    gauge->level++;
    async_condition_notify_all(&gauge->cond);
    async_condition_release(&gauge->cond);
    let_others_run();
  }
  return join_and_release(waiter);
}

static void
test_condition_wait_for_waits_until_the_predicate_holds(void **state) {
  (void)state;
  gauge_t gauge = {.level = 0};
  log_reset();
  assert_int_equal(harness_run(raise_level, &gauge), 0);
  assert_string_equal(log_text, "p0 p1 p2 p3 W:0 holds:1 level:3");
}

static bool always(void *arg) {
  (void)arg;
  return true;
}

static int note_x(void *arg) {
  (void)arg;
  log_add("X");
  return 0;
}

static int predicate_already_true(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  async_task_t *other = async_spawn("X", note_x, NULL);
  log_add("eperm:%s",
          async_err_name(async_condition_wait_for(&cond, always, NULL)));
  async_condition_acquire(&cond);
  int rc = async_condition_wait_for(&cond, always, NULL);
  log_add("main:%d", rc);
  async_condition_release(&cond);
  return rc | join_and_release(other);
}

static void
test_condition_wait_for_returns_at_once_if_the_predicate_holds(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(predicate_already_true, NULL), 0);
  /* EPERM even though the predicate holds: the mistake shows every run. */
  assert_string_equal(log_text, "eperm:EPERM main:0 X");
}

static int use_given_lock(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_condition_t cond;
  async_condition_init(&cond, &lock);
  async_condition_acquire(&cond);
  log_add("locked:%d", async_lock_locked(&lock));
  async_condition_release(&cond);
  log_add("locked:%d", async_lock_locked(&lock));
  /* Holding the lock directly is holding the condition's lock. */
  waiter_t a = {&cond, "A", 0};
  async_task_t *ta = async_spawn("A", wait_and_note, &a);
  let_others_run();
  async_lock_acquire(&lock);
  log_add("notify:%d", async_condition_notify(&cond, 1));
  async_lock_release(&lock);
  return join_and_release(ta);
}

static void test_condition_uses_the_lock_it_was_given(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(use_given_lock, NULL), 0);
  assert_string_equal(log_text, "locked:1 locked:0 notify:0 A:0 holds:1");
}

static int negative_notify(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  async_condition_acquire(&cond);
  log_add("%s", async_err_name(async_condition_notify(&cond, -1)));
  async_condition_release(&cond);
  return 0;
}

static void test_condition_notify_negative_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(negative_notify, NULL), 0);
  assert_string_equal(log_text, "EINVAL");
}

static void test_condition_wait_outside_a_task_is_eperm(void **state) {
  (void)state;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  assert_int_equal(async_condition_acquire(&cond), UV_EPERM);
  assert_int_equal(async_condition_wait(&cond), UV_EPERM);
  assert_int_equal(async_condition_wait_for(&cond, always, NULL), UV_EPERM);
  assert_int_equal(async_condition_notify(&cond, 1), UV_EPERM);
  assert_int_equal(async_condition_notify_all(&cond), UV_EPERM);
}

static int null_condition(void *arg) {
  (void)arg;
  async_condition_t cond;
  async_condition_init(&cond, NULL);
  log_add("%s", async_err_name(async_condition_acquire(NULL)));
  log_add("%s", async_err_name(async_condition_release(NULL)));
  log_add("%s", async_err_name(async_condition_wait(NULL)));
  log_add("%s", async_err_name(async_condition_wait_for(NULL, always, NULL)));
  log_add("%s", async_err_name(async_condition_wait_for(&cond, NULL, NULL)));
  log_add("%s", async_err_name(async_condition_notify(NULL, 1)));
  log_add("%s", async_err_name(async_condition_notify_all(NULL)));
  async_condition_init(NULL, NULL); /* only complains */
  return 0;
}

static void test_condition_null_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(null_condition, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL "
                                "EINVAL");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_condition_wait_without_lock_is_eperm),
    cmocka_unit_test(test_condition_notify_without_lock_is_eperm),
    cmocka_unit_test(test_condition_notify_wakes_n_waiters_in_fifo_order),
    cmocka_unit_test(test_condition_notify_all_wakes_every_waiter),
    cmocka_unit_test(test_condition_wait_releases_the_lock_while_waiting),
    cmocka_unit_test(test_condition_wait_returns_only_once_the_lock_is_back),
    cmocka_unit_test(test_condition_wait_reacquires_lock_when_cancelled),
    cmocka_unit_test(
        test_condition_notified_then_cancelled_passes_notification_on),
    cmocka_unit_test(
        test_condition_waiter_cancelled_while_taking_the_lock_back_passes_on),
    cmocka_unit_test(test_condition_cancelled_waiter_leaves_without_a_wakeup),
    cmocka_unit_test(test_condition_wait_in_a_cancelled_task_keeps_the_lock),
    cmocka_unit_test(test_condition_wait_for_waits_until_the_predicate_holds),
    cmocka_unit_test(
        test_condition_wait_for_returns_at_once_if_the_predicate_holds),
    cmocka_unit_test(test_condition_uses_the_lock_it_was_given),
    cmocka_unit_test(test_condition_notify_negative_is_einval),
    cmocka_unit_test(test_condition_wait_outside_a_task_is_eperm),
    cmocka_unit_test(test_condition_null_is_einval))
