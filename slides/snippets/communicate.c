/* communicate.c: run a command, feed it input, collect its output. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  async_process_options_t options = {
      .shell = "tr a-z A-Z; echo oops >&2; exit 3",
      .stdin_mode = ASYNC_STDIO_PIPE,
      .stdout_mode = ASYNC_STDIO_PIPE,
      .stderr_mode = ASYNC_STDIO_PIPE,
  };
  async_process_t *child;
  int rc = async_process_spawn(&child, &options);
  if (rc != 0) return rc;
  char *out, *err;
  int status =
      async_process_communicate(child, "hello\n", 6, &out, NULL, &err, NULL);
  printf("status %d, stdout %s", status, out);
  printf("stderr %s", err);
  free(out);
  free(err);
  async_process_release(child);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
