/* loadgen.c: the load generator of the I/O benchmarks (echo, chat fan-out,
 * idle connections), one server on loopback at a time.
 *
 *   loadgen echo HOST PORT [-c 100] [-l 64] [-P 1] [-w 0.5] [-d 1] [-r 3]
 *   loadgen chat HOST PORT [-c 100] [-k 10] [-W 32] [-w 0.5] [-d 1] [-r 3]
 *   loadgen idle HOST PORT [-n 10000]
 *   (every mode also takes -s PID, the server's process id)
 *
 * echo: C connections each send L-byte lines and wait for every echo before
 * sending the next (closed loop; -P keeps up to P lines in flight); each
 * echo is checked byte for byte. chat: C clients name themselves ("c0",
 * "c1"...) through the chat protocol (the server prompts "What's your name?
 * ", the first line is the name, each later line goes to every other named
 * client as "name: line"); K of them send, each with up to W lines not yet
 * received by everyone; each delivery is checked (sender, order, bytes).
 * idle: N connections, each served one echo, then held while the server's
 * resident set is read.
 *
 * Design: one thread, raw epoll, non-blocking sockets, no allocation and no
 * formatting once running: it must not share the runtime it measures, and
 * it must cost no more than a client has to. Even so an echo costs it the
 * same two system calls as the server (a write and a read), so on two cores
 * both CPUs fill at about the same rate: the server's CPU time per request
 * is the figure that compares servers, requests per second less so.
 * After a warm-up it times R rounds of D seconds and prints the median of
 * each figure as "RESULT name value unit" (as runtime_bench does), every
 * round on stderr. With -s it reads the server's CPU time (utime + stime of
 * /proc/PID/stat, every thread) and resident set (VmRSS) around each round.
 * Errors (a wrong byte, a lost or reordered line, a refused connection) are
 * counted and reported; any makes the exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  MAX_LINE = 1024,         /* longest echo line (-l) */
  MAX_DEPTH = 64,          /* longest pipeline (-P) */
  MAX_WINDOW = 64,         /* most chat lines a sender keeps in flight */
  MAX_SENDERS = 64,        /* chat senders (-k) */
  IN_SIZE = 64 * 1024,     /* one connection's receive buffer */
  CHAT_BODY = 48,          /* a chat line's bytes, '\n' included */
  HISTOGRAM_US = 100000,   /* latencies above 100 ms share the last bin */
  MAX_ROUNDS = 16,         /* -r */
  EVENTS = 512,            /* epoll_wait's batch */
  CONNECTING_AT_ONCE = 256 /* idle mode: connects in flight */
};

static const char prompt[] = "What's your name? ";

/* One client connection. The receive buffer is allocated only for the
 * modes that keep data between reads (chat and idle use it too). */
typedef struct connection {
  int fd;
  int index;
  char *in;
  size_t in_length;
  /* echo */
  uint64_t sent, received;     /* lines */
  uint64_t sent_at[MAX_DEPTH]; /* ns, by line number % depth */
  /* chat */
  size_t prompt_seen;  /* bytes of the prompt received so far */
  uint64_t *last_from; /* [sender]: last sequence number received */
  bool named;          /* has received a broadcast: it is named */
  /* idle */
  bool connected, answered;
} connection_t;

typedef struct options {
  const char *mode, *host;
  int port;
  int connections;
  int line_size, depth;
  int senders, window;
  int idle;
  double warmup, duration;
  int rounds;
  int server_pid;
} options_t;

static options_t opt = {
    .connections = 100,
    .line_size = 64,
    .depth = 1,
    .senders = 10,
    .window = 32,
    .idle = 10000,
    .warmup = 0.5,
    .duration = 1.0,
    .rounds = 3,
};

static int epoll_fd;
static struct sockaddr_storage server_address;
static socklen_t server_address_length;
static uint64_t errors;

/* ---- Small tools ---- */

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

