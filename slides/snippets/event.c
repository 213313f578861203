/* event.c: runners wait for the starting gun. */
#include <async.h>
#include <stdio.h>

static async_event_t gun;

/* slide: main */
static int runner(void *arg) {
  int rc = async_event_wait(&gun); /* await gun.wait() */
  if (rc == 0) printf("%s runs\n", (const char *)arg);
  return rc;
}

static int main_task(void *arg) {
  (void)arg;
  async_event_init(&gun); /* asyncio.Event() */
  async_task_t *tasks[] = {async_spawn("r1", runner, "ann"),
                           async_spawn("r2", runner, "ben")};
  async_sleep(0.5);
  printf("bang\n");
  async_event_set(&gun); /* wakes every waiter */
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL) != 0;
}
