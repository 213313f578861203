/* chat_runtime.c: the chat server of the I/O benchmarks (fan-out), on the
 * runtime's streams.
 *
 *   chat_runtime [-H HOST] [-p PORT]     (port 0, the default: any free port)
 *
 * The chat protocol: the server sends "What's your name? ", the first
 * non-empty line is the name, and every later line goes to every other
 * named client as "name: line". One task per connection; a line is written
 * to each other client's stream without waiting (async_stream_write never
 * blocks, and the runtime sends each stream's writes of one loop pass in
 * one system call), so one slow reader never stalls the room. A client
 * more than MAX_BEHIND bytes behind is dropped instead of buffered forever.
 * Prints "listening on HOST:PORT" once it listens; serves until killed.
 */
#include "async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAX_LINE = 4096,         /* longer lines are skipped */
  MAX_BEHIND = 1024 * 1024 /* bytes queued for one client before dropping it */
};

typedef struct client {
  async_stream_t *stream;
  char name[64];
  struct client *prev, *next;
} client_t;

typedef struct settings {
  const char *host;
  int port;
} settings_t;

static client_t room = {.prev = &room, .next = &room}; /* the named clients */

static const char prompt[] = "What's your name? ";

/* Strips the line's end ("\n" or "\r\n"); returns the new length. */
static size_t chomp(char *line, size_t length) {
  while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
    line[--length] = '\0';
  return length;
}

static void broadcast(const client_t *from, const char *text, size_t size) {
  for (client_t *to = room.next; to != &room; to = to->next) {
    if (to == from) continue;
    if (async_stream_write_buffer_size(to->stream) > MAX_BEHIND) {
      /* Its own task sees its read fail and leaves the room. */
      async_stream_abort(to->stream);
      continue;
    }
    async_stream_write(to->stream, text, size);
  }
}

static int chat(async_stream_t *stream, void *arg) {
  (void)arg;
  client_t self = {.stream = stream};
  char line[MAX_LINE], message[sizeof self.name + 2 + MAX_LINE];
  ssize_t n;
  size_t length;
  do {
    if (async_stream_write(stream, prompt, sizeof prompt - 1) != 0) return 0;
    n = async_stream_readline(stream, line, sizeof line);
    if (n <= 0) return 0;
  } while ((length = chomp(line, (size_t)n)) == 0);
  if (length >= sizeof self.name) length = sizeof self.name - 1;
  memcpy(self.name, line, length);
  self.prev = room.prev;
  self.next = &room;
  room.prev->next = &self;
  room.prev = &self;
  for (;;) {
    n = async_stream_readline(stream, line, sizeof line);
    if (n == UV_ENOBUFS) continue;
    if (n <= 0) break;
    length = chomp(line, (size_t)n);
    int size = snprintf(message, sizeof message, "%s: %.*s\n", self.name,
                        (int)length, line);
    broadcast(&self, message, (size_t)size);
  }
  self.prev->next = self.next;
  self.next->prev = self.prev;
  return 0;
}

static int serve(void *arg) {
  const settings_t *settings = arg;
  async_server_t *server;
  int rc =
      async_server_start(&server, settings->host, settings->port, chat, NULL);
  if (rc != 0) {
    fprintf(stderr, "chat_runtime: cannot listen: %s\n", async_strerror(rc));
    return rc;
  }
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout);
  rc = async_server_wait(server);
  async_server_close(server, true);
  return rc;
}

int main(int argc, char **argv) {
  settings_t settings = {"127.0.0.1", 0};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-H") == 0) {
      settings.host = argv[i + 1];
    } else if (strcmp(argv[i], "-p") == 0) {
      settings.port = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: chat_runtime [-H HOST] [-p PORT]\n");
      return 2;
    }
  }
  return async_run(serve, &settings) == 0 ? 0 : 1;
}
