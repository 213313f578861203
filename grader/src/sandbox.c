/* sandbox.c: runs one command isolated, under a timeout, its output captured.
 *
 * Design. Each command gets a session and process group of its own
 * (setsid), resource limits set in the child before exec (CPU, address
 * space, file size, processes, open files, no core files), a network
 * namespace with only loopback where the kernel allows one, and, when the
 * grader runs as root, a user id of its own so that it can neither touch the
 * kit's files nor count against another check's process limit. Its stdout and
 * stderr share one pipe, so they stay interleaved as a person would see them;
 * the first and last bytes are kept and the rest counted, and a command that
 * prints without end is killed rather than read forever.
 *
 * On timeout the group first gets SIGQUIT, on which the runtime prints its
 * task dump, then SIGKILL after a grace period. Processes that left the
 * group (a daemon that called setsid) cannot hide: the grader is a child
 * subreaper, so every orphan of the command becomes the grader's child, and
 * after each command the grader kills its children until none is left.
 *
 * Rejected: cgroups (would kill a whole tree in one write, but need a
 * delegated cgroup, which a student's laptop and most CI runners lack), and
 * running the command under timeout(1) (cannot see escaped processes). */
#include "grader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#include <net/if.h>
#include <sched.h>
#include <sys/prctl.h>
#endif

/* How many processes our user already runs: RLIMIT_NPROC counts them all,
 * so a non-root limit is set relative to this. */
static long processes_before;

static long count_processes_of(uid_t uid);

void sandbox_init(void) {
#ifdef __linux__
  /* Orphans of any command we run become our children: see the note at the
   * top of this file. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
  /* A check that closes its end of the pipe must not kill the grader. */
  signal(SIGPIPE, SIG_IGN);
  processes_before = count_processes_of(getuid());
}

/* ---------------------------------------------------------------------- */
/* Processes, read from /proc                                              */

/* Parent and real user of a process; false if it is gone. */
static bool read_process(pid_t pid, pid_t *parent, uid_t *uid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  size_t length;
  char *status = read_file(path, &length);
  if (!status) return false;
  bool found_parent = false, found_uid = false;
  for (char *line = status; line && *line;) {
    if (strncmp(line, "PPid:", 5) == 0) {
      *parent = (pid_t)strtol(line + 5, NULL, 10);
      found_parent = true;
    } else if (strncmp(line, "Uid:", 4) == 0) {
      *uid = (uid_t)strtoul(line + 4, NULL, 10);
      found_uid = true;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  free(status);
  return found_parent && found_uid;
}

/* Calls visit(pid) for each process in /proc; stops early if it says so. */
static void each_process(bool (*visit)(pid_t pid, void *context),
                         void *context) {
  DIR *proc = opendir("/proc");
  if (!proc) return;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (!visit((pid_t)pid, context)) break;
  }
  closedir(proc);
}

typedef struct process_count {
  uid_t uid;
  long count;
} process_count_t;

static bool count_one(pid_t pid, void *context) {
  process_count_t *counting = context;
  pid_t parent;
  uid_t uid;
  if (read_process(pid, &parent, &uid) && uid == counting->uid)
    counting->count++;
  return true;
}

static long count_processes_of(uid_t uid) {
  process_count_t counting = {uid, 0};
  each_process(count_one, &counting);
  return counting.count;
}

typedef struct child_list {
  pid_t *pids;
  size_t count;
  size_t capacity;
} child_list_t;

static bool collect_child(pid_t pid, void *context) {
  child_list_t *children = context;
  pid_t parent;
  uid_t uid;
  if (!read_process(pid, &parent, &uid) || parent != getpid()) return true;
  if (children->count == children->capacity) {
    children->capacity = children->capacity ? children->capacity * 2 : 16;
    children->pids =
        xrealloc(children->pids, children->capacity * sizeof(pid_t));
  }
  children->pids[children->count++] = pid;
  return true;
}

/* Kills every child of the grader, and the children they leave behind,
 * until there are none. Returns how many it killed. Only safe when the
 * grader has no child it wants to keep. */
static int kill_all_children(void) {
  int killed = 0;
  /* Each round kills the current children; their orphans are ours next
   * round. A fork bomb is bounded by its process limit, so this ends. */
  for (int round = 0; round < 10000; round++) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    child_list_t children = {0};
    each_process(collect_child, &children);
    if (children.count == 0) {
      free(children.pids);
      break;
    }
    for (size_t i = 0; i < children.count; i++) {
      kill(-children.pids[i], SIGKILL); /* its group, if it leads one */
      kill(children.pids[i], SIGKILL);
    }
    for (size_t i = 0; i < children.count; i++) {
      if (waitpid(children.pids[i], NULL, 0) > 0) killed++;
    }
    free(children.pids);
  }
  return killed;
}

