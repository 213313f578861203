/* virtual_time.c: two tasks take turns; in check mode time is virtual. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int ticker(void *arg) {
  double period = *(double *)arg;
  for (int i = 0; i < 3; i++) {
    async_sleep(period);
    printf("%5.2f s  %s\n", async_time(),
           async_task_name(async_current_task()));
  }
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  static double fast = 0.25, slow = 0.4;
  async_task_t *tasks[] = {async_spawn("fast", ticker, &fast),
                           async_spawn("slow", ticker, &slow)};
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
