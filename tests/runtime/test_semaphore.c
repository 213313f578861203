/* test_semaphore.c: async_semaphore_t, asyncio.Semaphore and BoundedSemaphore.
 *
 * Interleavings are made with spawn order and async_yield(); each test notes
 * events in log_text and compares the whole story at the end.
 */
#include "harness.h"
#include "log.h"

typedef struct taker {
  async_semaphore_t *sem;
  const char *name;
  int yields_before; /* arrive after this many yields */
  bool keep;         /* keep the permit instead of releasing it */
} taker_t;

/* Takes a permit, notes its name, holds it across a switch, gives it back
 * (unless told to keep it). */
static int take_and_note(void *arg) {
  taker_t *taker = arg;
  for (int i = 0; i < taker->yields_before; i++) async_yield();
  int rc = async_semaphore_acquire(taker->sem);
  if (rc != 0) {
    log_add("%s:%s", taker->name, async_err_name(rc));
    return rc;
  }
  log_add("%s", taker->name);
  async_yield();
  return taker->keep ? 0 : async_semaphore_release(taker->sem);
}

static void let_others_run(void) {
  for (int i = 0; i < 8; i++) async_yield();
}

static void test_semaphore_init_negative_is_einval(void **state) {
  (void)state;
  async_semaphore_t sem;
  assert_int_equal(async_semaphore_init(&sem, -1), UV_EINVAL);
  assert_int_equal(async_semaphore_init_bounded(&sem, -1), UV_EINVAL);
  assert_int_equal(async_semaphore_init(NULL, 1), UV_EINVAL);
  assert_int_equal(async_semaphore_init(&sem, 0), 0);
  assert_int_equal(async_semaphore_value(&sem), 0);
}

static int count_permits(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 2);
  log_add("v%d l%d", async_semaphore_value(&sem), async_semaphore_locked(&sem));
  async_semaphore_acquire(&sem);
  log_add("v%d l%d", async_semaphore_value(&sem), async_semaphore_locked(&sem));
  log_add("try:%d", async_semaphore_try_acquire(&sem));
  log_add("v%d l%d", async_semaphore_value(&sem), async_semaphore_locked(&sem));
  log_add("try:%d", async_semaphore_try_acquire(&sem));
  async_semaphore_release(&sem);
  async_semaphore_release(&sem);
  log_add("v%d", async_semaphore_value(&sem));
  return 0;
}

static void test_semaphore_counts_free_permits(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(count_permits, NULL), 0);
  assert_string_equal(log_text, "v2 l0 v1 l0 try:1 v0 l1 try:0 v2");
}

static int semaphore_fifo(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  /* Spawned A, B, C; arriving B, C, A. */
  taker_t a = {&sem, "A", 2, true}, b = {&sem, "B", 0, true},
          c = {&sem, "C", 1, true};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  async_task_t *tc = async_spawn("C", take_and_note, &c);
  let_others_run();
  for (int i = 0; i < 3; i++) {
    log_add("release");
    async_semaphore_release(&sem);
    let_others_run();
  }
  return join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
}

static void test_semaphore_is_fifo(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(semaphore_fifo, NULL), 0);
  assert_string_equal(log_text, "release B release C release A");
}

static int late_acquirer(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 1);
  async_semaphore_acquire(&sem);
  taker_t a = {&sem, "A", 0, false};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run();
  async_semaphore_release(&sem); /* A's now, though A has not run */
  log_add("v%d", async_semaphore_value(&sem));
  log_add("l%d", async_semaphore_locked(&sem));
  log_add("try:%d", async_semaphore_try_acquire(&sem));
  int rc = async_semaphore_acquire(&sem);
  log_add("main:%d", rc);
  async_semaphore_release(&sem);
  return join_and_release(ta);
}

static void test_semaphore_does_not_let_a_late_acquirer_barge(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(late_acquirer, NULL), 0);
  assert_string_equal(log_text, "v0 l1 try:0 A main:0");
}

