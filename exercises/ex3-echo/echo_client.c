/* echo_client.c: ex3-echo, the file you edit (with echo_server.c): the
 * client's side. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "echo.h"

/* How much is read from stdin, or from the server, at a time. */
enum { CHUNK = 64 * 1024 };

typedef struct input {
  char data[CHUNK];
  ssize_t length; /* what read() returned: 0 at the end of the input */
} input_t;

/* Reads what stdin has, up to CHUNK bytes. Call it through
 * async_to_thread(read_stdin, input): read() blocks until there is input,
 * and blocking inside a task would stop every task. */
static int read_stdin(void *arg) {
  input_t *input = arg;
  input->length = read(STDIN_FILENO, input->data, sizeof input->data);
  return 0;
}

int echo_client(const char *host, int port) {
  /* TODO(ex3): connect (async_connect). Then, at the same time:
   *  - a task of its own sends stdin: read_stdin through async_to_thread,
   *    async_stream_write and async_stream_drain what came, and at the end
   *    of the input async_stream_shutdown (the server then sees the end,
   *    echoes a last line without '\n', and closes);
   *  - this task prints what the server sends (async_stream_read, fwrite
   *    to stdout) until the read returns 0.
   * Then join the sender, close the stream, and return 0 or the error. */
  (void)read_stdin; /* delete this line once you use read_stdin */
  (void)host;
  (void)port;
  return 0;
}