int sandbox_kill_orphans(void) {
  return kill_all_children();
}

/* ---------------------------------------------------------------------- */
/* The network namespace                                                   */

#ifdef __linux__
static void write_proc_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, text, strlen(text)) < 0) {
    /* The mapping then fails, and so does the namespace: reported. */
  }
  close(fd);
}

static bool bring_up_loopback(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return false;
  struct ifreq request;
  memset(&request, 0, sizeof request);
  snprintf(request.ifr_name, sizeof request.ifr_name, "lo");
  bool ok = ioctl(sock, SIOCGIFFLAGS, &request) == 0;
  if (ok) {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    ok = ioctl(sock, SIOCSIFFLAGS, &request) == 0;
  }
  close(sock);
  return ok;
}
#endif

/* In the child: a network namespace with only loopback, up. As root that is
 * one unshare; otherwise it needs a user namespace too, mapping our own ids
 * to themselves. False when the kernel or its settings refuse. */
static bool enter_private_network(void) {
#ifdef __linux__
  if (getenv("GRADER_NO_NETNS")) return false;
  if (geteuid() == 0) {
    if (unshare(CLONE_NEWNET) != 0) return false;
  } else {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return false;
    char map[64];
    write_proc_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
    write_proc_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
    write_proc_file("/proc/self/gid_map", map);
  }
  return bring_up_loopback();
#else
  return false;
#endif
}

bool sandbox_network_available(void) {
  static int known = -1;
  if (known >= 0) return known;
  pid_t pid = fork();
  if (pid < 0) return (known = 0);
  if (pid == 0) _exit(enter_private_network() ? 0 : 1);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  known = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return known;
}

/* ---------------------------------------------------------------------- */
/* The child                                                               */

/* Reports why the child could not start, through the status pipe. */
_Noreturn static void child_fail(int status_fd, const char *what) {
  char message[512];
  int length =
      snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  if (length > 0 && write(status_fd, message, (size_t)length) < 0) {
    /* Nothing more to say. */
  }
  _exit(127);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit limit;
  if (getrlimit(resource, &limit) != 0) return;
  /* Never raise one: an unprivileged process could not anyway. */
  if (limit.rlim_max != RLIM_INFINITY && hard > limit.rlim_max)
    hard = limit.rlim_max;
  if (soft > hard) soft = hard;
  limit.rlim_cur = soft;
  limit.rlim_max = hard;
  setrlimit(resource, &limit);
}

_Noreturn static void run_child(const sandbox_options_t *options, int output_fd,
                                int status_fd, pid_t grader) {
  setsid();

  /* Signals the grader ignores or blocks must not stay so for the check. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);

  if (options->isolate) {
    /* Refused: the check shares the network, and picks free ports. */
    enter_private_network();

    set_limit(RLIMIT_CORE, 0, 0);
    if (options->cpu_seconds > 0) {
      rlim_t seconds = (rlim_t)(options->cpu_seconds + 0.999);
      set_limit(RLIMIT_CPU, seconds, seconds + 1);
    }
    if (options->memory_bytes)
      set_limit(RLIMIT_AS, options->memory_bytes, options->memory_bytes);
    if (options->file_bytes)
      set_limit(RLIMIT_FSIZE, options->file_bytes, options->file_bytes);
    if (options->open_files)
      set_limit(RLIMIT_NOFILE, (rlim_t)options->open_files,
                (rlim_t)options->open_files);
    if (options->processes) {
      /* Counted per user: relative to what our user already runs, unless
       * the check gets a user of its own. */
      long base = (geteuid() == 0 && options->uid) ? 0 : processes_before;
      set_limit(RLIMIT_NPROC, (rlim_t)(base + options->processes),
                (rlim_t)(base + options->processes));
    }
    if (geteuid() == 0 && options->uid) {
      if (setgroups(0, NULL) != 0) child_fail(status_fd, "setgroups");
      if (setgid(options->gid) != 0) child_fail(status_fd, "setgid");
      if (setuid(options->uid) != 0) child_fail(status_fd, "setuid");
    }
  }

