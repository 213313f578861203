/* main.c: ex4-chat's program, `chat_server [-H HOST] [-p PORT]` (kit-owned;
 * do not edit).
 *
 * Parses the options, makes the room, starts a server whose handler is
 * chat_handle_client (in chat_server.c), says where it listens, and serves
 * until SIGINT or SIGTERM: then it stops accepting, cancels the handlers of
 * the clients still connected, waits for them, and exits 0.
 *
 * The room's bound is CHAT_MAX_PENDING (chat_server.h): 1 MiB. A client
 * with more than that waiting to be sent to it, beyond what the system's
 * socket buffers already hold, has stopped reading and is disconnected. */
#include <async.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chat_server.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: chat_server [-H HOST] [-p PORT]\n"
          "  a chat room: each line a client sends goes to every other "
          "client\n"
          "  -H HOST  listen on HOST (default %s; 0.0.0.0: every "
          "interface)\n"
          "  -p PORT  listen on PORT (default %d; 0: any free port)\n"
          "  A client that stops reading is disconnected once %d KiB wait "
          "for it.\n",
          CHAT_DEFAULT_HOST, CHAT_DEFAULT_PORT, CHAT_MAX_PENDING / 1024);
}

typedef struct settings {
  const char *host;
  int port;
} settings_t;

static const int stop_signals[] = {SIGINT, SIGTERM};

/* Waits for SIGINT or SIGTERM, then closes the server, cancelling the
 * handlers still running (asyncio's add_signal_handler pattern). */
static int stop_on_signal(void *server) {
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
  return async_server_close(server, true);
}

static int serve(void *arg) {
  const settings_t *settings = arg;
  chat_room_t *room = chat_room_new(CHAT_MAX_PENDING);
  if (room == NULL) {
    fprintf(stderr, "chat_server: out of memory\n");
    return UV_ENOMEM;
  }
  async_server_t *server = NULL;
  int rc = async_server_start(&server, settings->host, settings->port,
                              chat_handle_client, room);
  if (rc != 0) {
    fprintf(stderr, "chat_server: cannot listen on %s port %d: %s\n",
            settings->host, settings->port, async_strerror(rc));
    chat_room_free(room);
    return rc;
  }
  printf("listening on %s\n", async_server_address(server));
  fflush(stdout); /* tests (and people) wait for this line */

  async_task_t *stopper = async_spawn("stopper", stop_on_signal, server);
  if (stopper == NULL) {
    async_server_close(server, true);
    chat_room_free(room);
    return UV_ENOMEM;
  }
  async_server_wait(server); /* until the stopper has closed it */
  rc = async_task_join(stopper);
  async_task_release(stopper);
  /* Every handler has returned: nobody uses the room any more. */
  chat_room_free(room);
  return rc;
}

int main(int argc, char **argv) {
  settings_t settings = {CHAT_DEFAULT_HOST, CHAT_DEFAULT_PORT};
  int option;
  while ((option = getopt(argc, argv, "H:p:h")) != -1) {
    switch (option) {
    case 'H':
      settings.host = optarg;
      break;
    case 'p': {
      char *end;
      errno = 0;
      long value = strtol(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || value < 0 ||
          value > 65535) {
        fprintf(stderr,
                "chat_server: -p needs a port from 0 to 65535, not '%s'\n",
                optarg);
        usage(stderr);
        return 2;
      }
      settings.port = (int)value;
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
    fprintf(stderr, "chat_server: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  int rc = async_run(serve, &settings);
  if (rc < 0) {
    /* serve has said why when it could; say it again for the exit code. */
    fprintf(stderr, "chat_server: %s\n", async_strerror(rc));
    return 1;
  }
  return 0;
}
