/* util.c: the grader's small helpers: memory, strings, files and clocks.
 *
 * Running out of memory or failing to make a scratch directory is the kit's
 * problem, not the student's, so those paths end the grader with exit 2. */
#include "grader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void fatal(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("grader: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

void *xmalloc(size_t size) {
  void *pointer = malloc(size ? size : 1);
  if (!pointer) fatal("out of memory");
  return pointer;
}

void *xcalloc(size_t count, size_t size) {
  void *pointer = calloc(count ? count : 1, size ? size : 1);
  if (!pointer) fatal("out of memory");
  return pointer;
}

void *xrealloc(void *pointer, size_t size) {
  pointer = realloc(pointer, size ? size : 1);
  if (!pointer) fatal("out of memory");
  return pointer;
}

char *xstrdup(const char *text) {
  return xstrndup(text, strlen(text));
}

char *xstrndup(const char *text, size_t length) {
  char *copy = xmalloc(length + 1);
  memcpy(copy, text, length);
  copy[length] = '\0';
  return copy;
}

char *xasprintf(const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *text;
  if (vasprintf(&text, format, args) < 0) fatal("out of memory");
  va_end(args);
  return text;
}

void sb_append(strbuf_t *sb, const char *data, size_t length) {
  if (sb->length + length + 1 > sb->capacity) {
    size_t capacity = sb->capacity ? sb->capacity : 256;
    while (capacity < sb->length + length + 1) capacity *= 2;
    sb->data = xrealloc(sb->data, capacity);
    sb->capacity = capacity;
  }
  if (length) memcpy(sb->data + sb->length, data, length);
  sb->length += length;
  sb->data[sb->length] = '\0';
}

void sb_puts(strbuf_t *sb, const char *text) {
  sb_append(sb, text, strlen(text));
}

void sb_putc(strbuf_t *sb, char c) {
  sb_append(sb, &c, 1);
}

void sb_printf(strbuf_t *sb, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *text;
  int length = vasprintf(&text, format, args);
  va_end(args);
  if (length < 0) fatal("out of memory");
  sb_append(sb, text, (size_t)length);
  free(text);
}

char *sb_take(strbuf_t *sb) {
  char *data = sb->data ? sb->data : xstrdup("");
  *sb = (strbuf_t){0};
  return data;
}

void sb_free(strbuf_t *sb) {
  free(sb->data);
  *sb = (strbuf_t){0};
}

void sl_push(strlist_t *list, const char *text) {
  list->items = xrealloc(list->items, (list->count + 2) * sizeof(char *));
  list->items[list->count++] = xstrdup(text);
  list->items[list->count] = NULL; /* usable as an argv */
}

void sl_free(strlist_t *list) {
  for (size_t i = 0; i < list->count; i++) free(list->items[i]);
  free(list->items);
  *list = (strlist_t){0};
}

bool sl_contains(const strlist_t *list, const char *text) {
  for (size_t i = 0; i < list->count; i++)
    if (strcmp(list->items[i], text) == 0) return true;
  return false;
}

void sl_split_words(strlist_t *list, const char *text) {
  while (*text) {
    text += strspn(text, " \t");
    size_t length = strcspn(text, " \t");
    if (length) {
      char *word = xstrndup(text, length);
      sl_push(list, word);
      free(word);
    }
    text += length;
  }
}

char *read_file(const char *path, size_t *length) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  strbuf_t sb = {0};
  char chunk[65536];
  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int saved = errno;
      close(fd);
      sb_free(&sb);
      errno = saved;
      return NULL;
    }
    if (got == 0) break;
    sb_append(&sb, chunk, (size_t)got);
  }
  close(fd);
  if (length) *length = sb.length;
  return sb_take(&sb);
}

bool write_file(const char *path, const char *data, size_t length) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  while (length > 0) {
    ssize_t wrote = write(fd, data, length);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) {
      close(fd);
      return false;
    }
    data += wrote;
    length -= (size_t)wrote;
  }
  return close(fd) == 0;
}

