/* ten_thousand.c: ten thousand tasks sleep one second each, at once. */
#include <async.h>
#include <stdio.h>

enum { COUNT = 10000 };

/* slide: main */
static int nap(void *arg) {
  (void)arg;
  return async_sleep(1.0); /* await asyncio.sleep(1) */
}

static int main_task(void *arg) {
  (void)arg;
  static async_task_t *tasks[COUNT];
  double start = async_time();
  for (int i = 0; i < COUNT; i++) tasks[i] = async_spawn("nap", nap, NULL);
  int rc = async_gather(tasks, COUNT, NULL, 0);
  for (int i = 0; i < COUNT; i++) async_task_release(tasks[i]);
  double took = async_time() - start;
  printf("%d naps of 1 s took %s\n", COUNT,
         took < 1.5 ? "about 1 s" : "far too long");
  return rc;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL) != 0;
}
