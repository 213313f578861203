/* http.c: the HTTP client, aiohttp's ClientSession.get on libcurl.
 *
 * Every transfer of a runtime goes through one libcurl multi handle, made
 * on the first async_http_get and destroyed by a run-end hook. libcurl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one uv_poll_t
 * per socket, started and stopped for the events it asks, closed on
 * CURL_POLL_REMOVE) and when to call it back (CURLMOPT_TIMERFUNCTION: one
 * runtime timer entry); the poll and timer callbacks call
 * curl_multi_socket_action, then collect finished transfers and wake their
 * tasks. A transfer (the easy handle, its buffers) lives on the waiting
 * task's stack: the task removes it from the multi before it returns,
 * whether the transfer finished, failed or the task was interrupted.
 *
 * The timer is an entry in the runtime's own timer heap, not a uv_timer_t:
 * no handle to close, the scheduler sees curl's deadline as a pending timer
 * (so a task waiting for a DNS answer that curl polls for is never taken
 * for a deadlock), and check mode's clock accounts for it like any other
 * timer. curl_multi_socket_action runs only on the scheduler's stack
 * (inside uv_run or the timer pass): connecting, TLS and the protocol work
 * never eat into a task's small stack; a task only adds and removes its
 * own transfer.
 *
 * Rejected: curl_multi_perform on a short timer (polling: latency or wasted
 * CPU), and curl_easy_perform on the thread pool (a thread per transfer:
 * twenty transfers would queue behind libuv's four threads, and cancelling
 * one cannot stop it).
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#define USER_AGENT "async-runtime/1.0 (libcurl)"
enum { DEFAULT_CONNECT_TIMEOUT_MS = 10000, FOLLOW_AT_MOST = 20 };

/* ---- libcurl, once per process ---- */

/* curl_global_init is not thread-safe in every libcurl: once, guarded, the
 * first time any thread's runtime needs it; never cleaned up (other
 * runtimes on other threads may still use it). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void) {
  curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- One client per runtime ---- */

typedef struct http_client {
  async__run_end_hook_t hook;
  CURLM *multi;
  struct async__timer_entry timer; /* when curl wants to be called back */
  struct async__list sockets;      /* of socket_watch_t, polls open */
} http_client_t;

/* This thread's runtime's client, or NULL until its first transfer. */
static _Thread_local http_client_t *current_client;

/* A socket curl asked us to watch. */
typedef struct socket_watch {
  uv_poll_t poll;
  curl_socket_t fd;
  int events; /* what curl asked to watch */
  bool closed;
  http_client_t *client;
  struct async__list link;
} socket_watch_t;

/* One transfer; lives on the stack of the task that waits for it. */
typedef struct transfer {
  CURL *easy;
  async_task_t *task;
  bool finished;
  CURLcode result;
  struct curl_slist *request_headers;
  /* The body, in memory or into fd. */
  char *body;
  size_t body_size, body_capacity;
  int fd;
  const char *output_path;
  size_t max_body; /* 0: no limit */
  bool too_big;
  int write_error; /* a UV code, when storing the body failed */
  /* The header block of the latest hop. */
  char *headers;
  size_t headers_size, headers_capacity;
  char curl_error[CURL_ERROR_SIZE];
} transfer_t;

static void collect_finished(http_client_t *client) {
  CURLMsg *message;
  int left;
  while ((message = curl_multi_info_read(client->multi, &left)) != NULL) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL *easy = message->easy_handle;
    char *private_data = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private_data);
    transfer_t *transfer = (transfer_t *)private_data;
    transfer->result = message->data.result; /* message dies on removal */
    curl_multi_remove_handle(client->multi, easy);
    transfer->finished = true;
    async__wake(transfer->task);
  }
}

static void on_watch_closed(uv_handle_t *handle) {
  free(async__container_of(handle, socket_watch_t, poll));
}

