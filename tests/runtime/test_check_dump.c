/* test_check_dump.c: the task dump, Go style and grouped: from
 * async_dump_tasks(), and on SIGQUIT in check mode.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

#include <signal.h>
#include <time.h>

typedef struct scene {
  async_event_t never;
  async_lock_t ledger;
  int wait_line, spawn_line, hold_line, want_line, sleep_line;
  char *dump;
} scene_t;

static int wait_for_never(void *arg) {
  scene_t *scene = arg;
  scene->wait_line = __LINE__ + 1;
  return async_event_wait(&scene->never);
}

static int hold_the_ledger(void *arg) {
  scene_t *scene = arg;
  scene->hold_line = __LINE__ + 1;
  int rc = async_lock_acquire(&scene->ledger);
  if (rc != 0) return rc;
  rc = async_event_wait(&scene->never);
  async_lock_release(&scene->ledger);
  return rc;
}

static int want_the_ledger(void *arg) {
  scene_t *scene = arg;
  scene->want_line = __LINE__ + 1;
  int rc = async_lock_acquire(&scene->ledger);
  if (rc == 0) async_lock_release(&scene->ledger);
  return rc;
}

static int nap(void *arg) {
  scene_t *scene = arg;
  scene->sleep_line = __LINE__ + 1;
  return async_sleep(60);
}

/* Sets the scene, dumps it into a file, reads it back, cancels it all. */
static int dump_a_scene(void *arg) {
  scene_t *scene = arg;
  async_event_init(&scene->never);
  async_lock_init(&scene->ledger);
  async_lock_set_name(&scene->ledger, "the ledger");
  async_task_t *tasks[53];
  for (int i = 0; i < 50; i++) {
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    scene->spawn_line = __LINE__ + 1;
    tasks[i] = async_spawn(name, wait_for_never, scene);
  }
  tasks[50] = async_spawn("holder", hold_the_ledger, scene);
  tasks[51] = async_spawn("wanter", want_the_ledger, scene);
  tasks[52] = async_spawn("napper", nap, scene);
  async_sleep(2.5);

  FILE *file = tmpfile();
  async_dump_tasks(file);
  long length = ftell(file);
  rewind(file);
  scene->dump = calloc(1, (size_t)length + 1);
  if (fread(scene->dump, 1, (size_t)length, file) != (size_t)length) abort();
  fclose(file);

  for (int i = 0; i < 53; i++) async_task_cancel(tasks[i]);
  for (int i = 0; i < 53; i++) join_and_release(tasks[i]);
  return 0;
}

static void test_the_dump_groups_tasks_that_look_the_same(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  scene_t scene = {0};
  assert_int_equal(harness_run(dump_a_scene, &scene), 0);
  const char *dump = scene.dump;
  assert_contains(dump, "async: task dump at 2.500 s: 54 unfinished tasks");
  assert_contains(dump, "task 'main' (#1) [running]");
  char line[256];
  snprintf(line, sizeof line,
           "50 tasks ('t0', 't1', 't2' and 47 more) [waiting for an event, "
           "since 0.000 s] at test_check_dump.c:%d\n"
           "      created at test_check_dump.c:%d\n",
           scene.wait_line, scene.spawn_line);
  assert_contains(dump, line);
  assert_int_equal(count_occurrences(dump, "'t4"), 0); /* grouped */
  snprintf(line, sizeof line,
           "task 'holder' (#52) [waiting for an event, since 0.000 s] at "
           "test_check_dump.c:%d\n"
           "      holds the ledger (taken at test_check_dump.c:%d)\n",
           scene.hold_line + 2, scene.hold_line);
  assert_contains(dump, line);
  snprintf(line, sizeof line,
           "task 'wanter' (#53) [waiting for a lock (the ledger, held by "
           "'holder'), since 0.000 s] at test_check_dump.c:%d",
           scene.want_line);
  assert_contains(dump, line);
  snprintf(line, sizeof line,
           "task 'napper' (#54) [waiting for sleep, since 0.000 s] at "
           "test_check_dump.c:%d",
           scene.sleep_line);
  assert_contains(dump, line);
  free(scene.dump);
  check_env_restore();
}

/* ---- A lock taken with try_acquire names its line too ---- */

typedef struct till {
  async_lock_t lock;
  async_event_t never;
  int take_line;
  char *dump;
} till_t;

