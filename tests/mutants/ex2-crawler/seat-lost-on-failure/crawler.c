/* crawler.c: ex2-crawler, a known-wrong variant: a seat lost per failure. */
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

typedef struct crawl {
  const crawler_options_t *options;
  /* The seats: a transfer takes one before it starts and gives it back
   * when it ends, so at most `limit` are ever in flight. Bounded: giving
   * back a seat twice is an error (UV_EOVERFLOW) instead of a silent extra
   * seat. */
  async_semaphore_t seats;
  int failed; /* tasks take turns on one thread: no lock needed */
} crawl_t;

typedef struct job {
  crawl_t *crawl;
  const char *url;
} job_t;

static int fetch_task(void *arg) {
  job_t *job = arg;
  crawl_t *crawl = job->crawl;
  /* Every task starts at once and waits here for a seat: the semaphore,
   * not the order of spawning, is what limits the transfers. */
  int rc = async_semaphore_acquire(&crawl->seats);
  if (rc != 0) return rc; /* cancelled while waiting: nothing to give back */
  char why[512] = "";
  rc = crawler_fetch(job->url, crawl->options, why, sizeof why);
  if (rc != 0) {
    /* Wrong: returns with the seat still taken. */
    crawler_report_failed(job->url, why);
    crawl->failed++;
    return 0;
  }
  /* Give the seat back on every path, success or failure: a seat lost on
   * a failure is a transfer fewer for the rest of the crawl, and after
   * LIMIT failures the crawl would wait for ever. */
  async_semaphore_release(&crawl->seats);
  if (rc == 0) {
    crawler_report_fetched(job->url);
  } else {
    crawler_report_failed(job->url, why);
    crawl->failed++;
  }
  /* A URL that failed is reported and counted, not the task's failure:
   * one bad URL must not look like a broken crawl. */
  return 0;
}

int crawler_crawl(char *const *urls, size_t count,
                  const crawler_options_t *options) {
  crawl_t crawl = {.options = options, .failed = 0};
  int rc = async_semaphore_init_bounded(&crawl.seats, options->limit);
  if (rc != 0) return rc;
  async_semaphore_set_name(&crawl.seats, "crawler seats");
  job_t *jobs = calloc(count ? count : 1, sizeof *jobs);
  async_task_t **tasks = calloc(count ? count : 1, sizeof *tasks);
  if (jobs == NULL || tasks == NULL) {
    free(jobs);
    free(tasks);
    return UV_ENOMEM;
  }

  /* One task per URL (asyncio.create_task): they all start, and the
   * semaphore lets LIMIT of them through at a time. */
  size_t spawned = 0;
  for (size_t i = 0; i < count; i++) {
    jobs[i] = (job_t){&crawl, urls[i]};
    tasks[spawned] = async_spawn(urls[i], fetch_task, &jobs[i]);
    if (tasks[spawned] == NULL) {
      crawler_report_failed(urls[i], "cannot start a task (out of memory)");
      crawl.failed++;
      continue;
    }
    spawned++;
  }

  /* gather(..., return_exceptions=True): wait for every task, whatever
   * the others did. If this task is cancelled, gather cancels them all and
   * waits for them, so no task outlives `crawl` on this stack. */
  rc = async_gather(tasks, spawned, NULL, ASYNC_RETURN_ERRORS);
  for (size_t i = 0; i < spawned; i++) async_task_release(tasks[i]);
  free(tasks);
  free(jobs);
  return rc < 0 ? rc : crawl.failed;
}
