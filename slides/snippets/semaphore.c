/* semaphore.c: at most three downloads in flight, out of ten. */
#include <async.h>
#include <stdio.h>

static async_semaphore_t seats;
static int in_flight, peak;

/* slide: main */
static int download(void *arg) {
  (void)arg;
  int rc = async_semaphore_acquire(&seats); /* async with sem: */
  if (rc != 0) return rc;
  if (++in_flight > peak) peak = in_flight;
  rc = async_sleep(0.1); /* the transfer */
  in_flight--;
  async_semaphore_release(&seats);
  return rc;
}

static int main_task(void *arg) {
  (void)arg;
  async_semaphore_init(&seats, 3); /* asyncio.Semaphore(3) */
  async_task_t *tasks[10];
  for (int i = 0; i < 10; i++)
    tasks[i] = async_spawn("download", download, NULL);
  int rc = async_gather(tasks, 10, NULL, 0);
  printf("10 downloads, at most %d at once, in %.1f s\n", peak, async_time());
  for (int i = 0; i < 10; i++) async_task_release(tasks[i]);
  return rc;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL) != 0;
}
