/* process.c: child processes, asyncio.create_subprocess_exec / _shell.
 *
 * A process is a uv_process_t and up to three pipe streams. libuv reaps the
 * child (waitpid on SIGCHLD) and calls the exit callback only while the
 * handle is open, so the handle stays open until that callback, whatever
 * the user does: async_process_release frees the pipes at once, but the
 * struct lives on until the exit callback has come and the handle has
 * closed. Every process of a run is on the run's list; when the run ends, a
 * hook kills (SIGKILL) every child still running, its whole group with
 * new_process_group, and runs the loop until each has been reaped and
 * closed. So no child outlives the run as a zombie, and no descriptor stays
 * open.
 *
 * new_process_group uses libuv's UV_PROCESS_DETACHED, which calls setsid()
 * in the child: a new session, whose new process group the child leads
 * (pgid == pid). libuv has no way to run setpgid() alone in the child
 * between fork and exec, and calling it from the parent after uv_spawn
 * races with the exec (and with any grandchild forked meanwhile). The new
 * session also detaches the child from this terminal, which is what a
 * group is usually wanted for: Ctrl-C at the terminal does not reach it.
 *
 * stderr merged into stdout (ASYNC_STDIO_STDOUT) needs one pipe on two
 * descriptors; UV_CREATE_PIPE makes a pipe per descriptor, so that pipe is
 * made here (a socketpair, as libuv's own) and opened on the stdout stream
 * before the spawn.
 *
 * communicate reads stdout in the calling task and stderr in a helper task:
 * a child blocked on a full stderr pipe while the caller waits for the end
 * of stdout would otherwise deadlock (asyncio gathers two readers too).
 *
 * Rejected: closing the uv_process_t on release (libuv would never reap the
 * child: a zombie), and a waitpid of our own (it would race with libuv's).
 */
#include "internal.h"

#include <signal.h>
#include <unistd.h>

struct async_process {
  uv_process_t handle;
  async_stream_t *pipes[3]; /* stdin, stdout, stderr; NULL if not a pipe */
  int pid;
  int status;                 /* exit status, or 128 + signal, once exited */
  bool running;               /* the exit callback has not come yet */
  bool closed;                /* the handle's close callback has come */
  bool released;              /* the user let go: free once closed */
  bool new_group;             /* the child leads a process group */
  struct async__list waiters; /* of exit_waiter_t */
  struct async__list link;    /* in the run's list */
};

/* A task in async_process_wait. The exit callback copies the status here:
 * a released process may be freed before the woken task runs. */
typedef struct exit_waiter {
  struct async__list link;
  async_task_t *task;
  bool exited;
  int status;
} exit_waiter_t;

typedef struct process_state {
  async__run_end_hook_t hook;
  struct async__list processes; /* spawned, not yet freed */
} process_state_t;

static _Thread_local process_state_t *state;

static void process_free(async_process_t *process) {
  if (async__list_linked(&process->link)) async__list_remove(&process->link);
  free(process);
}

static void free_pipes(async_process_t *process) {
  for (int i = 0; i < 3; i++) {
    if (process->pipes[i] == NULL) continue;
    async__stream_free(process->pipes[i]);
    process->pipes[i] = NULL;
  }
}

static void on_closed(uv_handle_t *handle) {
  async_process_t *process = handle->data;
  process->closed = true;
  if (process->released) process_free(process);
}

static void on_process_exit(uv_process_t *handle, int64_t exit_status,
                            int term_signal) {
  async_process_t *process = handle->data;
  process->running = false;
  process->status = term_signal != 0 ? 128 + term_signal : (int)exit_status;
  while (!async__list_empty(&process->waiters)) {
    exit_waiter_t *waiter =
        async__container_of(process->waiters.next, exit_waiter_t, link);
    async__list_remove(&waiter->link);
    waiter->exited = true;
    waiter->status = process->status;
    async__wake(waiter->task);
  }
  uv_close((uv_handle_t *)handle, on_closed);
}

