/* test_lock.c: async_lock_t, the runtime's asyncio.Lock.
 *
 * Interleavings are made with spawn order and async_yield(): a spawned task
 * first runs when the spawner yields or blocks, and ready tasks run in the
 * order they became ready. Each test notes events in log_text and compares
 * the whole story at the end.
 */
#include "harness.h"
#include "log.h"

typedef struct locker {
  async_lock_t *lock;
  const char *name;
  int yields_before; /* arrive at the lock after this many yields */
  int line;          /* where it called acquire, for the call-site test */
} locker_t;

/* Takes the lock, notes its name, holds the lock across a task switch (so
 * that a lock which does not exclude shows it), releases it. */
static int take_and_note(void *arg) {
  locker_t *locker = arg;
  for (int i = 0; i < locker->yields_before; i++) async_yield();
  locker->line = __LINE__ + 1;
  int rc = async_lock_acquire(locker->lock);
  if (rc != 0) {
    log_add("%s:%s", locker->name, async_err_name(rc));
    return rc;
  }
  log_add("%s", locker->name);
  async_yield();
  return async_lock_release(locker->lock);
}

/* Lets every ready task run until it blocks (a few rounds suffice here). */
static void let_others_run(void) {
  for (int i = 0; i < 8; i++) async_yield();
}

static int lock_is_fifo(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  /* Spawned A, B, C but arriving B, C, A: the order served must be the
   * order of arrival, not of spawning. */
  locker_t a = {&lock, "A", 2, 0}, b = {&lock, "B", 0, 0},
           c = {&lock, "C", 1, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  async_task_t *tc = async_spawn("C", take_and_note, &c);
  let_others_run();
  log_add("main");
  async_lock_release(&lock);
  int rc = join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
  return rc;
}

static void test_lock_is_fifo(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(lock_is_fifo, NULL), 0);
  assert_string_equal(log_text, "main B C A");
}

static int late_acquirer(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  locker_t a = {&lock, "A", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run(); /* A waits */
  async_lock_release(&lock);
  /* A was woken but has not run: asking now must queue behind it. */
  int rc = async_lock_acquire(&lock);
  log_add("main:%s", rc == 0 ? "acquired" : async_err_name(rc));
  async_lock_release(&lock);
  return join_and_release(ta);
}

static void test_lock_does_not_let_a_late_acquirer_barge(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(late_acquirer, NULL), 0);
  assert_string_equal(log_text, "A main:acquired");
}

static int try_while_woken_waiter_pending(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  locker_t a = {&lock, "A", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run();
  async_lock_release(&lock);
  log_add("locked:%d", async_lock_locked(&lock));
  log_add("try:%d", async_lock_try_acquire(&lock));
  return join_and_release(ta);
}

static void
test_lock_try_acquire_fails_while_a_woken_waiter_has_not_run(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(try_while_woken_waiter_pending, NULL), 0);
  assert_string_equal(log_text, "locked:1 try:0 A");
}

static int try_acquire_free_only(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  log_add("free:%d", async_lock_try_acquire(&lock));
  log_add("locked:%d", async_lock_locked(&lock));
  log_add("again:%d", async_lock_try_acquire(&lock));
  log_add("release:%d", async_lock_release(&lock));
  log_add("locked:%d", async_lock_locked(&lock));
  return 0;
}

static void test_lock_try_acquire_takes_only_a_free_lock(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(try_acquire_free_only, NULL), 0);
  assert_string_equal(log_text, "free:1 locked:1 again:0 release:0 locked:0");
}

static int cancel_woken_waiter(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  locker_t a = {&lock, "A", 0, 0}, b = {&lock, "B", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  let_others_run();
  async_lock_release(&lock); /* handed to A, which has not run yet */
  async_task_cancel(ta);
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d locked:%d", async_err_name(ra), rb,
          async_lock_locked(&lock));
  return 0;
}

static void test_cancelled_lock_waiter_passes_the_lock_on(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken_waiter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B A=ECANCELED B=0 locked:0");
}

static int cancel_waiting_waiter(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  locker_t a = {&lock, "A", 0, 0}, b = {&lock, "B", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  async_task_t *tb = async_spawn("B", take_and_note, &b);
  let_others_run();
  async_task_cancel(ta); /* still waiting: it must leave the line */
  int ra = join_and_release(ta);
  log_add("locked:%d", async_lock_locked(&lock));
  async_lock_release(&lock);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d locked:%d", async_err_name(ra), rb,
          async_lock_locked(&lock));
  return 0;
}

