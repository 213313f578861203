/* test_queue.c: async_queue_t, the runtime's asyncio.Queue.
 *
 * Interleavings are made with spawn order and async_yield(); each test notes
 * events in log_text and compares the whole story at the end. Items are
 * small integers smuggled through the void pointers.
 */
#include "harness.h"
#include "log.h"

#include <stdint.h>

#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUMBER(item) ((int)(uintptr_t)(item))

static void let_others_run(void) {
  for (int i = 0; i < 8; i++) async_yield();
}

typedef struct worker {
  async_queue_t *queue;
  const char *name;
  int count; /* items to put or get */
  int first; /* first item a producer puts */
} worker_t;

/* Gets `count` items, noting each as NAME<item>. */
static int get_and_note(void *arg) {
  worker_t *worker = arg;
  for (int i = 0; i < worker->count; i++) {
    void *item = ITEM(-1);
    int rc = async_queue_get(worker->queue, &item);
    if (rc != 0) {
      log_add("%s:%s", worker->name, async_err_name(rc));
      return rc;
    }
    log_add("%s%d", worker->name, NUMBER(item));
  }
  return 0;
}

/* Puts first, first+1, ... noting each once it is in. */
static int put_and_note(void *arg) {
  worker_t *worker = arg;
  for (int i = 0; i < worker->count; i++) {
    int rc = async_queue_put(worker->queue, ITEM(worker->first + i));
    if (rc != 0) {
      log_add("%s:%s", worker->name, async_err_name(rc));
      return rc;
    }
    log_add("%s%d", worker->name, worker->first + i);
  }
  return 0;
}

static int fifo(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  for (int i = 1; i <= 3; i++) async_queue_put(&queue, ITEM(i));
  for (int i = 4; i <= 5; i++) async_queue_put_nowait(&queue, ITEM(i));
  for (int i = 0; i < 3; i++) {
    void *item;
    async_queue_get(&queue, &item);
    log_add("%d", NUMBER(item));
  }
  async_queue_put(&queue, ITEM(6));
  void *item;
  while (async_queue_get_nowait(&queue, &item) == 0)
    log_add("%d", NUMBER(item));
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_is_fifo(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(fifo, NULL), 0);
  assert_string_equal(log_text, "1 2 3 4 5 6");
}

static int back_pressure(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 2) != 0) return UV_ENOMEM;
  worker_t producer = {&queue, "put", 4, 1};
  async_task_t *task = async_spawn("producer", put_and_note, &producer);
  let_others_run(); /* puts 1 and 2, then blocks on a full queue */
  log_add("size%zu full:%d", async_queue_size(&queue),
          async_queue_full(&queue));
  for (int i = 0; i < 4; i++) {
    void *item;
    async_queue_get(&queue, &item);
    log_add("got%d", NUMBER(item));
    let_others_run();
  }
  int rc = join_and_release(task);
  async_queue_destroy(&queue);
  return rc;
}

static void test_queue_put_blocks_when_full(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(back_pressure, NULL), 0);
  assert_string_equal(log_text, "put1 put2 size2 full:1 got1 put3 got2 put4 "
                                "got3 got4");
}

static int wait_for_items(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  worker_t a = {&queue, "A", 1, 0}, b = {&queue, "B", 1, 0},
           c = {&queue, "C", 1, 0};
  async_task_t *ta = async_spawn("A", get_and_note, &a);
  async_task_t *tb = async_spawn("B", get_and_note, &b);
  async_task_t *tc = async_spawn("C", get_and_note, &c);
  let_others_run();
  log_add("put");
  async_queue_put(&queue, ITEM(1));
  let_others_run();
  log_add("put");
  async_queue_put(&queue, ITEM(2));
  async_queue_put(&queue, ITEM(3));
  int rc = join_and_release(ta) | join_and_release(tb) | join_and_release(tc);
  async_queue_destroy(&queue);
  return rc;
}

static void
test_queue_get_blocks_when_empty_and_getters_are_served_in_order(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(wait_for_items, NULL), 0);
  assert_string_equal(log_text, "put A1 put B2 C3");
}

