/* stream.c: async_stream_t, asyncio's StreamReader and StreamWriter over any
 * libuv stream: a TCP connection (server.c makes those) or a pipe to a
 * child process (process.c makes those).
 *
 * Reading. Once started, a stream reads ahead with uv_read_start into one
 * 64 KiB scratch buffer per run and appends what arrived to its own buffer,
 * sized to fit; read calls take from that buffer and park only when it
 * cannot satisfy them. So an idle connection holds no 64 KiB buffer (10,000
 * idle connections must cost little), and the extra memcpy is small beside
 * the system call. Back-pressure: reading stops while more than 4 x limit
 * bytes are unread (unless the parked reader needs more, as readexactly of
 * a big block does) and starts again as they are taken, so a fast peer makes
 * the kernel's buffers fill, not ours.
 *
 * An over-long line (readline, readuntil) returns UV_ENOBUFS once and puts
 * the stream in "skip" mode: bytes are dropped, as they arrive, up to and
 * through the next separator; the next call reads the line after it.
 * Neither a crash nor a silently split line; asyncio instead hands the
 * line's tail to the next readline as if it were a line.
 *
 * Writing. A write copies into `out` and, if nothing is in flight, schedules
 * one flush with call_soon: every write a task makes before it next parks,
 * and the writes of every task that runs in the same pass of the loop, go
 * out in one system call, uv_try_write first; what the kernel does not take
 * moves to `sending`, handed to one uv_write, while later writes collect in
 * `out` again. This coalescing is what uvloop does and what a chat server's
 * fan-out needs; sending each write at once would cost one system call per
 * line per client. drain parks while more than the high-water mark waits in
 * the two buffers.
 *
 * Errors. A read error (UV_ECONNRESET) is sticky for reads, a write error
 * (UV_EPIPE, UV_ECONNRESET) for writes, drain and close. The runtime sets
 * SIGPIPE to "ignore" when it makes its first stream, as Python does, so
 * that writing to a vanished peer is an error code instead of the death of
 * the process; libuv gives children the default disposition back.
 *
 * Closing. async_stream_close flushes what is queued (unless the peer is
 * gone; if the caller is cancelled meanwhile, it drops the rest), closes the
 * handle and waits for its close callback. A task blocked in a read or a
 * drain of a stream that another task closes returns UV_ECANCELED, as libuv
 * completes a closed handle's requests; so does any later read. See
 * stream.h for who frees the memory.
 *
 * Check mode: every park that waits for the network (reads, drains,
 * flushing and closing) is bracketed with async__io_begin/end.
 */
#include "stream.h"

#include <pthread.h>
#include <signal.h>

enum {
  SCRATCH_SIZE = 64 * 1024,  /* what one read system call may bring */
  FIRST_CAPACITY = 512,      /* a buffer's first allocation */
  KEEP_CAPACITY = 16 * 1024, /* bigger buffers are freed once empty */
  READ_AHEAD_FACTOR = 4,     /* reading pauses past 4 x limit unread */
  MAX_WRITE_CHUNK = 1 << 30  /* uv_buf_t lengths are unsigned int */
};

/* ---- The run's streams ----
 *
 * Per thread, like the runtime: the scratch buffer reads land in, and every
 * live stream, so that the run-end hook can close what is left: a client
 * stream nobody closed (reported, as a libuv handle left open would be), a
 * released stream still flushing to a peer that does not read. */
static _Thread_local struct stream_run {
  async__runtime_t *rt; /* the run this state belongs to, or NULL */
  async__run_end_hook_t hook;
  struct async__list streams;
  char *scratch;
} run;

static void run_end(async__run_end_hook_t *hook, async__runtime_t *rt);

static void run_enter(void) {
  if (run.rt == async__rt) return;
  run.rt = async__rt;
  async__list_init(&run.streams);
  run.scratch = NULL;
  run.hook.run_end = run_end;
  async__on_run_end(async__rt, &run.hook);
}

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void ignore_sigpipe(void) {
  struct sigaction action;
  /* Leave alone a handler the program installed itself. */
  if (sigaction(SIGPIPE, NULL, &action) != 0 || action.sa_handler != SIG_DFL)
    return;
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGPIPE, &action, NULL);
}

static async_stream_t *stream_of(void *handle) {
  return async__container_of(handle, async_stream_t, io);
}