/* Every task has finished: kill what still runs, reap everything. */
static void processes_run_end(async__run_end_hook_t *hook,
                              async__runtime_t *rt) {
  process_state_t *ending = async__container_of(hook, process_state_t, hook);
  struct async__list *link = ending->processes.next;
  while (link != &ending->processes) {
    async_process_t *process = async__container_of(link, async_process_t, link);
    link = link->next; /* the release below may free it */
    if (process->running) {
      if (process->new_group) kill(-process->pid, SIGKILL);
      uv_process_kill(&process->handle, SIGKILL);
    }
    if (!process->released) {
      free_pipes(process);
      process->released = true;
      if (process->closed) process_free(process);
    }
  }
  while (!async__list_empty(&ending->processes)) uv_run(&rt->loop, UV_RUN_ONCE);
  free(ending);
  state = NULL;
}

static process_state_t *process_state(void) {
  if (state != NULL) return state;
  state = calloc(1, sizeof *state);
  if (state == NULL) return NULL;
  async__list_init(&state->processes);
  state->hook.run_end = processes_run_end;
  async__on_run_end(async__rt, &state->hook);
  return state;
}

/* ---- Spawning ---- */

static bool valid_mode(async_stdio_t mode, bool may_follow_stdout) {
  return mode == ASYNC_STDIO_INHERIT || mode == ASYNC_STDIO_PIPE ||
         mode == ASYNC_STDIO_DEVNULL ||
         (may_follow_stdout && mode == ASYNC_STDIO_STDOUT);
}

static int check_options(const async_process_options_t *options) {
  const char *call = "async_process_spawn";
  if ((options->argv == NULL) == (options->shell == NULL))
    return async__misuse(call, UV_EINVAL,
                         "give either argv or shell (and not both)");
  if (options->argv != NULL && options->argv[0] == NULL)
    return async__misuse(call, UV_EINVAL, "argv[0] (the program) is NULL");
  if (!valid_mode(options->stdin_mode, false) ||
      !valid_mode(options->stdout_mode, false) ||
      !valid_mode(options->stderr_mode, true))
    return async__misuse(call, UV_EINVAL,
                         "a stdio mode is not an async_stdio_t (only stderr "
                         "may be ASYNC_STDIO_STDOUT)");
  return 0;
}

/* Fills the child's stdio, making the pipes. *merged_child_end gets the
 * child's end of a merged stdout+stderr pipe (closed by the caller). */
static int prepare_stdio(async_process_t *process,
                         const async_process_options_t *options,
                         uv_stdio_container_t stdio[3], int *merged_child_end) {
  async_stdio_t modes[3] = {options->stdin_mode, options->stdout_mode,
                            options->stderr_mode};
  bool merged = modes[2] == ASYNC_STDIO_STDOUT;
  for (int i = 0; i < 3; i++) {
    if (i == 2 && merged) {
      stdio[2] = stdio[1];
      continue;
    }
    switch (modes[i]) {
    case ASYNC_STDIO_INHERIT:
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
      break;
    case ASYNC_STDIO_DEVNULL:
      stdio[i].flags = UV_IGNORE; /* libuv opens /dev/null for 0, 1, 2 */
      break;
    case ASYNC_STDIO_PIPE: {
      int rc = async__stream_new_pipe(&process->pipes[i]);
      if (rc != 0) return rc;
      uv_pipe_t *pipe = async__stream_pipe(process->pipes[i]);
      if (i == 1 && merged) {
        int fds[2];
        rc = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, 0);
        if (rc != 0) return rc;
        rc = uv_pipe_open(pipe, fds[0]);
        if (rc != 0) {
          close(fds[0]);
          close(fds[1]);
          return rc;
        }
        *merged_child_end = fds[1];
        stdio[1].flags = UV_INHERIT_FD;
        stdio[1].data.fd = fds[1];
      } else {
        /* Readable and writable are the child's view. */
        stdio[i].flags =
            UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
        stdio[i].data.stream = (uv_stream_t *)pipe;
      }
      break;
    }
    case ASYNC_STDIO_STDOUT: /* excluded by check_options */
      return UV_EINVAL;
    }
  }
  return 0;
}

