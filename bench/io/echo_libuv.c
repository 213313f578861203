/* echo_libuv.c: the line echo server of the I/O benchmarks on raw libuv
 * callbacks: the floor the runtime's echo server is measured against.
 *
 *   echo_libuv [-H HOST] [-p PORT]     (port 0, the default: any free port)
 *
 * As fast as libuv honestly goes: uv_read_start into one shared 64 KiB
 * buffer (libuv calls the read callback right after the allocation one),
 * scan for the last '\n', send every whole line at once with uv_try_write
 * straight from that buffer, and only what the kernel did not take is
 * copied for a uv_write. A line's unfinished tail waits in a per-connection
 * buffer. Reading stops while more than HIGH_WATER bytes wait to be sent
 * (back-pressure) and a line over LIMIT bytes closes the connection, as the
 * runtime's server would skip it: both matter only to misbehaving peers.
 * Prints "listening on HOST:PORT" once it listens; serves until killed.
 */
#include <uv.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  READ_SIZE = 64 * 1024,
  LIMIT = 64 * 1024,
  HIGH_WATER = 64 * 1024,
  BACKLOG = 4096
};

typedef struct connection {
  uv_tcp_t tcp;
  char *tail; /* an unfinished line */
  size_t tail_length, tail_capacity;
  bool reading;
} connection_t;

typedef struct pending_write {
  uv_write_t request;
  char data[]; /* what uv_try_write did not take */
} pending_write_t;

static uv_loop_t *loop;
static char read_buffer[READ_SIZE];

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_close(uv_handle_t *handle) {
  connection_t *c = (connection_t *)handle;
  free(c->tail);
  free(c);
}

static void drop(connection_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_write(uv_write_t *request, int status) {
  connection_t *c = (connection_t *)request->handle;
  free(request);
  if (status < 0) {
    drop(c);
    return;
  }
  if (!c->reading &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= HIGH_WATER) {
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
}

/* Sends data[0, size): what the kernel takes now, the rest by uv_write. */
static void send_lines(connection_t *c, const char *data, size_t size) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)size);
  int written = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    drop(c);
    return;
  }
  if ((size_t)written == size) return;
  size_t rest = size - (size_t)written;
  pending_write_t *pending = malloc(sizeof *pending + rest);
  if (pending == NULL) {
    drop(c);
    return;
  }
  memcpy(pending->data, data + written, rest);
  buf = uv_buf_init(pending->data, (unsigned)rest);
  if (uv_write(&pending->request, (uv_stream_t *)&c->tcp, &buf, 1, on_write) !=
      0) {
    free(pending);
    drop(c);
    return;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HIGH_WATER) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static bool keep_tail(connection_t *c, const char *data, size_t size) {
  size_t needed = c->tail_length + size;
  if (needed > LIMIT) return false;
  if (needed > c->tail_capacity) {
    size_t capacity = c->tail_capacity ? c->tail_capacity * 2 : 256;
    while (capacity < needed) capacity *= 2;
    char *grown = realloc(c->tail, capacity);
    if (grown == NULL) return false;
    c->tail = grown;
    c->tail_capacity = capacity;
  }
  memcpy(c->tail + c->tail_length, data, size);
  c->tail_length = needed;
  return true;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  connection_t *c = (connection_t *)stream;
  if (nread == 0) return;
  if (nread < 0) {
    drop(c); /* end of stream or reset: an unfinished last line is lost */
    return;
  }
  const char *data = buf->base;
  size_t size = (size_t)nread;
  const char *last = memrchr(data, '\n', size);
  if (last == NULL) {
    if (!keep_tail(c, data, size)) drop(c);
    return;
  }
  size_t whole = (size_t)(last - data) + 1;
  if (c->tail_length != 0) {
    /* The unfinished line ends in this read: send it and the rest as one. */
    if (!keep_tail(c, data, whole)) {
      drop(c);
      return;
    }
    send_lines(c, c->tail, c->tail_length);
    c->tail_length = 0;
  } else {
    send_lines(c, data, whole);
  }
  if (whole < size && !uv_is_closing((uv_handle_t *)&c->tcp) &&
      !keep_tail(c, data + whole, size - whole))
    drop(c);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  connection_t *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  uv_tcp_init(loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    drop(c);
    return;
  }
  c->reading = true;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-H") == 0) {
      host = argv[i + 1];
    } else if (strcmp(argv[i], "-p") == 0) {
      port = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: echo_libuv [-H HOST] [-p PORT]\n");
      return 2;
    }
  }
  loop = uv_default_loop();
  struct sockaddr_storage address;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&address) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&address) != 0) {
    fprintf(stderr, "echo_libuv: %s is not an IP address\n", host);
    return 2;
  }
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  int rc = uv_tcp_bind(&server, (struct sockaddr *)&address, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server, BACKLOG, on_connection);
  if (rc != 0) {
    fprintf(stderr, "echo_libuv: cannot listen: %s\n", uv_strerror(rc));
    return 1;
  }
  struct sockaddr_storage bound;
  int length = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &length);
  char text[64];
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, text, sizeof text);
    printf("listening on [%s]:%d\n", text,
           ntohs(((struct sockaddr_in6 *)&bound)->sin6_port));
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, text, sizeof text);
    printf("listening on %s:%d\n", text,
           ntohs(((struct sockaddr_in *)&bound)->sin_port));
  }
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
