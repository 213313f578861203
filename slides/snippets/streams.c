/* streams.c: an echo server and a client talking to it, in one program. */
#include <async.h>
#include <stdio.h>

/* slide: server */
static int handle(async_stream_t *client, void *arg) { /* one task each */
  (void)arg;
  char line[256];
  ssize_t n;
  while ((n = async_stream_readline(client, line, sizeof line)) > 0) {
    async_stream_write(client, line, (size_t)n); /* writer.write(line) */
    int rc = async_stream_drain(client);         /* await writer.drain() */
    if (rc != 0) return rc;
  }
  return (int)n; /* 0 at the end of the stream */
}
/* slide: end */

/* slide: client */
static int main_task(void *arg) {
  (void)arg;
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, handle, NULL);
  if (rc != 0) return rc;
  async_stream_t *stream;
  rc = async_connect(&stream, "127.0.0.1", async_server_port(server));
  if (rc == 0) {
    async_stream_write(stream, "hello\n", 6);
    char line[256];
    if (async_stream_readline(stream, line, sizeof line) > 0)
      printf("got back: %s", line);
    async_stream_close(stream); /* writer.close(); await wait_closed() */
  }
  async_server_close(server, true);
  return rc;
}
/* slide: end */

int main(void) {
  return async_run(main_task, NULL) != 0;
}