int async_process_spawn(async_process_t **out,
                        const async_process_options_t *options) {
  const char *call = "async_process_spawn";
  if (async__rt == NULL)
    return async__misuse(call, UV_EPERM, "called outside async_run()");
  if (out == NULL || options == NULL)
    return async__misuse(call, UV_EINVAL, "process or options is NULL");
  int rc = check_options(options);
  if (rc != 0) return rc;
  process_state_t *s = process_state();
  async_process_t *process = calloc(1, sizeof *process);
  if (s == NULL || process == NULL) {
    free(process);
    return UV_ENOMEM;
  }
  async__list_init(&process->waiters);
  async__list_init(&process->link);
  process->handle.data = process;
  process->new_group = options->new_process_group;

  uv_stdio_container_t stdio[3];
  memset(stdio, 0, sizeof stdio);
  int merged_child_end = -1;
  rc = prepare_stdio(process, options, stdio, &merged_child_end);
  if (rc != 0) {
    free_pipes(process);
    free(process);
    return rc;
  }

  char *shell_args[] = {"/bin/sh", "-c", (char *)options->shell, NULL};
  uv_process_options_t spawn = {
      .exit_cb = on_process_exit,
      .file = options->argv != NULL ? options->argv[0] : "/bin/sh",
      .args = options->argv != NULL ? (char **)options->argv : shell_args,
      .env = (char **)options->env,
      .cwd = options->cwd,
      .flags = options->new_process_group ? UV_PROCESS_DETACHED : 0,
      .stdio_count = 3,
      .stdio = stdio,
  };
  rc = uv_spawn(&async__rt->loop, &process->handle, &spawn);
  if (merged_child_end >= 0) close(merged_child_end); /* the child's now */
  if (rc != 0) {
    /* uv_spawn initialised the handle even though it failed (and reaped
     * the child that could not exec). */
    free_pipes(process);
    process->released = true;
    uv_close((uv_handle_t *)&process->handle, on_closed);
    return rc;
  }
  process->pid = process->handle.pid;
  process->running = true;
  async__list_push(&s->processes, &process->link);
  for (int i = 1; i < 3; i++) {
    if (process->pipes[i] == NULL) continue;
    rc = async__stream_start(process->pipes[i]);
    if (rc != 0) {
      async_process_kill(process);
      async_process_release(process);
      return rc;
    }
  }
  *out = process;
  return 0;
}

/* ---- Using ---- */

async_stream_t *async_process_stdin(async_process_t *process) {
  return process != NULL ? process->pipes[0] : NULL;
}

async_stream_t *async_process_stdout(async_process_t *process) {
  return process != NULL ? process->pipes[1] : NULL;
}

async_stream_t *async_process_stderr(async_process_t *process) {
  return process != NULL ? process->pipes[2] : NULL;
}

int async_process_pid(const async_process_t *process) {
  if (process == NULL)
    return async__misuse("async_process_pid", UV_EINVAL, "process is NULL");
  return process->pid;
}

int(async_process_wait)(async_process_t *process) {
  int rc = async__enter_blocking("async_process_wait");
  if (rc != 0) return rc;
  if (process == NULL)
    return async__misuse("async_process_wait", UV_EINVAL, "process is NULL");
  if (!process->running) return process->status;
  exit_waiter_t waiter = {.task = async__rt->current};
  async__list_push(&process->waiters, &waiter.link);
  async__io_begin();
  while (!waiter.exited && rc == 0)
    rc = async__park("a child process to exit", process, true);
  async__io_end();
  /* Cancelled: leave the child alone, as asyncio does. */
  if (!waiter.exited) async__list_remove(&waiter.link);
  return rc != 0 ? rc : waiter.status;
}

int async_process_send_signal(async_process_t *process, int signum) {
  if (process == NULL)
    return async__misuse("async_process_send_signal", UV_EINVAL,
                         "process is NULL");
  /* Once reaped, the pid may already belong to somebody else. */
  if (!process->running) return UV_ESRCH;
  return uv_process_kill(&process->handle, signum);
}

int async_process_terminate(async_process_t *process) {
  return async_process_send_signal(process, SIGTERM);
}

int async_process_kill(async_process_t *process) {
  return async_process_send_signal(process, SIGKILL);
}