/* ---- Buffers ---- */

static void buffer_free(async__buffer_t *buffer) {
  free(buffer->data);
  *buffer = (async__buffer_t){0};
}

/* NULL for a buffer never allocated (NULL + 0 is undefined in C). */
static char *buffer_bytes(const async__buffer_t *buffer) {
  return buffer->data != NULL ? buffer->data + buffer->start : NULL;
}

static int buffer_append(async__buffer_t *buffer, const void *data,
                         size_t size) {
  if (size == 0) return 0;
  if (buffer->start + buffer->length + size > buffer->capacity) {
    if (size > SIZE_MAX / 2 - buffer->length) return UV_ENOMEM;
    size_t needed = buffer->length + size;
    if (buffer->start != 0) {
      memmove(buffer->data, buffer_bytes(buffer), buffer->length);
      buffer->start = 0;
    }
    if (needed > buffer->capacity) {
      size_t capacity = buffer->capacity ? buffer->capacity : FIRST_CAPACITY;
      while (capacity < needed) capacity *= 2;
      char *grown = realloc(buffer->data, capacity);
      if (grown == NULL) return UV_ENOMEM;
      buffer->data = grown;
      buffer->capacity = capacity;
    }
  }
  memcpy(buffer->data + buffer->start + buffer->length, data, size);
  buffer->length += size;
  return 0;
}

static void buffer_consume(async__buffer_t *buffer, size_t size) {
  buffer->start += size;
  buffer->length -= size;
  if (buffer->length != 0) return;
  buffer->start = 0;
  if (buffer->capacity > KEEP_CAPACITY) buffer_free(buffer);
}

/* ---- Life and death ---- */

async_stream_t *async__stream_alloc(void) {
  async_stream_t *stream = calloc(1, sizeof *stream);
  if (stream == NULL) return NULL;
  pthread_once(&sigpipe_once, ignore_sigpipe);
  run_enter();
  stream->limit = ASYNC_STREAM_DEFAULT_LIMIT;
  stream->high_water = ASYNC_STREAM_DEFAULT_HIGH_WATER;
  async__list_init(&stream->drainers);
  async__list_init(&stream->closers);
  async__list_init(&stream->server_link);
  async__list_push(&run.streams, &stream->run_link);
  return stream;
}

static void skip_end(async_stream_t *stream) {
  if (stream->skip_owned) free((char *)stream->skip_separator);
  stream->skip_separator = NULL;
  stream->skip_owned = false;
}

void async__stream_discard(async_stream_t *stream) {
  async_callback_cancel(&stream->flush);
  if (async__list_linked(&stream->run_link))
    async__list_remove(&stream->run_link);
  buffer_free(&stream->in);
  buffer_free(&stream->out);
  buffer_free(&stream->sending);
  skip_end(stream);
  free(stream);
}

void async__stream_maybe_free(async_stream_t *stream) {
  if (stream->closed && stream->released && stream->busy == 0)
    async__stream_discard(stream);
}

/* Wakes the tasks blocked in a read or a drain: the stream is closing. */
static void stop_users(async_stream_t *stream) {
  if (stream->reader != NULL) async__wake(stream->reader);
  async__wake_all(&stream->drainers);
}

static void on_close(uv_handle_t *handle) {
  async_stream_t *stream = stream_of(handle);
  stream->closed = true;
  async__wake_all(&stream->closers);
  async__stream_maybe_free(stream);
}

/* Closes the handle now; pending writes complete with UV_ECANCELED. */
static void begin_close(async_stream_t *stream) {
  if (stream->handle_closing) return;
  stream->closing = true;
  stream->handle_closing = true;
  stream->reading = false;
  async_callback_cancel(&stream->flush);
  uv_close(&stream->io.handle, on_close);
}

/* ---- Reading ---- */

static size_t read_ahead_bound(const async_stream_t *stream) {
  return stream->limit * READ_AHEAD_FACTOR;
}

static bool wants_input(const async_stream_t *stream) {
  if (stream->eof || stream->read_error != 0 || stream->closing) return false;
  /* A parked reader gets what it needs even past the bound: it asked. */
  if (stream->reader != NULL && stream->in.length < stream->wanted) return true;
  return stream->started && stream->in.length < read_ahead_bound(stream);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *handle, ssize_t nread, const uv_buf_t *buf);

