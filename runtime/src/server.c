/* server.c: TCP servers and clients, asyncio's start_server and
 * open_connection, on top of the streams of stream.c.
 *
 * A server is one listening uv_tcp_t. Each accepted connection becomes a
 * stream and a task named after the peer ("127.0.0.1:50312") running the
 * handler through connection_main, which afterwards closes the stream if
 * the handler left it open, frees it, and prints a failure once (the
 * server retrieves its handlers' results, so the runtime's "never
 * retrieved" report does not fire as well). The server only borrows its
 * handler tasks: the task unlinks itself from the server before it ends.
 *
 * Names: an IPv4 or IPv6 literal is parsed on the spot; anything else goes
 * through uv_getaddrinfo on libuv's thread pool while the task parks. A
 * task cancelled meanwhile returns at once and leaves the request to free
 * itself in its callback, rather than waiting for a slow DNS answer.
 * async_connect tries every address in turn (a name such as localhost may
 * give ::1 before 127.0.0.1); a server listens on the first address that
 * works. Rejected: listening on all of a name's addresses, as asyncio does;
 * with port 0 each socket would get a different port, and a server has one
 * "listening on HOST:PORT" line to print.
 *
 * Check mode: io_waits counts tasks parked on the network, never handles.
 * Resolving, connecting and async_server_wait are such parks: a task in
 * async_server_wait says the program now serves whoever connects from
 * outside. The listening handle itself adds nothing to io_waits (check.c
 * looks at libuv's active handles on its own), and a handler task counts
 * only while it is parked in a read or a drain.
 */
#include "stream.h"

#include <netinet/in.h>
#include <sys/socket.h>

enum {
  MAX_ADDRESSES = 16, /* of one name; more is never useful */
  BACKLOG = SOMAXCONN
};

struct async_server {
  uv_tcp_t *listener; /* separate: a failed bind's handle closes alone */
  async_connection_fn handler;
  void *arg;
  struct async__list connections; /* of streams, by server_link */
  size_t connection_count;
  struct async__list waiters; /* tasks in async_server_wait */
  size_t waiting;
  async_task_t *closer;
  bool closing;
  bool listener_closed;
  int port;
  char address[64];
  struct async__list run_link;
};

/* Servers still open when the run ends are closed, and reported. */
static _Thread_local struct server_run {
  async__runtime_t *rt;
  async__run_end_hook_t hook;
  struct async__list servers;
} run;

static void run_end(async__run_end_hook_t *hook, async__runtime_t *rt);

static void run_enter(void) {
  if (run.rt == async__rt) return;
  run.rt = async__rt;
  async__list_init(&run.servers);
  run.hook.run_end = run_end;
  async__on_run_end(async__rt, &run.hook);
}

/* ---- Addresses ---- */

typedef struct address_list {
  struct sockaddr_storage items[MAX_ADDRESSES];
  size_t count;
} address_list_t;

/* "127.0.0.1:80", "[::1]:80"; "" for anything else. */
static void format_address(const struct sockaddr *address, char *text,
                           size_t size) {
  char host[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
    uv_ip4_name(v4, host, sizeof host);
    snprintf(text, size, "%s:%d", host, ntohs(v4->sin_port));
  } else if (address->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
    uv_ip6_name(v6, host, sizeof host);
    snprintf(text, size, "[%s]:%d", host, ntohs(v6->sin6_port));
  } else {
    text[0] = '\0';
  }
}

static void name_stream(async_stream_t *stream) {
  struct sockaddr_storage address;
  int length = sizeof address;
  if (uv_tcp_getpeername(&stream->io.tcp, (struct sockaddr *)&address,
                         &length) == 0)
    format_address((struct sockaddr *)&address, stream->peername,
                   sizeof stream->peername);
  length = sizeof address;
  if (uv_tcp_getsockname(&stream->io.tcp, (struct sockaddr *)&address,
                         &length) == 0)
    format_address((struct sockaddr *)&address, stream->sockname,
                   sizeof stream->sockname);
}

/* An IPv4 or IPv6 literal ("::1" or "[::1]"), without asking any DNS. */
static bool parse_literal(const char *host, int port, address_list_t *list) {
  struct sockaddr_storage *item = &list->items[0];
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)item) == 0) {
    list->count = 1;
    return true;
  }
  char bare[INET6_ADDRSTRLEN + 16];
  size_t length = strlen(host);
  if (length >= 2 && host[0] == '[' && host[length - 1] == ']' &&
      length - 2 < sizeof bare) {
    memcpy(bare, host + 1, length - 2);
    bare[length - 2] = '\0';
    host = bare;
  }
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)item) == 0) {
    list->count = 1;
    return true;
  }
  return false;
}

