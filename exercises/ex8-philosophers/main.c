/* main.c: ex8's program, `philosophers [-n N] [-m MEALS] [-e EAT_S]
 * [-t THINK_S]` (kit-owned; do not edit). */
#include <async.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "table.h"

enum { MOST_PHILOSOPHERS = 100000, MOST_MEALS = 1000000 };

static void usage(void) {
  fprintf(stderr,
          "usage: philosophers [-n N] [-m MEALS] [-e EAT_S] [-t THINK_S]\n"
          "  -n N        philosophers around the table, 2 to %d (default 5)\n"
          "  -m MEALS    meals each of them eats (default 10)\n"
          "  -e EAT_S    seconds a meal takes (default 0.1)\n"
          "  -t THINK_S  seconds of thinking after each meal (default 0.1)\n",
          MOST_PHILOSOPHERS);
  exit(2);
}

/* A whole number in [low, high], or the usage. */
static int parse_count(const char *text, int low, int high, const char *what) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low ||
      value > high) {
    fprintf(stderr,
            "philosophers: %s must be a whole number from %d to %d, "
            "not '%s'\n",
            what, low, high, text);
    usage();
  }
  return (int)value;
}

/* Seconds, 0 or more, or the usage. */
static double parse_seconds(const char *text, const char *what) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(value >= 0) ||
      isinf(value)) {
    fprintf(stderr, "philosophers: %s must be seconds, 0 or more, not '%s'\n",
            what, text);
    usage();
  }
  return value;
}

int main(int argc, char **argv) {
  int size = 5, meals = 10;
  double eat_seconds = 0.1, think_seconds = 0.1;
  int option;
  while ((option = getopt(argc, argv, "n:m:e:t:")) != -1) {
    switch (option) {
    case 'n':
      size = parse_count(optarg, 2, MOST_PHILOSOPHERS, "-n");
      break;
    case 'm':
      meals = parse_count(optarg, 0, MOST_MEALS, "-m");
      break;
    case 'e':
      eat_seconds = parse_seconds(optarg, "-e");
      break;
    case 't':
      think_seconds = parse_seconds(optarg, "-t");
      break;
    default:
      usage();
    }
  }
  if (optind != argc) {
    fprintf(stderr, "philosophers: unexpected argument '%s'\n", argv[optind]);
    usage();
  }

  table_t table;
  int rc = table_init(&table, size, meals, eat_seconds, think_seconds, stdout);
  if (rc == 0) rc = async_run(dinner, &table);
  table_free(&table);
  if (rc < 0) {
    fprintf(stderr, "philosophers: %s\n", async_strerror(rc));
    return 1;
  }
  /* dinner() has said what went wrong. */
  return rc == 0 ? 0 : 1;
}