/* Starts or stops libuv's reading to match wants_input. */
static void update_reading(async_stream_t *stream) {
  bool want = wants_input(stream);
  if (want && !stream->reading) {
    int rc = uv_read_start(&stream->io.stream, on_alloc, on_read);
    if (rc != 0) {
      stream->read_error = rc;
      return;
    }
    stream->reading = true;
  } else if (!want && stream->reading) {
    uv_read_stop(&stream->io.stream);
    stream->reading = false;
  }
}

/* Drops buffered bytes up to and through the skip separator. Without it,
 * keeps only a tail that may be the separator's beginning. */
static void skip_advance(async_stream_t *stream) {
  if (stream->skip_separator == NULL) return;
  const char *data = buffer_bytes(&stream->in);
  size_t length = stream->in.length, separator = stream->skip_length;
  const char *found =
      length >= separator
          ? memmem(data, length, stream->skip_separator, separator)
          : NULL;
  bool done = found != NULL || stream->eof || stream->read_error != 0;
  size_t drop;
  if (found != NULL)
    drop = (size_t)(found - data) + separator;
  else if (done || length < separator)
    drop = done ? length : 0;
  else
    drop = length - (separator - 1);
  stream->bytes_skipped += drop;
  buffer_consume(&stream->in, drop);
  if (done) skip_end(stream);
}

static int skip_begin(async_stream_t *stream, const char *separator,
                      size_t length) {
  if (length == 1 && separator[0] == '\n') {
    stream->skip_separator = "\n";
  } else {
    char *copy = malloc(length);
    if (copy == NULL) return UV_ENOMEM;
    memcpy(copy, separator, length);
    stream->skip_separator = copy;
    stream->skip_owned = true;
  }
  stream->skip_length = length;
  skip_advance(stream);
  return 0;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  /* libuv reads into it and calls on_read at once: one buffer serves all. */
  if (run.scratch == NULL) run.scratch = malloc(SCRATCH_SIZE);
  *buf = uv_buf_init(run.scratch, run.scratch != NULL ? SCRATCH_SIZE : 0);
}

static void on_read(uv_stream_t *handle, ssize_t nread, const uv_buf_t *buf) {
  async_stream_t *stream = stream_of(handle);
  if (nread == 0) return; /* EAGAIN: nothing happened */
  if (nread > 0) {
    if (buffer_append(&stream->in, buf->base, (size_t)nread) != 0)
      stream->read_error = UV_ENOMEM;
  } else if (nread == UV_EOF) {
    stream->eof = true;
  } else {
    stream->read_error = (int)nread;
  }
  skip_advance(stream);
  update_reading(stream);
  if (stream->reader != NULL) async__wake(stream->reader);
}

/* Takes `size` bytes off the front of the read buffer. */
static void take(async_stream_t *stream, size_t size) {
  buffer_consume(&stream->in, size);
  update_reading(stream);
}

/* Copies `size` buffered bytes and a NUL into `to`, and takes them. */
static void take_line(async_stream_t *stream, char *to, size_t size) {
  memcpy(to, buffer_bytes(&stream->in), size);
  to[size] = '\0';
  take(stream, size);
}

/* Parks the calling reader until the read buffer changes (or the stream
 * closes). Returns 0 or the interrupt; the caller looks again. */
static int wait_for_input(async_stream_t *stream, size_t wanted) {
  stream->reader = async__rt->current;
  stream->wanted = wanted;
  update_reading(stream);
  int rc = 0;
  if (stream->reading) {
    async__io_begin();
    rc = async__park("data from a stream", stream, true);
    async__io_end();
  } else if (stream->read_error == 0) {
    rc = UV_EIO; /* nothing could ever wake us: cannot happen */
  }
  stream->reader = NULL;
  stream->wanted = 0;
  update_reading(stream);
  return rc;
}

/* The start of every read call; 0 when the caller may go on (and is then
 * counted in stream->busy until leave_call). */
static int read_enter(async_stream_t *stream, const char *call,
                      bool arguments_ok) {
  int rc = async__enter_blocking(call);
  if (rc != 0) return rc;
  if (stream == NULL) return async__misuse(call, UV_EINVAL, "stream is NULL");
  if (!arguments_ok)
    return async__misuse(call, UV_EINVAL, "NULL buffer or size too small");
  if (stream->reader != NULL)
    return async__misuse(call, UV_EBUSY,
                         "another task is already reading this stream");
  stream->busy++;
  return 0;
}