static int release_wakes_one(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  taker_t a = {&sem, "A", 0, true}, b = {&sem, "B", 0, true};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  let_others_run();
  async_semaphore_release(&sem);
  let_others_run();
  log_add("B-done:%d", async_task_done(tb));
  async_semaphore_release(&sem);
  int rc = join_and_release(ta) | join_and_release(tb);
  log_add("v%d", async_semaphore_value(&sem));
  return rc;
}

static void test_semaphore_release_wakes_only_one_waiter(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(release_wakes_one, NULL), 0);
  assert_string_equal(log_text, "A B-done:0 B v0");
}

typedef struct crowd {
  async_semaphore_t sem;
  int inside, most_inside;
} crowd_t;

static int enter_and_linger(void *arg) {
  crowd_t *crowd = arg;
  int rc = async_semaphore_acquire(&crowd->sem);
  if (rc != 0) return rc;
  if (++crowd->inside > crowd->most_inside) crowd->most_inside = crowd->inside;
  async_yield();
  async_yield();
  crowd->inside--;
  return async_semaphore_release(&crowd->sem);
}

static int admit_a_crowd(void *arg) {
  crowd_t *crowd = arg;
  async_semaphore_init(&crowd->sem, 3);
  async_task_t *tasks[20];
  for (int i = 0; i < 20; i++)
    tasks[i] = async_spawn(NULL, enter_and_linger, crowd);
  int rc = 0;
  for (int i = 0; i < 20; i++) rc |= join_and_release(tasks[i]);
  return rc;
}

static void test_semaphore_admits_at_most_value_tasks(void **state) {
  (void)state;
  crowd_t crowd = {0};
  assert_int_equal(harness_run(admit_a_crowd, &crowd), 0);
  assert_int_equal(crowd.most_inside, 3);
  assert_int_equal(crowd.inside, 0);
  assert_int_equal(async_semaphore_value(&crowd.sem), 3);
}

static int cancel_woken_waiter(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  taker_t a = {&sem, "A", 0, false}, b = {&sem, "B", 0, false};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  let_others_run();
  async_semaphore_release(&sem); /* handed to A, which has not run yet */
  async_task_cancel(ta);
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d v%d", async_err_name(ra), rb, async_semaphore_value(&sem));
  return 0;
}

static void test_semaphore_cancelled_waiter_passes_permit_on(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken_waiter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B A=ECANCELED B=0 v1");
}

static int cancel_woken_last_waiter(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init_bounded(&sem, 1);
  async_semaphore_acquire(&sem);
  taker_t a = {&sem, "A", 0, false};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run();
  async_semaphore_release(&sem);
  async_task_cancel(ta);
  int ra = join_and_release(ta);
  /* Nobody to pass it to: the permit is back in the count, within bound. */
  log_add("A=%s v%d", async_err_name(ra), async_semaphore_value(&sem));
  return 0;
}

static void
test_semaphore_cancelled_last_waiter_returns_the_permit(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken_last_waiter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED A=ECANCELED v1");
}

static int cancel_waiting_waiter(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  taker_t a = {&sem, "A", 0, false}, b = {&sem, "B", 0, false};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  let_others_run();
  async_task_cancel(ta); /* still waiting: it must leave the line */
  int ra = join_and_release(ta);
  log_add("v%d", async_semaphore_value(&sem));
  async_semaphore_release(&sem);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d v%d", async_err_name(ra), rb, async_semaphore_value(&sem));
  return 0;
}

static void test_semaphore_cancelled_waiter_leaves_the_queue(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_waiting_waiter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED v0 B A=ECANCELED B=0 v1");
}

static int acquire_when_cancelled(void *arg) {
  async_semaphore_t *sem = arg;
  async_task_cancel(async_current_task());
  int rc = async_semaphore_acquire(sem); /* a permit is free: still no */
  log_add("%s v%d", async_err_name(rc), async_semaphore_value(sem));
  return rc;
}

