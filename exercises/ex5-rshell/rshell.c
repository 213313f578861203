/* rshell.c: ex5-rshell, the file you edit: a remote shell server.
 *
 * Each client that connects gets a /bin/sh of its own, for as long as it
 * stays connected: what the client sends is the shell's input, what the
 * shell prints (stdout and stderr) goes back to the client. Read README.md
 * first; async.h's "Subprocesses" and "Streams" sections have every call
 * you need. */
#include <async.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "rshell.h"

int rshell_start(async_server_t **server, int port) {
  /* TODO(ex5): NULL listens on every interface of this machine, and this
   * server hands a shell, without a password, to whoever connects. Which
   * host should it listen on instead? */
  return async_server_start(server, NULL, port, rshell_session, NULL);
}

int rshell_session(async_stream_t *client, void *arg) {
  (void)arg;
  /* TODO(ex5): the whole session. A plan:
   *
   * 1. Start one /bin/sh for this client with async_process_spawn: stdin
   *    and stdout as pipes, stderr into the stdout pipe, and in a process
   *    group of its own (so that you can end everything it starts).
   * 2. Copy both ways at once, one task each: client -> shell's stdin, and
   *    shell's stdout -> client. A third task can wait for the shell to
   *    exit. Wait for whichever finishes first (async_wait).
   * 3. Tear down, whichever side went first: end the shell's whole process
   *    group, let the last output reach the client, stop the tasks, close
   *    the client, release the process. Leave nothing behind.
   *
   * Until then, the client is told, and the connection closes. */
  static const char message[] =
      "rshell: no shell here yet: rshell_session in rshell.c is still a "
      "TODO(ex5)\n";
  async_stream_write(client, message, strlen(message));
  return async_stream_close(client);
}