/* The end of every read or drain: the last task out of a released, closed
 * stream frees it. */
static ssize_t leave_call(async_stream_t *stream, ssize_t result) {
  stream->busy--;
  async__stream_maybe_free(stream);
  return result;
}

ssize_t(async_stream_read)(async_stream_t *stream, void *buffer, size_t size) {
  int rc = read_enter(stream, "async_stream_read", buffer != NULL || size == 0);
  if (rc != 0) return rc;
  ssize_t result;
  for (;;) {
    skip_advance(stream);
    if (stream->closing) {
      result = UV_ECANCELED;
    } else if (size == 0) {
      result = 0;
    } else if (stream->in.length != 0) {
      size_t n = stream->in.length < size ? stream->in.length : size;
      memcpy(buffer, buffer_bytes(&stream->in), n);
      take(stream, n);
      result = (ssize_t)n;
    } else if (stream->read_error != 0) {
      result = stream->read_error;
    } else if (stream->eof) {
      result = 0;
    } else {
      rc = wait_for_input(stream, 1);
      if (rc == 0) continue;
      result = rc;
    }
    return leave_call(stream, result);
  }
}

/* Shared by readline and readuntil: a line ends with `separator`; its
 * length, separator included, may be at most min(limit + separator length,
 * size - 1). At the end of the stream, readline (`partial_at_end`) returns
 * the last, unterminated line; readuntil returns UV_EOF. */
static ssize_t read_through(async_stream_t *stream, const char *separator,
                            size_t separator_length, bool partial_at_end,
                            char *line, size_t size) {
  for (;;) {
    skip_advance(stream);
    if (stream->closing) return UV_ECANCELED;
    size_t longest = stream->limit + separator_length;
    if (longest > size - 1) longest = size - 1;
    const char *data = buffer_bytes(&stream->in);
    size_t scan = stream->in.length < longest ? stream->in.length : longest;
    const char *found = NULL;
    if (scan >= separator_length)
      found = separator_length == 1
                  ? memchr(data, separator[0], scan)
                  : memmem(data, scan, separator, separator_length);
    if (found != NULL) {
      size_t through = (size_t)(found - data) + separator_length;
      take_line(stream, line, through);
      return (ssize_t)through;
    }
    size_t length = stream->in.length;
    /* The last, unterminated line needs no room for a '\n'. */
    if (stream->eof && partial_at_end && length <= stream->limit &&
        length <= size - 1) {
      if (length != 0) take_line(stream, line, length);
      return (ssize_t)length;
    }
    /* `longest` bytes without the separator may still be a last line that
     * fits: one more byte says the line is too long. */
    if (length > longest || (stream->eof && partial_at_end)) {
      int rc = skip_begin(stream, separator, separator_length);
      update_reading(stream);
      return rc != 0 ? rc : UV_ENOBUFS;
    }
    if (stream->eof) {
      take(stream, length); /* asyncio's IncompleteReadError */
      return UV_EOF;
    }
    if (stream->read_error != 0) return stream->read_error;
    int rc = wait_for_input(stream, longest + 1);
    if (rc != 0) return rc;
  }
}

ssize_t(async_stream_readline)(async_stream_t *stream, char *line,
                               size_t size) {
  int rc =
      read_enter(stream, "async_stream_readline", line != NULL && size >= 2);
  if (rc != 0) return rc;
  return leave_call(stream, read_through(stream, "\n", 1, true, line, size));
}

ssize_t(async_stream_readuntil)(async_stream_t *stream, const char *separator,
                                char *buffer, size_t size) {
  size_t length = separator != NULL ? strlen(separator) : 0;
  int rc = read_enter(stream, "async_stream_readuntil",
                      length != 0 && buffer != NULL && size > length);
  if (rc != 0) return rc;
  return leave_call(
      stream, read_through(stream, separator, length, false, buffer, size));
}

