/* as_completed.c: results in the order the tasks finish. */
#include <async.h>
#include <stdio.h>

static int lookup(void *arg) {
  async_sleep(*(double *)arg);
  return (int)(*(double *)arg * 1000);
}

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  static double delays[] = {0.3, 0.1, 0.2};
  async_task_t *tasks[3];
  for (int i = 0; i < 3; i++)
    tasks[i] = async_spawn("lookup", lookup, &delays[i]);
  async_as_completed_t it;
  async_as_completed_init(&it, tasks, 3, 5.0); /* timeout=5 */
  async_task_t *task;
  while (async_as_completed_next(&it, &task) == 0)
    printf("took %d ms\n", async_task_result(task));
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