static int cancelled_uncontended(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 1);
  join_and_release(async_spawn("T", acquire_when_cancelled, &sem));
  return 0;
}

static void
test_semaphore_acquire_in_a_cancelled_task_is_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_uncontended, NULL), 0);
  assert_string_equal(log_text, "ECANCELED v1");
}

static int over_release(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init_bounded(&sem, 1);
  int rc = async_semaphore_release(&sem);
  log_add("%s v%d", async_err_name(rc), async_semaphore_value(&sem));
  async_semaphore_acquire(&sem);
  rc = async_semaphore_release(&sem);
  log_add("%d v%d", rc, async_semaphore_value(&sem));
  rc = async_semaphore_release(&sem);
  log_add("%s v%d", async_err_name(rc), async_semaphore_value(&sem));
  return 0;
}

static void test_bounded_semaphore_over_release_is_eoverflow(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(over_release, NULL), 0);
  assert_string_equal(log_text, "EOVERFLOW v1 0 v1 EOVERFLOW v1");
}

static int release_above_initial(void *arg) {
  (void)arg;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  for (int i = 0; i < 2; i++) {
    int rc = async_semaphore_release(&sem);
    log_add("%d v%d", rc, async_semaphore_value(&sem));
  }
  return 0;
}

static void
test_unbounded_semaphore_may_grow_past_its_initial_value(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(release_above_initial, NULL), 0);
  assert_string_equal(log_text, "0 v1 0 v2");
}

static void test_semaphore_release_outside_a_task_works(void **state) {
  (void)state;
  /* Like asyncio, a callback may give a permit back. */
  async_semaphore_t sem;
  async_semaphore_init(&sem, 0);
  assert_int_equal(async_semaphore_release(&sem), 0);
  assert_true(async_semaphore_try_acquire(&sem));
  assert_int_equal(async_semaphore_value(&sem), 0);
}

static void test_semaphore_acquire_outside_a_task_is_eperm(void **state) {
  (void)state;
  async_semaphore_t sem;
  async_semaphore_init(&sem, 1);
  assert_int_equal(async_semaphore_acquire(&sem), UV_EPERM);
  assert_int_equal(async_semaphore_value(&sem), 1);
}

static int null_semaphore(void *arg) {
  (void)arg;
  log_add("%s", async_err_name(async_semaphore_acquire(NULL)));
  log_add("%s", async_err_name(async_semaphore_release(NULL)));
  log_add("%s", async_err_name(async_semaphore_value(NULL)));
  log_add("%d", async_semaphore_try_acquire(NULL));
  log_add("%d", async_semaphore_locked(NULL));
  return 0;
}

static void test_semaphore_null_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(null_semaphore, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL EINVAL 0 0");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_semaphore_init_negative_is_einval),
    cmocka_unit_test(test_semaphore_counts_free_permits),
    cmocka_unit_test(test_semaphore_is_fifo),
    cmocka_unit_test(test_semaphore_does_not_let_a_late_acquirer_barge),
    cmocka_unit_test(test_semaphore_release_wakes_only_one_waiter),
    cmocka_unit_test(test_semaphore_admits_at_most_value_tasks),
    cmocka_unit_test(test_semaphore_cancelled_waiter_passes_permit_on),
    cmocka_unit_test(test_semaphore_cancelled_last_waiter_returns_the_permit),
    cmocka_unit_test(test_semaphore_cancelled_waiter_leaves_the_queue),
    cmocka_unit_test(test_semaphore_acquire_in_a_cancelled_task_is_ecanceled),
    cmocka_unit_test(test_bounded_semaphore_over_release_is_eoverflow),
    cmocka_unit_test(test_unbounded_semaphore_may_grow_past_its_initial_value),
    cmocka_unit_test(test_semaphore_release_outside_a_task_works),
    cmocka_unit_test(test_semaphore_acquire_outside_a_task_is_eperm),
    cmocka_unit_test(test_semaphore_null_is_einval))
