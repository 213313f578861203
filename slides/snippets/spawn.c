/* spawn.c: a task computes a result; main starts it, waits, reads it. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int answer(void *arg) {
  printf("%s: thinking\n", (const char *)arg);
  async_sleep(0.5);
  return 42; /* >= 0: a result; < 0: an error */
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("deep-thought", answer, "deep thought");
  printf("main: spawned %s\n", async_task_name(task));
  int result = async_task_join(task); /* await task */
  printf("main: the answer is %d\n", result);
  async_task_release(task);
  return 0;
}

int main(void) {
  return async_run(main_task, NULL);
}
/* slide: end */
