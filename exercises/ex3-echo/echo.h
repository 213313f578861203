/* echo.h: the functions of ex3-echo that you write (kit-owned; do not
 * edit). main_server.c and main_client.c call them; so do the checks. */
#ifndef ECHO_H
#define ECHO_H

#include <async.h>

/* The longest line the server echoes, counted before its '\n': 65,536
 * bytes, the runtime's (and asyncio's) default readline limit. */
#define ECHO_LINE_LIMIT ASYNC_STREAM_DEFAULT_LIMIT

/* ---- echo_server.c ---- */

/* The connection handler: the runtime runs it as a task of its own for
 * each client that connects (async_server_start), and closes the stream
 * when it returns. Sends every line back to its client, byte for byte, a
 * last line without '\n' too, until the client has finished sending. A
 * line longer than ECHO_LINE_LIMIT is not echoed: it is logged on stderr
 * and this connection closed. Returns 0, or a negative UV_E* error (which
 * the runtime prints, naming the client). `arg` is NULL. */
int echo_connection(async_stream_t *client, void *arg);

/* From main's task, once `server` listens: serves until SIGINT or SIGTERM
 * arrives, then stops accepting, closes every client and returns 0 (the
 * program then exits 0). Returns a negative UV_E* error if it cannot. */
int echo_serve(async_server_t *server);

/* ---- echo_client.c ---- */

/* From main's task: connects to host:port, sends everything it reads on
 * stdin, and writes everything the server sends back on stdout, until the
 * server has answered the whole input (stdin's end, a last line without
 * '\n' included, is passed on to the server as the end of the stream).
 * Returns 0, or a negative UV_E* error. */
int echo_client(const char *host, int port);

#endif
