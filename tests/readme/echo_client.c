/* echo_client.c: sends its input to an echo server line by line and prints
 * each line that comes back. Usage: echo_client HOST PORT < lines */
#include "async.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client {
  const char *host;
  int port;
  char line[ASYNC_STREAM_DEFAULT_LIMIT + 2]; /* as long as the server's */
} client_t;

static int read_input(void *arg) { /* blocking, so on a thread */
  client_t *c = arg;
  return fgets(c->line, sizeof c->line, stdin) != NULL ? 0 : UV_EOF;
}

static int talk(void *arg) {
  client_t *c = arg;
  async_stream_t *server = NULL; /* untouched if connecting fails */
  int rc = async_connect(&server, c->host, c->port);
  while (rc == 0 && (rc = async_to_thread(read_input, c)) == 0) {
    size_t length = strlen(c->line);
    async_stream_write(server, c->line, length);
    if (c->line[length - 1] != '\n') async_stream_shutdown(server); /* end */
    ssize_t n = async_stream_readline(server, c->line, sizeof c->line);
    rc = n > 0 ? 0 : n == 0 ? UV_EOF : (int)n;
    if (n > 0) fputs(c->line, stdout);
  }
  if (server != NULL) async_stream_close(server);
  if (rc != UV_EOF) fprintf(stderr, "echo_client: %s\n", async_strerror(rc));
  return rc == UV_EOF ? 0 : rc;
}

int main(int argc, char **argv) {
  client_t c = {argc == 3 ? argv[1] : NULL, argc == 3 ? atoi(argv[2]) : 0, ""};
  if (argc != 3) fprintf(stderr, "usage: echo_client HOST PORT\n");
  return argc != 3 ? 2 : async_run(talk, &c) == 0 ? 0 : 1;
}
