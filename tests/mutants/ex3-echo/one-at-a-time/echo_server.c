/* echo_server.c: ex3-echo, wrong: one lock held for a whole connection. */
#include <async.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "echo.h"

/* What a handler returns for an error: the runtime prints a negative
 * result, naming the client. A client that hung up (reset, or gone while
 * we wrote) is part of a server's life, and so is being cancelled when
 * the server stops: not worth a line on stderr. */
static int quiet_error(int error) {
  if (error == UV_ECONNRESET || error == UV_EPIPE || error == UV_ECANCELED)
    return 0;
  return error;
}

static int converse(async_stream_t *client) {
  /* Room for the longest line allowed, its '\n' and readline's NUL. On
   * the task's stack it costs nothing until used: a task's stack only
   * takes memory for the pages it touches, and a short line touches one. */
  char line[ECHO_LINE_LIMIT + 2];
  for (;;) {
    /* StreamReader.readline(): waits for a whole line, however the bytes
     * were cut into packets; several lines sent in one packet come out one
     * by one. At the end of the stream it gives the last line even without
     * its '\n', then 0. */
    ssize_t length = async_stream_readline(client, line, sizeof line);
    if (length == 0) return 0; /* the client has finished sending */
    if (length == UV_ENOBUFS) {
      /* Past the limit: the line is neither echoed (not even in part, as a
       * server that echoes raw chunks would) nor kept in memory. Say why,
       * and drop this client; the others are untouched. */
      fprintf(stderr,
              "echo_server: %s sent a line longer than %d bytes; closing "
              "that connection\n",
              async_stream_peername(client), ECHO_LINE_LIMIT);
      return 0;
    }
    if (length < 0) return quiet_error((int)length);
    /* The length, never strlen(): a line may hold any byte, '\0' too. */
    int rc = async_stream_write(client, line, (size_t)length);
    /* StreamWriter.drain(): returns at once unless more than 64 KiB wait
     * to be sent, i.e. unless this client reads slower than it sends. Then
     * it parks this task, which stops reading from this client too: the
     * back-pressure reaches the one who caused it, and no one else. */
    if (rc == 0) rc = async_stream_drain(client);
    if (rc < 0) return quiet_error(rc);
  }
}

/* Wrong: "to be safe", a lock around each whole conversation. A client
 * that stays connected keeps every other one waiting. */
static async_lock_t one_at_a_time = ASYNC_LOCK_INITIALIZER(one_at_a_time);

int echo_connection(async_stream_t *client, void *arg) {
  (void)arg;
  int rc = async_lock_acquire(&one_at_a_time);
  if (rc < 0) return quiet_error(rc);
  rc = converse(client);
  async_lock_release(&one_at_a_time);
  return rc;
}

/* The signals that stop the server: Ctrl-C, and what `kill` and service
 * managers send. */
static const int stop_signals[] = {SIGINT, SIGTERM};

int echo_serve(async_server_t *server) {
  /* loop.add_signal_handler(): this task waits for the signal as it would
   * for anything else. While it waits, the runtime catches SIGINT and
   * SIGTERM instead of letting them kill the process, and the server's
   * tasks go on serving: waiting here costs them nothing. */
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) {
    /* Cancelled (or no signals here): still leave no client behind. */
    async_server_close(server, true);
    return signum == UV_ECANCELED ? 0 : signum;
  }
  fprintf(stderr, "echo_server: %s, stopping\n",
          signum == SIGINT ? "SIGINT" : "SIGTERM");
  /* server.close() + wait_closed(), with the handlers cancelled: stop
   * accepting, make every handler's pending read return UV_ECANCELED (so
   * each returns and the runtime closes its client), and wait until they
   * all have. Without cancel_handlers, this would wait for every client to
   * hang up by itself, which an idle one never does. */
  return async_server_close(server, true);
}