#ifdef __linux__
  /* If the grader dies, so does the check (set after setuid, which clears
   * it). */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != grader) _exit(127);
#else
  (void)grader;
#endif

  if (options->directory && chdir(options->directory) != 0)
    child_fail(status_fd, options->directory);

  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0) child_fail(status_fd, "/dev/null");
  if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
      dup2(output_fd, STDERR_FILENO) < 0)
    child_fail(status_fd, "dup2");
  /* Nothing else of the grader's leaks into the check: every other
   * descriptor closes on exec (the status pipe must work until then). */
#if defined(__linux__) && defined(SYS_close_range)
  if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0)
#endif
    for (int fd = 3; fd < 65536; fd++)
      if (fd != status_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);

  if (options->environment)
    execvpe(options->argv[0], options->argv, options->environment);
  else
    execvp(options->argv[0], options->argv);
  child_fail(status_fd, options->argv[0]);
}

/* ---------------------------------------------------------------------- */
/* The parent                                                              */

/* The head and tail of the output, and how much there was. */
typedef struct capture {
  strbuf_t head;
  size_t head_limit;
  char *tail; /* a ring of tail_limit bytes */
  size_t tail_limit;
  size_t tail_start;
  size_t tail_length;
  size_t total;
} capture_t;

static void capture_add(capture_t *capture, const char *data, size_t length) {
  capture->total += length;
  size_t to_head = 0;
  if (capture->head.length < capture->head_limit) {
    to_head = capture->head_limit - capture->head.length;
    if (to_head > length) to_head = length;
    sb_append(&capture->head, data, to_head);
  }
  for (size_t i = to_head; i < length && capture->tail_limit; i++) {
    size_t at =
        (capture->tail_start + capture->tail_length) % capture->tail_limit;
    capture->tail[at] = data[i];
    if (capture->tail_length < capture->tail_limit)
      capture->tail_length++;
    else
      capture->tail_start = (capture->tail_start + 1) % capture->tail_limit;
  }
}

static char *capture_text(capture_t *capture, size_t *length) {
  strbuf_t sb = {0};
  sb_append(&sb, capture->head.data ? capture->head.data : "",
            capture->head.length);
  size_t skipped = capture->total - capture->head.length - capture->tail_length;
  if (skipped > 0) {
    if (sb.length && sb.data[sb.length - 1] != '\n') sb_putc(&sb, '\n');
    sb_printf(&sb, "[... %zu bytes of output not shown ...]\n", skipped);
  }
  for (size_t i = 0; i < capture->tail_length; i++)
    sb_putc(&sb,
            capture->tail[(capture->tail_start + i) % capture->tail_limit]);
  *length = sb.length;
  return sb_take(&sb);
}

static int open_pidfd(pid_t pid) {
#if defined(__linux__) && defined(SYS_pidfd_open)
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  return -1;
#endif
}

/* Milliseconds until a deadline (0 if none), for poll(). */
static int poll_timeout(double deadline, double now, int fallback) {
  if (deadline <= 0) return fallback;
  double left = deadline - now;
  if (left <= 0) return 0;
  int milliseconds = (int)(left * 1000) + 1;
  if (fallback >= 0 && fallback < milliseconds) return fallback;
  return milliseconds;
}

