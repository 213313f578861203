/* test_check_progress.c: check mode's starvation, livelock and loop-hog
 * reports, each next to the same program with the bug fixed.
 */
#include "harness.h"
#include "log.h"
#include "tools.h"
#include "check_tools.h"

#include <time.h>

/* ---- Starvation: a polite philosopher among greedy ones ---- */

typedef struct dining {
  async_lock_t fork;
  bool polite_waits_in_line; /* the fix */
  int polite_meals;
  int want_line;
} dining_t;

static int greedy(void *arg) {
  dining_t *dining = arg;
  for (int meal = 0; meal < 30; meal++) {
    async_check_want("to eat");
    int rc = async_lock_acquire(&dining->fork);
    if (rc != 0) return rc;
    async_check_progress("ate");
    rc = async_sleep(1.0); /* eats holding the fork */
    async_lock_release(&dining->fork);
    if (rc != 0) return rc;
  }
  return 0;
}

static int polite(void *arg) {
  dining_t *dining = arg;
  dining->want_line = __LINE__ + 1;
  async_check_want("to eat");
  if (dining->polite_waits_in_line) {
    int rc = async_lock_acquire(&dining->fork);
    if (rc != 0) return rc;
  } else {
    /* Tries, and backs off: the greedy ones, waiting in line, always have
     * the fork or the next turn. */
    while (!async_lock_try_acquire(&dining->fork)) {
      int rc = async_sleep(0.5);
      if (rc != 0) return rc;
    }
  }
  async_check_progress("ate");
  dining->polite_meals++;
  async_lock_release(&dining->fork);
  return 0;
}

static int dine(void *arg) {
  dining_t *dining = arg;
  async_lock_init(&dining->fork);
  async_task_t *tasks[] = {async_spawn("greedy-1", greedy, dining),
                           async_spawn("greedy-2", greedy, dining),
                           async_spawn("polite", polite, dining)};
  int rc = async_gather(tasks, 3, NULL, 0);
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_a_task_that_only_tries_starves_and_is_reported(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  dining_t dining = {.polite_waits_in_line = false};
  outcome_t outcome = run_captured(dine, &dining);
  char line[256];
  snprintf(line, sizeof line,
           "starvation: task 'polite' has wanted to eat since 0.000 s (at "
           "test_check_progress.c:%d), 10.",
           dining.want_line);
  assert_contains(outcome.err, line);
  assert_contains(outcome.err, "other tasks made progress ");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"starvation\"");
  outcome_free(&outcome);
  check_env_restore();
}