/* On the heap: a cancelled task leaves it behind for the callback. */
typedef struct resolution {
  uv_getaddrinfo_t request;
  async_task_t *task; /* NULL once the task gave up */
  struct addrinfo *result;
  int status;
  bool done;
} resolution_t;

static void on_resolved(uv_getaddrinfo_t *request, int status,
                        struct addrinfo *result) {
  resolution_t *resolution =
      async__container_of(request, resolution_t, request);
  if (resolution->task == NULL) {
    uv_freeaddrinfo(result);
    free(resolution);
    return;
  }
  resolution->status = status;
  resolution->result = result;
  resolution->done = true;
  async__wake(resolution->task);
}

/* Blocks while `host` is resolved into at most MAX_ADDRESSES addresses
 * with `port`. */
static int lookup(const char *host, int port, bool passive,
                  address_list_t *list) {
  list->count = 0;
  if (parse_literal(host, port, list)) return 0;
  resolution_t *resolution = calloc(1, sizeof *resolution);
  if (resolution == NULL) return UV_ENOMEM;
  resolution->task = async__rt->current;
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_protocol = IPPROTO_TCP,
                           .ai_flags = passive ? AI_PASSIVE : 0};
  async__thread_pool_note_use(); /* resolving starts libuv's pool */
  int rc = uv_getaddrinfo(&async__rt->loop, &resolution->request, on_resolved,
                          host, NULL, &hints);
  if (rc != 0) {
    free(resolution);
    return rc;
  }
  async__io_begin();
  do {
    rc = async__park("a host name to be resolved", host, true);
  } while (rc == 0 && !resolution->done);
  async__io_end();
  if (!resolution->done) {
    uv_cancel((uv_req_t *)&resolution->request);
    resolution->task = NULL; /* on_resolved frees it */
    return rc;
  }
  rc = resolution->status;
  for (struct addrinfo *info = resolution->result;
       rc == 0 && info != NULL && list->count < MAX_ADDRESSES;
       info = info->ai_next) {
    struct sockaddr_storage *item = &list->items[list->count];
    if (info->ai_family == AF_INET) {
      memcpy(item, info->ai_addr, sizeof(struct sockaddr_in));
      ((struct sockaddr_in *)item)->sin_port = htons((uint16_t)port);
    } else if (info->ai_family == AF_INET6) {
      memcpy(item, info->ai_addr, sizeof(struct sockaddr_in6));
      ((struct sockaddr_in6 *)item)->sin6_port = htons((uint16_t)port);
    } else {
      continue;
    }
    list->count++;
  }
  uv_freeaddrinfo(resolution->result);
  free(resolution);
  if (rc == 0 && list->count == 0) rc = UV_EAI_NONAME;
  return rc;
}

/* ---- Connections ---- */

static void connection_ended(async_stream_t *stream) {
  async_server_t *server = stream->server;
  async__list_remove(&stream->server_link);
  if (--server->connection_count == 0 && server->closer != NULL)
    async__wake(server->closer);
}

static int connection_main(void *arg) {
  async_stream_t *stream = arg;
  async_server_t *server = stream->server;
  async__unwatch(&stream->finish_watch);
  int rc = server->handler(stream, server->arg);
  async__stream_close_blocking(stream); /* at once if it is closed */
  connection_ended(stream);
  if (rc < 0 && rc != UV_ECANCELED)
    fprintf(stderr, "async: the handler of connection %s failed: %s (%s)\n",
            stream->peername, async_err_name(rc), async_strerror(rc));
  async__rt->current->retrieved = true; /* said once, just above */
  stream->released = true;
  async__stream_maybe_free(stream);
  return rc;
}

/* A task cancelled before it first ran never runs (server close, or the
 * end of the run): its connection is closed here, without blocking. */
static void connection_never_ran(async__watch_t *watch, async_task_t *task) {
  (void)task;
  async_stream_t *stream = watch->data;
  connection_ended(stream);
  stream->owned = false;
  async__stream_free(stream);
}

static void on_connection(uv_stream_t *listener, int status) {
  async_server_t *server = listener->data;
  if (status < 0) {
    fprintf(stderr, "async: server %s could not accept a connection: %s\n",
            server->address, async_strerror(status));
    return;
  }
  async_stream_t *stream = async__stream_alloc();
  if (stream == NULL) return; /* out of memory: the client waits */
  int rc = uv_tcp_init(listener->loop, &stream->io.tcp);
  if (rc != 0) {
    async__stream_discard(stream);
    return;
  }
  rc = uv_accept(listener, &stream->io.stream);
  /* Once main has returned, async_run only waits for tasks to unwind: a
   * new handler then would keep it waiting. */
  if (rc != 0 || server->closing || async__rt->shutting_down) {
    async__stream_free(stream);
    return;
  }
  uv_tcp_nodelay(&stream->io.tcp, 1);
  name_stream(stream);
  stream->server = server;
  stream->owned = true;
  async_task_t *task =
      async_spawn(stream->peername[0] ? stream->peername : "connection",
                  connection_main, stream);
  if (task == NULL) {
    stream->owned = false;
    async__stream_free(stream);
    return;
  }
  stream->handler_task = task;
  stream->finish_watch.notify = connection_never_ran;
  stream->finish_watch.data = stream;
  async__watch(task, &stream->finish_watch);
  async_task_release(task);
  async__list_push(&server->connections, &stream->server_link);
  server->connection_count++;
  async__stream_start(stream);
}

