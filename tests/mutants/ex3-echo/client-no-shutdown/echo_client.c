/* echo_client.c: ex3-echo, wrong: never tells the server the input ended. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "echo.h"

/* How much is read from stdin, or from the server, at a time. */
enum { CHUNK = 64 * 1024 };

/* One read(2) of stdin, made on the runtime's thread pool. */
typedef struct input {
  char data[CHUNK];
  ssize_t length; /* what read() returned */
} input_t;

/* Runs on a thread, not in a task: read() on stdin blocks until someone
 * types a line (or the pipe brings data), and blocking a task's thread
 * would stop every task, the one printing the echoes too. This is
 * loop.run_in_executor(None, sys.stdin.readline). */
static int read_stdin(void *arg) {
  input_t *input = arg;
  input->length = read(STDIN_FILENO, input->data, sizeof input->data);
  return 0;
}

/* The sending task. read() hands over what is there: one line as typed at
 * a terminal, or up to 64 KiB of lines from a pipe or a file, so a big
 * input goes out in big writes while a person still gets each line sent
 * as soon as it is typed. */
static int send_input(void *arg) {
  async_stream_t *server = arg;
  input_t *input = malloc(sizeof *input);
  if (input == NULL) return UV_ENOMEM;
  int rc;
  for (;;) {
    rc = async_to_thread(read_stdin, input);
    if (rc < 0) break;
    if (input->length <= 0) { /* end of input (or an error reading it) */
      rc = input->length == 0 ? 0 : UV_EIO;
      break;
    }
    rc = async_stream_write(server, input->data, (size_t)input->length);
    /* Wait while the server is more than 64 KiB behind, so that a huge
     * input is not all held in memory at once. */
    if (rc == 0) rc = async_stream_drain(server);
    if (rc < 0) break;
  }
  free(input);
  /* StreamWriter.write_eof(): tell the server the input is over, but keep
   * reading, since its last echoes may still be on their way. It is also
   * how a last line without '\n' ends: the server sees the end of the
   * stream, echoes that line and closes. Closing the stream here instead
   * would throw those echoes away. */
  /* Wrong: no async_stream_shutdown, so the server waits for more, and
   * this client for the server, for ever. */
  return rc;
}

/* The receiving side: everything the server sends, on stdout, until it
 * closes the connection. Bytes are copied as they come, so lines of any
 * length and any bytes (a '\0' too) come out exactly as they went in. */
static int print_echoes(async_stream_t *server) {
  char *buffer = malloc(CHUNK);
  if (buffer == NULL) return UV_ENOMEM;
  ssize_t length;
  while ((length = async_stream_read(server, buffer, CHUNK)) > 0) {
    fwrite(buffer, 1, (size_t)length, stdout);
    fflush(stdout); /* a person at a terminal sees each echo at once */
  }
  free(buffer);
  return (int)length; /* 0 at the end, else the error */
}

int echo_client(const char *host, int port) {
  async_stream_t *server;
  /* asyncio.open_connection(host, port) */
  int rc = async_connect(&server, host, port);
  if (rc < 0) return rc;
  /* Sending and receiving at the same time: the input may be larger than
   * what the network holds, so a client that sent everything before
   * reading anything could wait for the server while the server waits for
   * it to read. */
  async_task_t *sender = async_spawn("sender", send_input, server);
  if (sender == NULL) {
    async_stream_close(server);
    return UV_ENOMEM;
  }
  int received = print_echoes(server);
  /* The server closed the connection. If the sender has not finished, the
   * server hung up before the input was over: stop sending. */
  bool early = !async_task_done(sender);
  if (early) async_task_cancel(sender);
  int sent = async_task_join(sender);
  async_task_release(sender);
  async_stream_close(server);
  if (received < 0) return received;
  if (sent < 0 && sent != UV_ECANCELED) return sent;
  return early ? UV_ECONNRESET : 0;
}
