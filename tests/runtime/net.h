/* net.h: what the stream and server tests share: a connected pair of
 * streams over real loopback TCP, raw sockets for peers that misbehave, and
 * test data.
 *
 * A pair is a server on 127.0.0.1 port 0 and one client connected to it;
 * the server's handler hands its side of the connection to the test and
 * waits until pair_close(), so that a test can drive both ends from main:
 *
 *   pair_t pair;
 *   if ((rc = pair_open(&pair)) != 0) return rc;
 *   ... use pair.client and pair.accepted ...
 *   return pair_close(&pair);
 *
 * Include it after harness.h.
 */
#ifndef NET_H
#define NET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "async.h"

/* What the runtime counts for its tests (stream.c): "buffered" (unread
 * bytes), "writes" (system-call writes), "skipped", "reading", "queued". */
size_t async__stream_counter(const async_stream_t *stream, const char *name);

typedef struct pair {
  async_server_t *server;
  async_stream_t *client;   /* the test's to close (pair_close does) */
  async_stream_t *accepted; /* the server's side, valid until pair_close */
  async_task_t *handler;    /* the task that runs the accepted side */
  async_event_t accepted_ready, done;
} pair_t;

static inline int pair_handler(async_stream_t *stream, void *arg) {
  pair_t *pair = arg;
  pair->accepted = stream;
  pair->handler = async_current_task();
  async_event_set(&pair->accepted_ready);
  int rc = async_event_wait(&pair->done);
  return rc == UV_ECANCELED ? 0 : rc;
}

static inline int pair_open(pair_t *pair) {
  memset(pair, 0, sizeof *pair);
  async_event_init(&pair->accepted_ready);
  async_event_init(&pair->done);
  int rc =
      async_server_start(&pair->server, "127.0.0.1", 0, pair_handler, pair);
  if (rc != 0) return rc;
  rc = async_connect(&pair->client, "127.0.0.1",
                     async_server_port(pair->server));
  if (rc == 0) rc = async_event_wait(&pair->accepted_ready);
  if (rc != 0) {
    async_server_close(pair->server, true);
    pair->server = NULL;
  }
  return rc;
}

/* Lets the handler return (the runtime then closes the accepted side),
 * closes the client if the test has not, and closes the server. */
static inline int pair_close(pair_t *pair) {
  async_event_set(&pair->done);
  if (pair->client != NULL) async_stream_close(pair->client);
  pair->client = NULL;
  return async_server_close(pair->server, false);
}

/* A blocking socket connected to 127.0.0.1:port, for peers that do what
 * the runtime's streams never would. -1 on failure. */
static inline int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in address;
  uv_ip4_addr("127.0.0.1", port, &address);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Closes with SO_LINGER 0: the peer gets a reset (RST), not an end. */
static inline void raw_reset(int fd) {
  struct linger linger = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  close(fd);
}

/* Test data that shows where it was cut: byte i of a stream. */
static inline char pattern_byte(size_t i) {
  return (char)('a' + (i * 7 + i / 251) % 26);
}

static inline char *pattern_new(size_t size) {
  char *data = malloc(size + 1);
  if (data == NULL) abort();
  for (size_t i = 0; i < size; i++) data[i] = pattern_byte(i);
  data[size] = '\0';
  return data;
}

/* Yields until *flag is true, at most `rounds` times (a yield also polls
 * the network now and then); returns *flag. Never a sleep. */
static inline bool yield_until(const volatile bool *flag, int rounds) {
  for (int i = 0; i < rounds && !*flag; i++) async_yield();
  return *flag;
}

#endif /* NET_H */
