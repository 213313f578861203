/* gather.c: wait for all, results in order; one of them fails. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int fetch(void *arg) {
  int n = (int)(intptr_t)arg;
  async_sleep(0.1 * (4 - n)); /* the last finishes first */
  return n == 2 ? UV_ECONNREFUSED : n * 10;
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *tasks[3];
  for (int i = 0; i < 3; i++)
    tasks[i] = async_spawn("fetch", fetch, (void *)(intptr_t)(i + 1));
  int results[3];
  async_gather(tasks, 3, results, ASYNC_RETURN_ERRORS);
  for (int i = 0; i < 3; i++)
    if (results[i] >= 0)
      printf("task %d: %d\n", i + 1, results[i]);
    else
      printf("task %d: %s\n", i + 1, async_strerror(results[i]));
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
