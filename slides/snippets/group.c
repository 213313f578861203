/* group.c: a task group; the first failure cancels the siblings. */
#include <async.h>
#include <stdio.h>

static int step(void *arg) {
  double seconds = *(double *)arg;
  int rc = async_sleep(seconds);
  if (rc == 0 && seconds == 0.2) rc = UV_EHOSTUNREACH; /* this one fails */
  printf("%.1f: %s\n", seconds, rc == 0 ? "ok" : async_err_name(rc));
  return rc;
}

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  static double seconds[] = {0.1, 0.2, 0.3};
  async_group_t group; /* async with asyncio.TaskGroup() as tg: */
  async_group_init(&group);
  for (int i = 0; i < 3; i++)
    async_group_spawn(&group, "step", step, &seconds[i]);
  int rc = async_group_wait(&group); /* the end of the block */
  printf("group: %s\n", async_strerror(rc));
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