static void test_waiting_in_line_does_not_starve(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  dining_t dining = {.polite_waits_in_line = true};
  outcome_t outcome = run_captured(dine, &dining);
  assert_int_equal(outcome.rc, 0);
  assert_int_equal(dining.polite_meals, 1);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

/* A task that wanted to eat, then left the table without eating: it
 * cannot starve once it has returned. */
static int quitter(void *arg) {
  (void)arg;
  async_check_want("to eat");
  return 0;
}

static int dine_with_a_quitter(void *arg) {
  dining_t *dining = arg;
  async_lock_init(&dining->fork);
  async_task_t *tasks[] = {async_spawn("quitter", quitter, dining),
                           async_spawn("greedy-1", greedy, dining),
                           async_spawn("greedy-2", greedy, dining)};
  int rc = async_gather(tasks, 3, NULL, 0);
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_a_task_that_returned_does_not_starve(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  dining_t dining = {0};
  outcome_t outcome = run_captured(dine_with_a_quitter, &dining);
  assert_int_equal(outcome.rc, 0);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- Starvation reports are grouped ---- */

enum { POLITE_MANY = 20 };

static int dine_with_many_polite(void *arg) {
  dining_t *dining = arg;
  async_lock_init(&dining->fork);
  async_task_t *tasks[2 + POLITE_MANY];
  tasks[0] = async_spawn("greedy-1", greedy, dining);
  tasks[1] = async_spawn("greedy-2", greedy, dining);
  for (int i = 0; i < POLITE_MANY; i++) {
    char name[16];
    snprintf(name, sizeof name, "polite-%d", i);
    tasks[2 + i] = async_spawn(name, polite, dining);
  }
  int rc = async_gather(tasks, 2 + POLITE_MANY, NULL, 0);
  for (int i = 0; i < 2 + POLITE_MANY; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_tasks_starving_the_same_way_are_one_report(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  dining_t dining = {.polite_waits_in_line = false};
  outcome_t outcome = run_captured(dine_with_many_polite, &dining);
  assert_contains(outcome.err,
                  "starvation: 20 tasks ('polite-0', 'polite-1', 'polite-2' "
                  "and 17 more); the first has wanted to eat since 0.000 s");
  assert_contains(outcome.err, "only tries (try_acquire, polling)");
  assert_int_equal(count_occurrences(outcome.err, "starvation:"), 1);
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "\"task_count\":20");
  outcome_free(&outcome);
  check_env_restore();
}

/* The same, but each polite task sits down a second after the last: they
 * start starving one check apart. One report, and a count at the end. */
static int polite_later(void *arg) {
  dining_t *dining = arg;
  int rc = async_sleep(1.0 * (double)(async_task_id(async_current_task()) % 8));
  return rc != 0 ? rc : polite(dining);
}

static int dine_with_late_polite(void *arg) {
  dining_t *dining = arg;
  async_lock_init(&dining->fork);
  async_task_t *tasks[2 + 8];
  tasks[0] = async_spawn("greedy-1", greedy, dining);
  tasks[1] = async_spawn("greedy-2", greedy, dining);
  for (int i = 0; i < 8; i++) {
    char name[16];
    snprintf(name, sizeof name, "late-%d", i);
    tasks[2 + i] = async_spawn(name, polite_later, dining);
  }
  int rc = async_gather(tasks, 2 + 8, NULL, 0);
  for (int i = 0; i < 2 + 8; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_later_tasks_starving_the_same_way_are_counted(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  dining_t dining = {.polite_waits_in_line = false};
  outcome_t outcome = run_captured(dine_with_late_polite, &dining);
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.err, "more tasks starved the same way as reported "
                               "above (wanting at test_check_progress.c:");
  outcome_free(&outcome);
  check_env_restore();
}

/* Ordered forks, when every acquire yields first: philosopher i holds
 * fork i and waits in line for fork i + 1, a chain that lets one eat at a
 * time. Each waits in line, yet starves. */
enum { CHAIN = 30 };

typedef struct chain {
  async_lock_t forks[CHAIN];
} chain_t;

static chain_t *the_chain;

static int chained_philosopher(void *arg) {
  int i = (int)(intptr_t)arg;
  int low = i, high = (i + 1) % CHAIN;
  if (low > high) {
    int swap = low;
    low = high;
    high = swap;
  }
  for (int meal = 0; meal < 3; meal++) {
    async_check_want("to eat");
    int rc = async_lock_acquire(&the_chain->forks[low]);
    if (rc != 0) return rc;
    rc = async_lock_acquire(&the_chain->forks[high]);
    if (rc == 0) {
      async_check_progress("ate");
      rc = async_sleep(1.0);
      async_lock_release(&the_chain->forks[high]);
    }
    async_lock_release(&the_chain->forks[low]);
    if (rc != 0) return rc;
  }
  return 0;
}

static int dine_in_a_chain(void *arg) {
  the_chain = arg;
  async_task_t *tasks[CHAIN];
  for (int i = 0; i < CHAIN; i++) async_lock_init(&the_chain->forks[i]);
  for (int i = 0; i < CHAIN; i++) {
    char name[16];
    snprintf(name, sizeof name, "P%d", i);
    tasks[i] = async_spawn(name, chained_philosopher, (void *)(intptr_t)i);
  }
  int rc = async_gather(tasks, CHAIN, NULL, 0);
  for (int i = 0; i < CHAIN; i++) async_task_release(tasks[i]);
  return rc;
}

static void test_a_chain_of_waits_starves_and_the_fix_says_so(void **state) {
  (void)state;
  check_env_schedule("fifo-yield", -1);
  check_env_set("ASYNC_STARVATION", "5");
  chain_t chain;
  outcome_t outcome = run_captured(dine_in_a_chain, &chain);
  assert_int_equal(outcome.rc, 0);
  assert_contains(outcome.err, "tasks ('P0', 'P1', 'P2' and ");
  assert_contains(outcome.err, "each now waits for a lock at ");
  assert_contains(outcome.err, "form chains that serialise everyone");
  assert_not_contains(outcome.err, "only tries");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- Livelock: two tasks that back off in step ---- */

typedef struct hallway {
  async_lock_t a, b;
  bool ordered; /* the fix: both take a, then b */
  int passes;
} hallway_t;

typedef struct walker {
  hallway_t *hallway;
  async_lock_t *first, *second;
} walker_t;

static int walk(void *arg) {
  walker_t *walker = arg;
  for (int pass = 0; pass < 3; pass++) {
    async_check_want("to pass");
    for (;;) {
      int rc = async_lock_acquire(walker->first);
      if (rc != 0) return rc;
      rc = async_yield();
      if (rc != 0) {
        async_lock_release(walker->first);
        return rc;
      }
      if (async_lock_try_acquire(walker->second)) break;
      rc = async_yield();                /* hesitate... */
      async_lock_release(walker->first); /* ...step aside, try again */
      if (rc == 0) rc = async_yield();
      if (rc != 0) return rc;
    }
    async_check_progress("passed");
    walker->hallway->passes++;
    async_lock_release(walker->second);
    async_lock_release(walker->first);
  }
  return 0;
}

static int two_in_a_hallway(void *arg) {
  hallway_t *hallway = arg;
  async_lock_init(&hallway->a);
  async_lock_init(&hallway->b);
  walker_t left = {hallway, &hallway->a, &hallway->b};
  walker_t right = {hallway, hallway->ordered ? &hallway->a : &hallway->b,
                    hallway->ordered ? &hallway->b : &hallway->a};
  async_task_t *tasks[] = {async_spawn("left", walk, &left),
                           async_spawn("right", walk, &right)};
  int rc = async_gather(tasks, 2, NULL, ASYNC_RETURN_ERRORS);
  async_task_release(tasks[0]);
  async_task_release(tasks[1]);
  return rc;
}

static void test_backing_off_in_step_for_ever_is_a_livelock(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  check_env_set("ASYNC_LIVELOCK_STEPS", "2000");
  hallway_t hallway = {.ordered = false};
  outcome_t outcome = run_captured(two_in_a_hallway, &hallway);
  assert_int_equal(hallway.passes, 0);
  assert_contains(outcome.err, "livelock: tasks keep running, but none has "
                               "made progress for 0.000 s and 2001 steps");
  assert_contains(outcome.err, "task 'left' (#2) [");
  assert_contains(outcome.err, "The waits return ASYNC_EDEADLK now.");
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"livelock\"");
  outcome_free(&outcome);
  check_env_restore();
}

static void test_one_order_for_both_passes_without_a_livelock(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  check_env_set("ASYNC_LIVELOCK_STEPS", "2000");
  hallway_t hallway = {.ordered = true};
  outcome_t outcome = run_captured(two_in_a_hallway, &hallway);
  assert_int_equal(outcome.rc, 0);
  assert_int_equal(hallway.passes, 6);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

/* ---- Loop hogs ---- */

/* The budget, and twice as much work: valgrind makes every step slower. */
static double budget_ms(void) {
  return under_valgrind() ? 300 : 40;
}

typedef struct cruncher {
  bool yields; /* the fix: a yield every few milliseconds */
  int start_line, end_line;
} cruncher_t;

static double real_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

static int crunch(void *arg) {
  cruncher_t *cruncher = arg;
  cruncher->start_line = __LINE__ + 1;
  async_yield();
  double start = real_ms(), last_yield = start;
  while (real_ms() - start < 2 * budget_ms()) { /* the work */
    if (cruncher->yields && real_ms() - last_yield > budget_ms() / 8) {
      async_yield();
      last_yield = real_ms();
    }
  }
  cruncher->end_line = __LINE__ + 1;
  return async_yield();
}

static int ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) async_yield();
  return 0;
}

static int crunch_beside_a_ticker(void *arg) {
  async_task_t *tasks[] = {async_spawn("cruncher", crunch, arg),
                           async_spawn("ticker", ticker, NULL)};
  int rc = async_gather(tasks, 2, NULL, 0);
  async_task_release(tasks[0]);
  async_task_release(tasks[1]);
  return rc;
}

static void
test_a_task_that_hogs_the_loop_is_named_with_its_lines(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  char budget[16];
  snprintf(budget, sizeof budget, "%.0f", budget_ms());
  check_env_set("ASYNC_HOG_MS", budget);
  cruncher_t cruncher = {.yields = false};
  outcome_t outcome = run_captured(crunch_beside_a_ticker, &cruncher);
  char line[256];
  snprintf(line, sizeof line,
           "without an await, from the await at test_check_progress.c:%d to "
           "test_check_progress.c:%d: every other task waited that long.",
           cruncher.start_line, cruncher.end_line);
  assert_contains(outcome.err, "loop hog: task 'cruncher' ran for 0.");
  assert_contains(outcome.err, line);
  assert_int_equal(count_occurrences(outcome.findings, "\n"), 1);
  assert_contains(outcome.findings, "{\"kind\":\"loop-hog\"");
  outcome_free(&outcome);
  check_env_restore();
}

static void test_work_split_by_yields_does_not_hog(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  char budget[16];
  snprintf(budget, sizeof budget, "%.0f", budget_ms());
  check_env_set("ASYNC_HOG_MS", budget);
  cruncher_t cruncher = {.yields = true};
  outcome_t outcome = run_captured(crunch_beside_a_ticker, &cruncher);
  assert_int_equal(outcome.rc, 0);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

/* A task that returns while the loop then waits for real work (a thread)
 * did not hog it: its stretch ended at its return. */
static int block_a_while(void *arg) {
  (void)arg;
  struct timespec nap = {0, 200 * 1000 * 1000};
  nanosleep(&nap, NULL);
  return 0;
}

static int quick(void *arg) {
  (void)arg;
  return 0;
}

static int return_then_wait_for_a_thread(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("quick", quick, NULL);
  int rc = async_to_thread(block_a_while, NULL);
  if (rc == 0) rc = async_task_join(task);
  async_task_release(task);
  return rc;
}

static void
test_a_task_that_returned_is_not_timed_while_the_loop_waits(void **state) {
  (void)state;
  check_env_schedule("fifo", -1);
  check_env_set("ASYNC_HOG_MS", "50");
  outcome_t outcome = run_captured(return_then_wait_for_a_thread, NULL);
  assert_int_equal(outcome.rc, 0);
  assert_string_equal(outcome.findings, "");
  outcome_free(&outcome);
  check_env_restore();
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_a_task_that_only_tries_starves_and_is_reported),
    cmocka_unit_test(test_waiting_in_line_does_not_starve),
    cmocka_unit_test(test_a_task_that_returned_does_not_starve),
    cmocka_unit_test(test_tasks_starving_the_same_way_are_one_report),
    cmocka_unit_test(test_later_tasks_starving_the_same_way_are_counted),
    cmocka_unit_test(test_a_chain_of_waits_starves_and_the_fix_says_so),
    cmocka_unit_test(test_backing_off_in_step_for_ever_is_a_livelock),
    cmocka_unit_test(test_one_order_for_both_passes_without_a_livelock),
    cmocka_unit_test(test_a_task_that_hogs_the_loop_is_named_with_its_lines),
    cmocka_unit_test(test_work_split_by_yields_does_not_hog),
    cmocka_unit_test(
        test_a_task_that_returned_is_not_timed_while_the_loop_waits))