static void test_cancelled_lock_waiter_leaves_the_queue(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_waiting_waiter, NULL), 0);
  assert_string_equal(log_text,
                      "A:ECANCELED locked:1 B A=ECANCELED B=0 locked:0");
}

static int acquire_when_cancelled(void *arg) {
  async_lock_t *lock = arg;
  async_task_cancel(async_current_task());
  int rc = async_lock_acquire(lock); /* free, yet cancellation is sticky */
  log_add("%s locked:%d", async_err_name(rc), async_lock_locked(lock));
  return rc;
}

static int cancelled_uncontended(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_task_t *task = async_spawn("T", acquire_when_cancelled, &lock);
  int rc = join_and_release(task);
  log_add("T=%s", async_err_name(rc));
  return 0;
}

static void test_lock_acquire_in_a_cancelled_task_is_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_uncontended, NULL), 0);
  assert_string_equal(log_text, "ECANCELED locked:0 T=ECANCELED");
}

static int note_x(void *arg) {
  (void)arg;
  log_add("X");
  return 0;
}

static int acquire_twice(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  log_add("%d", async_lock_acquire(&lock));
  /* X would run (and note itself) if the second acquire waited, e.g. for
   * the runtime's deadlock detector: the refusal must be at once. */
  async_task_t *other = async_spawn("X", note_x, NULL);
  log_add("%s", async_err_name(async_lock_acquire(&lock)));
  log_add("locked:%d", async_lock_locked(&lock));
  log_add("%d", async_lock_release(&lock));
  log_add("locked:%d", async_lock_locked(&lock));
  return join_and_release(other);
}

static void test_lock_acquire_twice_is_edeadlk(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(acquire_twice, NULL), 0);
  assert_string_equal(log_text, "0 EDEADLK locked:1 0 locked:0 X");
}

static int release_unlocked(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  log_add("%s", async_err_name(async_lock_release(&lock)));
  async_lock_acquire(&lock);
  log_add("%d", async_lock_release(&lock));
  log_add("%s", async_err_name(async_lock_release(&lock)));
  log_add("locked:%d", async_lock_locked(&lock));
  return 0;
}

static void test_lock_release_unlocked_is_eperm(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(release_unlocked, NULL), 0);
  assert_string_equal(log_text, "EPERM 0 EPERM locked:0");
}

static int release_for_another(void *arg) {
  log_add("R:%d", async_lock_release(arg));
  return 0;
}

static int released_by_another_task(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  join_and_release(async_spawn("R", release_for_another, &lock));
  log_add("locked:%d", async_lock_locked(&lock));
  log_add("again:%d", async_lock_acquire(&lock));
  async_lock_release(&lock);
  return 0;
}

static void test_lock_may_be_released_by_another_task(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(released_by_another_task, NULL), 0);
  assert_string_equal(log_text, "R:0 locked:0 again:0");
}

/* A read-modify-write spread over an await: safe only under the lock. */
typedef struct counter {
  async_lock_t lock;
  int value;
  int order[50];
  int served;
} counter_t;

static int increment_slowly(void *arg) {
  counter_t *counter = arg;
  int me = (int)async_task_id(async_current_task());
  int rc = async_lock_acquire(&counter->lock);
  if (rc != 0) return rc;
  counter->order[counter->served++] = me;
  int seen = counter->value;
  async_yield();
  counter->value = seen + 1;
  return async_lock_release(&counter->lock);
}

static int many_increments(void *arg) {
  counter_t *counter = arg;
  async_lock_init(&counter->lock);
  async_task_t *tasks[50];
  for (int i = 0; i < 50; i++)
    tasks[i] = async_spawn(NULL, increment_slowly, counter);
  int rc = 0;
  for (int i = 0; i < 50; i++) rc |= join_and_release(tasks[i]);
  return rc;
}

static void test_lock_excludes_other_tasks_across_awaits(void **state) {
  (void)state;
  counter_t counter = {0};
  assert_int_equal(harness_run(many_increments, &counter), 0);
  assert_int_equal(counter.value, 50);
  /* Served in the order they asked: task ids 2..51 (main is 1). */
  for (int i = 0; i < 50; i++) assert_int_equal(counter.order[i], i + 2);
}