int(async_stream_readexactly)(async_stream_t *stream, void *buffer,
                              size_t size) {
  int rc = read_enter(stream, "async_stream_readexactly",
                      buffer != NULL || size == 0);
  if (rc != 0) return rc;
  for (;;) {
    skip_advance(stream);
    if (stream->closing) {
      rc = UV_ECANCELED;
    } else if (stream->in.length >= size) {
      if (size != 0) memcpy(buffer, buffer_bytes(&stream->in), size);
      take(stream, size);
      rc = 0;
    } else if (stream->read_error != 0) {
      rc = stream->read_error;
    } else if (stream->eof) {
      take(stream, stream->in.length);
      rc = UV_EOF;
    } else {
      rc = wait_for_input(stream, size);
      if (rc == 0) continue;
    }
    return (int)leave_call(stream, rc);
  }
}

bool async_stream_at_eof(const async_stream_t *stream) {
  if (stream == NULL) {
    async__misuse("async_stream_at_eof", UV_EINVAL, "stream is NULL");
    return false;
  }
  return stream->eof && stream->in.length == 0;
}

int async_stream_set_limit(async_stream_t *stream, size_t limit) {
  if (stream == NULL || limit == 0 || limit > SIZE_MAX / 8)
    return async__misuse("async_stream_set_limit", UV_EINVAL,
                         "NULL stream, or a limit of 0");
  stream->limit = limit;
  if (!stream->closing) update_reading(stream);
  return 0;
}

int async_stream_set_high_water(async_stream_t *stream, size_t bytes) {
  if (stream == NULL)
    return async__misuse("async_stream_set_high_water", UV_EINVAL,
                         "stream is NULL");
  stream->high_water = bytes;
  async__wake_all(&stream->drainers); /* they look at the new mark */
  return 0;
}

/* ---- Writing ---- */

static size_t queued(const async_stream_t *stream) {
  return stream->out.length + stream->sending.length;
}

/* The peer is gone (or the stream broke): what was not sent is lost. */
static void write_failed(async_stream_t *stream, int error) {
  if (stream->write_error == 0) stream->write_error = error;
  buffer_consume(&stream->out, stream->out.length);
  async_callback_cancel(&stream->flush);
}

static void on_write(uv_write_t *request, int status);
static void on_shutdown(uv_shutdown_t *request, int status);

static void write_chunk(async_stream_t *stream) {
  size_t chunk = stream->sending.length < MAX_WRITE_CHUNK
                     ? stream->sending.length
                     : MAX_WRITE_CHUNK;
  uv_buf_t buf = uv_buf_init(buffer_bytes(&stream->sending), (unsigned)chunk);
  int rc =
      uv_write(&stream->write_request, &stream->io.stream, &buf, 1, on_write);
  if (rc != 0) {
    buffer_consume(&stream->sending, stream->sending.length);
    write_failed(stream, rc);
    return;
  }
  stream->write_in_flight = true;
  stream->writes_issued++;
}

/* Sends everything in `out` in one go: uv_try_write, and the rest through
 * one uv_write (the kernel's buffer is full; libuv waits for room). */
static void send_queued(async_stream_t *stream) {
  async_callback_cancel(&stream->flush);
  if (stream->write_in_flight || stream->out.length == 0 ||
      stream->write_error != 0 || stream->handle_closing)
    return;
  size_t size = stream->out.length < MAX_WRITE_CHUNK ? stream->out.length
                                                     : MAX_WRITE_CHUNK;
  uv_buf_t buf = uv_buf_init(buffer_bytes(&stream->out), (unsigned)size);
  stream->writes_issued++;
  int written = uv_try_write(&stream->io.stream, &buf, 1);
  if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
  if (written < 0) {
    write_failed(stream, written);
    return;
  }
  buffer_consume(&stream->out, (size_t)written);
  if (stream->out.length == 0) return;
  async__buffer_t spare = stream->sending; /* empty: nothing in flight */
  stream->sending = stream->out;
  stream->out = spare;
  write_chunk(stream);
}

/* After output went out (or was lost): drainers look again; a pending
 * shutdown or close of a released stream may go ahead. */
static void after_progress(async_stream_t *stream) {
  async__wake_all(&stream->drainers);
  if (stream->handle_closing) return;
  if (stream->shutdown_requested && !stream->shutdown_sent &&
      stream->out.length == 0 && stream->write_error == 0) {
    stream->shutdown_sent = true;
    int rc =
        uv_shutdown(&stream->shutdown_request, &stream->io.stream, on_shutdown);
    if (rc != 0) write_failed(stream, rc);
  }
  if (stream->released && stream->closing &&
      (queued(stream) == 0 || stream->write_error != 0))
    begin_close(stream);
}