/* Counts an error; the first few are described on stderr. */
static void error_at(const connection_t *c, const char *format, ...) {
  errors++;
  if (errors > 10) return;
  va_list args;
  va_start(args, format);
  fprintf(stderr, "loadgen: connection %d: ", c != NULL ? c->index : -1);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *samples, int count) {
  double sorted[MAX_ROUNDS];
  memcpy(sorted, samples, (size_t)count * sizeof *sorted);
  qsort(sorted, (size_t)count, sizeof *sorted, compare_doubles);
  return count % 2 ? sorted[count / 2]
                   : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
}

static void report(const char *name, const double *samples, int count,
                   const char *unit) {
  fprintf(stderr, "%s rounds (%s):", name, unit);
  for (int i = 0; i < count; i++) fprintf(stderr, " %.4g", samples[i]);
  fputc('\n', stderr);
  printf("RESULT %s %.6g %s\n", name, median(samples, count), unit);
  fflush(stdout);
}

/* ---- The server process, from /proc ---- */

/* Its CPU time (user + system, all threads) in microseconds; 0 without -s. */
static double server_cpu_us(void) {
  if (opt.server_pid == 0) return 0;
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", opt.server_pid);
  FILE *file = fopen(path, "r");
  if (file == NULL) fail("cannot read %s: %s", path, strerror(errno));
  size_t length = fread(text, 1, sizeof text - 1, file);
  fclose(file);
  text[length] = '\0';
  /* The command name may hold spaces: fields start after its ')'. */
  const char *field = strrchr(text, ')');
  if (field == NULL) fail("cannot parse %s", path);
  unsigned long long utime = 0, stime = 0;
  if (sscanf(field + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &utime, &stime) != 2)
    fail("cannot parse %s", path);
  return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* Its resident set in bytes (VmRSS); 0 without -s. */
static double server_rss_bytes(void) {
  if (opt.server_pid == 0) return 0;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", opt.server_pid);
  FILE *file = fopen(path, "r");
  if (file == NULL) fail("cannot read %s: %s", path, strerror(errno));
  double kib = -1;
  while (fgets(line, sizeof line, file) != NULL)
    if (sscanf(line, "VmRSS: %lf", &kib) == 1) break;
  fclose(file);
  if (kib < 0) fail("no VmRSS in %s", path);
  return kib * 1024;
}

/* The load generator's own CPU time, to show which side saturates. */
static double own_cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

/* ---- Sockets ---- */

static void resolve(void) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found;
  char port[16];
  snprintf(port, sizeof port, "%d", opt.port);
  int rc = getaddrinfo(opt.host, port, &hints, &found);
  if (rc != 0) fail("%s: %s", opt.host, gai_strerror(rc));
  memcpy(&server_address, found->ai_addr, found->ai_addrlen);
  server_address_length = found->ai_addrlen;
  freeaddrinfo(found);
}

/* Starts a non-blocking connect; the socket is watched for `events`. */
static void start_connect(connection_t *c, uint32_t events) {
  c->fd = socket(server_address.ss_family,
                 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&server_address,
              server_address_length) != 0 &&
      errno != EINPROGRESS)
    fail("connect: %s", strerror(errno));
  struct epoll_event event = {.events = events, .data.ptr = c};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &event) != 0)
    fail("epoll_ctl: %s", strerror(errno));
}

/* Connects every connection and waits until all are established. */
static void connect_all(connection_t *all, int count) {
  for (int i = 0; i < count; i++) start_connect(&all[i], EPOLLOUT);
  struct epoll_event events[EVENTS];
  int pending = count;
  uint64_t deadline = now_ns() + 10000000000u;
  while (pending > 0) {
    if (now_ns() > deadline) fail("%d connections never completed", pending);
    int n = epoll_wait(epoll_fd, events, EVENTS, 100);
    for (int i = 0; i < n; i++) {
      connection_t *c = events[i].data.ptr;
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) fail("connect: %s", strerror(error));
      struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
      c->connected = true;
      pending--;
    }
  }
}

