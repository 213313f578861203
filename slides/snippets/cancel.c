/* cancel.c: cancelling a task: its blocking call returns UV_ECANCELED. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int worker(void *arg) {
  (void)arg;
  int rc = async_sleep(3600); /* cancelled here */
  printf("worker: sleep returned %s\n", async_err_name(rc));
  return rc; /* < 0: the task ends cancelled */
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("worker", worker, NULL);
  async_sleep(0.1);
  async_task_cancel(task);        /* task.cancel() */
  int rc = async_task_join(task); /* await task */
  printf("main: join returned %s, cancelled: %s\n", async_err_name(rc),
         async_task_cancelled(task) ? "yes" : "no");
  async_task_release(task);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
