/* drift.c: "do the job, sleep a period" drifts; a grid does not. */
#include <async.h>
#include <stdio.h>

static void job(void) {
  async_sleep(0.3); /* the job itself takes time */
}

/* slide: main */
static int relative(void *arg) { /* sleep(period) after each run */
  (void)arg;
  for (int k = 0; k < 3; k++) {
    printf("relative starts at %.1f\n", async_time());
    job();
    async_sleep(1.0);
  }
  return 0;
}

static int absolute(void *arg) { /* next start = t0 + k * period */
  (void)arg;
  double t0 = async_time();
  for (int k = 0; k < 3; k++) {
    async_sleep(t0 + k * 1.0 - async_time());
    printf("absolute starts at %.1f\n", async_time());
    job();
  }
  return 0;
}
/* slide: end */

static int main_task(void *arg) {
  (void)arg;
  async_task_t *tasks[] = {async_spawn("relative", relative, NULL),
                           async_spawn("absolute", absolute, NULL)};
  int rc = async_gather(tasks, 2, NULL, 0);
  for (int i = 0; i < 2; i++) async_task_release(tasks[i]);
  return rc;
}

int main(void) {
  return async_run(main_task, NULL) != 0;
}
