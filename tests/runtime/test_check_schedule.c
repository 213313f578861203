/* test_check_schedule.c: check mode's seeded schedules (fifo, fifo-yield,
 * random, pct) and its choice points.
 *
 * Workers note each step in log_text; the interleaving is that string. A
 * step ends with a call that may block but need not (a free lock, a
 * non-empty queue, sleep(0)...): under fifo it does not switch tasks, under
 * the other schedules it is a point where another task may run.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

typedef enum step_kind {
  STEP_YIELD,
  STEP_SLEEP_0,
  STEP_FREE_LOCK,
  STEP_NON_EMPTY_QUEUE,
  STEP_SET_EVENT,
  STEP_FREE_SEMAPHORE,
  STEP_JOIN_FINISHED,
  STEP_GATHER_FINISHED
} step_kind_t;

static async_task_t *finished; /* a task that has returned */

static int return_at_once(void *arg) {
  (void)arg;
  return 0;
}

typedef struct worker {
  char name;
  int steps;
  step_kind_t kind;
} worker_t;

/* One call that may block, on an object nobody else uses: it never has
 * to wait. */
static int may_block(step_kind_t kind) {
  switch (kind) {
  case STEP_YIELD:
    return async_yield();
  case STEP_SLEEP_0:
    return async_sleep(0);
  case STEP_FREE_LOCK: {
    async_lock_t lock;
    async_lock_init(&lock);
    int rc = async_lock_acquire(&lock);
    if (rc == 0) async_lock_release(&lock);
    return rc;
  }
  case STEP_NON_EMPTY_QUEUE: {
    async_queue_t queue;
    async_queue_init(&queue, 0);
    async_queue_put_nowait(&queue, &queue);
    void *item;
    int rc = async_queue_get(&queue, &item);
    async_queue_destroy(&queue);
    return rc;
  }
  case STEP_SET_EVENT: {
    async_event_t event;
    async_event_init(&event);
    async_event_set(&event);
    return async_event_wait(&event);
  }
  case STEP_FREE_SEMAPHORE: {
    async_semaphore_t sem;
    async_semaphore_init(&sem, 1);
    int rc = async_semaphore_acquire(&sem);
    if (rc == 0) async_semaphore_release(&sem);
    return rc;
  }
  case STEP_JOIN_FINISHED:
    return async_task_join(finished);
  case STEP_GATHER_FINISHED:
    return async_gather(&finished, 1, NULL, 0);
  }
  return UV_EINVAL;
}

static int work(void *arg) {
  worker_t *worker = arg;
  for (int i = 1; i <= worker->steps; i++) {
    log_add("%c%d", worker->name, i);
    int rc = may_block(worker->kind);
    if (rc != 0) return rc;
  }
  return 0;
}

typedef struct crew {
  int workers;
  int steps;
  step_kind_t kind;
} crew_t;

static int run_crew(void *arg) {
  crew_t *crew = arg;
  worker_t workers[8];
  async_task_t *tasks[8];
  finished = async_spawn("finished", return_at_once, NULL);
  int rc = async_task_join(finished);
  if (rc != 0) return rc;
  for (int i = 0; i < crew->workers; i++) {
    workers[i] = (worker_t){(char)('A' + i), crew->steps, crew->kind};
    char name[2] = {(char)('A' + i), '\0'};
    tasks[i] = async_spawn(name, work, &workers[i]);
  }
  rc = async_gather(tasks, (size_t)crew->workers, NULL, 0);
  for (int i = 0; i < crew->workers; i++) async_task_release(tasks[i]);
  async_task_release(finished);
  return rc;
}

/* The interleaving of a crew under a schedule and seed (malloc'd). */
static char *interleaving(const char *schedule, long long seed, crew_t crew) {
  if (schedule != NULL)
    check_env_schedule(schedule, seed);
  else
    check_env_set("ASYNC_CHECK", NULL);
  log_reset();
  assert_int_equal(harness_run(run_crew, &crew), 0);
  check_env_restore();
  return strdup(log_text);
}

static void
test_fifo_keeps_the_order_of_a_run_without_check_mode(void **state) {
  (void)state;
  for (step_kind_t kind = STEP_YIELD; kind <= STEP_GATHER_FINISHED; kind++) {
    crew_t crew = {3, 3, kind};
    char *plain = interleaving(NULL, -1, crew);
    char *fifo = interleaving("fifo", -1, crew);
    assert_string_equal(fifo, plain);
    free(plain);
    free(fifo);
  }
}

static void test_the_same_seed_gives_the_same_interleaving(void **state) {
  (void)state;
  const char *schedules[] = {"random", "pct"};
  for (int s = 0; s < 2; s++) {
    for (long long seed = 1; seed <= 20; seed++) {
      crew_t crew = {4, 5, STEP_YIELD};
      char *first = interleaving(schedules[s], seed, crew);
      char *second = interleaving(schedules[s], seed, crew);
      assert_string_equal(first, second);
      free(first);
      free(second);
    }
  }
}