static void on_flush(void *arg) {
  async_stream_t *stream = arg;
  send_queued(stream);
  after_progress(stream);
}

static void on_write(uv_write_t *request, int status) {
  async_stream_t *stream =
      async__container_of(request, async_stream_t, write_request);
  stream->write_in_flight = false;
  if (status < 0) {
    buffer_consume(&stream->sending, stream->sending.length);
    /* UV_ECANCELED from our own uv_close is not the peer's doing. */
    if (!stream->handle_closing) write_failed(stream, status);
  } else {
    size_t chunk = stream->sending.length < MAX_WRITE_CHUNK
                       ? stream->sending.length
                       : MAX_WRITE_CHUNK;
    buffer_consume(&stream->sending, chunk);
    if (stream->sending.length != 0)
      write_chunk(stream);
    else
      send_queued(stream); /* everything written meanwhile, at once */
  }
  after_progress(stream);
}

static void on_shutdown(uv_shutdown_t *request, int status) {
  async_stream_t *stream =
      async__container_of(request, async_stream_t, shutdown_request);
  if (status < 0 && status != UV_ECANCELED && stream->write_error == 0)
    stream->write_error = status;
  async__wake_all(&stream->drainers);
}

int async_stream_write(async_stream_t *stream, const void *data, size_t size) {
  if (stream == NULL || (data == NULL && size != 0))
    return async__misuse("async_stream_write", UV_EINVAL,
                         "NULL stream or data");
  if (stream->closing || stream->shutdown_requested || stream->write_error != 0)
    return UV_EPIPE;
  if (size == 0) return 0;
  if (buffer_append(&stream->out, data, size) != 0) return UV_ENOMEM;
  if (!stream->write_in_flight && !stream->flush.scheduled)
    async_call_soon(&stream->flush, on_flush, stream);
  return 0;
}

size_t async_stream_write_buffer_size(const async_stream_t *stream) {
  return stream != NULL ? queued(stream) : 0;
}

/* Parks until the queued output is at most the high-water mark (a closer:
 * until nothing is left). Returns 0, the write error, or the interrupt; a
 * drainer whose stream is being closed gets UV_ECANCELED. */
static int wait_sent(async_stream_t *stream, bool closer) {
  for (;;) {
    if (stream->write_error != 0) return stream->write_error;
    if (!closer && stream->closing) return UV_ECANCELED;
    if (queued(stream) <= (closer ? 0 : stream->high_water)) return 0;
    if (stream->handle_closing) return UV_ECANCELED;
    async__waiter_t waiter;
    async__waiter_enqueue(&stream->drainers, &waiter);
    async__io_begin();
    int rc = async__park(closer ? "a stream's output to go out before it "
                                  "closes"
                                : "a stream's output to drain",
                         stream, true);
    async__io_end();
    if (!waiter.woken) async__list_remove(&waiter.link);
    if (rc != 0) return rc;
  }
}

int(async_stream_drain)(async_stream_t *stream) {
  int rc = async__enter_blocking("async_stream_drain");
  if (rc != 0) return rc;
  if (stream == NULL)
    return async__misuse("async_stream_drain", UV_EINVAL, "stream is NULL");
  stream->busy++;
  rc = wait_sent(stream, false);
  return (int)leave_call(stream, rc);
}

int async_stream_shutdown(async_stream_t *stream) {
  if (stream == NULL)
    return async__misuse("async_stream_shutdown", UV_EINVAL, "stream is NULL");
  if (stream->closing) return UV_EPIPE;
  if (stream->write_error != 0) return stream->write_error;
  if (stream->shutdown_requested) return 0;
  stream->shutdown_requested = true;
  send_queued(stream);
  after_progress(stream);
  return 0;
}

/* ---- Closing ---- */

int async__stream_close_blocking(async_stream_t *stream) {
  int rc = 0;
  stream->busy++;
  if (!stream->closing) {
    stream->closing = true;
    stop_users(stream);
    if (queued(stream) != 0 && stream->write_error == 0) {
      send_queued(stream);
      rc = wait_sent(stream, true);
    }
    begin_close(stream);
  }
  async__waiter_t waiter;
  while (!stream->closed) {
    async__waiter_enqueue(&stream->closers, &waiter);
    async__io_begin();
    async__park("a stream to close", stream, false);
    async__io_end();
    if (!waiter.woken) async__list_remove(&waiter.link);
  }
  stream->busy--;
  return rc;
}

