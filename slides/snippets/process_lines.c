/* process_lines.c: read a child's output line by line, as it comes. */
#include <async.h>
#include <stdio.h>

/* slide: main */
static int main_task(void *arg) {
  (void)arg;
  const char *argv[] = {"sh", "-c",
                        "for i in 1 2 3; do echo $i; sleep 0.1; done", NULL};
  async_process_options_t options = {.argv = argv,
                                     .stdout_mode = ASYNC_STDIO_PIPE};
  async_process_t *child;
  int rc = async_process_spawn(&child, &options);
  if (rc != 0) return rc;
  async_stream_t *out = async_process_stdout(child);
  char line[64];
  while (async_stream_readline(out, line, sizeof line) > 0)
    printf("child said: %s", line);
  printf("exit status %d\n", async_process_wait(child));
  async_process_release(child);
  return 0;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL);
}
