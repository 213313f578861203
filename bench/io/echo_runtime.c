/* echo_runtime.c: the line echo server of the I/O benchmarks, on the
 * runtime's streams.
 *
 *   echo_runtime [-H HOST] [-p PORT]     (port 0, the default: any free port)
 *
 * Written as a student would write it: one task per connection, readline,
 * write, drain, nothing tuned. It prints "listening on HOST:PORT" once it
 * listens, and serves until killed. bench/io/echo_libuv.c is the same
 * server on raw libuv callbacks, the floor it is measured against.
 */
#include "async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct settings {
  const char *host;
  int port;
} settings_t;

static int echo(async_stream_t *stream, void *arg) {
  (void)arg;
  /* Room for the longest line readline accepts (async.h). */
  char line[ASYNC_STREAM_DEFAULT_LIMIT + 2];
  for (;;) {
    ssize_t n = async_stream_readline(stream, line, sizeof line);
    if (n == UV_ENOBUFS) continue; /* too long: skipped, read the next */
    if (n == 0) return 0;
    if (n < 0) return n == UV_ECONNRESET ? 0 : (int)n;
    int rc = async_stream_write(stream, line, (size_t)n);
    if (rc == 0) rc = async_stream_drain(stream);
    if (rc == UV_EPIPE || rc == UV_ECONNRESET) return 0; /* the peer left */
    if (rc < 0) return rc;
  }
}

static int serve(void *arg) {
  const settings_t *settings = arg;
  async_server_t *server;
  int rc =
      async_server_start(&server, settings->host, settings->port, echo, NULL);
  if (rc != 0) {
    fprintf(stderr, "echo_runtime: cannot listen: %s\n", async_strerror(rc));
    return rc;
  }
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout);
  rc = async_server_wait(server);
  async_server_close(server, true);
  return rc;
}

int main(int argc, char **argv) {
  settings_t settings = {"127.0.0.1", 0};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-H") == 0) {
      settings.host = argv[i + 1];
    } else if (strcmp(argv[i], "-p") == 0) {
      settings.port = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: echo_runtime [-H HOST] [-p PORT]\n");
      return 2;
    }
  }
  return async_run(serve, &settings) == 0 ? 0 : 1;
}
