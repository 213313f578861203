/* stream.h: the inside of a stream, shared by stream.c and server.c only.
 *
 * A stream's memory outlives its libuv handle whenever somebody might still
 * hold the pointer: a server connection is freed by its handler's wrapper
 * (after the handler returned), a child's pipe by process.c, a client stream
 * by async_stream_close. Until then a closed stream answers every call with
 * an error instead of crashing. `busy` counts the tasks inside a call on the
 * stream, so that whoever leaves last, once the stream is closed and let go
 * of, frees it.
 */
#ifndef ASYNC_STREAM_H
#define ASYNC_STREAM_H

#include "internal.h"

/* Bytes data[start, start + length) of a growable buffer. */
typedef struct async__buffer {
  char *data;
  size_t start, length, capacity;
} async__buffer_t;

struct async_stream {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } io;

  /* Reading: the peer's bytes not yet taken by a read call. */
  async__buffer_t in;
  size_t limit;         /* readline's longest line, before the '\n' */
  size_t wanted;        /* bytes the parked reader needs before it can go */
  async_task_t *reader; /* the task parked in a read, if any */
  int read_error;       /* sticky: UV_ECONNRESET... */
  bool reading;         /* uv_read_start is on */
  bool started;         /* reading may start (pipes wait for spawn) */
  bool eof;             /* the peer has finished sending */
  bool skip_owned;      /* skip_separator is malloc'd */
  const char *skip_separator; /* skipping up to and through the next one */
  size_t skip_length;

  /* Writing: `out` collects this pass's writes; `sending` is in flight. */
  async__buffer_t out, sending;
  uv_write_t write_request;
  uv_shutdown_t shutdown_request;
  async_callback_t flush; /* call_soon: sends what this pass wrote */
  size_t high_water;
  int write_error; /* sticky: the first error; the peer is gone */
  bool write_in_flight;
  bool shutdown_requested; /* no more writes; shut once `out` is sent */
  bool shutdown_sent;
  struct async__list drainers; /* of async__waiter_t */

  /* Lifetime (see the top of this file). */
  bool closing;        /* close asked for: reads and writes are over */
  bool handle_closing; /* uv_close called */
  bool closed;         /* its close callback ran */
  bool owned;          /* a handler or a process frees it, not close */
  bool released;       /* nobody will use it: free once closed and idle */
  bool is_pipe;
  unsigned busy;               /* tasks inside a call on it */
  struct async__list closers;  /* tasks waiting for the close callback */
  struct async__list run_link; /* in the run's list of streams */

  /* A server connection: its handler task and server (server.c). */
  struct async_server *server;
  async_task_t *handler_task; /* borrowed: valid while the handler runs */
  struct async__list server_link;
  async__watch_t finish_watch; /* for a handler cancelled before it ran */

  size_t writes_issued; /* system-call writes, for the tests */
  size_t bytes_skipped; /* dropped by over-long lines, for the tests */
  char peername[64], sockname[64];
};

/* A zeroed stream with its defaults, on the run's list; the caller inits
 * io (uv_tcp_init / uv_pipe_init) next, or frees it with
 * async__stream_discard if that fails. NULL when out of memory. */
async_stream_t *async__stream_alloc(void);
/* Frees a stream whose handle was never initialised. */
void async__stream_discard(async_stream_t *stream);
/* Closes and waits (the calling task must be inside a task): flushes unless
 * the peer is gone or the caller is interrupted, then closes the handle.
 * Returns 0, the write error that lost queued data, or the interrupt. */
int async__stream_close_blocking(async_stream_t *stream);
/* Frees the stream if it is closed, let go of and idle. */
void async__stream_maybe_free(async_stream_t *stream);

/* For the tests and the fuzz harness only (they declare it themselves):
 * "buffered", "writes", "skipped", "reading". */
size_t async__stream_counter(const async_stream_t *stream, const char *name);

#endif /* ASYNC_STREAM_H */