static int records_owner_and_site(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  int line = __LINE__ + 1;
  async_lock_acquire(&lock);
  log_add("main-owner:%d main-line:%d", lock.owner == async_current_task(),
          lock.acquired_at.line == line);
  locker_t a = {&lock, "A", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run();
  async_lock_release(&lock);
  /* Handed over: A owns it from here, acquired where A asked for it. */
  log_add("A-owner:%d A-line:%d", lock.owner == ta,
          lock.acquired_at.line == a.line);
  log_add("file:%s", strstr(lock.acquired_at.file, "test_lock.c") != NULL
                         ? "test_lock.c"
                         : lock.acquired_at.file);
  return join_and_release(ta);
}

static void test_lock_records_owner_and_where_it_was_acquired(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(records_owner_and_site, NULL), 0);
  assert_string_equal(log_text, "main-owner:1 main-line:1 A-owner:1 A-line:1 "
                                "file:test_lock.c A");
}

static int acquire_with_timeout(void *arg) {
  async_lock_t *lock = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.001);
  int rc = async_lock_acquire(lock);
  int exit_rc = async_timeout_exit(&scope);
  log_add("A:%s exit:%s", async_err_name(rc), async_err_name(exit_rc));
  return 0;
}

static int timeout_while_waiting(void *arg) {
  (void)arg;
  async_lock_t lock;
  async_lock_init(&lock);
  async_lock_acquire(&lock);
  /* main holds the lock until A is done, so A's wait can only time out. */
  int rc = join_and_release(async_spawn("A", acquire_with_timeout, &lock));
  log_add("owner-main:%d", lock.owner == async_current_task());
  async_lock_release(&lock);
  log_add("try:%d", async_lock_try_acquire(&lock));
  async_lock_release(&lock);
  return rc;
}

static void test_lock_acquire_times_out_inside_a_timeout_scope(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(timeout_while_waiting, NULL), 0);
  assert_string_equal(log_text,
                      "A:ETIMEDOUT exit:ETIMEDOUT owner-main:1 try:1");
}

static async_lock_t static_lock = ASYNC_LOCK_INITIALIZER(static_lock);

static int use_static_lock(void *arg) {
  (void)arg;
  log_add("locked:%d", async_lock_locked(&static_lock));
  async_lock_acquire(&static_lock);
  locker_t a = {&static_lock, "A", 0, 0};
  async_task_t *ta = async_spawn("A", take_and_note, &a);
  let_others_run(); /* A queues on the initializer's waiter list */
  log_add("main");
  async_lock_release(&static_lock);
  int rc = join_and_release(ta);
  log_add("locked:%d", async_lock_locked(&static_lock));
  return rc;
}

static void test_lock_initializer_makes_a_working_free_lock(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(use_static_lock, NULL), 0);
  assert_string_equal(log_text, "locked:0 main A locked:0");
}

static void test_lock_acquire_outside_a_task_is_eperm(void **state) {
  (void)state;
  async_lock_t lock;
  async_lock_init(&lock);
  assert_int_equal(async_lock_acquire(&lock), UV_EPERM);
  assert_false(async_lock_try_acquire(&lock));
  assert_false(async_lock_locked(&lock));
}

static int null_lock(void *arg) {
  (void)arg;
  log_add("%s", async_err_name(async_lock_acquire(NULL)));
  log_add("%s", async_err_name(async_lock_release(NULL)));
  log_add("%d", async_lock_try_acquire(NULL));
  log_add("%d", async_lock_locked(NULL));
  async_lock_init(NULL); /* only complains */
  return 0;
}

static void test_lock_null_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(null_lock, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL 0 0");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_lock_is_fifo),
    cmocka_unit_test(test_lock_does_not_let_a_late_acquirer_barge),
    cmocka_unit_test(
        test_lock_try_acquire_fails_while_a_woken_waiter_has_not_run),
    cmocka_unit_test(test_lock_try_acquire_takes_only_a_free_lock),
    cmocka_unit_test(test_cancelled_lock_waiter_passes_the_lock_on),
    cmocka_unit_test(test_cancelled_lock_waiter_leaves_the_queue),
    cmocka_unit_test(test_lock_acquire_in_a_cancelled_task_is_ecanceled),
    cmocka_unit_test(test_lock_acquire_twice_is_edeadlk),
    cmocka_unit_test(test_lock_release_unlocked_is_eperm),
    cmocka_unit_test(test_lock_may_be_released_by_another_task),
    cmocka_unit_test(test_lock_excludes_other_tasks_across_awaits),
    cmocka_unit_test(test_lock_records_owner_and_where_it_was_acquired),
    cmocka_unit_test(test_lock_acquire_times_out_inside_a_timeout_scope),
    cmocka_unit_test(test_lock_initializer_makes_a_working_free_lock),
    cmocka_unit_test(test_lock_acquire_outside_a_task_is_eperm),
    cmocka_unit_test(test_lock_null_is_einval))
