/* rshell.c: ex5-rshell, a known-wrong variant: one shell per command
 * (sh -c LINE), so nothing a command changes (cd, variables) survives to
 * the next, and `echo $$` differs every time. */
#include <async.h>
#include <stdlib.h>
#include <string.h>

#include "rshell.h"

int rshell_start(async_server_t **server, int port) {
  return async_server_start(server, "127.0.0.1", port, rshell_session, NULL);
}

int rshell_session(async_stream_t *client, void *arg) {
  (void)arg;
  char line[ASYNC_STREAM_DEFAULT_LIMIT + 2];
  ssize_t n;
  while ((n = async_stream_readline(client, line, sizeof line)) > 0) {
    if (strcmp(line, "exit\n") == 0) break;
    async_process_options_t options = {
        .shell = line,
        .stdin_mode = ASYNC_STDIO_DEVNULL,
        .stdout_mode = ASYNC_STDIO_PIPE,
        .stderr_mode = ASYNC_STDIO_STDOUT,
    };
    async_process_t *shell;
    if (async_process_spawn(&shell, &options) != 0) break;
    char *output = NULL;
    size_t size = 0;
    int rc =
        async_process_communicate(shell, NULL, 0, &output, &size, NULL, NULL);
    async_process_release(shell);
    if (rc >= 0 && output != NULL) async_stream_write(client, output, size);
    free(output);
    if (async_stream_drain(client) != 0) break;
  }
  return async_stream_close(client);
}
