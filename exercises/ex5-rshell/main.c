/* main.c: ex5-rshell's program, `rshell [-p PORT]` (kit-owned; do not edit).
 *
 * Parses the options, starts the server through rshell_start (in rshell.c),
 * says where it listens, and serves until SIGINT or SIGTERM: then it stops
 * accepting, cancels the sessions still open (each ends its shell) and
 * exits 0. */
#include <async.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rshell.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: rshell [-p PORT]\n"
          "  a remote shell: each connection gets a /bin/sh of its own\n"
          "  -p PORT  listen on 127.0.0.1:PORT (default %d; 0: any free "
          "port)\n",
          RSHELL_DEFAULT_PORT);
}

static const int stop_signals[] = {SIGINT, SIGTERM};

/* Set when rshell_start failed and serve has said so. */
static bool start_failed;

/* Waits for SIGINT or SIGTERM, then closes the server, cancelling the
 * sessions still running (asyncio's add_signal_handler pattern). */
static int stop_on_signal(void *server) {
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
  return async_server_close(server, true);
}

static int serve(void *arg) {
  int port = *(int *)arg;
  async_server_t *server = NULL;
  int rc = rshell_start(&server, port);
  if (rc != 0) {
    fprintf(stderr, "rshell: cannot listen on port %d: %s\n", port,
            async_strerror(rc));
    start_failed = true;
    return rc;
  }
  if (server == NULL) {
    fprintf(stderr, "rshell: rshell_start returned 0 but no server\n");
    return UV_EINVAL;
  }
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout); /* tests (and people) wait for this line */

  async_task_t *stopper = async_spawn("stopper", stop_on_signal, server);
  if (stopper == NULL) {
    async_server_close(server, true);
    return UV_ENOMEM;
  }
  async_server_wait(server); /* until the stopper has closed it */
  rc = async_task_join(stopper);
  async_task_release(stopper);
  return rc;
}

int main(int argc, char **argv) {
  int port = RSHELL_DEFAULT_PORT;
  int option;
  while ((option = getopt(argc, argv, "p:h")) != -1) {
    switch (option) {
    case 'p': {
      char *end;
      errno = 0;
      long value = strtol(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || value < 0 ||
          value > 65535) {
        fprintf(stderr, "rshell: -p needs a port from 0 to 65535, not '%s'\n",
                optarg);
        usage(stderr);
        return 2;
      }
      port = (int)value;
      break;
    }
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "rshell: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  /* serve prints why it could not start; anything else is said here. */
  int rc = async_run(serve, &port);
  if (rc < 0 && !start_failed) {
    fprintf(stderr, "rshell: %s\n", async_strerror(rc));
  }
  return rc < 0 ? 1 : 0;
}
