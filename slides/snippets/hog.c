/* hog.c: a blocking call inside a task stops every other task. */
#include <async.h>
#include <stdio.h>
#include <unistd.h>

/* slide: main */
static int stubborn(void *arg) {
  (void)arg;
  async_sleep(0.1);
  usleep(1200 * 1000); /* blocks the whole loop for 1.2 s */
  return async_sleep(0.1);
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("stubborn", stubborn, NULL);
  int rc = async_task_join(task);
  async_task_release(task);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