static void test_queue_nowait_variants(void **state) {
  (void)state;
  /* They never block, so they work outside a task too. */
  async_queue_t queue;
  assert_int_equal(async_queue_init(&queue, 2), 0);
  void *item = ITEM(42);
  assert_int_equal(async_queue_get_nowait(&queue, &item), UV_EAGAIN);
  assert_int_equal(NUMBER(item), 42); /* untouched */
  assert_int_equal(async_queue_put_nowait(&queue, ITEM(1)), 0);
  assert_int_equal(async_queue_put_nowait(&queue, ITEM(2)), 0);
  assert_int_equal(async_queue_put_nowait(&queue, ITEM(3)), UV_EAGAIN);
  assert_int_equal(async_queue_size(&queue), 2);
  assert_int_equal(async_queue_get_nowait(&queue, &item), 0);
  assert_int_equal(NUMBER(item), 1);
  assert_int_equal(async_queue_get_nowait(&queue, &item), 0);
  assert_int_equal(NUMBER(item), 2);
  assert_int_equal(async_queue_get_nowait(&queue, &item), UV_EAGAIN);
  async_queue_destroy(&queue);
}

static void test_queue_size_empty_and_full(void **state) {
  (void)state;
  async_queue_t bounded, unbounded;
  assert_int_equal(async_queue_init(&bounded, 2), 0);
  assert_int_equal(async_queue_init(&unbounded, 0), 0);
  assert_true(async_queue_empty(&bounded));
  assert_false(async_queue_full(&bounded));
  async_queue_put_nowait(&bounded, NULL); /* NULL is an item like any other */
  assert_false(async_queue_empty(&bounded));
  assert_false(async_queue_full(&bounded));
  async_queue_put_nowait(&bounded, NULL);
  assert_true(async_queue_full(&bounded));
  assert_int_equal(async_queue_size(&bounded), 2);
  for (int i = 0; i < 100; i++)
    assert_int_equal(async_queue_put_nowait(&unbounded, ITEM(i)), 0);
  assert_false(async_queue_full(&unbounded)); /* never, when unbounded */
  assert_int_equal(async_queue_size(&unbounded), 100);
  async_queue_destroy(&bounded);
  async_queue_destroy(&unbounded);
}

static void test_queue_ring_wraps_around_and_grows_in_order(void **state) {
  (void)state;
  async_queue_t queue;
  assert_int_equal(async_queue_init(&queue, 0), 0);
  /* Move the head along, then grow while the items wrap the ring's end. */
  int next_in = 0, next_out = 0;
  void *item;
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 7; i++)
      assert_int_equal(async_queue_put_nowait(&queue, ITEM(next_in++)), 0);
    for (int i = 0; i < 5; i++) {
      assert_int_equal(async_queue_get_nowait(&queue, &item), 0);
      assert_int_equal(NUMBER(item), next_out++);
    }
  }
  while (async_queue_get_nowait(&queue, &item) == 0)
    assert_int_equal(NUMBER(item), next_out++);
  assert_int_equal(next_out, next_in);
  async_queue_destroy(&queue);

  assert_int_equal(async_queue_init(&queue, 3), 0);
  next_in = next_out = 0;
  for (int round = 0; round < 10; round++) {
    while (async_queue_put_nowait(&queue, ITEM(next_in)) == 0) next_in++;
    assert_int_equal(async_queue_get_nowait(&queue, &item), 0);
    assert_int_equal(NUMBER(item), next_out++);
  }
  assert_int_equal(async_queue_size(&queue), 2);
  async_queue_destroy(&queue);
}

static void test_queue_task_done_below_zero_is_einval(void **state) {
  (void)state;
  async_queue_t queue;
  assert_int_equal(async_queue_init(&queue, 0), 0);
  assert_int_equal(async_queue_task_done(&queue), UV_EINVAL);
  async_queue_put_nowait(&queue, ITEM(1));
  void *item;
  async_queue_get_nowait(&queue, &item);
  assert_int_equal(async_queue_task_done(&queue), 0);
  assert_int_equal(async_queue_task_done(&queue), UV_EINVAL);
  async_queue_destroy(&queue);
}