static void watch_close(socket_watch_t *watch) {
  watch->closed = true;
  async__list_remove(&watch->link);
  uv_close((uv_handle_t *)&watch->poll, on_watch_closed);
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  socket_watch_t *watch = async__container_of(poll, socket_watch_t, poll);
  http_client_t *client = watch->client;
  /* libuv reports a socket error (a reset, say) as UV_EBADF and stops the
   * poll. Passing CURL_CSELECT_ERR on would make curl fail with a bare
   * "select/poll returned error"; letting it read or write instead makes
   * it meet the real error (ECONNRESET...) and say so. */
  if (status < 0) events = watch->events;
  int flags = 0;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running;
  /* May close this very watch (CURL_POLL_REMOVE): it is freed only in its
   * close callback, later, so reading it afterwards is still safe. */
  curl_multi_socket_action(client->multi, watch->fd, flags, &running);
  if (status < 0 && !watch->closed)
    uv_poll_start(&watch->poll, watch->events, on_poll);
  collect_finished(client);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what,
                          void *client_pointer, void *watch_pointer) {
  (void)easy;
  http_client_t *client = client_pointer;
  socket_watch_t *watch = watch_pointer;
  if (what == CURL_POLL_REMOVE) {
    if (watch != NULL) {
      curl_multi_assign(client->multi, fd, NULL);
      watch_close(watch);
    }
    return 0;
  }
  if (watch == NULL) {
    watch = malloc(sizeof *watch);
    if (watch == NULL) return -1;
    if (uv_poll_init_socket(&async__rt->loop, &watch->poll, fd) != 0) {
      free(watch);
      return -1;
    }
    watch->fd = fd;
    watch->closed = false;
    watch->client = client;
    async__list_push(&client->sockets, &watch->link);
    curl_multi_assign(client->multi, fd, watch);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  watch->events = events;
  return uv_poll_start(&watch->poll, events, on_poll) == 0 ? 0 : -1;
}

static void on_timer_due(struct async__timer_entry *entry) {
  http_client_t *client = async__container_of(entry, http_client_t, timer);
  int running;
  curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  collect_finished(client);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *client_pointer) {
  (void)multi;
  http_client_t *client = client_pointer;
  if (timeout_ms < 0) {
    async__timer_stop(&client->timer);
    return 0;
  }
  /* One nanosecond more: a "call me now" asked from inside the timer pass
   * waits for the next pass, after I/O has been polled, instead of making
   * the pass spin. */
  async__timer_start(&client->timer,
                     async__now() + (uint64_t)timeout_ms * 1000000u + 1);
  return 0;
}

static void client_end(async__run_end_hook_t *hook, async__runtime_t *rt) {
  (void)rt;
  http_client_t *client = async__container_of(hook, http_client_t, hook);
  /* Every task has finished, so every transfer has left the multi; this
   * closes the connections curl kept for reuse. */
  curl_multi_cleanup(client->multi);
  while (!async__list_empty(&client->sockets))
    watch_close(
        async__container_of(client->sockets.next, socket_watch_t, link));
  async__timer_stop(&client->timer);
  current_client = NULL;
  free(client);
}

/* Writes the sentence that says why a call failed (cut to fit). */
__attribute__((format(printf, 2, 3))) static void
set_error(async_http_response_t *response, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(response->error, sizeof response->error, format, args);
  va_end(args);
}

/* This runtime's client, made on first use. */
static int client_get(http_client_t **out, async_http_response_t *response) {
  if (current_client != NULL) {
    *out = current_client;
    return 0;
  }
  pthread_once(&curl_once, curl_init);
  if (curl_init_result != CURLE_OK) {
    set_error(response, "libcurl could not start: %s",
              curl_easy_strerror(curl_init_result));
    return UV_EIO;
  }
  http_client_t *client = calloc(1, sizeof *client);
  if (client == NULL) return UV_ENOMEM;
  client->multi = curl_multi_init();
  if (client->multi == NULL) {
    free(client);
    set_error(response, "libcurl could not make a multi handle");
    return UV_ENOMEM;
  }
  curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
  curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
  async__timer_init(&client->timer, on_timer_due);
  async__list_init(&client->sockets);
  client->hook.run_end = client_end;
  async__on_run_end(async__rt, &client->hook);
  current_client = client;
  *out = client;
  return 0;
}

/* ---- Receiving ---- */

/* Appends to a NUL-terminated growing buffer. */
static int buffer_append(char **data, size_t *size, size_t *capacity,
                         const char *bytes, size_t count) {
  if (count >= SIZE_MAX - *size) return UV_ENOMEM;
  if (*size + count + 1 > *capacity) {
    size_t grown = *capacity ? *capacity : 4096;
    while (grown < *size + count + 1)
      grown = grown > SIZE_MAX / 2 ? *size + count + 1 : grown * 2;
    char *larger = realloc(*data, grown);
    if (larger == NULL) return UV_ENOMEM;
    *data = larger;
    *capacity = grown;
  }
  memcpy(*data + *size, bytes, count);
  *size += count;
  (*data)[*size] = '\0';
  return 0;
}

/* Returning fewer bytes than given makes curl fail with CURLE_WRITE_ERROR;
 * transfer->too_big or write_error says why. */
static size_t on_body(char *data, size_t size, size_t count, void *pointer) {
  transfer_t *transfer = pointer;
  size_t bytes = size * count;
  if (transfer->max_body != 0 &&
      bytes > transfer->max_body - transfer->body_size) {
    transfer->too_big = true;
    return 0;
  }
  if (transfer->fd < 0) {
    int rc = buffer_append(&transfer->body, &transfer->body_size,
                           &transfer->body_capacity, data, bytes);
    if (rc != 0) {
      transfer->write_error = rc;
      return 0;
    }
    return bytes;
  }
  /* A local file: written at once, as it arrives (a disk write does not
   * wait for the network, so it is not worth the thread pool). */
  for (size_t done = 0; done < bytes;) {
    ssize_t written = write(transfer->fd, data + done, bytes - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      transfer->write_error = uv_translate_sys_error(errno);
      return 0;
    }
    done += (size_t)written;
  }
  transfer->body_size += bytes;
  return bytes;
}

static size_t on_header(char *data, size_t size, size_t count, void *pointer) {
  transfer_t *transfer = pointer;
  size_t bytes = size * count;
  /* A status line starts a new hop (a redirect, or after an interim 1xx):
   * only the last hop's block is kept. */
  if (bytes >= 5 && memcmp(data, "HTTP/", 5) == 0) transfer->headers_size = 0;
  int rc = buffer_append(&transfer->headers, &transfer->headers_size,
                         &transfer->headers_capacity, data, bytes);
  if (rc != 0) {
    transfer->write_error = rc;
    return 0;
  }
  return bytes;
}

/* ---- Setting up ---- */

/* Milliseconds for curl, rounded up so that a timeout is never shorter than
 * asked; `none` for ASYNC_FOREVER (and anything beyond a few weeks). */
static long timeout_ms(double seconds, long none) {
  if (seconds > (double)INT32_MAX / 1000) return none;
  long ms = (long)ceil(seconds * 1000);
  return ms > 0 ? ms : 1;
}

static int check_options(const async_http_options_t *options,
                         async_http_response_t *response) {
  const char *why = NULL;
  if (options->method != NULL && strcmp(options->method, "GET") != 0 &&
      strcmp(options->method, "HEAD") != 0 &&
      strcmp(options->method, "POST") != 0)
    why = "method must be NULL, \"GET\", \"HEAD\" or \"POST\"";
  else if (options->body == NULL && options->body_size != 0)
    why = "body is NULL but body_size is not 0";
  else if (isnan(options->connect_timeout) || options->connect_timeout < 0)
    why = "connect_timeout must be >= 0 (0: the default, 10 s)";
  else if (isnan(options->timeout) || options->timeout < 0)
    why = "timeout must be >= 0 (0: none)";
  if (why == NULL) return 0;
  set_error(response, "bad options: %s", why);
  return async__misuse("async_http_get", UV_EINVAL, why);
}

static int setup(transfer_t *transfer, const char *url,
                 const async_http_options_t *options) {
  CURL *easy = curl_easy_init();
  if (easy == NULL) return UV_ENOMEM;
  transfer->easy = easy;
  CURLcode rc = CURLE_OK;
#define SET(option, value)                                                     \
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value)
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PRIVATE, (char *)transfer);
  SET(CURLOPT_ERRORBUFFER, transfer->curl_error);
  SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: signals are the program's */
  SET(CURLOPT_USERAGENT, USER_AGENT);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, transfer);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, transfer);
  /* Only the web: no file://, no ftp:// (a redirect must not read local
   * files either). */
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  long connect_ms = options->connect_timeout == 0
                        ? DEFAULT_CONNECT_TIMEOUT_MS
                        : timeout_ms(options->connect_timeout, INT32_MAX);
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  if (options->timeout != 0)
    SET(CURLOPT_TIMEOUT_MS, timeout_ms(options->timeout, 0));
  if (options->max_redirects != 0) {
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, options->max_redirects < 0
                               ? (long)FOLLOW_AT_MOST
                               : (long)options->max_redirects);
  }
  /* Refuses at once a body announced too large; on_body catches the rest. */
  if (options->max_body != 0 && options->max_body <= (size_t)INT64_MAX)
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)options->max_body);
  const char *method = options->method ? options->method : "GET";
  if (strcmp(method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "POST") == 0) {
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)options->body_size);
    SET(CURLOPT_POSTFIELDS, options->body_size ? options->body : "");
    /* Else curl asks "Expect: 100-continue" for large bodies and waits a
     * second for servers that never answer it. */
    transfer->request_headers = curl_slist_append(NULL, "Expect:");
    if (transfer->request_headers == NULL) return UV_ENOMEM;
    SET(CURLOPT_HTTPHEADER, transfer->request_headers);
  }
