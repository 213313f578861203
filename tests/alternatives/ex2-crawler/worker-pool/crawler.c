/* crawler.c: ex2-crawler, solved another way: LIMIT workers share the URLs. */
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
  char name[NAME_MAX + 1];
  const char *reason;
  int rc = crawler_file_name(url, name, sizeof name, &reason);
  if (rc != 0) {
    snprintf(why, why_size, "%s", reason);
    return rc;
  }

  /* The body goes to a temporary name first and is renamed into place
   * only once the whole of it has arrived with a good status. rename() is
   * atomic: whoever looks at the directory sees the old state or the whole
   * new file, never half a file. The name is hidden (a leading dot) and
   * unique to this task, so two URLs ending in the same name never write
   * into one temporary file. */
  char final_path[PATH_MAX], temporary_path[PATH_MAX];
  int length = snprintf(final_path, sizeof final_path, "%s/%s",
                        options->directory, name);
  int temporary_length =
      snprintf(temporary_path, sizeof temporary_path, "%s/.%s.part-%ld-%llu",
               options->directory, name, (long)getpid(),
               (unsigned long long)async_task_id(async_current_task()));
  if (length < 0 || (size_t)length >= sizeof final_path ||
      temporary_length < 0 ||
      (size_t)temporary_length >= sizeof temporary_path) {
    snprintf(why, why_size, "the path of %s in %s is too long", name,
             options->directory);
    return UV_ENAMETOOLONG;
  }

  /* output_path streams the body straight into the file: binary-safe (no
   * string functions ever see it) and no copy of a large body in memory.
   * The runtime removes the file itself when the transfer fails. */
  async_http_options_t http = {
      .timeout = options->timeout, /* the whole transfer, connect included */
      .max_redirects = -1,         /* follow them, as a browser would */
      .output_path = temporary_path,
  };
  async_http_response_t response;
  rc = async_http_get(url, &http, &response); /* await session.get(url) */
  if (rc != 0) {
    /* Refused, timed out, no such host...: the sentence says which. */
    snprintf(why, why_size, "%s", response.error);
  } else if (response.status >= 400) {
    /* A 404 is a response, not a transport failure: the file now holds
     * the server's error page, which must not pass for the document. */
    snprintf(why, why_size, "HTTP status %ld", response.status);
    unlink(temporary_path);
    rc = UV_EIO; /* libuv has no code for "the server said no" */
  } else if (rename(temporary_path, final_path) != 0) {
    rc = uv_translate_sys_error(errno);
    snprintf(why, why_size, "cannot save %s: %s", final_path, uv_strerror(rc));
    unlink(temporary_path);
  }
  async_http_free(&response);
  return rc;
}

/* ---- All of them ---- */

/* LIMIT workers, each taking the next URL until none is left: there are
 * never more than LIMIT transfers because there are only LIMIT tasks, and
 * never fewer while URLs wait because no worker rests while there are. */
typedef struct crawl {
  char *const *urls;
  size_t count;
  size_t next; /* the next URL to take; tasks take turns, no lock needed */
  const crawler_options_t *options;
  int failed;
} crawl_t;

static int worker(void *arg) {
  crawl_t *crawl = arg;
  while (crawl->next < crawl->count) {
    const char *url = crawl->urls[crawl->next++];
    char why[512] = "";
    if (crawler_fetch(url, crawl->options, why, sizeof why) == 0) {
      crawler_report_fetched(url);
    } else {
      crawler_report_failed(url, why);
      crawl->failed++;
    }
  }
  return 0;
}

int crawler_crawl(char *const *urls, size_t count,
                  const crawler_options_t *options) {
  crawl_t crawl = {urls, count, 0, options, 0};
  size_t workers =
      (size_t)options->limit < count ? (size_t)options->limit : count;
  async_task_t **tasks = calloc(workers ? workers : 1, sizeof *tasks);
  if (tasks == NULL) return UV_ENOMEM;
  size_t spawned = 0;
  for (size_t i = 0; i < workers; i++) {
    tasks[spawned] = async_spawn("worker", worker, &crawl);
    if (tasks[spawned] != NULL) spawned++;
  }
  /* With no worker at all, nothing would ever fetch. */
  int rc = spawned == 0 && count > 0
               ? UV_ENOMEM
               : async_gather(tasks, spawned, NULL, ASYNC_RETURN_ERRORS);
  for (size_t i = 0; i < spawned; i++) async_task_release(tasks[i]);
  free(tasks);
  return rc < 0 ? rc : crawl.failed;
}
