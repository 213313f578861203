/* lost_update.c: two deposits, each reading the balance before a slow
 * check and writing it after: the classic lost update. */
#include <async.h>
#include <stdio.h>

static async_shared_t balance;

/* slide: deposit */
static int deposit(void *arg) {
  int64_t amount = (int64_t)(intptr_t)arg;
  int64_t seen = async_shared_read(&balance);
  async_sleep(0.1); /* a slow check: other tasks run */
  async_shared_write(&balance, seen + amount);
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  async_shared_init(&balance, "the balance", 0);
  async_task_t *tasks[] = {
      async_spawn("alice", deposit, (void *)100),
      async_spawn("bob", deposit, (void *)50),
  };
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  printf("balance: %lld (expected 150)\n",
         (long long)async_shared_read(&balance));
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
