/* chat_server.c: ex4-chat, the file you edit: the room, each client's
 * handler, and the broadcast.
 *
 * The server (main.c) runs chat_handle_client as a task of its own for
 * each connection, with the room as its argument. Fill in the TODO(ex4)
 * parts; `make check-ex4` says what works. README.md has the rules. */
#include <async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_server.h"

/* One connected client. It lives on its handler's stack: it exists exactly
 * as long as the handler serves the connection. */
typedef struct chat_client {
  async_stream_t *stream;
  char *name;                      /* malloc'd; NULL until named */
  struct chat_client *prev, *next; /* neighbours in the room */
  bool in_room;                    /* false before joining, after leaving */
} chat_client_t;

struct chat_room {
  chat_client_t *first; /* the named clients, a doubly linked list */
  size_t count;
  size_t max_pending; /* the bound on a client's pending output, in bytes */
};

chat_room_t *chat_room_new(size_t max_pending) {
  chat_room_t *room = calloc(1, sizeof *room);
  if (room != NULL) room->max_pending = max_pending;
  return room;
}

void chat_room_free(chat_room_t *room) {
  free(room);
}

size_t chat_room_size(const chat_room_t *room) {
  return room->count;
}

/* ---- The registry ---- */

static void room_join(chat_room_t *room, chat_client_t *client) {
  /* TODO(ex4): link the client into room->first's list, mark it in_room,
   * and count it (chat_room_size reports room->count). */
  (void)room;
  (void)client;
}

static void room_leave(chat_room_t *room, chat_client_t *client) {
  /* TODO(ex4): unlink the client and uncount it, if it is in the room: a
   * client may already have been taken out (dropped by a broadcast). */
  (void)room;
  (void)client;
}

/* ---- Broadcast ---- */

/* Sends message[length] (a whole "NAME: LINE\n") to every client in the
 * room except the sender. */
static void broadcast(chat_room_t *room, chat_client_t *sender,
                      const char *message, size_t length) {
  /* TODO(ex4): async_stream_write the message to each client but the
   * sender. Never await here (no async_stream_drain): one client that
   * stops reading would stall everyone. Instead, when a client's
   * async_stream_write_buffer_size() passes room->max_pending, take it
   * out of the room and async_stream_abort() its stream. */
  (void)room;
  (void)sender;
  (void)message;
  (void)length;
}

/* ---- The handler ---- */

/* Asks for the client's name until it sends a line that is not empty, and
 * keeps a copy in client->name. Returns 1 once named; 0 (or an error) if
 * the client went away first. line[size] is a buffer to read into. */
static int ask_name(chat_client_t *client, char *line, size_t size) {
  /* TODO(ex4): write CHAT_PROMPT (as it is: no newline), read a line with
   * async_stream_readline, cut its "\n" and a "\r" before it
   * (telnet-style clients send "\r\n"). Empty? Ask again. Else strdup it
   * into client->name and return 1. readline returning 0 or an error
   * means the client has gone: return 0. */
  (void)client;
  (void)line;
  (void)size;
  return 0; /* for now, every client is hung up on at once */
}

int chat_handle_client(async_stream_t *stream, void *arg) {
  chat_room_t *room = arg;
  chat_client_t client = {.stream = stream};
  char line[ASYNC_STREAM_DEFAULT_LIMIT + 2]; /* the longest line, "\n", NUL */

  int rc = ask_name(&client, line, sizeof line);
  if (rc <= 0) return rc; /* gone before saying a name */
  room_join(room, &client);

  ssize_t n;
  while ((n = async_stream_readline(stream, line, sizeof line)) > 0) {
    /* TODO(ex4): cut the line end ("\n", and a "\r" before it), make the
     * message "NAME: LINE\n", and broadcast that instead of the raw line.
     * The last line may come without its "\n". */
    broadcast(room, &client, line, (size_t)n);
  }

  /* The client has gone (n is 0), or was dropped or the server is closing
   * (UV_ECANCELED), or its connection broke. It must leave the room before
   * this returns: the runtime then frees its stream. */
  room_leave(room, &client);
  free(client.name);
  /* TODO(ex4): return 0 for a client that merely went away (0,
   * UV_ECONNRESET) or was stopped (UV_ECANCELED); the server logs any
   * other error. */
  return (int)n;
}
