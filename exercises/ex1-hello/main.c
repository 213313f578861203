/* main.c: ex1-hello's program, `hello [-n TASKS -r ROUNDS -i SECONDS]`
 * (kit-owned; do not edit: you write hello.c). */
#include <async.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hello.h"

/* Generous bounds, so that a typo cannot ask for a billion tasks. */
enum { MAX_TASKS = 100000, MAX_ROUNDS = 1000000 };
#define MAX_INTERVAL 86400.0 /* one day */

typedef struct options {
  bool part2; /* any of -n, -r, -i given */
  int tasks, rounds;
  double interval;
} options_t;

static void usage(void) {
  fprintf(stderr,
          "usage: hello                      part 1: one task says hello\n"
          "       hello [-n TASKS] [-r ROUNDS] [-i SECONDS]\n"
          "                                  part 2: TASKS tasks (default 3)"
          " each\n"
          "                                  print ROUNDS lines (default 3),"
          "\n"
          "                                  SECONDS apart (default 1)\n");
  exit(2);
}

/* A whole positive decimal number no greater than max, or -1. */
static int parse_count(const char *text, int max) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > max)
    return -1;
  return (int)value;
}

/* A finite number of seconds, 0 or more, or -1. */
static double parse_seconds(const char *text) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(value) ||
      value < 0 || value > MAX_INTERVAL)
    return -1;
  return value;
}

static options_t parse_options(int argc, char **argv) {
  options_t options = {false, 3, 3, 1.0};
  int option;
  opterr = 0; /* our own messages, without the program's full path */
  while ((option = getopt(argc, argv, "n:r:i:")) != -1) {
    options.part2 = true;
    switch (option) {
    case 'n':
      options.tasks = parse_count(optarg, MAX_TASKS);
      if (options.tasks < 0) {
        fprintf(stderr,
                "hello: -n wants a whole number from 1 to %d, not "
                "'%s'\n",
                MAX_TASKS, optarg);
        usage();
      }
      break;
    case 'r':
      options.rounds = parse_count(optarg, MAX_ROUNDS);
      if (options.rounds < 0) {
        fprintf(stderr,
                "hello: -r wants a whole number from 1 to %d, not "
                "'%s'\n",
                MAX_ROUNDS, optarg);
        usage();
      }
      break;
    case 'i':
      options.interval = parse_seconds(optarg);
      if (options.interval < 0) {
        fprintf(stderr, "hello: -i wants seconds from 0 to %g, not '%s'\n",
                MAX_INTERVAL, optarg);
        usage();
      }
      break;
    default:
      if (optopt == 'n' || optopt == 'r' || optopt == 'i')
        fprintf(stderr, "hello: -%c needs a value\n", optopt);
      else
        fprintf(stderr, "hello: unknown option -%c\n", optopt);
      usage();
    }
  }
  if (optind != argc) {
    fprintf(stderr, "hello: unexpected argument '%s'\n", argv[optind]);
    usage();
  }
  return options;
}

static int run_part1(void *arg) {
  (void)arg;
  return hello_world();
}

static int run_part2(void *arg) {
  const options_t *options = arg;
  return hello_coroutines(options->tasks, options->rounds, options->interval);
}

int main(int argc, char **argv) {
  options_t options = parse_options(argc, argv);
  /* asyncio.run(main()) */
  int result = async_run(options.part2 ? run_part2 : run_part1, &options);
  /* What the tasks printed goes out before any complaint. */
  fflush(stdout);
  if (result < 0) {
    fprintf(stderr, "hello: %s\n", async_strerror(result));
    return 1;
  }
  return 0;
}