int(async_stream_close)(async_stream_t *stream) {
  /* Not async__enter_blocking: a cancelled task must still be able to
   * close (it then drops what is queued instead of waiting). */
  if (async__rt == NULL || async__rt->current == NULL)
    return async__outside_task("async_stream_close");
  if (stream == NULL)
    return async__misuse("async_stream_close", UV_EINVAL, "stream is NULL");
  int rc = async__stream_close_blocking(stream);
  if (!stream->owned) stream->released = true;
  async__stream_maybe_free(stream);
  return rc;
}

int async_stream_abort(async_stream_t *stream) {
  if (stream == NULL)
    return async__misuse("async_stream_abort", UV_EINVAL, "stream is NULL");
  buffer_consume(&stream->out, stream->out.length);
  stream->closing = true;
  stop_users(stream);
  begin_close(stream);
  if (!stream->owned) stream->released = true;
  async__stream_maybe_free(stream);
  return 0;
}

const char *async_stream_peername(const async_stream_t *stream) {
  if (stream == NULL) {
    async__misuse("async_stream_peername", UV_EINVAL, "stream is NULL");
    return "";
  }
  return stream->peername;
}

const char *async_stream_sockname(const async_stream_t *stream) {
  if (stream == NULL) {
    async__misuse("async_stream_sockname", UV_EINVAL, "stream is NULL");
    return "";
  }
  return stream->sockname;
}

/* ---- Pipes, for process.c ---- */

int async__stream_new_pipe(async_stream_t **out) {
  async_stream_t *stream = async__stream_alloc();
  if (stream == NULL) return UV_ENOMEM;
  int rc = uv_pipe_init(&async__rt->loop, &stream->io.pipe, 0);
  if (rc != 0) {
    async__stream_discard(stream);
    return rc;
  }
  stream->is_pipe = true;
  stream->owned = true;
  *out = stream;
  return 0;
}

uv_pipe_t *async__stream_pipe(async_stream_t *stream) {
  return &stream->io.pipe;
}

int async__stream_start(async_stream_t *stream) {
  stream->started = true;
  update_reading(stream);
  return stream->read_error;
}

void async__stream_free(async_stream_t *stream) {
  if (stream == NULL || stream->released) return;
  stream->released = true;
  if (!stream->closing) {
    stream->closing = true;
    stop_users(stream);
    send_queued(stream);
  }
  after_progress(stream); /* closes now, or once the rest is sent */
  async__stream_maybe_free(stream);
}

/* ---- The end of the run ---- */

static void run_end(async__run_end_hook_t *hook, async__runtime_t *rt) {
  (void)hook;
  while (!async__list_empty(&run.streams)) {
    async_stream_t *stream =
        async__container_of(run.streams.next, async_stream_t, run_link);
    async__list_remove(&stream->run_link);
    /* Every task has finished; none can be inside a call any more. */
    stream->busy = 0;
    stream->reader = NULL;
    async__list_init(&stream->drainers);
    async__list_init(&stream->closers);
    if (!stream->released && !stream->owned) {
      rt->stats.handles_left_open++;
      fprintf(stderr,
              "async: a stream%s%s was never closed (async_stream_close)\n",
              stream->peername[0] ? " to " : "", stream->peername);
      stream->released = true;
    }
    /* An owned stream's memory stays for its owner (process.c) to free. */
    begin_close(stream);
    async__stream_maybe_free(stream);
  }
  free(run.scratch);
  run.scratch = NULL;
  run.rt = NULL;
}

size_t async__stream_counter(const async_stream_t *stream, const char *name) {
  if (strcmp(name, "buffered") == 0) return stream->in.length;
  if (strcmp(name, "writes") == 0) return stream->writes_issued;
  if (strcmp(name, "skipped") == 0) return stream->bytes_skipped;
  if (strcmp(name, "reading") == 0) return stream->reading;
  if (strcmp(name, "queued") == 0) return queued(stream);
  return SIZE_MAX;
}
