/* table.c: ex8's dining table: lays the forks, runs the philosophers, and
 * checks the dinner (kit-owned; do not edit).
 *
 * The checks the kit makes here hold in any mode: each philosopher eats
 * exactly its meals, puts its forks back, and two neighbours never eat at
 * once (each fork remembers who eats with it). In check mode, the same
 * rule is also an invariant that the runtime evaluates after every task
 * step, and eat() and think() say who is hungry and who ate, for the
 * starvation and livelock reports. Nothing here depends on how the forks
 * are taken: a correct way that does not use the fork locks at all passes
 * too.
 */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "philosopher.h"

/* The workshop's five philosophers; other tables number their guests. */
static const char *const five_names[] = {"Aristotle", "Kant", "Spinoza", "Marx",
                                         "Russell"};

int table_init(table_t *table, int size, int meals, double eat_seconds,
               double think_seconds, FILE *out) {
  memset(table, 0, sizeof *table);
  if (size < 2 || meals < 0 || !(eat_seconds >= 0) || !(think_seconds >= 0) ||
      isinf(eat_seconds) || isinf(think_seconds))
    return UV_EINVAL;
  table->size = size;
  table->meals = meals;
  table->eat_seconds = eat_seconds;
  table->think_seconds = think_seconds;
  table->out = out;
  table->forks = calloc((size_t)size, sizeof *table->forks);
  table->seats = calloc((size_t)size, sizeof *table->seats);
  table->fork_user = calloc((size_t)size, sizeof *table->fork_user);
  if (table->forks == NULL || table->seats == NULL ||
      table->fork_user == NULL) {
    table_free(table);
    return UV_ENOMEM;
  }
  for (int i = 0; i < size; i++) {
    seat_t *seat = &table->seats[i];
    seat->table = table;
    seat->index = i;
    if (size == 5)
      snprintf(seat->name, sizeof seat->name, "%s", five_names[i]);
    else
      snprintf(seat->name, sizeof seat->name, "P%d", i);
    seat->left = &table->forks[i];
    seat->right = &table->forks[(i + 1) % size];
  }
  return 0;
}

void table_free(table_t *table) {
  free(table->forks);
  free(table->seats);
  free(table->fork_user);
  table->forks = NULL;
  table->seats = NULL;
  table->fork_user = NULL;
}

/* ---- Meals ---- */

/* From now on the philosopher wants to eat: check mode's starvation watch
 * starts counting. */
static void become_hungry(seat_t *seat) {
  seat->hungry_since = async_time();
  async_check_want("to eat");
}

/* Two neighbours at the same fork: the fork was not theirs to share. */
static void note_clash(table_t *table, seat_t *seat, const seat_t *neighbour,
                       int fork) {
  if (table->clashes++ == 0)
    snprintf(table->first_clash, sizeof table->first_clash,
             "%s began eating at %.3f s while %s, beside them, was still "
             "eating: both ate with fork %d at once",
             seat->name, async_time() - table->start, neighbour->name, fork);
  /* The first few, as they happen; dinner() sums up the rest. */
  if (table->clashes > 3) return;
  if (table->out != NULL) fflush(table->out);
  fprintf(stderr,
          "dinner: %s began eating at %.3f s while %s was still eating: "
          "both ate with fork %d at once.\n",
          seat->name, async_time() - table->start, neighbour->name, fork);
}

int eat(seat_t *seat) {
  table_t *table = seat->table;
  /* The meal is the progress the starvation and livelock watches wait for;
   * they only ever see it here, not in the student's code. */
  async_check_progress("ate");
  double waited = async_time() - seat->hungry_since;
  if (waited > seat->longest_wait) seat->longest_wait = waited;
  const int forks[2] = {seat->index, (seat->index + 1) % table->size};
  for (int i = 0; i < 2; i++) {
    int user = table->fork_user[forks[i]];
    if (user >= 0 && user != seat->index)
      note_clash(table, seat, &table->seats[user], forks[i]);
    table->fork_user[forks[i]] = seat->index;
  }
  seat->eating = true;
  seat->meals_eaten++;
  if (table->out != NULL) fprintf(table->out, "%s eating\n", seat->name);
  int rc = async_sleep(table->eat_seconds);
  for (int i = 0; i < 2; i++)
    if (table->fork_user[forks[i]] == seat->index)
      table->fork_user[forks[i]] = -1;
  seat->eating = false;
  return rc;
}

int think(seat_t *seat) {
  table_t *table = seat->table;
  if (table->out != NULL) fprintf(table->out, "%s thinking\n", seat->name);
  int rc = async_sleep(table->think_seconds);
  become_hungry(seat);
  return rc;
}

/* ---- The dinner ---- */

/* The invariant check mode evaluates after every task step: O(1), as it
 * runs tens of thousands of times with a thousand philosophers. */
static bool no_neighbours_ate_at_once(void *arg) {
  const table_t *table = arg;
  return table->clashes == 0;
}

/* Each philosopher's task: hungry from the start, then the student's
 * philosopher(). Its result is kept in the seat and reported by dinner(),
 * so the task itself always succeeds: after a deadlock the runtime stops
 * every wait, the dinner's too, and nobody might be left to collect it. */
