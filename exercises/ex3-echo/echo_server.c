/* echo_server.c: ex3-echo, the file you edit (with echo_client.c): the
 * server's side. */
#include <async.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "echo.h"

/* Runs as a task of its own for each client (main_server.c hands it to
 * async_server_start): `async def handle(reader, writer)` in asyncio. */
int echo_connection(async_stream_t *client, void *arg) {
  (void)arg;
  /* TODO(ex3): read the client's lines one by one (async_stream_readline,
   * into a buffer of ECHO_LINE_LIMIT + 2 bytes) and write each back
   * (async_stream_write, then async_stream_drain), byte for byte: use the
   * length readline returns. Stop when readline returns 0 (the client is
   * done); a last line without '\n' comes before that 0 and is echoed
   * too. When it returns UV_ENOBUFS, the line is too long: log it on
   * stderr and return, which closes this connection only. */
  (void)client;
  return 0; /* returning closes the connection */
}

int echo_serve(async_server_t *server) {
  /* TODO(ex3): wait for SIGINT or SIGTERM (async_signal_wait_any), then
   * close the server and its clients (async_server_close(server, true))
   * and return 0. As it is, this serves until the signal kills the
   * process, which then exits with a failure. */
  return async_server_wait(server);
}
