/* rshell.h: the functions of ex5-rshell that you write (kit-owned). */
#ifndef RSHELL_H
#define RSHELL_H

#include <async.h>

/* The port rshell listens on when no -p is given. */
#define RSHELL_DEFAULT_PORT 12347

/* Starts the remote shell server on `port` (0: any free port), reachable
 * from this machine only, and runs rshell_session for each connection.
 * Blocks (the host is resolved). Returns 0 and *server, or the error of
 * async_server_start. */
int rshell_start(async_server_t **server, int port);

/* One connection's whole life, as the server's connection handler: starts
 * one /bin/sh for this client alone (stdin from the client, stdout and
 * stderr to it), copies both ways until the client or the shell is gone,
 * then ends the shell and everything it started, reaps it, and closes the
 * connection. Returns 0, or an error (UV_ECANCELED when the server is
 * shutting down). `arg` is unused (NULL). */
int rshell_session(async_stream_t *client, void *arg);

#endif /* RSHELL_H */