#undef SET
  if (rc == CURLE_OUT_OF_MEMORY) return UV_ENOMEM;
  if (rc != CURLE_OK) {
    snprintf(transfer->curl_error, sizeof transfer->curl_error, "%s",
             curl_easy_strerror(rc));
    return UV_EINVAL;
  }
  return 0;
}

/* ---- Results ---- */

/* The UV code for a failed transfer and a plain reason. */
static int map_failure(const transfer_t *transfer, const char **reason) {
  long os_errno = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_OS_ERRNO, &os_errno);
  switch (transfer->result) {
  case CURLE_WRITE_ERROR:
  case CURLE_FILESIZE_EXCEEDED:
    if (transfer->too_big || transfer->result == CURLE_FILESIZE_EXCEEDED) {
      *reason = "the body is larger than max_body";
      return UV_E2BIG;
    }
    if (transfer->write_error == UV_ENOMEM) {
      *reason = "out of memory for the response";
      return UV_ENOMEM;
    }
    if (transfer->write_error != 0) {
      *reason = "cannot write the body to output_path";
      return transfer->write_error;
    }
    break;
  case CURLE_OPERATION_TIMEDOUT:
    *reason = "timed out";
    return UV_ETIMEDOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    *reason = "the host name does not resolve";
    return UV_EAI_NONAME;
  case CURLE_COULDNT_CONNECT:
    if (os_errno == 0 || os_errno == ECONNREFUSED) {
      *reason = "connection refused";
      return UV_ECONNREFUSED;
    }
    *reason = "cannot connect";
    return uv_translate_sys_error((int)os_errno);
  case CURLE_URL_MALFORMAT:
    *reason = "malformed URL";
    return UV_EINVAL;
  case CURLE_UNSUPPORTED_PROTOCOL:
    *reason = "not an http:// or https:// URL";
    return UV_EINVAL;
  case CURLE_TOO_MANY_REDIRECTS:
    *reason = "too many redirects (more than max_redirects)";
    return UV_ELOOP;
  case CURLE_GOT_NOTHING:
    *reason = "the server closed the connection without answering";
    return UV_ECONNRESET;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    if (os_errno == ECONNRESET || os_errno == EPIPE) {
      *reason = "the connection was reset";
      return UV_ECONNRESET;
    }
    *reason = "the connection failed";
    return UV_EIO;
  case CURLE_PARTIAL_FILE:
    *reason = "the connection closed before the whole body arrived";
    return UV_EIO;
  case CURLE_OUT_OF_MEMORY:
    *reason = "out of memory";
    return UV_ENOMEM;
  default:
    break;
  }
  *reason = "the transfer failed";
  return UV_EIO;
}

