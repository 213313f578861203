/* crawler.h: ex2-crawler's functions: yours in crawler.c, the kit's in
 * crawler_kit.c (kit-owned; do not edit). */
#ifndef CRAWLER_H
#define CRAWLER_H

#include <stddef.h>

/* How to crawl; main.c fills it from the command line. */
typedef struct crawler_options {
  int limit;             /* at most this many transfers in flight (>= 1) */
  const char *directory; /* where the files go ("." : the current one) */
  double timeout;        /* seconds one transfer may take in all (> 0) */
} crawler_options_t;

/* ---- Yours: crawler.c ---- */

/* Blocks. Fetches url with the runtime's HTTP client and saves the body,
 * byte for byte, as options->directory/<the URL's last path segment>
 * (crawler_file_name). options->timeout bounds the transfer. Returns 0 once
 * the file is there. On failure (a malformed URL, an HTTP status of 400 or
 * more, a refused connection, a timeout, a name that does not resolve, a
 * file that cannot be written) returns a negative error code, writes the
 * reason into why[why_size] ("HTTP status 404", "timed out ..."), and
 * leaves no file behind: neither the final one nor a partial one. */
int crawler_fetch(const char *url, const crawler_options_t *options, char *why,
                  size_t why_size);

/* Blocks. Fetches every URL with crawler_fetch, each from a task of its
 * own, with at most options->limit transfers in flight at any moment.
 * Reports each URL once, as it ends: crawler_report_fetched or
 * crawler_report_failed. A failure never stops the others. Returns how
 * many URLs failed (0: every file is saved), or a negative error if the
 * crawl could not run at all (out of memory). */
int crawler_crawl(char *const *urls, size_t count,
                  const crawler_options_t *options);

/* ---- The kit's: crawler_kit.c ---- */

/* The name a URL's body is saved under: its last path segment, without a
 * query (?...) or fragment (#...): "http://host/a/001_x.patch.sig" gives
 * "001_x.patch.sig". Returns 0, or UV_EINVAL with *why set to a sentence
 * when the URL has no scheme or host, or its last path segment is empty
 * ("http://host/dir/"), "." or "..", and UV_ENOBUFS when the name does not
 * fit in name[size]. */
int crawler_file_name(const char *url, char *name, size_t size,
                      const char **why);

/* "fetched URL" on stdout, and "failed URL: WHY" on stderr, each a whole
 * line, flushed at once so that a reader sees it while the crawl goes on. */
void crawler_report_fetched(const char *url);
void crawler_report_failed(const char *url, const char *why);

#endif