typedef struct job_line {
  async_queue_t queue;
  int processed;
} job_line_t;

/* Gets jobs forever, "processing" each across a yield. */
static int process_jobs(void *arg) {
  job_line_t *line = arg;
  for (;;) {
    void *item;
    int rc = async_queue_get(&line->queue, &item);
    if (rc != 0) return rc == UV_ECANCELED ? 0 : rc;
    async_yield();
    line->processed++;
    log_add("done%d", NUMBER(item));
    async_queue_task_done(&line->queue);
  }
}

static int join_jobs(void *arg) {
  job_line_t *line = arg;
  if (async_queue_init(&line->queue, 0) != 0) return UV_ENOMEM;
  async_task_t *worker = async_spawn("worker", process_jobs, line);
  for (int i = 1; i <= 3; i++) async_queue_put(&line->queue, ITEM(i));
  int rc = async_queue_join(&line->queue);
  log_add("joined:%d processed:%d", rc, line->processed);
  /* Nothing unfinished: join returns at once. */
  log_add("again:%d", async_queue_join(&line->queue));
  async_task_cancel(worker);
  rc |= join_and_release(worker);
  async_queue_destroy(&line->queue);
  return rc;
}

static void test_queue_join_waits_for_task_done(void **state) {
  (void)state;
  job_line_t line = {.processed = 0};
  log_reset();
  assert_int_equal(harness_run(join_jobs, &line), 0);
  assert_string_equal(log_text,
                      "done1 done2 done3 joined:0 processed:3 again:0");
}

static int note_x(void *arg) {
  (void)arg;
  log_add("X");
  return 0;
}

static int join_empty(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  async_task_t *other = async_spawn("X", note_x, NULL);
  log_add("join:%d", async_queue_join(&queue)); /* never used: no wait */
  async_queue_put_nowait(&queue, ITEM(1));
  void *item;
  async_queue_get_nowait(&queue, &item);
  async_queue_task_done(&queue);
  log_add("join:%d", async_queue_join(&queue)); /* all done: no wait */
  int rc = join_and_release(other);
  async_queue_destroy(&queue);
  return rc;
}

static void
test_queue_join_returns_at_once_when_nothing_is_unfinished(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(join_empty, NULL), 0);
  assert_string_equal(log_text, "join:0 join:0 X");
}

static int cancel_woken_getter(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  worker_t a = {&queue, "A", 1, 0}, b = {&queue, "B", 1, 0};
  async_task_t *ta = async_spawn("A", get_and_note, &a);
  async_task_t *tb = async_spawn("B", get_and_note, &b);
  let_others_run();
  async_queue_put_nowait(&queue, ITEM(7)); /* wakes A */
  async_task_cancel(ta);                   /* before A could take it */
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  log_add("A=%s B=%d size%zu", async_err_name(ra), rb,
          async_queue_size(&queue));
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_cancelled_getter_passes_item_on(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken_getter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B7 A=ECANCELED B=0 size0");
}

static int cancel_woken_putter(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 1) != 0) return UV_ENOMEM;
  async_queue_put_nowait(&queue, ITEM(0));
  worker_t a = {&queue, "A", 1, 1}, b = {&queue, "B", 1, 2};
  async_task_t *ta = async_spawn("A", put_and_note, &a);
  async_task_t *tb = async_spawn("B", put_and_note, &b);
  let_others_run();
  void *item;
  async_queue_get_nowait(&queue, &item); /* space: wakes A */
  async_task_cancel(ta);                 /* before A could use it */
  int ra = join_and_release(ta);
  int rb = join_and_release(tb);
  async_queue_get_nowait(&queue, &item);
  log_add("A=%s B=%d item%d", async_err_name(ra), rb, NUMBER(item));
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_cancelled_putter_passes_space_on(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_woken_putter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B2 A=ECANCELED B=0 item2");
}

