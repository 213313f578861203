/* fuzz_readline.c: libFuzzer harness for the stream's line reader
 * (async_stream_readline and readuntil, runtime/src/stream.c).
 *
 * Each input is a tiny configuration and a payload. The payload is written
 * in chunks of fuzzed sizes through a socketpair into a pipe stream, then
 * the writer closes; a reader calls readline (or readuntil "\r\n") with a
 * fuzzed limit and buffer size until the end. What it gets is compared with
 * an oracle computed from the payload alone, whatever the chunking:
 *
 *   - the payload splits into lines, each through its separator, the last
 *     possibly unterminated;
 *   - a line is returned whole iff it has at most `limit` bytes before its
 *     separator and fits size - 1 bytes with it (an unterminated last line
 *     needs no room for the separator); otherwise the call returns
 *     UV_ENOBUFS exactly once for it and the stream drops exactly its bytes;
 *   - readuntil ends with UV_EOF on an unterminated tail, readline with the
 *     tail as a line, then 0; nothing else is ever returned;
 *   - the bytes returned plus the bytes skipped are the whole payload.
 *
 * Any difference aborts, which libFuzzer reports with the input. ASan and
 * UBSan watch the buffers.
 *
 *   make fuzz-readline                 build it (clang, libFuzzer)
 *   build/fuzz/fuzz_readline -runs=20000 -seed=1       the short run
 *   build/fuzz/fuzz_readline -max_total_time=600 build/fuzz/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "async.h"

/* What process.c builds on (internal.h), and the tests' counters. */
int async__stream_new_pipe(async_stream_t **stream);
uv_pipe_t *async__stream_pipe(async_stream_t *stream);
int async__stream_start(async_stream_t *stream);
void async__stream_free(async_stream_t *stream);
size_t async__stream_counter(const async_stream_t *stream, const char *name);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_case {
  size_t limit, size;
  bool until; /* readuntil "\r\n" instead of readline */
  uint32_t chunk_seed;
  const char *payload;
  size_t payload_size;
  async_stream_t *writer;
} fuzz_case_t;

#define CHECK(condition)                                                       \
  do {                                                                         \
    if (!(condition)) {                                                        \
      fprintf(stderr, "fuzz_readline: %s:%d: %s\n", __FILE__, __LINE__,        \
              #condition);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static int write_in_chunks(void *arg) {
  fuzz_case_t *c = arg;
  uint32_t state = c->chunk_seed | 1;
  async_stream_set_high_water(c->writer, 0);
  for (size_t sent = 0; sent < c->payload_size;) {
    state = state * 1103515245u + 12345u;
    size_t chunk = 1 + (state >> 16) % 200;
    if (chunk > c->payload_size - sent) chunk = c->payload_size - sent;
    CHECK(async_stream_write(c->writer, c->payload + sent, chunk) == 0);
    sent += chunk;
    /* Handed to the kernel, and a pass of the loop: the reader sees the
     * payload cut at this point. */
    CHECK(async_stream_drain(c->writer) == 0);
    async_yield();
  }
  async__stream_free(c->writer); /* the reader then sees the end */
  return 0;
}

static int open_end(int fd, async_stream_t **stream) {
  int rc = async__stream_new_pipe(stream);
  if (rc != 0) return rc;
  rc = uv_pipe_open(async__stream_pipe(*stream), fd);
  if (rc == 0) rc = async__stream_start(*stream);
  return rc;
}

/* Finds the separator in data[0, length); returns its offset or length. */
static size_t find(const char *data, size_t length, const char *separator,
                   size_t separator_length) {
  for (size_t i = 0; i + separator_length <= length; i++)
    if (memcmp(data + i, separator, separator_length) == 0) return i;
  return length;
}

static int fuzz_main(void *arg) {
  fuzz_case_t *c = arg;
  int fds[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  async_stream_t *reader;
  CHECK(open_end(fds[0], &c->writer) == 0);
  CHECK(open_end(fds[1], &reader) == 0);
  CHECK(async_stream_set_limit(reader, c->limit) == 0);
  async_task_t *writer = async_spawn("writer", write_in_chunks, c);

  const char *separator = c->until ? "\r\n" : "\n";
  size_t separator_length = strlen(separator);
  char *line = malloc(c->size);
  size_t at = 0, skipped = 0;
  ssize_t end = c->until ? UV_EOF : 0;
  for (;;) {
    ssize_t n = c->until
                    ? async_stream_readuntil(reader, separator, line, c->size)
                    : async_stream_readline(reader, line, c->size);
    /* The oracle: the next line of the payload, and what becomes of it. */
    size_t rest = c->payload_size - at;
    if (rest == 0) {
      CHECK(n == end);
      break;
    }
    size_t before = find(c->payload + at, rest, separator, separator_length);
    bool terminated = before < rest;
    size_t length = terminated ? before + separator_length : rest;
    bool fits = before <= c->limit && length <= c->size - 1;
    if (!terminated && c->until) {
      /* An unterminated tail: too long to be a line (in which case it is
       * skipped as one), else consumed by UV_EOF. */
      size_t longest = c->limit + separator_length;
      if (longest > c->size - 1) longest = c->size - 1;
      CHECK(n == (rest > longest ? UV_ENOBUFS : UV_EOF));
      if (rest > longest) skipped += rest;
    } else if (fits) {
      CHECK(n == (ssize_t)length);
      CHECK(memcmp(line, c->payload + at, length) == 0);
      CHECK(line[length] == '\0');
    } else {
      CHECK(n == UV_ENOBUFS);
      skipped += length;
    }
    at += length;
  }
  /* Once more: still the end. */
  CHECK((c->until ? async_stream_readuntil(reader, separator, line, c->size)
                  : async_stream_readline(reader, line, c->size)) == end);
  /* Exactly the over-long lines were dropped. */
  CHECK(async__stream_counter(reader, "skipped") == skipped);
  CHECK(async_stream_at_eof(reader));
  free(line);
  CHECK(async_task_join(writer) == 0);
  async_task_release(writer);
  async__stream_free(reader);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  fuzz_case_t c = {
      .limit = 1 + data[0] % 40,
      .size = (data[2] & 1 ? 3 : 2) + data[1] % 64, /* room for "\r\n" */
      .until = data[2] & 1,
      .chunk_seed = (uint32_t)data[2] * 2654435761u,
      .payload = (const char *)data + 3,
      .payload_size = size - 3,
  };
  CHECK(async_run(fuzz_main, &c) == 0);
  return 0;
}