/* Fills the response from a finished transfer (taking its buffers) and
 * returns 0, or the failure. */
static int take_result(transfer_t *transfer, async_http_response_t *response) {
  curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &response->status);
  if (transfer->result != CURLE_OK) {
    const char *reason;
    int rc = map_failure(transfer, &reason);
    const char *detail = transfer->curl_error[0]
                             ? transfer->curl_error
                             : curl_easy_strerror(transfer->result);
    set_error(response, "%s (%s)", reason, detail);
    return rc;
  }
  if (transfer->fd >= 0) {
    int fd = transfer->fd;
    transfer->fd = -1;
    if (close(fd) != 0) {
      int rc = uv_translate_sys_error(errno);
      set_error(response, "cannot write the body to %s: %s",
                transfer->output_path, uv_strerror(rc));
      return rc;
    }
  } else if (transfer->body == NULL) { /* an empty body is still a string */
    transfer->body = calloc(1, 1);
    if (transfer->body == NULL) return UV_ENOMEM;
  }
  char *url = NULL;
  curl_easy_getinfo(transfer->easy, CURLINFO_EFFECTIVE_URL, &url);
  response->effective_url = strdup(url ? url : "");
  if (response->effective_url == NULL) return UV_ENOMEM;
  response->headers = transfer->headers ? transfer->headers : strdup("");
  transfer->headers = NULL;
  if (response->headers == NULL) return UV_ENOMEM;
  response->body = transfer->body;
  response->body_size = transfer->body_size;
  transfer->body = NULL;
  return 0;
}

