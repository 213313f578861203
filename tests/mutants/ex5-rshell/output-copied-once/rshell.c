/* rshell.c: ex5-rshell, a known-wrong variant: forwards one read of the
 * shell's output, not a loop of them. */
#include <async.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "rshell.h"

/* How long a shell gets to end after SIGTERM before it gets SIGKILL: a
 * shell that traps or ignores SIGTERM must not outlive its client by more
 * than this. */
static const double TERMINATE_GRACE = 0.3;
/* How long the last output may take to reach the client once the shell is
 * gone. Only a process that left the shell's group (setsid) can keep the
 * pipe open longer; we do not wait for it forever. */
static const double OUTPUT_GRACE = 2.0;

int rshell_start(async_server_t **server, int port) {
  /* 127.0.0.1, not NULL (every interface): this server hands a shell to
   * whoever connects, without a password. Only this machine may. */
  return async_server_start(server, "127.0.0.1", port, rshell_session, NULL);
}

/* One session: the client's connection and its shell. */
typedef struct session {
  async_stream_t *client;
  async_process_t *shell;
  int shell_group; /* the shell leads a process group: its pid */
} session_t;

/* Copies bytes from `from` to `to` until `from` ends or either side fails.
 * drain after each write: if the reader is slow, the copy waits for it
 * instead of piling the bytes up in memory (back-pressure). A direction
 * that ends is not an error of the session, so this returns 0 whatever
 * ended it: the session learns what happened from which task ends first. */
static int copy(async_stream_t *from, async_stream_t *to) {
  char buffer[16 * 1024];
  for (;;) {
    ssize_t n = async_stream_read(from, buffer, sizeof buffer);
    if (n <= 0) return 0; /* end of stream, an error, or cancelled */
    if (async_stream_write(to, buffer, (size_t)n) != 0) return 0;
    if (async_stream_drain(to) != 0) return 0;
  }
}

/* Client -> shell: what the client types is the shell's input. */
static int client_to_shell(void *arg) {
  session_t *session = arg;
  return copy(session->client, async_process_stdin(session->shell));
}

/* Shell -> client: stdout and stderr share one pipe (stderr_mode
 * ASYNC_STDIO_STDOUT), so this one loop forwards both, in the order the
 * shell wrote them. Ends when every process holding the pipe has gone. */
static int shell_to_client(void *arg) {
  session_t *session = arg;
  char buffer[16 * 1024];
  ssize_t n = async_stream_read(async_process_stdout(session->shell), buffer,
                                sizeof buffer);
  if (n > 0) async_stream_write(session->client, buffer, (size_t)n);
  return 0;
}

/* Ends when the shell (not its children) has exited. */
static int wait_for_shell(void *arg) {
  session_t *session = arg;
  int status = async_process_wait(session->shell);
  return status < 0 ? 0 : status; /* cancelled: not a failure either */
}

/* Sends `signum` to the shell and everything it started. The shell leads
 * its own process group (new_process_group), so a negative pid reaches a
 * `sleep 1000` it is waiting for, and a job it put in the background: the
 * shell alone dying would leave those running, holding the output pipe. */
static void signal_shell_group(session_t *session, int signum) {
  kill(-session->shell_group, signum);
}

/* Ends the shell's whole group, once the session is over. Politely first:
 * SIGTERM, as a terminal that hangs up would; SIGKILL for a shell that
 * ignores it, after a short grace. When the shell has already exited on
 * its own, whatever it left in the background is killed. Cancelled (the
 * server shutting down), there is no time to be polite: SIGKILL at once. */
static void end_shell(session_t *session, async_task_t *waiter, bool hurry) {
  if (waiter != NULL && async_task_done(waiter)) {
    /* The group keeps its id (the shell's pid) while any member lives;
     * once none does, the kernel hands the number out again only after
     * going round every other pid. So this reaches what the shell left
     * running, or nobody. */
    signal_shell_group(session, SIGKILL);
    return;
  }
  if (!hurry && waiter != NULL) {
    signal_shell_group(session, SIGTERM);
    async_task_t *tasks[1] = {waiter};
    /* async_wait, not async_wait_for: the grace running out is not an
     * error, and must not cancel the waiter. */
    if (async_wait(tasks, 1, ASYNC_ALL_COMPLETED, TERMINATE_GRACE) == 1) return;
  }
  signal_shell_group(session, SIGKILL);
}

