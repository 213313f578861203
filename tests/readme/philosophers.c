#include <async.h>
#include <stdio.h>

enum { N = 5, MEALS = 3 };
static async_lock_t forks[N];

static int philosopher(void *arg) {
  int i = (int)(intptr_t)arg;
  async_lock_t *left = &forks[i], *right = &forks[(i + 1) % N];
  for (int meal = 0; meal < MEALS; meal++) {
    int rc = async_lock_acquire(left);
    if (rc != 0) return rc;
    rc = async_lock_acquire(right); /* the bug: everyone takes left first */
    if (rc != 0) {
      async_lock_release(left);
      return rc;
    }
    async_sleep(0.1); /* eat */
    async_lock_release(right);
    async_lock_release(left);
  }
  return 0;
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *tasks[N];
  for (int i = 0; i < N; i++) {
    char name[8];
    snprintf(name, sizeof name, "P%d", i);
    async_lock_init(&forks[i]);
    tasks[i] = async_spawn(name, philosopher, (void *)(intptr_t)i);
  }
  int rc = async_gather(tasks, N, NULL, ASYNC_RETURN_ERRORS);
  for (int i = 0; i < N; i++) async_task_release(tasks[i]);
  printf("dinner over at %.1f s\n", async_time());
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