/* How many distinct interleavings seeds 1..count give. */
static size_t distinct_interleavings(const char *schedule, size_t count,
                                     crew_t crew) {
  char **seen = calloc(count, sizeof *seen);
  size_t distinct = 0;
  for (size_t seed = 1; seed <= count; seed++) {
    char *text = interleaving(schedule, (long long)seed, crew);
    bool known = false;
    for (size_t i = 0; i < distinct && !known; i++)
      known = strcmp(seen[i], text) == 0;
    if (known)
      free(text);
    else
      seen[distinct++] = text;
  }
  for (size_t i = 0; i < distinct; i++) free(seen[i]);
  free(seen);
  return distinct;
}

static void test_different_seeds_give_different_interleavings(void **state) {
  (void)state;
  crew_t crew = {4, 5, STEP_YIELD};
  assert_true(distinct_interleavings("random", 20, crew) >= 15);
  assert_true(distinct_interleavings("pct", 20, crew) >= 5);
}

/* Whether, across seeds 1..50, some run lets B in between A's two halves
 * of a one-step task: "A1 B1 ..." instead of fifo's "A1 ... ". */
static bool another_task_runs_inside(const char *schedule, step_kind_t kind) {
  for (long long seed = 1; seed <= 50; seed++) {
    crew_t crew = {2, 2, kind};
    char *text = interleaving(schedule, seed, crew);
    /* fifo runs A1, then A's call does not switch: A2 comes next. */
    bool inside = strncmp(text, "A1 A2", 5) != 0;
    free(text);
    if (inside) return true;
  }
  return false;
}

static void test_every_call_that_may_block_is_a_choice_point(void **state) {
  (void)state;
  for (step_kind_t kind = STEP_YIELD; kind <= STEP_GATHER_FINISHED; kind++) {
    crew_t crew = {2, 2, kind};
    char *fifo = interleaving("fifo", -1, crew);
    /* Under fifo a call that need not wait does not switch, except the
     * yields, which always do. */
    if (kind == STEP_YIELD || kind == STEP_SLEEP_0)
      assert_string_equal(fifo, "A1 B1 A2 B2");
    else
      assert_string_equal(fifo, "A1 A2 B1 B2");
    free(fifo);
    char *fifo_yield = interleaving("fifo-yield", -1, crew);
    assert_string_equal(fifo_yield, "A1 B1 A2 B2");
    free(fifo_yield);
    assert_true(another_task_runs_inside("random", kind));
  }
}

/* Splits an interleaving into runs of one worker's steps: how many. */
static int runs_of_one_task(const char *text) {
  int runs = 0;
  char last = '\0';
  for (const char *word = text; *word; word++) {
    if (word != text && word[-1] != ' ') continue;
    if (*word != last) runs++;
    last = *word;
  }
  return runs;
}

static void test_pct_runs_the_ready_task_of_highest_priority(void **state) {
  (void)state;
  /* Depth 1: no change point. The task of highest priority runs until it
   * finishes, yields or not: each worker's steps come in one run. */
  size_t orders = 0;
  char first_letters[40][5] = {{0}};
  for (long long seed = 1; seed <= 40; seed++) {
    check_env_set("ASYNC_PCT_DEPTH", "1");
    char *text = interleaving("pct", seed, (crew_t){4, 3, STEP_YIELD});
    assert_int_equal(runs_of_one_task(text), 4);
    char letters[5] = {text[0], text[6], text[12], text[18], '\0'};
    bool known = false;
    for (size_t i = 0; i < orders && !known; i++)
      known = strcmp(first_letters[i], letters) == 0;
    if (!known) memcpy(first_letters[orders++], letters, 5);
    free(text);
  }
  /* The priorities are random: several orders of the four. */
  assert_true(orders >= 6);
}

static void
test_pct_changes_priorities_at_depth_minus_one_points(void **state) {
  (void)state;
  /* Depth 3: two change points, each ending at most one run early. */
  bool some_preempted = false;
  for (long long seed = 1; seed <= 40; seed++) {
    check_env_set("ASYNC_PCT_DEPTH", "3");
    check_env_set("ASYNC_PCT_STEPS", "20");
    char *text = interleaving("pct", seed, (crew_t){4, 3, STEP_YIELD});
    int runs = runs_of_one_task(text);
    assert_true(runs >= 4 && runs <= 6);
    if (runs > 4) some_preempted = true;
    free(text);
  }
  assert_true(some_preempted);
}

static void test_random_schedules_are_uniform_enough(void **state) {
  (void)state;
  /* Two workers, one step each after a yield: who goes first at the choice
   * point is a coin toss per seed. */
  int a_first = 0;
  for (long long seed = 1; seed <= 200; seed++) {
    char *text = interleaving("random", seed, (crew_t){2, 1, STEP_YIELD});
    if (text[0] == 'A') a_first++;
    free(text);
  }
  assert_true(a_first > 60 && a_first < 140);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_fifo_keeps_the_order_of_a_run_without_check_mode),
    cmocka_unit_test(test_the_same_seed_gives_the_same_interleaving),
    cmocka_unit_test(test_different_seeds_give_different_interleavings),
    cmocka_unit_test(test_every_call_that_may_block_is_a_choice_point),
    cmocka_unit_test(test_pct_runs_the_ready_task_of_highest_priority),
    cmocka_unit_test(test_pct_changes_priorities_at_depth_minus_one_points),
    cmocka_unit_test(test_random_schedules_are_uniform_enough))
