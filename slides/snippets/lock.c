/* lock.c: a lock keeps a multi-line message together across awaits. */
#include <async.h>
#include <stdio.h>

static async_lock_t printer;

/* slide: main */
static int report(void *arg) {
  const char *name = arg;
  int rc = async_lock_acquire(&printer); /* async with lock: */
  if (rc != 0) return rc;
  for (int line = 1; line <= 2; line++) {
    printf("%s, line %d\n", name, line);
    async_sleep(0.1); /* others run, but cannot print */
  }
  async_lock_release(&printer);
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  async_lock_init(&printer);
  async_task_t *tasks[] = {async_spawn("a", report, "alice"),
                           async_spawn("b", report, "bob")};
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
