/* main_client.c: ex3-echo's client program, `echo_client HOST PORT`
 * (kit-owned; do not edit: you write echo_client.c). */
#include <async.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "echo.h"

typedef struct target {
  const char *host;
  int port;
} target_t;

static void usage(void) {
  fprintf(stderr, "usage: echo_client HOST PORT < lines\n"
                  "  sends its input to the echo server at HOST:PORT and "
                  "prints what comes back\n");
  exit(2);
}

static int talk(void *arg) {
  const target_t *target = arg;
  return echo_client(target->host, target->port);
}

int main(int argc, char **argv) {
  if (argc != 3 || argv[1][0] == '\0') usage();
  char *end;
  errno = 0;
  long port = strtol(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0' || port < 1 ||
      port > 65535) {
    fprintf(stderr, "echo_client: PORT must be from 1 to 65535, not '%s'\n",
            argv[2]);
    usage();
  }
  target_t target = {argv[1], (int)port};
  int result = async_run(talk, &target);
  fflush(stdout);
  if (result < 0) {
    fprintf(stderr, "echo_client: %s:%ld: %s\n", target.host, port,
            async_strerror(result));
    return 1;
  }
  return 0;
}
