/* condition.c: a consumer waits until the stock is high enough. */
#include <async.h>
#include <stdio.h>

static async_condition_t changed;
static int stock;

static bool enough(void *arg) {
  return stock >= *(int *)arg;
}

/* slide: main */
static int consumer(void *arg) {
  async_condition_acquire(&changed); /* async with cond: */
  int rc = async_condition_wait_for(&changed, enough, arg);
  if (rc == 0) {
    stock -= *(int *)arg;
    printf("took %d, %d left\n", *(int *)arg, stock);
  }
  async_condition_release(&changed);
  return rc;
}

static int producer(void *arg) {
  (void)arg;
  for (int i = 0; i < 4; i++) {
    async_sleep(0.1);
    async_condition_acquire(&changed);
    stock += 2;
    async_condition_notify_all(&changed); /* cond.notify_all() */
    async_condition_release(&changed);
  }
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  static int want = 5;
  async_condition_init(&changed, NULL);
  async_task_t *tasks[] = {async_spawn("consumer", consumer, &want),
                           async_spawn("producer", producer, NULL)};
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
