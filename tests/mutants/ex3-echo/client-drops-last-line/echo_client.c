/* echo_client.c: ex3-echo, wrong: drops a last line without newline. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

#include "echo.h"

typedef struct input_line {
  char *text;
  size_t capacity;
  ssize_t length; /* getline's result: -1 at the end */
} input_line_t;

/* On the thread pool: getline blocks until a whole line is there. */
static int read_line(void *arg) {
  input_line_t *line = arg;
  line->length = getline(&line->text, &line->capacity, stdin);
  return 0;
}

static int talk(async_stream_t *server, char *echo, size_t size) {
  input_line_t line = {NULL, 0, 0};
  int rc = 0;
  for (;;) {
    rc = async_to_thread(read_line, &line);
    if (rc < 0) break;
    if (line.length <= 0) {
      /* The end of the input: tell the server, which then closes. */
      rc = async_stream_shutdown(server);
      ssize_t n = rc < 0 ? rc : async_stream_read(server, echo, size);
      rc = n < 0 ? (int)n : n > 0 ? UV_EPROTO : 0;
      break;
    }
    bool last = line.text[line.length - 1] != '\n';
    if (last) continue; /* Wrong: a last line without '\n' is a line too. */
    rc = async_stream_write(server, line.text, (size_t)line.length);
    /* A last line without '\n' only comes back once the server has seen
     * the end of the stream. */
    if (rc == 0 && last) rc = async_stream_shutdown(server);
    if (rc < 0) break;
    ssize_t n = async_stream_readline(server, echo, size);
    if (n <= 0) {
      rc = n == 0 ? UV_ECONNRESET : (int)n;
      break;
    }
    fwrite(echo, 1, (size_t)n, stdout);
    if (last) {
      n = async_stream_read(server, echo, size);
      rc = n < 0 ? (int)n : 0;
      break;
    }
  }
  free(line.text);
  return rc;
}

int echo_client(const char *host, int port) {
  async_stream_t *server;
  int rc = async_connect(&server, host, port);
  if (rc < 0) return rc;
  size_t size = ECHO_LINE_LIMIT + 2;
  char *echo = malloc(size);
  rc = echo == NULL ? UV_ENOMEM : talk(server, echo, size);
  free(echo);
  async_stream_close(server);
  fflush(stdout);
  return rc;
}
