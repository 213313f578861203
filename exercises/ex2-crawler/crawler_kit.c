/* crawler_kit.c: the kit's helpers for crawler.c: file names, report lines
 * (kit-owned; do not edit). */
#include "crawler.h"

#include <async.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

int crawler_file_name(const char *url, char *name, size_t size,
                      const char **why) {
  static const char *ignored;
  if (why == NULL) why = &ignored;
  *why = NULL;
  if (url == NULL || name == NULL || size == 0) {
    *why = "no URL or no room for its name";
    return UV_EINVAL;
  }
  /* scheme "://" host: a scheme is a letter, then letters, digits, + - . */
  const char *cursor = url;
  if (!isalpha((unsigned char)*cursor)) {
    *why = "malformed URL: no scheme (it should start with http:// or "
           "https://)";
    return UV_EINVAL;
  }
  while (isalnum((unsigned char)*cursor) || *cursor == '+' || *cursor == '-' ||
         *cursor == '.')
    cursor++;
  if (strncmp(cursor, "://", 3) != 0) {
    *why = "malformed URL: no scheme (it should start with http:// or "
           "https://)";
    return UV_EINVAL;
  }
  const char *host = cursor + 3;
  size_t host_length = strcspn(host, "/?#");
  if (host_length == 0) {
    *why = "malformed URL: no host after the scheme";
    return UV_EINVAL;
  }
  /* The path ends where a query or a fragment begins. */
  const char *path = host + host_length;
  size_t path_length = strcspn(path, "?#");
  const char *segment = path;
  for (size_t i = 0; i < path_length; i++)
    if (path[i] == '/') segment = path + i + 1;
  size_t length = (size_t)(path + path_length - segment);
  if (path_length == 0 || length == 0) {
    *why = "malformed URL: its last path segment is empty, so there is no "
           "file name to save it under";
    return UV_EINVAL;
  }
  if ((length == 1 && segment[0] == '.') ||
      (length == 2 && segment[0] == '.' && segment[1] == '.')) {
    *why = "malformed URL: its last path segment is . or .., not a file name";
    return UV_EINVAL;
  }
  if (length >= size) {
    *why = "the URL's last path segment is too long for a file name";
    return UV_ENOBUFS;
  }
  memcpy(name, segment, length);
  name[length] = '\0';
  return 0;
}

void crawler_report_fetched(const char *url) {
  printf("fetched %s\n", url);
  fflush(stdout);
}

void crawler_report_failed(const char *url, const char *why) {
  /* One call, one line: stderr is unbuffered, and lines of tasks that end
   * together must not interleave. */
  fprintf(stderr, "failed %s: %s\n", url,
          why != NULL && *why != '\0' ? why : "failed");
  fflush(stderr);
}
