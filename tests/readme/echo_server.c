/* echo_server.c: every line a client sends comes back to it; any number of
 * clients at once, each served by its own task. Usage: echo_server [-p PORT] */
#include "async.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo(async_stream_t *client, void *arg) {
  (void)arg;
  char line[ASYNC_STREAM_DEFAULT_LIMIT + 2];
  ssize_t n;
  while ((n = async_stream_readline(client, line, sizeof line)) > 0) {
    async_stream_write(client, line, (size_t)n);
    int rc = async_stream_drain(client); /* a slow reader slows its writer */
    if (rc != 0) return rc;
  }
  return (int)n; /* 0 at the end; an error is printed by the runtime */
}

static int serve(void *port) {
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", *(int *)port, echo, NULL);
  if (rc != 0) {
    fprintf(stderr, "echo_server: %s\n", async_strerror(rc));
    return rc;
  }
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout);
  rc = async_server_wait(server); /* until a signal ends the process */
  async_server_close(server, true);
  return rc;
}

int main(int argc, char **argv) {
  int port = argc == 3 && strcmp(argv[1], "-p") == 0 ? atoi(argv[2]) : 0;
  return async_run(serve, &port) == 0 ? 0 : 1;
}