int rshell_session(async_stream_t *client, void *arg) {
  (void)arg;
  /* argv, not .shell: .shell runs `sh -c COMMAND`, one command. We want
   * one shell reading command after command from its stdin for the whole
   * connection, so that `cd` and variables persist between them. */
  static const char *const shell_argv[] = {"/bin/sh", NULL};
  async_process_options_t options = {
      .argv = shell_argv,
      .stdin_mode = ASYNC_STDIO_PIPE,
      .stdout_mode = ASYNC_STDIO_PIPE,
      .stderr_mode = ASYNC_STDIO_STDOUT, /* error messages reach the client */
      .new_process_group = true,         /* so that we can end all it starts */
  };
  session_t session = {.client = client};
  int rc = async_process_spawn(&session.shell, &options);
  if (rc != 0) {
    /* Tell the client why, rather than just hanging up. */
    char message[128];
    int length =
        snprintf(message, sizeof message, "rshell: cannot start /bin/sh: %s\n",
                 async_strerror(rc));
    async_stream_write(client, message, (size_t)length);
    async_stream_close(client);
    return rc;
  }
  session.shell_group = async_process_pid(session.shell);

  /* Three things can happen first: the client goes (its stream ends), the
   * shell's output ends, or the shell exits. Each is one task, and the
   * session waits for whichever finishes first: asyncio.wait with
   * FIRST_COMPLETED. (Copying one direction after the other in a single
   * task cannot work: the output of a command would only come back once
   * the client stopped typing.) */
  async_task_t *input = async_spawn("client->shell", client_to_shell, &session);
  async_task_t *output =
      async_spawn("shell->client", shell_to_client, &session);
  async_task_t *waiter = async_spawn("shell", wait_for_shell, &session);
  if (input == NULL || output == NULL || waiter == NULL) {
    rc = UV_ENOMEM;
  } else {
    async_task_t *first[3] = {input, output, waiter};
    rc = async_wait(first, 3, ASYNC_FIRST_COMPLETED, ASYNC_FOREVER);
    rc = rc < 0 ? rc : 0; /* UV_ECANCELED: the server is shutting down */
  }

  /* Tear-down, whichever side went first, in this order:
   * 1. End the shell's group: if the client went first, the shell is
   *    still there; if the shell exited, its background jobs may be.
   * 2. Let the output copy run to the end of the pipe, which comes once
   *    every process holding it has gone: what the shell printed just
   *    before `exit` still reaches the client. Cancelling the copy at once
   *    would lose that last output whenever the loop happens to run the
   *    shell's waiter before the copy.
   * 3. Stop reading the client; wait for the shell to be reaped (SIGKILL
   *    cannot be ignored, so this is quick); close the connection (close
   *    sends what is queued first); release the shell's handle, which
   *    closes our ends of its pipes. Nothing is left: no process, no
   *    zombie, no descriptor. */
  end_shell(&session, waiter, rc != 0);
  if (output != NULL && rc == 0) {
    async_task_t *tasks[1] = {output};
    async_wait(tasks, 1, ASYNC_ALL_COMPLETED, OUTPUT_GRACE);
  }
  async_task_t *all[3] = {input, output, waiter};
  for (int i = 0; i < 3; i++) {
    if (all[i] == NULL) continue;
    /* The waiter is only cancelled in a hurry: otherwise it is left to see
     * the shell reaped. A cancelled copy returns from its read or drain
     * at once, so none of these joins waits long. */
    if (all[i] != waiter || rc != 0) async_task_cancel(all[i]);
    async_task_join(all[i]);
    async_task_release(all[i]);
  }
  async_stream_close(client);
  async_process_release(session.shell);
  return rc;
}
