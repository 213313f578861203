/* chat_server.c: ex4-chat, solved another way: each client has an outbox
 * (a queue) and a writer task that sends it, the design of many asyncio
 * chat servers.
 *
 * The broadcast only puts the message in each recipient's outbox; the
 * recipient's writer writes and drains, so a slow reader holds up only its
 * own writer. The bound counts what waits in the outbox and in the stream:
 * past it, the client is dropped. */
#include <async.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_server.h"

typedef struct message {
  size_t length;
  char text[];
} message_t;

typedef struct chat_client {
  async_stream_t *stream;
  char *name;
  struct chat_client *prev, *next;
  bool in_room;
  async_queue_t outbox; /* of message_t *, unbounded: the bound is in bytes */
  size_t outbox_bytes;
  async_task_t *writer;
} chat_client_t;

struct chat_room {
  chat_client_t *first;
  size_t count;
  size_t max_pending;
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

static void room_join(chat_room_t *room, chat_client_t *client) {
  client->prev = NULL;
  client->next = room->first;
  if (room->first != NULL) room->first->prev = client;
  room->first = client;
  client->in_room = true;
  room->count++;
}

static void room_leave(chat_room_t *room, chat_client_t *client) {
  if (!client->in_room) return;
  if (client->prev != NULL)
    client->prev->next = client->next;
  else
    room->first = client->next;
  if (client->next != NULL) client->next->prev = client->prev;
  client->in_room = false;
  room->count--;
}

/* The client's writer: sends its outbox, one message at a time, waiting
 * for each to drain. Ends when cancelled or when the stream breaks. */
static int write_outbox(void *arg) {
  chat_client_t *client = arg;
  for (;;) {
    void *item;
    if (async_queue_get(&client->outbox, &item) != 0) return 0;
    message_t *message = item;
    client->outbox_bytes -= message->length;
    int rc = async_stream_write(client->stream, message->text, message->length);
    free(message);
    if (rc == 0) rc = async_stream_drain(client->stream);
    if (rc != 0) return 0; /* gone, dropped or cancelled */
  }
}

static void broadcast(chat_room_t *room, chat_client_t *sender,
                      const char *text, size_t length) {
  chat_client_t *next;
  for (chat_client_t *client = room->first; client != NULL; client = next) {
    next = client->next;
    if (client == sender) continue;
    size_t pending =
        client->outbox_bytes + async_stream_write_buffer_size(client->stream);
    if (pending + length > room->max_pending) {
      fprintf(stderr, "chat_server: dropped %s: %zu bytes wait for it\n",
              client->name, pending);
      room_leave(room, client);
      async_stream_abort(client->stream);
      continue;
    }
    message_t *message = malloc(sizeof *message + length);
    if (message == NULL) continue;
    message->length = length;
    memcpy(message->text, text, length);
    if (async_queue_put_nowait(&client->outbox, message) != 0) {
      free(message);
      continue;
    }
    client->outbox_bytes += length;
  }
}

static size_t strip_line_end(char *line, size_t length) {
  if (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
  if (length > 0 && line[length - 1] == '\r') line[--length] = '\0';
  return length;
}

static int ask_name(chat_client_t *client, char *line, size_t size) {
  for (;;) {
    async_stream_write(client->stream, CHAT_PROMPT, strlen(CHAT_PROMPT));
    ssize_t n = async_stream_readline(client->stream, line, size);
    if (n == UV_ENOBUFS) continue;
    if (n <= 0) return 0;
    if (strip_line_end(line, (size_t)n) == 0) continue;
    client->name = strdup(line);
    return client->name != NULL ? 1 : UV_ENOMEM;
  }
}

int chat_handle_client(async_stream_t *stream, void *arg) {
  chat_room_t *room = arg;
  chat_client_t client = {.stream = stream};
  size_t size = ASYNC_STREAM_DEFAULT_LIMIT + 2;
  char *line = malloc(size);
  if (line == NULL) return UV_ENOMEM;
  int rc = ask_name(&client, line, size);
  if (rc <= 0) {
    free(line);
    return rc;
  }
  size_t name_length = strlen(client.name);
  char *text = malloc(name_length + 2 + size);
  if (text == NULL || async_queue_init(&client.outbox, 0) != 0) {
    free(text);
    free(line);
    free(client.name);
    return UV_ENOMEM;
  }
  client.writer = async_spawn("writer", write_outbox, &client);
  room_join(room, &client);

  ssize_t n;
  while ((n = async_stream_readline(stream, line, size)) != 0) {
    if (n == UV_ENOBUFS) continue;
    if (n < 0) break;
    strip_line_end(line, (size_t)n);
    int used =
        snprintf(text, name_length + 2 + size, "%s: %s\n", client.name, line);
    broadcast(room, &client, text, (size_t)used);
  }

  room_leave(room, &client);
  if (client.writer != NULL) {
    async_task_cancel(client.writer);
    async_task_join(client.writer);
    async_task_release(client.writer);
  }
  void *item;
  while (async_queue_get_nowait(&client.outbox, &item) == 0) free(item);
  async_queue_destroy(&client.outbox);
  free(text);
  free(line);
  free(client.name);
  return 0;
}