static int try_the_till(void *arg) {
  till_t *till = arg;
  till->take_line = __LINE__ + 1;
  if (!async_lock_try_acquire(&till->lock)) return UV_EBUSY;
  int rc = async_event_wait(&till->never);
  async_lock_release(&till->lock);
  return rc;
}

static int dump_the_till(void *arg) {
  till_t *till = arg;
  async_lock_init(&till->lock);
  async_lock_set_name(&till->lock, "the till");
  async_event_init(&till->never);
  async_task_t *task = async_spawn("cashier", try_the_till, till);
  async_sleep(1.0);
  FILE *file = tmpfile();
  async_dump_tasks(file);
  long length = ftell(file);
  rewind(file);
  till->dump = calloc(1, (size_t)length + 1);
  if (fread(till->dump, 1, (size_t)length, file) != (size_t)length) abort();
  fclose(file);
  async_task_cancel(task);
  join_and_release(task);
  return 0;
}

static void test_a_lock_taken_by_try_acquire_shows_where(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  till_t till = {0};
  assert_int_equal(harness_run(dump_the_till, &till), 0);
  char line[128];
  snprintf(line, sizeof line, "holds the till (taken at test_check_dump.c:%d)",
           till.take_line);
  assert_contains(till.dump, line);
  free(till.dump);
  check_env_restore();
}

static void test_the_dump_works_without_check_mode_too(void **state) {
  (void)state;
  check_env_set("ASYNC_CHECK", NULL);
  scene_t scene = {0};
  assert_int_equal(harness_run(dump_a_scene, &scene), 0);
  assert_contains(scene.dump, "50 tasks ('t0', 't1', 't2' and 47 more) "
                              "[waiting for an event, since ");
  /* Who holds what is check mode's bookkeeping. */
  assert_not_contains(scene.dump, "holds");
  free(scene.dump);
  check_env_restore();
}

static int quit_and_carry_on(void *arg) {
  (void)arg;
  async_task_t *sleeper = async_spawn("sleeper", nap, &(scene_t){0});
  async_yield(); /* the sleeper starts sleeping */
  kill(getpid(), SIGQUIT);
  /* Seen at the next step, or when the loop next polls. */
  for (int i = 0; i < 10; i++) async_yield();
  log_add("still here");
  async_task_cancel(sleeper);
  return join_and_release(sleeper);
}

static void test_sigquit_prints_the_dump_and_the_program_goes_on(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  log_reset();
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run(quit_and_carry_on, NULL);
  char *err = stderr_capture_end(&capture);
  assert_int_equal(rc, UV_ECANCELED);
  assert_string_equal(log_text, "still here");
  assert_contains(err, "async: task dump at 0.000 s: 2 unfinished tasks");
  assert_contains(err, "task 'sleeper' (#2) [waiting for sleep");
  free(err);
  check_env_restore();
}

/* On the thread pool: SIGQUIT arrives while the loop waits for real. */
static int quit_then_block(void *arg) {
  (void)arg;
  kill(getpid(), SIGQUIT);
  struct timespec pause = {0, 200 * 1000 * 1000};
  nanosleep(&pause, NULL);
  return 0;
}

static int wait_for_a_thread(void *arg) {
  (void)arg;
  return async_to_thread(quit_then_block, NULL);
}

static void
test_sigquit_during_a_real_wait_prints_the_dump_at_once(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  stderr_capture_t capture;
  stderr_capture_begin(&capture);
  int rc = harness_run(wait_for_a_thread, NULL);
  char *err = stderr_capture_end(&capture);
  assert_int_equal(rc, 0);
  /* Printed while main still waited for the thread. */
  assert_contains(err, "task 'main' (#1) [waiting for ");
  free(err);
  check_env_restore();
}

static void test_the_dump_outside_a_run_says_so(void **state) {
  (void)state;
  FILE *file = tmpfile();
  async_dump_tasks(file);
  rewind(file);
  char text[128] = "";
  if (fgets(text, sizeof text, file) == NULL) text[0] = '\0';
  fclose(file);
  assert_contains(text, "no async_run() on this thread");
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_the_dump_groups_tasks_that_look_the_same),
    cmocka_unit_test(test_the_dump_works_without_check_mode_too),
    cmocka_unit_test(test_a_lock_taken_by_try_acquire_shows_where),
    cmocka_unit_test(test_sigquit_prints_the_dump_and_the_program_goes_on),
    cmocka_unit_test(test_sigquit_during_a_real_wait_prints_the_dump_at_once),
    cmocka_unit_test(test_the_dump_outside_a_run_says_so))
