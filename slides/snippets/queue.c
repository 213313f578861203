/* queue.c: producers and consumers around a bounded queue. */
#include <async.h>
#include <stdio.h>

static async_queue_t jobs;

/* slide: main */
static int worker(void *arg) {
  for (;;) {
    void *job;
    int rc = async_queue_get(&jobs, &job); /* await q.get() */
    if (rc != 0) return rc == UV_ECANCELED ? 0 : rc;
    async_sleep(0.1);
    printf("%s did job %d\n", (const char *)arg, (int)(intptr_t)job);
    async_queue_task_done(&jobs); /* q.task_done() */
  }
}

static int main_task(void *arg) {
  (void)arg;
  async_queue_init(&jobs, 2); /* asyncio.Queue(maxsize=2) */
  async_task_t *workers[] = {async_spawn("w1", worker, "w1"),
                             async_spawn("w2", worker, "w2")};
  for (int job = 1; job <= 4; job++)
    async_queue_put(&jobs, (void *)(intptr_t)job); /* waits when full */
  async_queue_join(&jobs); /* await q.join(): every job done */
  for (int i = 0; i < 2; i++) {
    async_task_cancel(workers[i]);
    async_task_join(workers[i]);
    async_task_release(workers[i]);
  }
  async_queue_destroy(&jobs);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