void sandbox_run(const sandbox_options_t *options, sandbox_result_t *result) {
  memset(result, 0, sizeof *result);
  result->exit_status = -1;
  double start = now_seconds();

  int output_pipe[2], status_pipe[2];
  if (pipe2(output_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0)
    fatal("pipe: %s", strerror(errno));

  result->network_private = options->isolate && sandbox_network_available();
  fflush(NULL); /* nothing buffered is written twice */
  pid_t grader = getpid();
  pid_t pid = fork();
  if (pid < 0) fatal("fork: %s", strerror(errno));
  if (pid == 0) {
    close(output_pipe[0]);
    close(status_pipe[0]);
    run_child(options, output_pipe[1], status_pipe[1], grader);
  }
  close(output_pipe[1]);
  close(status_pipe[1]);
  /* The child also calls setsid; doing it here too closes the race in
   * which we would signal the group before it exists. */
  setpgid(pid, pid);

  /* Empty until exec succeeds (the pipe closes on exec), or the reason it
   * failed. */
  strbuf_t start_error = {0};
  char chunk[65536];
  for (;;) {
    ssize_t got = read(status_pipe[0], chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    sb_append(&start_error, chunk, (size_t)got);
  }
  close(status_pipe[0]);
  if (start_error.length) {
    result->could_not_start = true;
    result->start_error = sb_take(&start_error);
  }

  capture_t capture = {0};
  size_t keep = options->output_keep ? options->output_keep : 65536;
  capture.head_limit = keep - keep / 4;
  capture.tail_limit = keep / 4;
  capture.tail = xmalloc(capture.tail_limit + 1);

  int pidfd = open_pidfd(pid);
  double deadline = options->timeout > 0 ? start + options->timeout : 0;
  double kill_deadline = 0;
  bool exited = false, output_open = true;
  int status = 0;

  while (!exited) {
    double now = now_seconds();
    if (deadline > 0 && now >= deadline && !result->timed_out) {
      /* SIGQUIT first: the runtime answers it with a task dump. */
      result->timed_out = true;
      kill(-pid, SIGQUIT);
      double grace = options->kill_grace > 0 ? options->kill_grace : 1;
      kill_deadline = now + grace;
    }
    if (kill_deadline > 0 && now >= kill_deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      kill_deadline = 0;
    }

    struct pollfd watch[2];
    int watching = 0;
    if (output_open)
      watch[watching++] = (struct pollfd){output_pipe[0], POLLIN, 0};
    int pidfd_slot = -1;
    if (pidfd >= 0) {
      pidfd_slot = watching;
      watch[watching++] = (struct pollfd){pidfd, POLLIN, 0};
    }
    double next = kill_deadline > 0   ? kill_deadline
                  : result->timed_out ? 0
                                      : deadline;
    /* Without a pidfd, look at the child every 20 ms. */
    int milliseconds = poll_timeout(next, now, pidfd >= 0 ? -1 : 20);
    int ready = poll(watch, (nfds_t)watching, milliseconds);
    if (ready < 0 && errno != EINTR) fatal("poll: %s", strerror(errno));

    if (ready > 0 && output_open && watch[0].revents) {
      ssize_t got = read(output_pipe[0], chunk, sizeof chunk);
      if (got > 0) {
        capture_add(&capture, chunk, (size_t)got);
        if (options->output_limit && capture.total > options->output_limit &&
            !result->output_overflowed) {
          result->output_overflowed = true;
          kill(-pid, SIGKILL);
          kill(pid, SIGKILL);
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        output_open = false;
      }
    }
    bool maybe_exited = pidfd < 0 || (ready > 0 && pidfd_slot >= 0 &&
                                      watch[pidfd_slot].revents);
    if (maybe_exited) {
      pid_t waited = waitpid(pid, &status, WNOHANG);
      if (waited == pid) exited = true;
    }
  }
  if (pidfd >= 0) close(pidfd);

  /* Whatever the command left running goes now: first its group, then any
   * process that escaped it (they are all our children by now, or will be
   * once their parents die). */
  kill(-pid, SIGKILL);
  result->survivors_killed = kill_all_children();

  /* Every writer is gone: read what is left in the pipe. */
  double drain_deadline = now_seconds() + 2;
  while (output_open) {
    struct pollfd watch = {output_pipe[0], POLLIN, 0};
    int ready =
        poll(&watch, 1, poll_timeout(drain_deadline, now_seconds(), -1));
    if (ready <= 0) break;
    ssize_t got = read(output_pipe[0], chunk, sizeof chunk);
    if (got <= 0) break;
    if (!options->output_limit || capture.total <= options->output_limit)
      capture_add(&capture, chunk, (size_t)got);
    else
      capture.total += (size_t)got;
  }
  close(output_pipe[0]);

  if (WIFEXITED(status)) {
    result->exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result->signal = WTERMSIG(status);
  }
  result->output = capture_text(&capture, &result->output_length);
  result->output_total = capture.total;
  result->duration = now_seconds() - start;
  sb_free(&capture.head);
  free(capture.tail);
}

void sandbox_result_free(sandbox_result_t *result) {
  free(result->output);
  free(result->start_error);
  memset(result, 0, sizeof *result);
}
