/* signals.c: a task waits for SIGTERM and shuts the program down. */
#include <async.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* slide: main */
static int stopper(void *worker) {
  static const int stop_signals[] = {SIGINT, SIGTERM};
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum;
  printf("got %s: stopping\n", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  async_task_cancel(worker);
  return 0;
}

static int serve_forever(void *arg) {
  (void)arg;
  int rc = async_sleep(3600);
  printf("worker: %s, cleaning up\n", async_err_name(rc));
  return 0;
}

static int main_task(void *arg) {
  (void)arg;
  async_task_t *worker = async_spawn("worker", serve_forever, NULL);
  async_task_t *stop = async_spawn("stopper", stopper, worker);
  async_sleep(0.1);
  kill(getpid(), SIGTERM); /* as `kill PID` from a shell would */
  async_task_join(stop);
  async_task_join(worker);
  async_task_release(stop);
  async_task_release(worker);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
