/* timeout.c: a timeout on one await, and on a whole block. */
#include <async.h>
#include <stdio.h>

static int slow_query(void *arg) {
  (void)arg;
  int rc = async_sleep(10);
  printf("slow_query: %s\n", async_err_name(rc)); /* it was cancelled */
  return rc;
}

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  /* await asyncio.wait_for(slow_query(), timeout=0.5) */
  async_task_t *task = async_spawn("query", slow_query, NULL);
  int rc = async_wait_for(task, 0.5);
  printf("wait_for: %s\n", async_err_name(rc));
  async_task_release(task);

  /* async with asyncio.timeout(0.5): ... */
  async_timeout_t scope;
  async_timeout_enter(&scope, 0.5);
  rc = async_sleep(0.3);              /* fine */
  if (rc == 0) rc = async_sleep(0.3); /* the deadline passes */
  printf("in the block: %s\n", async_err_name(rc));
  if (async_timeout_exit(&scope) == UV_ETIMEDOUT) printf("timed out\n");
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
