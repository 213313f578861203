/* main_server.c: ex3-echo's server program, `echo_server [-H HOST] [-p
 * PORT]` (kit-owned; do not edit: you write echo_server.c). */
#include <async.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "echo.h"

typedef struct options {
  const char *host;
  int port;
} options_t;

static void usage(void) {
  fprintf(stderr, "usage: echo_server [-H HOST] [-p PORT]\n"
                  "  -H HOST  the address to listen on (default 127.0.0.1)\n"
                  "  -p PORT  the port, 0 for any free one (default 12345)\n");
  exit(2);
}

/* A port number, 0 to 65535, or -1. */
static int parse_port(const char *text) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 65535)
    return -1;
  return (int)value;
}

static int serve(void *arg) {
  const options_t *options = arg;
  async_server_t *server;
  /* The runtime runs echo_connection as a task of its own for every client
   * that connects: asyncio.start_server(handle, host, port). */
  int rc = async_server_start(&server, options->host, options->port,
                              echo_connection, NULL);
  if (rc < 0) {
    fprintf(stderr, "echo_server: cannot listen on %s port %d: %s\n",
            options->host, options->port, async_strerror(rc));
    return rc;
  }
  /* Tests and people wait for this line before they connect. */
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout);
  return echo_serve(server);
}

int main(int argc, char **argv) {
  options_t options = {"127.0.0.1", 12345};
  int option;
  opterr = 0; /* our own messages, without the program's full path */
  while ((option = getopt(argc, argv, "H:p:")) != -1) {
    switch (option) {
    case 'H':
      if (optarg[0] == '\0') usage();
      options.host = optarg;
      break;
    case 'p':
      options.port = parse_port(optarg);
      if (options.port < 0) {
        fprintf(stderr,
                "echo_server: -p wants a port from 0 to 65535, not "
                "'%s'\n",
                optarg);
        usage();
      }
      break;
    default:
      if (optopt == 'p' || optopt == 'H')
        fprintf(stderr, "echo_server: -%c needs a value\n", optopt);
      else
        fprintf(stderr, "echo_server: unknown option -%c\n", optopt);
      usage();
    }
  }
  if (optind != argc) {
    fprintf(stderr, "echo_server: unexpected argument '%s'\n", argv[optind]);
    usage();
  }
  int result = async_run(serve, &options);
  if (result < 0) {
    /* serve() has said why when it could not listen. */
    if (result != UV_EADDRINUSE && result != UV_EADDRNOTAVAIL &&
        result != UV_EACCES)
      fprintf(stderr, "echo_server: %s\n", async_strerror(result));
    return 1;
  }
  return 0;
}
