/* philosophers.c: N philosophers, each taking the left fork, then the
 * right one: the classic deadlock. Usage: philosophers [N] */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

static int n = 5;
static async_lock_t *forks;

/* slide: philosopher */
static int philosopher(void *arg) {
  int i = (int)(intptr_t)arg;
  async_lock_t *left = &forks[i], *right = &forks[(i + 1) % n];
  for (int meal = 0; meal < 3; meal++) {
    int rc = async_lock_acquire(left);
    if (rc != 0) return rc;
    rc = async_lock_acquire(right); /* left first, then right */
    if (rc == 0) {
      async_sleep(0.1); /* eat */
      async_lock_release(right);
    }
    async_lock_release(left);
    if (rc != 0) return rc;
  }
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  forks = calloc((size_t)n, sizeof *forks);
  async_task_t **tasks = calloc((size_t)n, sizeof *tasks);
  for (int i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof name, "P%d", i);
    async_lock_init(&forks[i]);
    tasks[i] = async_spawn(name, philosopher, (void *)(intptr_t)i);
  }
  int rc = async_gather(tasks, (size_t)n, NULL, ASYNC_RETURN_ERRORS);
  for (int i = 0; i < n; i++) async_task_release(tasks[i]);
  printf("dinner over at %.1f s\n", async_time());
  free(tasks);
  free(forks);
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1) n = atoi(argv[1]);
  return async_run(main_task, NULL) != 0;
}
