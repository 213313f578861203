/* chat_server.c: ex4-chat, a known-wrong variant: the broadcast sends each
 * line back to its sender too. */
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
  size_t max_pending;
};

chat_room_t *chat_room_new(size_t max_pending) {
  chat_room_t *room = calloc(1, sizeof *room);
  if (room != NULL) room->max_pending = max_pending;
  return room;
}

void chat_room_free(chat_room_t *room) {
  /* The clients belong to their handlers, which have all returned. */
  free(room);
}

size_t chat_room_size(const chat_room_t *room) {
  return room->count;
}

/* ---- The registry ---- */

static void room_join(chat_room_t *room, chat_client_t *client) {
  client->prev = NULL;
  client->next = room->first;
  if (room->first != NULL) room->first->prev = client;
  room->first = client;
  client->in_room = true;
  room->count++;
}

/* Takes the client out; harmless if it is out already (dropped by a
 * broadcast, then its handler leaving too). */
static void room_leave(chat_room_t *room, chat_client_t *client) {
  if (!client->in_room) return;
  if (client->prev != NULL)
    client->prev->next = client->next;
  else
    room->first = client->next;
  if (client->next != NULL) client->next->prev = client->prev;
  client->prev = client->next = NULL;
  client->in_room = false;
  room->count--;
}

/* A client that has stopped reading: out of the room, and its connection
 * aborted (queued output dropped, no waiting for it to go out). Its
 * handler, parked in readline on that stream, wakes with UV_ECANCELED and
 * returns; the runtime frees the stream then. */
static void drop(chat_room_t *room, chat_client_t *client, size_t pending) {
  fprintf(stderr,
          "chat_server: dropped %s (%s): %zu bytes wait for it, more than "
          "%zu; it has stopped reading\n",
          client->name, async_stream_peername(client->stream), pending,
          room->max_pending);
  room_leave(room, client);
  async_stream_abort(client->stream);
}

/* ---- Broadcast ---- */

/* Queues message[length] for every named client but the sender. Never
 * blocks: see the top of the file. */
static void broadcast(chat_room_t *room, chat_client_t *sender,
                      const char *message, size_t length) {
  (void)sender; /* Wrong: never looked at. */
  chat_client_t *next;
  for (chat_client_t *client = room->first; client != NULL; client = next) {
    next = client->next; /* drop() unlinks client */
    /* UV_EPIPE here means that client is going: its own handler will see
     * the end of its stream and leave the room. Nothing to do. */
    async_stream_write(client->stream, message, length);
    size_t pending = async_stream_write_buffer_size(client->stream);
    if (pending > room->max_pending) drop(room, client, pending);
  }
}

/* ---- The handler ---- */

/* Cuts the line end off: "\n", and the "\r" before it that telnet-style
 * clients send ("\r\n"). Returns the new length. */
static size_t strip_line_end(char *line, size_t length) {
  if (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
  if (length > 0 && line[length - 1] == '\r') line[--length] = '\0';
  return length;
}

/* How a read ended that is not an error worth logging: the client went
 * away (end of stream, or a reset), was dropped, or the server is closing
 * (both of those cancel the read). */
static int quietly(ssize_t result) {
  if (result == 0 || result == UV_ECONNRESET || result == UV_ECANCELED)
    return 0;
  return (int)result;
}

/* Asks until the client sends a line that is not empty, and keeps it as
 * the client's name. Returns 1 when named, else what quietly() makes of
 * the read that ended it. */
static int ask_name(chat_client_t *client, char *line, size_t size) {
  for (;;) {
    /* No drain: a few bytes to a new client never pile up. */
    async_stream_write(client->stream, CHAT_PROMPT, strlen(CHAT_PROMPT));
    ssize_t n = async_stream_readline(client->stream, line, size);
    if (n == UV_ENOBUFS) continue; /* a name over the line limit: ask again */
    if (n <= 0) return quietly(n);
    if (strip_line_end(line, (size_t)n) == 0) continue; /* empty: ask again */
    client->name = strdup(line);
    return client->name != NULL ? 1 : UV_ENOMEM;
  }
}

int chat_handle_client(async_stream_t *stream, void *arg) {
  chat_room_t *room = arg;
  chat_client_t client = {.stream = stream};

  /* One buffer holds each message as it goes out: "NAME: " first, then
   * readline writes the line straight after it. A line may be as long as
   * the stream's limit, plus its "\n" and the terminating NUL. */
  size_t line_size = ASYNC_STREAM_DEFAULT_LIMIT + 2;
  char *line = malloc(line_size);
  if (line == NULL) return UV_ENOMEM;
  int rc = ask_name(&client, line, line_size);
  if (rc <= 0) {
    free(line);
    return rc;
  }

  size_t prefix = strlen(client.name) + 2;
  char *message = malloc(prefix + line_size);
  if (message == NULL) {
    free(client.name);
    free(line);
    return UV_ENOMEM;
  }
  memcpy(message, client.name, prefix - 2);
  memcpy(message + prefix - 2, ": ", 2);
  free(line);

  room_join(room, &client);
  ssize_t n;
  for (;;) {
    n = async_stream_readline(stream, message + prefix, line_size);
    if (n == UV_ENOBUFS) continue; /* over the limit: skipped, not relayed */
    if (n <= 0) break;
    /* The last line may come without "\n" (the client closed first); the
     * others get one either way, and never a "\r". */
    size_t length = prefix + strip_line_end(message + prefix, (size_t)n);
    message[length++] = '\n';
    broadcast(room, &client, message, length);
  }
  /* Out of the room before the handler returns and the runtime frees the
   * stream: nobody may write to it after this. */
  room_leave(room, &client);
  free(message);
  free(client.name);
  return quietly(n);
}
