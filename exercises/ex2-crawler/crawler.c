/* crawler.c: ex2-crawler, the file you edit: fetch URLs concurrently, at
 * most LIMIT at once, each body saved whole or not at all. */
#include "crawler.h"

#include <async.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- One URL ---- */

int crawler_fetch(const char *url, const crawler_options_t *options, char *why,
                  size_t why_size) {
  /* TODO(ex2): part 1, fetch one URL and save it.
   *
   *   1. crawler_file_name(url, ...) gives the file name, or says why the
   *      URL is malformed (put that sentence in why and return its error).
   *   2. async_http_get(url, &http_options, &response): set
   *      http_options.timeout to options->timeout. The body may hold any
   *      byte, NUL included: response.body_size says how long it is, not
   *      strlen(). Or let the runtime write it into a file for you with
   *      http_options.output_path.
   *   3. A status of 400 or more is a failure too ("HTTP status 404").
   *   4. Leave no file behind when anything fails, not even half of one:
   *      write to a temporary name in options->directory, rename() it into
   *      place once all is well, unlink() it otherwise.
   *
   * Until then, every URL fails with this message. */
  (void)url;
  (void)options;
  snprintf(why, why_size,
           "not fetched: crawler_fetch in crawler.c is not written yet "
           "(TODO(ex2))");
  return UV_ENOSYS;
}

/* ---- All of them ---- */

int crawler_crawl(char *const *urls, size_t count,
                  const crawler_options_t *options) {
  /* TODO(ex2): part 2, fetch them concurrently.
   *
   * This fetches the URLs one after another: correct, but each transfer
   * waits for the one before it. Instead, spawn one task per URL
   * (async_spawn), wait for all of them (async_gather), and let at most
   * options->limit of them fetch at once: a semaphore with limit seats
   * (async_semaphore_init_bounded, acquire before the fetch, release
   * after it, whatever happened). A failed URL is reported and counted;
   * it never stops the others. */
  int failed = 0;
  for (size_t i = 0; i < count; i++) {
    char why[512] = "";
    if (crawler_fetch(urls[i], options, why, sizeof why) == 0) {
      crawler_report_fetched(urls[i]);
    } else {
      crawler_report_failed(urls[i], why);
      failed++;
    }
  }
  return failed;
}