/* ---- Servers ---- */

static void on_listener_closed(uv_handle_t *handle) {
  async_server_t *server = handle->data;
  free(handle);
  if (server == NULL) return; /* the run-end hook freed the server */
  server->listener_closed = true;
  if (server->closer != NULL) async__wake(server->closer);
}

static int listen_on(async_server_t *server, const struct sockaddr *address) {
  uv_tcp_t *listener = malloc(sizeof *listener);
  if (listener == NULL) return UV_ENOMEM;
  int rc = uv_tcp_init(&async__rt->loop, listener);
  if (rc != 0) {
    free(listener);
    return rc;
  }
  listener->data = NULL;
  rc = uv_tcp_bind(listener, address, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)listener, BACKLOG, on_connection);
  if (rc != 0) {
    uv_close((uv_handle_t *)listener, on_listener_closed);
    return rc;
  }
  listener->data = server;
  server->listener = listener;
  return 0;
}

int(async_server_start)(async_server_t **out, const char *host, int port,
                        async_connection_fn handler, void *arg) {
  int rc = async__enter_blocking("async_server_start");
  if (rc != 0) return rc;
  if (out == NULL || handler == NULL)
    return async__misuse("async_server_start", UV_EINVAL,
                         "NULL server pointer or handler");
  if (port < 0 || port > 65535)
    return async__misuse("async_server_start", UV_EINVAL,
                         "the port must be 0 (any) to 65535");
  address_list_t addresses;
  rc = lookup(host != NULL && host[0] != '\0' ? host : "0.0.0.0", port, true,
              &addresses);
  if (rc != 0) return rc;
  async_server_t *server = calloc(1, sizeof *server);
  if (server == NULL) return UV_ENOMEM;
  for (size_t i = 0; i < addresses.count; i++) {
    rc = listen_on(server, (const struct sockaddr *)&addresses.items[i]);
    if (rc == 0) break;
  }
  if (rc != 0) {
    free(server);
    return rc;
  }
  server->handler = handler;
  server->arg = arg;
  async__list_init(&server->connections);
  async__list_init(&server->waiters);
  struct sockaddr_storage bound;
  int length = sizeof bound;
  if (uv_tcp_getsockname(server->listener, (struct sockaddr *)&bound,
                         &length) == 0) {
    format_address((struct sockaddr *)&bound, server->address,
                   sizeof server->address);
    server->port = bound.ss_family == AF_INET6
                       ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                       : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  }
  run_enter();
  async__list_push(&run.servers, &server->run_link);
  *out = server;
  return 0;
}

int async_server_port(const async_server_t *server) {
  if (server == NULL)
    return async__misuse("async_server_port", UV_EINVAL, "server is NULL");
  return server->port;
}

const char *async_server_address(const async_server_t *server) {
  if (server == NULL) {
    async__misuse("async_server_address", UV_EINVAL, "server is NULL");
    return "";
  }
  return server->address;
}

int(async_server_wait)(async_server_t *server) {
  int rc = async__enter_blocking("async_server_wait");
  if (rc != 0) return rc;
  if (server == NULL)
    return async__misuse("async_server_wait", UV_EINVAL, "server is NULL");
  if (server->closing) return 0;
  async__waiter_t waiter;
  async__waiter_enqueue(&server->waiters, &waiter);
  server->waiting++;
  async__io_begin();
  do {
    rc = async__park("connections, until the server is closed", server, true);
  } while (rc == 0 && !waiter.woken);
  async__io_end();
  if (!waiter.woken) async__list_remove(&waiter.link);
  /* The closer frees the server once the last waiter has left. */
  if (--server->waiting == 0 && server->closer != NULL)
    async__wake(server->closer);
  return rc;
}

static void cancel_handlers(async_server_t *server) {
  struct async__list *link;
  for (link = server->connections.next; link != &server->connections;
       link = link->next) {
    async_stream_t *stream =
        async__container_of(link, async_stream_t, server_link);
    async_task_cancel(stream->handler_task);
  }
}

