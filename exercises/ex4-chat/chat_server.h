/* chat_server.h: the functions of ex4-chat (kit-owned; do not edit). */
#ifndef CHAT_SERVER_H
#define CHAT_SERVER_H

#include <async.h>
#include <stddef.h>

/* Where the server listens unless -H and -p say otherwise. */
#define CHAT_DEFAULT_HOST "127.0.0.1"
#define CHAT_DEFAULT_PORT 12346

/* What a new client is sent, byte for byte: no newline, so that the name
 * is typed on the same line. */
#define CHAT_PROMPT "What's your name? "

/* The most output, in bytes, that may wait in the server for one client
 * (async_stream_write_buffer_size), on top of what the system's socket
 * buffers hold. A client that lets more pile up has stopped reading: it is
 * disconnected, so that it never holds up the others. */
#define CHAT_MAX_PENDING (1024 * 1024)

/* The room: every client that has said its name. You define the struct in
 * chat_server.c. */
typedef struct chat_room chat_room_t;

/* A new, empty room whose clients may each have up to max_pending bytes
 * waiting; NULL when out of memory. */
chat_room_t *chat_room_new(size_t max_pending);
/* Frees the room, once no handler runs any more (the server is closed). */
void chat_room_free(chat_room_t *room);
/* How many named clients are in the room now. */
size_t chat_room_size(const chat_room_t *room);

/* Serves one client for as long as it is connected: an
 * async_connection_fn, run by the server as a task of its own with the
 * room as arg. Asks for a name, then sends each line the client writes to
 * every other named client as "NAME: LINE\n". Returns 0 when the client
 * has gone (or was dropped, or the server is closing), else an error. */
int chat_handle_client(async_stream_t *stream, void *room);

#endif
