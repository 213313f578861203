/* echo_server.c: ex3-echo, wrong: echoes raw chunks, whatever the lines. */
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

int echo_connection(async_stream_t *client, void *arg) {
  (void)arg;
  /* Wrong: an over-long line is echoed in pieces instead of refused. */
  char buffer[ECHO_LINE_LIMIT];
  ssize_t length;
  while ((length = async_stream_read(client, buffer, sizeof buffer)) > 0) {
    int rc = async_stream_write(client, buffer, (size_t)length);
    if (rc == 0) rc = async_stream_drain(client);
    if (rc < 0) return quiet_error(rc);
  }
  return quiet_error((int)length);
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