void async_process_release(async_process_t *process) {
  /* After the run, the run-end hook has freed it already. */
  if (process == NULL || async__rt == NULL) return;
  if (process->released) {
    async__misuse("async_process_release", UV_EINVAL, "released twice");
    return;
  }
  free_pipes(process);
  process->released = true;
  if (process->closed) process_free(process);
}

/* ---- communicate ---- */

enum { READ_CHUNK = 64 * 1024 };

/* Reads a stream to its end, keeping the bytes or not. */
typedef struct collector {
  async_stream_t *stream;
  bool keep;
  char *data;
  size_t size, capacity;
} collector_t;

static int collect(collector_t *collector) {
  for (;;) {
    if (collector->capacity - collector->size < READ_CHUNK + 1) {
      size_t capacity =
          collector->capacity ? collector->capacity * 2 : 2 * READ_CHUNK;
      char *data = realloc(collector->data, capacity);
      if (data == NULL) return UV_ENOMEM;
      collector->data = data;
      collector->capacity = capacity;
    }
    ssize_t n =
        async_stream_read(collector->stream, collector->data + collector->size,
                          collector->capacity - collector->size - 1);
    if (n < 0) return (int)n;
    if (n == 0) break;
    if (collector->keep) collector->size += (size_t)n;
  }
  collector->data[collector->size] = '\0';
  return 0;
}

static int collect_task(void *arg) {
  return collect(arg);
}

/* Hands a collector's bytes to the caller's pointers, or frees them. */
static void hand_over(collector_t *collector, bool success, char **data,
                      size_t *size) {
  if (success && data != NULL && collector->stream != NULL) {
    *data = collector->data;
    if (size != NULL) *size = collector->size;
    return;
  }
  free(collector->data);
}

int(async_process_communicate)(async_process_t *process, const void *input,
                               size_t input_size, char **out, size_t *out_size,
                               char **err, size_t *err_size) {
  const char *call = "async_process_communicate";
  int rc = async__enter_blocking(call);
  if (rc != 0) return rc;
  if (process == NULL) return async__misuse(call, UV_EINVAL, "process is NULL");
  if (input == NULL && input_size != 0)
    return async__misuse(call, UV_EINVAL, "input is NULL, its size is not");
  async_stream_t *in = process->pipes[0];
  if (input != NULL && in == NULL)
    return async__misuse(call, UV_EINVAL,
                         "input given, but stdin is not ASYNC_STDIO_PIPE");
  if (out != NULL) *out = NULL;
  if (out_size != NULL) *out_size = 0;
  if (err != NULL) *err = NULL;
  if (err_size != NULL) *err_size = 0;

  /* Writes never block: the loop sends the input while we read. A child
   * that exits without reading it all makes these fail: nothing to do
   * about it (asyncio ignores a broken pipe here too). */
  if (in != NULL) {
    if (input_size != 0) (void)async_stream_write(in, input, input_size);
    (void)async_stream_shutdown(in);
  }

  collector_t stdout_collector = {.stream = process->pipes[1],
                                  .keep = out != NULL};
  collector_t stderr_collector = {.stream = process->pipes[2],
                                  .keep = err != NULL};
  async_task_t *helper = NULL;
  if (stderr_collector.stream != NULL) {
    async_spawn_options_t helper_options = {.name = "communicate: stderr"};
    helper = async_spawn_with(&helper_options, collect_task, &stderr_collector);
    if (helper == NULL) rc = UV_ENOMEM;
  }
  if (rc == 0 && stdout_collector.stream != NULL)
    rc = collect(&stdout_collector);
  if (helper != NULL) {
    if (rc != 0) async_task_cancel(helper);
    /* Cancels it too if the caller is cancelled, and waits for it: it
     * writes into this stack frame. */
    int helper_rc = async_task_join(helper);
    if (rc == 0) rc = helper_rc;
    async_task_release(helper);
  }
  if (rc == 0) rc = async_process_wait(process);
  bool success = rc >= 0;
  hand_over(&stdout_collector, success, out, out_size);
  hand_over(&stderr_collector, success, err, err_size);
  return rc;
}