int(async_server_close)(async_server_t *server, bool cancel) {
  /* Not async__enter_blocking: a cancelled task must still be able to
   * close its server (it then cancels the handlers instead of waiting). */
  if (async__rt == NULL || async__rt->current == NULL)
    return async__outside_task("async_server_close");
  if (server == NULL)
    return async__misuse("async_server_close", UV_EINVAL, "server is NULL");
  if (server->closing)
    return async__misuse("async_server_close", UV_EINVAL,
                         "another task is already closing this server");
  async_task_t *self = async__rt->current;
  struct async__list *link;
  for (link = server->connections.next; link != &server->connections;
       link = link->next)
    if (async__container_of(link, async_stream_t, server_link)->handler_task ==
        self)
      return async__misuse("async_server_close", ASYNC_EDEADLK,
                           "a connection handler cannot close its own "
                           "server (it would wait for itself): let another "
                           "task do it");
  server->closing = true;
  server->closer = self;
  uv_close((uv_handle_t *)server->listener, on_listener_closed);
  async__wake_all(&server->waiters);
  int rc = self->interrupt;
  if (cancel || rc != 0) cancel_handlers(server);
  while (server->connection_count != 0) {
    int interrupted =
        async__park("connection handlers to return", server, rc == 0);
    if (rc == 0 && interrupted != 0) {
      rc = interrupted; /* like a join: pass it on, and still wait */
      cancel_handlers(server);
    }
  }
  async__io_begin();
  while (!server->listener_closed || server->waiting != 0)
    async__park("a server to close", server, false);
  async__io_end();
  async__list_remove(&server->run_link);
  free(server);
  return rc;
}

static void run_end(async__run_end_hook_t *hook, async__runtime_t *rt) {
  (void)hook;
  while (!async__list_empty(&run.servers)) {
    async_server_t *server =
        async__container_of(run.servers.next, async_server_t, run_link);
    async__list_remove(&server->run_link);
    rt->stats.handles_left_open++;
    fprintf(stderr,
            "async: the server on %s was never closed (async_server_close)\n",
            server->address);
    if (!server->listener_closed) {
      server->listener->data = NULL;
      if (!server->closing)
        uv_close((uv_handle_t *)server->listener, on_listener_closed);
    }
    free(server);
  }
  run.rt = NULL;
}

/* ---- Clients ---- */

typedef struct connecting {
  uv_connect_t request;
  async_task_t *task; /* NULL once the task gave up */
  int status;
  bool done;
} connecting_t;

static void on_connected(uv_connect_t *request, int status) {
  connecting_t *connecting =
      async__container_of(request, connecting_t, request);
  if (connecting->task == NULL) {
    free(connecting);
    return;
  }
  connecting->status = status;
  connecting->done = true;
  async__wake(connecting->task);
}

static int connect_to(const struct sockaddr *address, async_stream_t **out) {
  async_stream_t *stream = async__stream_alloc();
  if (stream == NULL) return UV_ENOMEM;
  int rc = uv_tcp_init(&async__rt->loop, &stream->io.tcp);
  if (rc != 0) {
    async__stream_discard(stream);
    return rc;
  }
  connecting_t *connecting = calloc(1, sizeof *connecting);
  if (connecting == NULL) {
    async__stream_free(stream);
    return UV_ENOMEM;
  }
  connecting->task = async__rt->current;
  rc = uv_tcp_connect(&connecting->request, &stream->io.tcp, address,
                      on_connected);
  if (rc != 0) {
    free(connecting);
    async__stream_free(stream);
    return rc;
  }
  async__io_begin();
  do {
    rc = async__park("a connection to be accepted", stream, true);
  } while (rc == 0 && !connecting->done);
  async__io_end();
  if (!connecting->done) {
    /* Closing the handle completes the request with UV_ECANCELED, and
     * on_connected frees it. */
    connecting->task = NULL;
    async__stream_free(stream);
    return rc;
  }
  rc = connecting->status;
  free(connecting);
  if (rc != 0) {
    async__stream_free(stream);
    return rc;
  }
  uv_tcp_nodelay(&stream->io.tcp, 1);
  name_stream(stream);
  async__stream_start(stream);
  *out = stream;
  return 0;
}

int(async_connect)(async_stream_t **out, const char *host, int port) {
  int rc = async__enter_blocking("async_connect");
  if (rc != 0) return rc;
  if (out == NULL || host == NULL)
    return async__misuse("async_connect", UV_EINVAL,
                         "NULL stream pointer or host");
  if (port <= 0 || port > 65535)
    return async__misuse("async_connect", UV_EINVAL,
                         "the port must be 1 to 65535");
  address_list_t addresses;
  rc = lookup(host, port, false, &addresses);
  if (rc != 0) return rc;
  for (size_t i = 0; i < addresses.count; i++) {
    rc = connect_to((const struct sockaddr *)&addresses.items[i], out);
    if (rc == 0 || async__rt->current->interrupt != 0) return rc;
  }
  return rc;
}
