/* main.c: ex2-crawler's program, `crawler [-c LIMIT] [-o DIR] [-t SECONDS]
 * [-f FILE] URL...` (kit-owned; do not edit). */
#include <async.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crawler.h"

enum { DEFAULT_LIMIT = 3, MAX_LIMIT = 1000 };
#define DEFAULT_TIMEOUT 30.0 /* seconds per transfer */

static void usage(FILE *out) {
  fprintf(out,
          "usage: crawler [-c LIMIT] [-o DIR] [-t SECONDS] [-f FILE] URL...\n"
          "  fetches each URL and saves its body as DIR/<last path segment>\n"
          "  -c LIMIT    at most LIMIT transfers at once (1-%d; default %d)\n"
          "  -o DIR      the directory to save into (default: the current "
          "one)\n"
          "  -t SECONDS  how long one transfer may take (default %g)\n"
          "  -f FILE     also fetch the URLs listed in FILE, one a line "
          "(- : stdin;\n"
          "              blank lines and lines starting with # are skipped)\n"
          "prints \"fetched URL\" per file saved, \"failed URL: reason\" on "
          "stderr per\n"
          "failure, then \"done\"; exits 0 if every URL was saved, 1 if not\n",
          MAX_LIMIT, DEFAULT_LIMIT, DEFAULT_TIMEOUT);
}

/* The URLs to fetch, from the command line and from -f files. */
typedef struct url_list {
  char **urls;
  size_t count, capacity;
} url_list_t;

static int url_list_add(url_list_t *list, const char *url) {
  if (list->count == list->capacity) {
    size_t capacity = list->capacity ? 2 * list->capacity : 16;
    char **urls = realloc(list->urls, capacity * sizeof *urls);
    if (urls == NULL) return -1;
    list->urls = urls;
    list->capacity = capacity;
  }
  list->urls[list->count] = strdup(url);
  if (list->urls[list->count] == NULL) return -1;
  list->count++;
  return 0;
}

static void url_list_free(url_list_t *list) {
  for (size_t i = 0; i < list->count; i++) free(list->urls[i]);
  free(list->urls);
}

/* Adds each line of the file as a URL, without surrounding blanks;
 * skips blank lines and # comments. */
static int read_url_file(const char *path, url_list_t *list) {
  FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (file == NULL) {
    fprintf(stderr, "crawler: cannot read %s: %s\n", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t size = 0;
  int rc = 0;
  while (rc == 0 && getline(&line, &size, file) != -1) {
    char *start = line + strspn(line, " \t\r\n");
    char *end = start + strlen(start);
    while (end > start && strchr(" \t\r\n", end[-1]) != NULL) *--end = '\0';
    if (*start == '\0' || *start == '#') continue;
    if (url_list_add(list, start) != 0) {
      fprintf(stderr, "crawler: out of memory\n");
      rc = -1;
    }
  }
  if (rc == 0 && ferror(file)) {
    fprintf(stderr, "crawler: cannot read %s: %s\n", path, strerror(errno));
    rc = -1;
  }
  free(line);
  if (file != stdin) fclose(file);
  return rc;
}

typedef struct run {
  url_list_t *list;
  const crawler_options_t *options;
} run_t;

static int crawl_task(void *arg) {
  run_t *run = arg;
  return crawler_crawl(run->list->urls, run->list->count, run->options);
}

int main(int argc, char **argv) {
  crawler_options_t options = {
      .limit = DEFAULT_LIMIT, .directory = ".", .timeout = DEFAULT_TIMEOUT};
  url_list_t list = {NULL, 0, 0};
  int option;
  while ((option = getopt(argc, argv, "c:o:t:f:h")) != -1) {
    char *end;
    switch (option) {
    case 'c': {
      long limit = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end != '\0' || limit < 1 || limit > MAX_LIMIT) {
        fprintf(stderr, "crawler: -c wants a number from 1 to %d, not '%s'\n",
                MAX_LIMIT, optarg);
        usage(stderr);
        url_list_free(&list);
        return 2;
      }
      options.limit = (int)limit;
      break;
    }
    case 'o':
      options.directory = optarg;
      break;
    case 't': {
      double seconds = strtod(optarg, &end);
      if (*optarg == '\0' || *end != '\0' || !isfinite(seconds) ||
          seconds <= 0) {
        fprintf(stderr,
                "crawler: -t wants a number of seconds > 0, not "
                "'%s'\n",
                optarg);
        usage(stderr);
        url_list_free(&list);
        return 2;
      }
      options.timeout = seconds;
      break;
    }
    case 'f':
      if (read_url_file(optarg, &list) != 0) {
        url_list_free(&list);
        return 2;
      }
      break;
    case 'h':
      usage(stdout);
      url_list_free(&list);
      return 0;
    default:
      usage(stderr);
      url_list_free(&list);
      return 2;
    }
  }
  for (int i = optind; i < argc; i++) {
    if (url_list_add(&list, argv[i]) != 0) {
      fprintf(stderr, "crawler: out of memory\n");
      url_list_free(&list);
      return 1;
    }
  }
  if (list.count == 0) {
    fprintf(stderr, "crawler: no URLs to fetch\n");
    usage(stderr);
    url_list_free(&list);
    return 2;
  }
  struct stat info;
  const char *problem = NULL;
  if (stat(options.directory, &info) != 0)
    problem = strerror(errno);
  else if (!S_ISDIR(info.st_mode))
    problem = "not a directory";
  if (problem != NULL) {
    fprintf(stderr, "crawler: -o %s: %s\n", options.directory, problem);
    url_list_free(&list);
    return 2;
  }

  run_t run = {&list, &options};
  int failed = async_run(crawl_task, &run); /* asyncio.run(main(urls)) */
  url_list_free(&list);
  if (failed < 0) {
    fprintf(stderr, "crawler: %s\n", async_strerror(failed));
    return 1;
  }
  printf("done\n");
  return failed == 0 ? 0 : 1;
}