static int cancel_waiting_getter(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  worker_t a = {&queue, "A", 1, 0}, b = {&queue, "B", 1, 0};
  async_task_t *ta = async_spawn("A", get_and_note, &a);
  async_task_t *tb = async_spawn("B", get_and_note, &b);
  let_others_run();
  async_task_cancel(ta); /* still waiting: it must leave the line */
  int ra = join_and_release(ta);
  async_queue_put_nowait(&queue, ITEM(7));
  int rb = join_and_release(tb);
  log_add("A=%s B=%d", async_err_name(ra), rb);
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_cancelled_getter_leaves_the_line(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_waiting_getter, NULL), 0);
  assert_string_equal(log_text, "A:ECANCELED B7 A=ECANCELED B=0");
}

static int item_taken_from_woken_getter(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  worker_t a = {&queue, "A", 1, 0};
  async_task_t *ta = async_spawn("A", get_and_note, &a);
  let_others_run();
  async_queue_put_nowait(&queue, ITEM(1)); /* wakes A... */
  void *item;
  async_queue_get_nowait(&queue, &item); /* ...but main takes the item */
  log_add("main%d", NUMBER(item));
  let_others_run(); /* A finds the queue empty and waits again */
  log_add("A-done:%d", async_task_done(ta));
  async_queue_put_nowait(&queue, ITEM(2));
  int rc = join_and_release(ta);
  async_queue_destroy(&queue);
  return rc;
}

static void
test_queue_woken_getter_waits_again_if_the_item_is_gone(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(item_taken_from_woken_getter, NULL), 0);
  assert_string_equal(log_text, "main1 A-done:0 A2");
}

static int ops_when_cancelled(void *arg) {
  async_queue_t *queue = arg;
  async_task_cancel(async_current_task());
  void *item = ITEM(-1);
  /* The queue could serve both at once; cancellation is sticky anyway. */
  log_add("put:%s", async_err_name(async_queue_put(queue, ITEM(5))));
  log_add("get:%s", async_err_name(async_queue_get(queue, &item)));
  log_add("join:%s", async_err_name(async_queue_join(queue)));
  log_add("item%d", NUMBER(item));
  return UV_ECANCELED;
}

static int cancelled_queue_ops(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  async_queue_put_nowait(&queue, ITEM(1));
  join_and_release(async_spawn("T", ops_when_cancelled, &queue));
  log_add("size%zu", async_queue_size(&queue));
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_calls_in_a_cancelled_task_are_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancelled_queue_ops, NULL), 0);
  assert_string_equal(log_text,
                      "put:ECANCELED get:ECANCELED join:ECANCELED item-1 "
                      "size1");
}

static int cancelled_join(void *arg) {
  async_queue_t *queue = arg;
  return async_queue_join(queue);
}

static int cancel_a_joiner(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  async_queue_put_nowait(&queue, ITEM(1));
  async_task_t *joiner = async_spawn("J", cancelled_join, &queue);
  let_others_run();
  async_task_cancel(joiner);
  log_add("J=%s", async_err_name(join_and_release(joiner)));
  void *item;
  async_queue_get_nowait(&queue, &item);
  async_queue_task_done(&queue); /* wakes nobody: J left */
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_join_when_cancelled_is_ecanceled(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(cancel_a_joiner, NULL), 0);
  assert_string_equal(log_text, "J=ECANCELED");
}

static int get_with_timeout(void *arg) {
  async_queue_t *queue = arg;
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.001);
  void *item = ITEM(-1);
  int rc = async_queue_get(queue, &item);
  int exit_rc = async_timeout_exit(&scope);
  log_add("G:%s exit:%s item%d", async_err_name(rc), async_err_name(exit_rc),
          NUMBER(item));
  return 0;
}

static int get_times_out(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  int rc = join_and_release(async_spawn("G", get_with_timeout, &queue));
  /* G left the line: this put wakes nobody, and the item stays. */
  async_queue_put_nowait(&queue, ITEM(1));
  log_add("size%zu", async_queue_size(&queue));
  async_queue_destroy(&queue);
  return rc;
}

