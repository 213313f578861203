#include <async.h>
#include <stdio.h>

static int greet(void *arg) {
  for (int round = 1; round <= 3; round++) {
    printf("Hello from %s, round %d\n", (const char *)arg, round);
    async_sleep(0.1); /* await asyncio.sleep(0.1) */
  }
  return 0;
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *tasks[] = {
      /* asyncio.create_task(...) */
      async_spawn("alice", greet, "alice"),
      async_spawn("bob", greet, "bob"),
  };
  int rc = async_gather(tasks, 2, NULL, 0); /* await asyncio.gather(...) */
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) < 0;
} /* asyncio.run */
