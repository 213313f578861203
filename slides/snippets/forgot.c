/* forgot.c: workers wait for an event that nobody will ever set. */
#include <async.h>
#include <stdio.h>

static async_event_t go;

/* slide: main */
static int worker(void *arg) {
  (void)arg;
  return async_event_wait(&go); /* and nobody calls async_event_set */
}

static int main_task(void *arg) {
  (void)arg;
  async_event_init(&go);
  async_task_t *tasks[3];
  for (int i = 0; i < 3; i++) tasks[i] = async_spawn("worker", worker, NULL);
  int rc = async_gather(tasks, 3, NULL, 0);
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  printf("gather: %s\n", async_err_name(rc));
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
