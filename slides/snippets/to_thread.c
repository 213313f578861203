/* to_thread.c: blocking work on the thread pool; the loop runs on. */
#include <async.h>
#include <stdio.h>
#include <unistd.h>

/* slide: main */
static int checksum(void *arg) { /* blocking: runs on a pool thread */
  (void)arg;
  usleep(300 * 1000); /* stands for a slow read or a long computation */
  return 1234;        /* must not call async_* here */
}

static int heartbeat(void *arg) {
  int *beats = arg;
  for (;;) {
    if (async_sleep(0.05) != 0) return 0; /* cancelled: done */
    (*beats)++;
  }
}

static int main_task(void *arg) {
  (void)arg;
  int beats = 0;
  async_task_t *beat = async_spawn("heartbeat", heartbeat, &beats);
  int sum = async_to_thread(checksum, NULL); /* await to_thread(...) */
  async_task_cancel(beat);
  async_task_join(beat);
  async_task_release(beat);
  printf("checksum %d; the loop %s meanwhile\n", sum,
         beats >= 3 ? "kept beating" : "stood still");
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