static int seat_task(void *arg) {
  seat_t *seat = arg;
  become_hungry(seat);
  seat->result = philosopher(seat);
  seat->left_table = true;
  return 0;
}

/* Says on stderr which philosophers did not eat exactly their meals: the
 * first few by name, then how many more (a thousand philosophers stuck the
 * same way are one line, not a thousand). */
static void report_unfinished(const table_t *table) {
  enum { NAMED = 3 };
  int named = 0;
  for (int i = 0; i < table->size; i++) {
    const seat_t *seat = &table->seats[i];
    if (seat->meals_eaten == table->meals && seat->result == 0 &&
        seat->left_table)
      continue;
    if (named++ == NAMED) break;
    if (!seat->left_table)
      fprintf(stderr,
              "dinner: %s ate %d of %d meals, and was still waiting when "
              "the dinner was stopped\n",
              seat->name, seat->meals_eaten, table->meals);
    else if (seat->result < 0)
      fprintf(stderr,
              "dinner: %s ate %d of %d meals: philosopher() returned %s "
              "(%s)\n",
              seat->name, seat->meals_eaten, table->meals,
              async_err_name(seat->result), async_strerror(seat->result));
    else
      fprintf(stderr, "dinner: %s ate %d of %d meals\n", seat->name,
              seat->meals_eaten, table->meals);
  }
  if (table->unfinished > NAMED)
    fprintf(stderr, "dinner: and %d more philosophers did not eat %d meals\n",
            table->unfinished - NAMED, table->meals);
}

int dinner(void *arg) {
  table_t *table = arg;
  table->clashes = 0;
  table->start = async_time();
  table->unfinished = 0;
  table->first_clash[0] = '\0';
  for (int i = 0; i < table->size; i++) {
    async_lock_init(&table->forks[i]);
    char name[32];
    snprintf(name, sizeof name, "fork %d", i);
    async_lock_set_name(&table->forks[i], name);
    table->fork_user[i] = -1;
    seat_t *seat = &table->seats[i];
    seat->meals_eaten = 0;
    seat->result = 0;
    seat->left_table = false;
    seat->eating = false;
    seat->longest_wait = 0;
  }
  int rc = dinner_prepare(table);
  if (rc < 0) {
    fprintf(stderr, "dinner: dinner_prepare() returned %s (%s)\n",
            async_err_name(rc), async_strerror(rc));
    return 1;
  }
  if (async_check_enabled()) {
    rc = async_check_invariant("neighbours never eat at once",
                               no_neighbours_ate_at_once, table);
    if (rc < 0) return rc;
  }

  async_task_t **tasks = calloc((size_t)table->size, sizeof *tasks);
  if (tasks == NULL) return UV_ENOMEM;
  table->start = async_time();
  int spawned = 0;
  for (; spawned < table->size; spawned++) {
    seat_t *seat = &table->seats[spawned];
    tasks[spawned] = async_spawn(seat->name, seat_task, seat);
    if (tasks[spawned] == NULL) break;
  }
  if (spawned < table->size) {
    for (int i = 0; i < spawned; i++) async_task_cancel(tasks[i]);
    rc = UV_ENOMEM;
  }
  /* Failures are the philosophers' to report (in seat->result): join only
   * waits for them. After a deadlock, check mode makes every wait return
   * ASYNC_EDEADLK, this one too: whoever has not left by then is stuck. */
  for (int i = 0; i < spawned; i++) {
    async_task_join(tasks[i]);
    async_task_release(tasks[i]);
  }
  free(tasks);
  table->duration = async_time() - table->start;
  if (rc < 0) return rc;

  for (int i = 0; i < table->size; i++) {
    const seat_t *seat = &table->seats[i];
    if (seat->meals_eaten != table->meals || seat->result != 0 ||
        !seat->left_table)
      table->unfinished++;
  }
  if (table->out != NULL) fflush(table->out);
  if (table->unfinished > 0) report_unfinished(table);
  if (table->clashes > 0)
    fprintf(stderr,
            "dinner: neighbours ate at once %d time%s; the first: %s.\n",
            table->clashes, table->clashes == 1 ? "" : "s", table->first_clash);
  /* Once every philosopher has left, a fork still taken was never put
   * down. */
  table->forks_left_taken = 0;
  bool everyone_left = true;
  for (int i = 0; i < table->size; i++)
    everyone_left = everyone_left && table->seats[i].left_table;
  for (int i = 0; everyone_left && i < table->size; i++) {
    if (!async_lock_locked(&table->forks[i])) continue;
    if (table->forks_left_taken++ == 0)
      fprintf(stderr, "dinner: fork %d was never put down", i);
  }
  if (table->forks_left_taken > 1)
    fprintf(stderr, " (nor %d other forks)", table->forks_left_taken - 1);
  if (table->forks_left_taken > 0)
    fprintf(stderr, ": put_forks() must give back what take_forks() took.\n");
  if (table->unfinished > 0 || table->clashes > 0 ||
      table->forks_left_taken > 0)
    return 1;
  if (table->out != NULL) {
    fprintf(table->out, "All philosophers are done eating now.\n");
    fflush(table->out);
  }
  return 0;
}