static void test_queue_get_times_out_inside_a_timeout_scope(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(get_times_out, NULL), 0);
  assert_string_equal(log_text, "G:ETIMEDOUT exit:ETIMEDOUT item-1 size1");
}

static void test_queue_blocking_calls_outside_a_task_are_eperm(void **state) {
  (void)state;
  async_queue_t queue;
  assert_int_equal(async_queue_init(&queue, 1), 0);
  void *item;
  assert_int_equal(async_queue_put(&queue, ITEM(1)), UV_EPERM);
  assert_int_equal(async_queue_size(&queue), 0);
  assert_int_equal(async_queue_get(&queue, &item), UV_EPERM);
  assert_int_equal(async_queue_join(&queue), UV_EPERM);
  async_queue_destroy(&queue);
}

static void test_queue_init_too_large_is_enomem(void **state) {
  (void)state;
  async_queue_t queue;
  assert_int_equal(async_queue_init(&queue, SIZE_MAX), UV_ENOMEM);
  assert_int_equal(async_queue_init(&queue, SIZE_MAX / 2), UV_ENOMEM);
}

static int null_queue(void *arg) {
  (void)arg;
  async_queue_t queue;
  if (async_queue_init(&queue, 0) != 0) return UV_ENOMEM;
  void *item;
  log_add("%s", async_err_name(async_queue_init(NULL, 0)));
  log_add("%s", async_err_name(async_queue_put(NULL, ITEM(1))));
  log_add("%s", async_err_name(async_queue_put_nowait(NULL, ITEM(1))));
  log_add("%s", async_err_name(async_queue_get(NULL, &item)));
  log_add("%s", async_err_name(async_queue_get(&queue, NULL)));
  log_add("%s", async_err_name(async_queue_get_nowait(NULL, &item)));
  log_add("%s", async_err_name(async_queue_get_nowait(&queue, NULL)));
  log_add("%s", async_err_name(async_queue_task_done(NULL)));
  log_add("%s", async_err_name(async_queue_join(NULL)));
  log_add("%zu %d %d", async_queue_size(NULL), async_queue_empty(NULL),
          async_queue_full(NULL));
  async_queue_destroy(NULL); /* harmless */
  async_queue_destroy(&queue);
  return 0;
}

static void test_queue_null_is_einval(void **state) {
  (void)state;
  log_reset();
  assert_int_equal(harness_run(null_queue, NULL), 0);
  assert_string_equal(log_text, "EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL "
                                "EINVAL EINVAL EINVAL 0 1 0");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_queue_is_fifo),
    cmocka_unit_test(test_queue_put_blocks_when_full),
    cmocka_unit_test(
        test_queue_get_blocks_when_empty_and_getters_are_served_in_order),
    cmocka_unit_test(test_queue_nowait_variants),
    cmocka_unit_test(test_queue_size_empty_and_full),
    cmocka_unit_test(test_queue_ring_wraps_around_and_grows_in_order),
    cmocka_unit_test(test_queue_task_done_below_zero_is_einval),
    cmocka_unit_test(test_queue_join_waits_for_task_done),
    cmocka_unit_test(
        test_queue_join_returns_at_once_when_nothing_is_unfinished),
    cmocka_unit_test(test_queue_cancelled_getter_passes_item_on),
    cmocka_unit_test(test_queue_cancelled_putter_passes_space_on),
    cmocka_unit_test(test_queue_cancelled_getter_leaves_the_line),
    cmocka_unit_test(test_queue_woken_getter_waits_again_if_the_item_is_gone),
    cmocka_unit_test(test_queue_calls_in_a_cancelled_task_are_ecanceled),
    cmocka_unit_test(test_queue_join_when_cancelled_is_ecanceled),
    cmocka_unit_test(test_queue_get_times_out_inside_a_timeout_scope),
    cmocka_unit_test(test_queue_blocking_calls_outside_a_task_are_eperm),
    cmocka_unit_test(test_queue_init_too_large_is_enomem),
    cmocka_unit_test(test_queue_null_is_einval))
