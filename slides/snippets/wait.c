/* wait.c: wait for the first of several tasks, with a timeout. */
#include <async.h>
#include <stdio.h>

static int mirror(void *arg) {
  return async_sleep(*(double *)arg);
}

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  static double delays[] = {0.3, 0.1, 0.2};
  const char *names[] = {"slow", "quick", "middle"};
  async_task_t *tasks[3];
  for (int i = 0; i < 3; i++)
    tasks[i] = async_spawn(names[i], mirror, &delays[i]);
  /* done, pending = await asyncio.wait(tasks, timeout=1,
   *                     return_when=FIRST_COMPLETED) */
  int done = async_wait(tasks, 3, ASYNC_FIRST_COMPLETED, 1.0);
  for (int i = 0; i < 3; i++) {
    printf("%-6s %s\n", async_task_name(tasks[i]),
           i < done ? "done" : "pending: cancel it");
    if (i >= done) async_task_cancel(tasks[i]);
  }
  for (int i = 0; i < 3; i++) async_task_release(tasks[i]);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