static bool write_all(connection_t *c, const char *data, size_t size) {
  ssize_t n = write(c->fd, data, size);
  if (n == (ssize_t)size) return true;
  /* Never more in flight than a few lines: a short write means trouble. */
  error_at(c, n < 0 ? "write: %s" : "short write (%s)",
           n < 0 ? strerror(errno) : "the server stopped reading");
  return false;
}

/* Reads what is there into c->in; false at end of stream or on an error
 * (counted unless `quiet`). */
static bool read_some(connection_t *c, bool quiet) {
  ssize_t n = read(c->fd, c->in + c->in_length, IN_SIZE - c->in_length);
  if (n > 0) {
    c->in_length += (size_t)n;
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (!quiet)
    error_at(c, "%s",
             n == 0 ? "the server closed the connection" : strerror(errno));
  return false;
}

static void close_connection(connection_t *c) {
  if (c->fd < 0) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

/* Closes with a reset: no TIME_WAIT left behind for 10,000 connections. */
static void reset_connection(connection_t *c) {
  if (c->fd < 0) return;
  struct linger linger = {.l_onoff = 1, .l_linger = 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  close_connection(c);
}

static connection_t *make_connections(int count, bool with_buffers) {
  connection_t *all = calloc((size_t)count, sizeof *all);
  if (all == NULL) fail("out of memory");
  for (int i = 0; i < count; i++) {
    all[i].fd = -1;
    all[i].index = i;
    if (with_buffers && (all[i].in = malloc(IN_SIZE)) == NULL)
      fail("out of memory");
  }
  return all;
}

/* ---- Rounds ----
 *
 * The modes share one clock: warm-up, then rounds; round_boundary() says
 * when one ends and records the server's CPU time. */

typedef struct rounds {
  uint64_t start_ns[MAX_ROUNDS + 1];
  double cpu_us[MAX_ROUNDS + 1];     /* the server's */
  double own_cpu_us[MAX_ROUNDS + 1]; /* the load generator's */
  int current; /* -1 during the warm-up, rounds when over */
  uint64_t next_boundary;
} rounds_t;

static void rounds_begin(rounds_t *r) {
  r->current = -1;
  r->next_boundary = now_ns() + (uint64_t)(opt.warmup * 1e9);
}

/* True when a new round (or the end) begins now. */
static bool rounds_tick(rounds_t *r, uint64_t now) {
  if (now < r->next_boundary || r->current >= opt.rounds) return false;
  r->current++;
  r->start_ns[r->current] = now;
  r->cpu_us[r->current] = server_cpu_us();
  r->own_cpu_us[r->current] = own_cpu_us();
  r->next_boundary = now + (uint64_t)(opt.duration * 1e9);
  return true;
}

static double round_seconds(const rounds_t *r, int i) {
  return (double)(r->start_ns[i + 1] - r->start_ns[i]) / 1e9;
}

/* ---- echo ---- */

/* Writes value as `width` decimal digits (snprintf is too slow here). */
static void put_decimal(char *to, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    to[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* Line `number` of connection `index`: a header that names both, then
 * bytes that depend on them, then '\n'; every line is different. */
static void make_line(char *line, int index, uint64_t number) {
  put_decimal(line, (uint64_t)index, 6);
  line[6] = ' ';
  put_decimal(line + 7, number, 12);
  line[19] = ' ';
  for (int i = 20; i < opt.line_size - 1; i++)
    line[i] = (char)('a' + (number + (uint64_t)i) % 26);
  line[opt.line_size - 1] = '\n';
}

static uint64_t histogram[HISTOGRAM_US + 1];

static void record_latency(uint64_t ns) {
  uint64_t us = ns / 1000;
  histogram[us < HISTOGRAM_US ? us : HISTOGRAM_US]++;
}

static double percentile_us(double fraction) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i <= HISTOGRAM_US; i++) total += histogram[i];
  if (total == 0) return 0;
  uint64_t wanted = (uint64_t)(fraction * (double)total);
  for (int i = 0; i <= HISTOGRAM_US; i++) {
    seen += histogram[i];
    if (seen > wanted) return i + 0.5; /* the middle of the 1 us bin */
  }
  return HISTOGRAM_US;
}

/* Sends lines until `depth` are in flight (none once `stopping`). */
static void echo_top_up(connection_t *c, bool stopping, uint64_t now) {
  if (stopping || c->fd < 0) return;
  char batch[MAX_DEPTH * MAX_LINE];
  size_t size = 0;
  while (c->sent - c->received < (uint64_t)opt.depth) {
    make_line(batch + size, c->index, c->sent);
    c->sent_at[c->sent % (uint64_t)opt.depth] = now;
    c->sent++;
    size += (size_t)opt.line_size;
  }
  if (size != 0 && !write_all(c, batch, size)) close_connection(c);
}

/* Takes every whole echo in c->in; false if one was wrong. */
static bool echo_take(connection_t *c, uint64_t now, bool measuring,
                      uint64_t *done) {
  size_t line_size = (size_t)opt.line_size, offset = 0;
  char expected[MAX_LINE];
  while (c->in_length - offset >= line_size) {
    if (c->received == c->sent) {
      error_at(c, "an echo of a line never sent");
      return false;
    }
    make_line(expected, c->index, c->received);
    if (memcmp(c->in + offset, expected, line_size) != 0) {
      error_at(c, "line %llu came back different",
               (unsigned long long)c->received);
      return false;
    }
    if (measuring) {
      record_latency(now - c->sent_at[c->received % (uint64_t)opt.depth]);
      (*done)++;
    }
    c->received++;
    offset += line_size;
  }
  memmove(c->in, c->in + offset, c->in_length - offset);
  c->in_length -= offset;
  return true;
}

static int run_echo(void) {
  if (opt.line_size < 24 || opt.line_size > MAX_LINE)
    fail("-l must be 24..%d", MAX_LINE);
  if (opt.depth < 1 || opt.depth > MAX_DEPTH)
    fail("-P must be 1..%d", MAX_DEPTH);
  connection_t *all = make_connections(opt.connections, true);
  connect_all(all, opt.connections);

  rounds_t r;
  double rps[MAX_ROUNDS], p50[MAX_ROUNDS], p99[MAX_ROUNDS], cpu[MAX_ROUNDS];
  double own[MAX_ROUNDS];
  uint64_t done = 0;
  uint64_t now = now_ns();
  for (int i = 0; i < opt.connections; i++) echo_top_up(&all[i], false, now);
  rounds_begin(&r);
  struct epoll_event events[EVENTS];
  uint64_t drain_deadline = 0;
  for (;;) {
    bool stopping = r.current >= opt.rounds;
    int n = epoll_wait(epoll_fd, events, EVENTS, stopping ? 10 : 1);
    now = now_ns();
    bool measuring = r.current >= 0 && !stopping;
    for (int i = 0; i < n; i++) {
      connection_t *c = events[i].data.ptr;
      if (!read_some(c, false) || !echo_take(c, now, measuring, &done)) {
        close_connection(c);
        continue;
      }
      echo_top_up(c, stopping, now);
    }
    if (rounds_tick(&r, now)) {
      int ended = r.current - 1;
      if (ended >= 0) {
        double seconds = round_seconds(&r, ended);
        rps[ended] = (double)done / seconds;
        p50[ended] = percentile_us(0.50);
        p99[ended] = percentile_us(0.99);
        cpu[ended] =
            done ? (r.cpu_us[ended + 1] - r.cpu_us[ended]) / (double)done : 0;
        own[ended] = done ? (r.own_cpu_us[ended + 1] - r.own_cpu_us[ended]) /
                                (double)done
                          : 0;
      }
      done = 0;
      memset(histogram, 0, sizeof histogram);
      if (r.current >= opt.rounds) drain_deadline = now + 2000000000u;
    }
    if (stopping) {
      /* Every line sent must come back before we stop. */
      bool all_back = true;
      for (int i = 0; i < opt.connections; i++)
        if (all[i].fd >= 0 && all[i].received != all[i].sent) all_back = false;
      if (all_back || now > drain_deadline) break;
    }
  }
  uint64_t requests = 0;
  for (int i = 0; i < opt.connections; i++) {
    connection_t *c = &all[i];
    requests += c->received;
    if (c->fd >= 0 && c->received != c->sent)
      error_at(c, "%llu lines never came back",
               (unsigned long long)(c->sent - c->received));
    close_connection(c);
    free(c->in);
  }
  free(all);
  fprintf(stderr, "echo: %llu requests checked, %llu errors\n",
          (unsigned long long)requests, (unsigned long long)errors);
  report("echo-rps", rps, opt.rounds, "rps");
  report("echo-p50", p50, opt.rounds, "us");
  report("echo-p99", p99, opt.rounds, "us");
  if (opt.server_pid != 0) report("echo-cpu", cpu, opt.rounds, "us");
  report("echo-loadgen-cpu", own, opt.rounds, "us");
  printf("RESULT echo-errors %llu errors\n", (unsigned long long)errors);
  return errors != 0;
}

/* ---- chat ---- */

/* Per sender: lines sent, lines received by every other client so far,
 * and how many clients have each line in the window. */
typedef struct sender {
  uint64_t sent, complete;
  int received_by[MAX_WINDOW];
} sender_t;

static sender_t senders[MAX_SENDERS];
static uint64_t sync_round; /* the barrier's current probe */

/* Body of line `number` from sender `s`, '\n' included (CHAT_BODY bytes). */
static void make_body(char *body, int s, uint64_t number) {
  body[0] = 'm';
  body[1] = ' ';
  put_decimal(body + 2, (uint64_t)s, 3);
  body[5] = ' ';
  put_decimal(body + 6, number, 12);
  body[18] = ' ';
  for (int i = 19; i < CHAT_BODY - 1; i++)
    body[i] = (char)('A' + (number * 7 + (uint64_t)i) % 26);
  body[CHAT_BODY - 1] = '\n';
}

static void chat_send(connection_t *c, int s) {
  sender_t *sender = &senders[s];
  char batch[MAX_WINDOW * CHAT_BODY];
  size_t size = 0;
  while (sender->sent - sender->complete < (uint64_t)opt.window) {
    make_body(batch + size, s, sender->sent);
    sender->received_by[sender->sent % (uint64_t)opt.window] = 0;
    sender->sent++;
    size += CHAT_BODY;
  }
  if (size != 0 && !write_all(c, batch, size)) close_connection(c);
}

/* One line a client received ('\n' included). Returns false on an error. */
static bool chat_line(connection_t *c, const char *line, size_t length,
                      bool measuring, uint64_t *delivered) {
  /* "c<number>: "; anything else is a notice of the server's: ignored. */
  size_t at = 1;
  int from = 0;
  if (length < 4 || line[0] != 'c') return true;
  while (at < length && at < 8 && line[at] >= '0' && line[at] <= '9')
    from = from * 10 + (line[at++] - '0');
  if (at == 1 || at + 1 >= length || line[at] != ':' || line[at + 1] != ' ' ||
      from >= opt.connections)
    return true;
  const char *body = line + at + 2;
  size_t body_length = length - (at + 2);
  if (from == c->index) {
    error_at(c, "received its own line back");
    return false;
  }
  c->named = true;
  if (body_length >= 5 && memcmp(body, "sync ", 5) == 0) return true;
  if (from >= opt.senders) {
    error_at(c, "a line from c%d, which sends nothing", from);
    return false;
  }
  char expected[CHAT_BODY];
  uint64_t number = c->last_from[from];
  make_body(expected, from, number);
  if (body_length != CHAT_BODY || memcmp(body, expected, CHAT_BODY) != 0) {
    error_at(c, "line %llu from c%d lost, reordered or altered",
             (unsigned long long)number, from);
    return false;
  }
  c->last_from[from] = number + 1;
  if (measuring) (*delivered)++;
  sender_t *sender = &senders[from];
  sender->received_by[number % (uint64_t)opt.window]++;
  /* Lines from one sender arrive in order at each client, so the window's
   * oldest completes first. */
  while (sender->complete < sender->sent &&
         sender->received_by[sender->complete % (uint64_t)opt.window] ==
             opt.connections - 1)
    sender->complete++;
  return true;
}

/* Reads and handles what arrived for c; false on an error. */
static bool chat_read(connection_t *c, bool measuring, uint64_t *delivered) {
  if (!read_some(c, false)) return false;
  size_t offset = 0;
  /* First the prompt, which ends without a newline. */
  while (c->prompt_seen < sizeof prompt - 1 && offset < c->in_length) {
    if (c->in[offset] != prompt[c->prompt_seen]) {
      error_at(c, "the prompt is not \"%s\"", prompt);
      return false;
    }
    c->prompt_seen++;
    offset++;
  }
  for (;;) {
    char *start = c->in + offset;
    char *end = memchr(start, '\n', c->in_length - offset);
    if (end == NULL) break;
    size_t length = (size_t)(end - start) + 1;
    if (!chat_line(c, start, length, measuring, delivered)) return false;
    offset += length;
  }
  if (offset == 0 && c->in_length == IN_SIZE) {
    error_at(c, "a line longer than %d bytes", IN_SIZE);
    return false;
  }
  memmove(c->in, c->in + offset, c->in_length - offset);
  c->in_length -= offset;
  return true;
}

/* Until every client has received a probe from client 0 (a broadcast
 * reaches only named clients), so all are named before anyone is timed. */
static void chat_barrier(connection_t *all) {
  struct epoll_event events[EVENTS];
  uint64_t deadline = now_ns() + 10000000000u, next_probe = 0;
  uint64_t unused = 0;
  for (;;) {
    uint64_t now = now_ns();
    if (now > deadline) fail("the clients never all got named");
    if (now >= next_probe) {
      char probe[64];
      int size = snprintf(probe, sizeof probe, "sync %llu\n",
                          (unsigned long long)++sync_round);
      if (!write_all(&all[0], probe, (size_t)size)) fail("client 0 failed");
      next_probe = now + 200000000u;
    }
    int n = epoll_wait(epoll_fd, events, EVENTS, 10);
    for (int i = 0; i < n; i++)
      if (!chat_read(events[i].data.ptr, false, &unused))
        fail("a client failed while being named");
    bool all_named = true;
    for (int i = 1; i < opt.connections; i++)
      if (!all[i].named) all_named = false;
    if (all_named) return;
  }
}

static int run_chat(void) {
  if (opt.senders < 1 || opt.senders > MAX_SENDERS ||
      opt.senders > opt.connections)
    fail("-k must be 1..%d and at most -c", MAX_SENDERS);
  if (opt.window < 1 || opt.window > MAX_WINDOW)
    fail("-W must be 1..%d", MAX_WINDOW);
  if (opt.connections < 2) fail("-c must be at least 2");
  connection_t *all = make_connections(opt.connections, true);
  for (int i = 0; i < opt.connections; i++) {
    all[i].last_from = calloc((size_t)opt.senders, sizeof(uint64_t));
    if (all[i].last_from == NULL) fail("out of memory");
  }
  connect_all(all, opt.connections);
  for (int i = 0; i < opt.connections; i++) {
    char name[32];
    int size = snprintf(name, sizeof name, "c%d\n", i);
    if (!write_all(&all[i], name, (size_t)size)) fail("naming failed");
  }
  chat_barrier(all);

  rounds_t r;
  double rate[MAX_ROUNDS], cpu[MAX_ROUNDS], own[MAX_ROUNDS];
  uint64_t delivered = 0;
  for (int s = 0; s < opt.senders; s++) chat_send(&all[s], s);
  rounds_begin(&r);
  struct epoll_event events[EVENTS];
  uint64_t drain_deadline = 0;
  for (;;) {
    bool stopping = r.current >= opt.rounds;
    int n = epoll_wait(epoll_fd, events, EVENTS, stopping ? 10 : 1);
    uint64_t now = now_ns();
    bool measuring = r.current >= 0 && !stopping;
    for (int i = 0; i < n; i++) {
      connection_t *c = events[i].data.ptr;
      if (c->fd >= 0 && !chat_read(c, measuring, &delivered))
        close_connection(c);
    }
    if (!stopping)
      for (int s = 0; s < opt.senders; s++)
        if (all[s].fd >= 0 &&
            senders[s].sent - senders[s].complete < (uint64_t)opt.window)
          chat_send(&all[s], s);
    if (rounds_tick(&r, now)) {
      int ended = r.current - 1;
      if (ended >= 0) {
        rate[ended] = (double)delivered / round_seconds(&r, ended);
        cpu[ended] = delivered ? (r.cpu_us[ended + 1] - r.cpu_us[ended]) /
                                     (double)delivered
                               : 0;
        own[ended] = delivered
                         ? (r.own_cpu_us[ended + 1] - r.own_cpu_us[ended]) /
                               (double)delivered
                         : 0;
      }
      delivered = 0;
      if (r.current >= opt.rounds) drain_deadline = now + 2000000000u;
    }
    if (stopping) {
      bool all_complete = true;
      for (int s = 0; s < opt.senders; s++)
        if (senders[s].complete != senders[s].sent) all_complete = false;
      if (all_complete || now > drain_deadline) break;
    }
  }
  uint64_t lines = 0;
  for (int s = 0; s < opt.senders; s++) {
    lines += senders[s].complete;
    if (senders[s].complete != senders[s].sent)
      error_at(&all[s], "%llu lines never reached every client",
               (unsigned long long)(senders[s].sent - senders[s].complete));
  }
  for (int i = 0; i < opt.connections; i++) {
    if (all[i].fd < 0) error_at(&all[i], "closed after an error");
    close_connection(&all[i]);
    free(all[i].in);
    free(all[i].last_from);
  }
  free(all);
  fprintf(stderr, "chat: %llu lines, each checked at %d clients; %llu errors\n",
          (unsigned long long)lines, opt.connections - 1,
          (unsigned long long)errors);
  report("chat-deliveries", rate, opt.rounds, "per-second");
  if (opt.server_pid != 0) report("chat-cpu", cpu, opt.rounds, "us");
  report("chat-loadgen-cpu", own, opt.rounds, "us");
  printf("RESULT chat-errors %llu errors\n", (unsigned long long)errors);
  return errors != 0;
}

/* ---- idle ---- */

static void raise_descriptor_limit(int needed) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < (rlim_t)needed)
    fail("%d connections need %d descriptors; the limit is %llu", opt.idle,
         needed, (unsigned long long)limit.rlim_cur);
}

static int run_idle(void) {
  raise_descriptor_limit(opt.idle + 64);
  connection_t *all = make_connections(opt.idle, false);
  static char line[64], buffer[64];
  memset(line, 'i', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  double before = server_rss_bytes();
  uint64_t start = now_ns(), deadline = start + 60000000000u;
  int next = 0, in_flight = 0, answered = 0;
  struct epoll_event events[EVENTS];
  /* A few hundred connects at a time: the listen backlog is finite. */
  while (answered < opt.idle) {
    while (in_flight < CONNECTING_AT_ONCE && next < opt.idle) {
      start_connect(&all[next++], EPOLLOUT);
      in_flight++;
    }
    if (now_ns() > deadline) fail("only %d connections answered", answered);
    int n = epoll_wait(epoll_fd, events, EVENTS, 100);
    for (int i = 0; i < n; i++) {
      connection_t *c = events[i].data.ptr;
      if (!c->connected) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) fail("connect: %s", strerror(error));
        c->connected = true;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
        if (!write_all(c, line, sizeof line)) fail("idle: write failed");
        continue;
      }
      /* The echo proves the server accepted and served the connection. */
      ssize_t got = read(c->fd, buffer, sizeof line - c->in_length);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        fail("idle: connection %d: %s", c->index,
             got == 0 ? "closed by the server" : strerror(errno));
      }
      if (memcmp(buffer, line + c->in_length, (size_t)got) != 0)
        error_at(c, "the echo came back different");
      c->in_length += (size_t)got;
      if (c->in_length == sizeof line) {
        c->answered = true;
        answered++;
        in_flight--;
        c->in_length = 0;
        /* Nothing more is expected; stop watching, keep it open. */
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
  double after = server_rss_bytes();
  double seconds = (double)(now_ns() - start) / 1e9;
  fprintf(stderr,
          "idle: %d connections open and served in %.2f s; server RSS "
          "%.1f MiB before, %.1f MiB after\n",
          opt.idle, seconds, before / 1048576, after / 1048576);
  for (int i = 0; i < opt.idle; i++) reset_connection(&all[i]);
  free(all);
  double per_connection = after > before ? (after - before) / opt.idle : 0;
  if (opt.server_pid != 0) report("idle-rss", &per_connection, 1, "bytes");
  printf("RESULT idle-errors %llu errors\n", (unsigned long long)errors);
  return errors != 0;
}

/* ---- main ---- */

static void usage(void) {
  fputs("usage: loadgen echo|chat|idle HOST PORT [-s SERVER_PID]\n"
        "  echo: [-c CONNECTIONS] [-l LINE_BYTES] [-P DEPTH]\n"
        "  chat: [-c CLIENTS] [-k SENDERS] [-W WINDOW]\n"
        "  echo, chat: [-w WARMUP_S] [-d ROUND_S] [-r ROUNDS]\n"
        "  idle: [-n CONNECTIONS]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 4) usage();
  opt.mode = argv[1];
  opt.host = argv[2];
  opt.port = atoi(argv[3]);
  for (int i = 4; i < argc; i++) {
    if (argv[i][0] != '-' || argv[i][1] == '\0' || argv[i][2] != '\0' ||
        i + 1 >= argc)
      usage();
    const char *value = argv[++i];
    switch (argv[i - 1][1]) {
    case 'c':
      opt.connections = atoi(value);
      break;
    case 'l':
      opt.line_size = atoi(value);
      break;
    case 'P':
      opt.depth = atoi(value);
      break;
    case 'k':
      opt.senders = atoi(value);
      break;
    case 'W':
      opt.window = atoi(value);
      break;
    case 'n':
      opt.idle = atoi(value);
      break;
    case 'w':
      opt.warmup = atof(value);
      break;
    case 'd':
      opt.duration = atof(value);
      break;
    case 'r':
      opt.rounds = atoi(value);
      break;
    case 's':
      opt.server_pid = atoi(value);
      break;
    default:
      usage();
    }
  }
  if (opt.port <= 0 || opt.connections < 1 || opt.idle < 1 || opt.rounds < 1 ||
      opt.rounds > MAX_ROUNDS || opt.duration <= 0 || opt.warmup < 0)
    usage();
  resolve();
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) fail("epoll_create1: %s", strerror(errno));
  raise_descriptor_limit(opt.connections + 64);
  if (strcmp(opt.mode, "echo") == 0) return run_echo();
  if (strcmp(opt.mode, "chat") == 0) return run_chat();
  if (strcmp(opt.mode, "idle") == 0) return run_idle();
  usage();
}