/* Frees what the transfer still holds; a failed download leaves no file. */
static void transfer_end(transfer_t *transfer, int rc) {
  if (transfer->fd >= 0) close(transfer->fd);
  if (rc != 0 && transfer->output_path != NULL && transfer->fd != -2)
    unlink(transfer->output_path);
  if (transfer->easy != NULL) curl_easy_cleanup(transfer->easy);
  curl_slist_free_all(transfer->request_headers);
  free(transfer->body);
  free(transfer->headers);
}

/* ---- The calls ---- */

int(async_http_get)(const char *url, const async_http_options_t *options,
                    async_http_response_t *response) {
  if (response == NULL)
    return async__misuse("async_http_get", UV_EINVAL, "response is NULL");
  /* Zeroed even when the call fails, so that async_http_free is always
   * safe and error always says something. */
  memset(response, 0, sizeof *response);
  int rc = async__enter_blocking("async_http_get");
  if (rc != 0) {
    set_error(response, "%s before the transfer",
              rc == UV_ETIMEDOUT ? "timed out" : async_strerror(rc));
    return rc;
  }
  if (url == NULL) {
    set_error(response, "url is NULL");
    return async__misuse("async_http_get", UV_EINVAL, "url is NULL");
  }
  async_http_options_t defaults = {0};
  if (options == NULL) options = &defaults;
  rc = check_options(options, response);
  if (rc != 0) return rc;

  http_client_t *client;
  rc = client_get(&client, response);
  if (rc != 0) return rc;

  /* fd -2: no file of ours to remove (it could not be created). */
  transfer_t transfer = {.task = async__rt->current,
                         .fd = -1,
                         .output_path = options->output_path,
                         .max_body = options->max_body};
  if (options->output_path != NULL) {
    transfer.fd = open(options->output_path,
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (transfer.fd < 0) {
      rc = uv_translate_sys_error(errno);
      set_error(response, "cannot create %s: %s", options->output_path,
                uv_strerror(rc));
      transfer.fd = -2;
      transfer_end(&transfer, rc);
      return rc;
    }
  }
  rc = setup(&transfer, url, options);
  if (rc == 0 &&
      curl_multi_add_handle(client->multi, transfer.easy) != CURLM_OK)
    rc = UV_ENOMEM;
  if (rc != 0) {
    set_error(response, "cannot start the transfer: %s",
              transfer.curl_error[0] ? transfer.curl_error : uv_strerror(rc));
    transfer_end(&transfer, rc);
    return rc;
  }

  async__io_begin();
  while (!transfer.finished) {
    rc = async__park("an HTTP transfer", &transfer, true);
    if (rc != 0) break;
  }
  async__io_end();
  if (!transfer.finished) {
    /* Interrupted: curl closes the connection and forgets the transfer
     * here and now, so nothing points into this stack once we return. */
    curl_multi_remove_handle(client->multi, transfer.easy);
    set_error(response, "%s during the transfer",
              rc == UV_ETIMEDOUT ? "timed out" : async_strerror(rc));
  } else if (rc == 0) {
    rc = take_result(&transfer, response);
  } else {
    set_error(response, "%s as the transfer ended",
              rc == UV_ETIMEDOUT ? "timed out" : async_strerror(rc));
  }
  transfer_end(&transfer, rc);
  if (rc != 0) async_http_free(response);
  return rc;
}

int async_http_header(const async_http_response_t *response, const char *name,
                      char *value, size_t size) {
  if (response == NULL || name == NULL || value == NULL || size == 0)
    return async__misuse("async_http_header", UV_EINVAL,
                         "response, name and value must not be NULL, nor "
                         "size 0");
  if (response->headers == NULL) return UV_ENOENT;
  size_t name_length = strlen(name);
  const char *line = response->headers;
  while (*line != '\0') {
    const char *end = strchr(line, '\n');
    if (end == NULL) end = line + strlen(line);
    if ((size_t)(end - line) > name_length && line[name_length] == ':' &&
        strncasecmp(line, name, name_length) == 0) {
      const char *start = line + name_length + 1;
      while (start < end && (*start == ' ' || *start == '\t')) start++;
      const char *stop = end;
      while (stop > start &&
             (stop[-1] == '\r' || stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
      size_t length = (size_t)(stop - start);
      if (length >= size) return UV_ENOBUFS;
      memcpy(value, start, length);
      value[length] = '\0';
      return 0;
    }
    line = *end ? end + 1 : end;
  }
  return UV_ENOENT;
}

void async_http_free(async_http_response_t *response) {
  if (response == NULL) return;
  free(response->body);
  free(response->headers);
  free(response->effective_url);
  response->body = NULL;
  response->headers = NULL;
  response->effective_url = NULL;
  response->body_size = 0;
}
