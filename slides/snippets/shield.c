/* shield.c: cancelling the waiter does not cancel the shielded task. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int save(void *arg) {
  (void)arg;
  async_sleep(0.2);
  printf("save: written to disk\n");
  return 0;
}

static int request(void *save_task) {
  int rc = async_shield(save_task); /* await asyncio.shield(task) */
  printf("request: %s\n", async_err_name(rc));
  return rc;
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *saver = async_spawn("save", save, NULL);
  async_task_t *req = async_spawn("request", request, saver);
  async_sleep(0.1);
  async_task_cancel(req); /* the client went away */
  async_task_join(req);
  async_task_join(saver); /* the save goes on, and finishes */
  async_task_release(req);
  async_task_release(saver);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