bool file_exists(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

bool is_directory(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

bool files_equal(const char *path_a, const char *path_b) {
  size_t length_a, length_b;
  char *a = read_file(path_a, &length_a);
  char *b = read_file(path_b, &length_b);
  bool equal = a && b && length_a == length_b && memcmp(a, b, length_a) == 0;
  free(a);
  free(b);
  return equal;
}

bool copy_file(const char *from, const char *to) {
  struct stat info;
  if (lstat(from, &info) != 0 || !S_ISREG(info.st_mode)) return false;
  size_t length;
  char *data = read_file(from, &length);
  if (!data) return false;
  /* Unchanged content keeps the copy untouched, so make rebuilds nothing;
   * changed content is written afresh, newer than anything built from it
   * (the source's own time could be older: a student who reverts). */
  char *old = NULL;
  size_t old_length = 0;
  old = read_file(to, &old_length);
  bool same = old && old_length == length && memcmp(old, data, length) == 0;
  free(old);
  bool ok = true;
  if (!same) {
    unlink(to);
    ok = write_file(to, data, length);
  }
  if (ok) chmod(to, (info.st_mode & 0111) ? 0755 : 0644);
  free(data);
  return ok;
}

bool copy_tree(const char *from, const char *to, const strlist_t *skip) {
  if (!make_directories(to, 0755)) return false;
  DIR *directory = opendir(from);
  if (!directory) return false;
  bool ok = true;
  struct dirent *entry;
  while ((entry = readdir(directory)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    if (skip && sl_contains(skip, entry->d_name)) continue;
    char *source = path_join(from, entry->d_name);
    char *target = path_join(to, entry->d_name);
    struct stat info;
    if (lstat(source, &info) == 0) {
      if (S_ISDIR(info.st_mode))
        ok = copy_tree(source, target, NULL) && ok;
      else if (S_ISREG(info.st_mode))
        ok = copy_file(source, target) && ok;
    }
    free(source);
    free(target);
  }
  closedir(directory);
  return ok;
}

static int remove_entry(const char *path, const struct stat *info, int type,
                        struct FTW *walk) {
  (void)info;
  (void)walk;
  /* A check may leave a directory without write or search permission. */
  if (type == FTW_DP || type == FTW_DNR) {
    chmod(path, 0700);
    rmdir(path);
  } else {
    unlink(path);
  }
  return 0;
}

void remove_tree(const char *path) {
  /* Make unreadable directories readable first, so the walk can enter
   * them; then remove depth-first without following links. */
  for (int attempt = 0; attempt < 2; attempt++) {
    nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (access(path, F_OK) != 0) return;
  }
}

bool make_directories(const char *path, mode_t mode) {
  char *copy = xstrdup(path);
  for (char *slash = copy + 1; *slash; slash++) {
    if (*slash != '/') continue;
    *slash = '\0';
    if (mkdir(copy, mode) != 0 && errno != EEXIST) {
      free(copy);
      return false;
    }
    *slash = '/';
  }
  bool ok = mkdir(copy, mode) == 0 || (errno == EEXIST && is_directory(copy));
  free(copy);
  return ok;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_entry(const char *path, const struct stat *info, int type,
                       struct FTW *walk) {
  (void)info;
  (void)type;
  (void)walk;
  if (lchown(path, chown_uid, chown_gid) != 0) {
    /* Nothing to do: the check then fails to write, and says so. */
  }
  return 0;
}

void chown_tree(const char *path, uid_t uid, gid_t gid) {
  chown_uid = uid;
  chown_gid = gid;
  nftw(path, chown_entry, 32, FTW_PHYS | FTW_MOUNT);
}

char *path_join(const char *directory, const char *name) {
  size_t length = strlen(directory);
  if (length && directory[length - 1] == '/')
    return xasprintf("%s%s", directory, name);
  return xasprintf("%s/%s", directory, name);
}

char *absolute_path(const char *path) {
  char *resolved = realpath(path, NULL);
  if (!resolved) fatal("%s: %s", path, strerror(errno));
  return resolved;
}

char *make_temporary_directory(const char *prefix) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  char *pattern = xasprintf("%s/%s.XXXXXX", base, prefix);
  if (!mkdtemp(pattern))
    fatal("cannot make a directory in %s: %s", base, strerror(errno));
  /* Readable by the unprivileged user the checks run as. */
  chmod(pattern, 0755);
  return pattern;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

strlist_t list_directory(const char *path, const char *prefix) {
  strlist_t names = {0};
  DIR *directory = opendir(path);
  if (!directory) return names;
  struct dirent *entry;
  size_t prefix_length = strlen(prefix);
  while ((entry = readdir(directory)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    if (strncmp(entry->d_name, prefix, prefix_length) != 0) continue;
    sl_push(&names, entry->d_name);
  }
  closedir(directory);
  if (names.count)
    qsort(names.items, names.count, sizeof(char *), compare_strings);
  return names;
}

double now_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

double timeout_scale(void) {
  const char *names[] = {"GRADER_TIMEOUT_SCALE", "TIMEOUT_SCALE"};
  for (size_t i = 0; i < 2; i++) {
    const char *text = getenv(names[i]);
    if (!text || !*text) continue;
    char *end;
    double scale = strtod(text, &end);
    if (*end != '\0' || !(scale > 0))
      fatal("%s must be a positive number, not '%s'", names[i], text);
    return scale;
  }
  return 1;
}
