/* test_signal.c: async_signal_wait and async_signal_wait_any
 * (loop.add_signal_handler as an await), and the graceful-shutdown pattern
 * of async.h.
 *
 * Signals are sent only once the waiting task has parked (the sender runs
 * after it, or is the task that the waiter's park let run): a signal nobody
 * waits for takes its default action, which for SIGUSR1, SIGUSR2 and SIGHUP
 * is to end this test process. SIGINT and SIGTERM are left alone, since the
 * test runner relies on them.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* The handler installed for signum now: SIG_DFL, SIG_IGN or a function. */
static void (*disposition(int signum))(int) {
  struct sigaction current;
  if (sigaction(signum, NULL, &current) != 0) return SIG_ERR;
  return current.sa_handler;
}

typedef struct waiter {
  const int *signums;
  size_t count;
  int rc;
  bool returned;
} waiter_t;

static int wait_for_signals(void *arg) {
  waiter_t *waiter = arg;
  if (waiter->count == 1)
    waiter->rc = async_signal_wait(waiter->signums[0]);
  else
    waiter->rc = async_signal_wait_any(waiter->signums, waiter->count);
  waiter->returned = true;
  return 0;
}

/* Spawns a waiter and lets it run until it has parked in its wait. */
static async_task_t *start_waiter(waiter_t *waiter) {
  async_task_t *task = async_spawn("waiter", wait_for_signals, waiter);
  async_yield();
  return task;
}

static int join_and_release(async_task_t *task) {
  int rc = async_task_join(task);
  async_task_release(task);
  return rc;
}

/* ---- Delivery ---- */

static const int usr1[] = {SIGUSR1};

typedef struct raised {
  waiter_t waiter;
  void (*while_waiting)(int);
} raised_t;

static int raise_usr1_from_a_task(void *arg) {
  raised_t *t = arg;
  t->waiter = (waiter_t){usr1, 1, 0, false};
  async_task_t *task = start_waiter(&t->waiter);
  t->while_waiting = disposition(SIGUSR1);
  raise(SIGUSR1);
  return join_and_release(task);
}

static void test_signal_wait_returns_the_signal_raised_by_a_task(void **state) {
  (void)state;
  raised_t t;
  assert_int_equal(harness_run(raise_usr1_from_a_task, &t), 0);
  assert_true(t.waiter.returned);
  assert_int_equal(t.waiter.rc, SIGUSR1);
  assert_true(t.while_waiting != SIG_DFL && t.while_waiting != SIG_IGN);
}

static void *kill_self_with_usr1(void *arg) {
  (void)arg;
  kill(getpid(), SIGUSR1);
  return NULL;
}

static int send_usr1_from_a_thread(void *arg) {
  waiter_t *waiter = arg;
  *waiter = (waiter_t){usr1, 1, 0, false};
  async_task_t *task = start_waiter(waiter);
  pthread_t thread;
  pthread_create(&thread, NULL, kill_self_with_usr1, NULL);
  pthread_join(thread, NULL);
  return join_and_release(task);
}

static void
test_signal_wait_returns_the_signal_sent_from_another_thread(void **state) {
  (void)state;
  waiter_t waiter;
  assert_int_equal(harness_run(send_usr1_from_a_thread, &waiter), 0);
  assert_int_equal(waiter.rc, SIGUSR1);
}

static const int three[] = {SIGUSR1, SIGUSR2, SIGHUP};

static int raise_usr2_for_wait_any(void *arg) {
  waiter_t *waiter = arg;
  *waiter = (waiter_t){three, 3, 0, false};
  async_task_t *task = start_waiter(waiter);
  raise(SIGUSR2);
  return join_and_release(task);
}

static void test_signal_wait_any_returns_the_signal_that_came(void **state) {
  (void)state;
  waiter_t waiter;
  assert_int_equal(harness_run(raise_usr2_for_wait_any, &waiter), 0);
  assert_int_equal(waiter.rc, SIGUSR2);
  /* Nobody waits any more: all three are back to their default action. */
  assert_true(disposition(SIGUSR1) == SIG_DFL);
  assert_true(disposition(SIGUSR2) == SIG_DFL);
  assert_true(disposition(SIGHUP) == SIG_DFL);
}

static const int hup_or_usr1[] = {SIGHUP, SIGUSR1};

typedef struct two {
  waiter_t first, second;
  bool second_done_after_first;
  int second_join;
} two_t;

static int wake_two_waiters(void *arg) {
  two_t *t = arg;
  t->first = (waiter_t){usr1, 1, 0, false};
  t->second = (waiter_t){hup_or_usr1, 2, 0, false};
  async_task_t *first = start_waiter(&t->first);
  async_task_t *second = start_waiter(&t->second);
  raise(SIGUSR1);
  int rc = join_and_release(first);
  async_yield();
  t->second_done_after_first = async_task_done(second);
  async_task_cancel(second); /* so that a missed wake fails, not hangs */
  t->second_join = join_and_release(second);
  return rc;
}

static void test_one_signal_wakes_every_task_waiting_for_it(void **state) {
  (void)state;
  two_t t;
  assert_int_equal(harness_run(wake_two_waiters, &t), 0);
  assert_int_equal(t.first.rc, SIGUSR1);
  if (!t.second_done_after_first)
    fail_msg("one SIGUSR1 woke the first waiter but not the second (it "
             "returned %s once cancelled)",
             async_err_name(t.second.rc));
  assert_int_equal(t.second.rc, SIGUSR1);
  assert_int_equal(t.second_join, 0);
}

typedef struct again {
  async_event_t first_came;
  int rounds[2];
} again_t;

static int wait_twice(void *arg) {
  again_t *t = arg;
  t->rounds[0] = async_signal_wait(SIGHUP);
  async_event_set(&t->first_came);
  t->rounds[1] = async_signal_wait(SIGHUP);
  return 0;
}

static int send_hup_twice(void *arg) {
  again_t *t = arg;
  async_event_init(&t->first_came);
  async_task_t *task = async_spawn("twice", wait_twice, t);
  async_yield();
  raise(SIGHUP);
  /* Woken by the waiter, which then runs on into its second wait. */
  async_event_wait(&t->first_came);
  raise(SIGHUP);
  return join_and_release(task);
}

static void test_a_task_can_wait_for_the_same_signal_again(void **state) {
  (void)state;
  again_t t;
  assert_int_equal(harness_run(send_hup_twice, &t), 0);
  assert_int_equal(t.rounds[0], SIGHUP);
  assert_int_equal(t.rounds[1], SIGHUP);
}

/* ---- Default action, cancellation ---- */

typedef struct restored {
  void (*while_waiting)(int);
  void (*after_wait)(int);
  int rc;
} restored_t;

static int note_disposition_after_wait(void *arg) {
  restored_t *t = arg;
  t->rc = async_signal_wait(SIGUSR1);
  t->after_wait = disposition(SIGUSR1);
  return 0;
}

static int check_restored(void *arg) {
  restored_t *t = arg;
  async_task_t *task = async_spawn("waiter", note_disposition_after_wait, t);
  async_yield();
  t->while_waiting = disposition(SIGUSR1);
  raise(SIGUSR1);
  return join_and_release(task);
}

static void test_the_default_action_is_back_once_nobody_waits(void **state) {
  (void)state;
  restored_t t = {0};
  assert_true(disposition(SIGUSR1) == SIG_DFL);
  assert_int_equal(harness_run(check_restored, &t), 0);
  assert_int_equal(t.rc, SIGUSR1);
  assert_true(t.while_waiting != SIG_DFL);
  /* Right when the wait returned, not only when the run ended. */
  if (t.after_wait != SIG_DFL)
    fail_msg("SIGUSR1 still had the runtime's handler after its only waiter "
             "returned: a later SIGUSR1 would be swallowed instead of "
             "taking its default action");
}

typedef struct cancelled {
  waiter_t waiter;
  void (*while_waiting)(int);
  void (*after_cancel)(int);
} cancelled_t;

static int cancel_a_waiter(void *arg) {
  cancelled_t *t = arg;
  t->waiter = (waiter_t){three, 3, 0, false};
  async_task_t *task = start_waiter(&t->waiter);
  t->while_waiting = disposition(SIGHUP);
  async_task_cancel(task);
  int rc = join_and_release(task);
  t->after_cancel = disposition(SIGHUP);
  return rc;
}

static void test_cancelled_signal_waiter_returns_ecanceled_and_stops_watching(
    void **state) {
  (void)state;
  cancelled_t t;
  assert_int_equal(harness_run(cancel_a_waiter, &t), 0);
  assert_int_equal(t.waiter.rc, UV_ECANCELED);
  assert_true(t.while_waiting != SIG_DFL);
  assert_true(t.after_cancel == SIG_DFL);
}

static int wait_in_cancelled_task(void *arg) {
  async_task_cancel(async_current_task());
  *(int *)arg = async_signal_wait(SIGUSR1);
  return 0;
}

static int run_cancelled_waiter(void *arg) {
  return join_and_release(
      async_spawn("cancelled", wait_in_cancelled_task, arg));
}

static void test_signal_wait_in_a_cancelled_task_is_ecanceled(void **state) {
  (void)state;
  int rc = 0;
  assert_int_equal(harness_run(run_cancelled_waiter, &rc), 0);
  assert_int_equal(rc, UV_ECANCELED);
}

static int keep_waiting_for_usr2(void *arg) {
  (void)arg;
  return async_signal_wait(SIGUSR2);
}

static int leave_a_waiter_behind(void *arg) {
  (void)arg;
  async_task_t *task = async_spawn("left behind", keep_waiting_for_usr2, NULL);
  async_yield();
  async_task_release(task);
  return 0;
}

static void
test_a_waiter_left_at_the_end_of_the_run_is_cancelled_and_tidied(void **state) {
  (void)state;
  assert_int_equal(harness_run_untidy(leave_a_waiter_behind, NULL), 0);
  async_run_stats_t stats;
  async_run_stats(&stats);
  assert_int_equal(stats.tasks_cancelled_at_exit, 1);
  assert_int_equal(stats.handles_left_open, 0);
  assert_true(disposition(SIGUSR2) == SIG_DFL);
}

/* ---- Misuse ---- */

typedef struct invalid {
  int rc[9];
} invalid_t;

static int wait_for_invalid_signals(void *arg) {
  invalid_t *t = arg;
  int killable[] = {SIGUSR1, SIGKILL};
  t->rc[0] = async_signal_wait(0);
  t->rc[1] = async_signal_wait(-1);
  t->rc[2] = async_signal_wait(SIGKILL);
  t->rc[3] = async_signal_wait(SIGSTOP);
  t->rc[4] = async_signal_wait(NSIG);
  t->rc[5] = async_signal_wait_any(NULL, 1);
  t->rc[6] = async_signal_wait_any(killable, 0);
  t->rc[7] = async_signal_wait_any(killable, 2);
  t->rc[8] = (int)(disposition(SIGUSR1) == SIG_DFL);
  return 0;
}

static void test_signal_wait_on_an_invalid_signal_is_einval(void **state) {
  (void)state;
  invalid_t t;
  assert_int_equal(harness_run(wait_for_invalid_signals, &t), 0);
  for (int i = 0; i < 8; i++) assert_int_equal(t.rc[i], UV_EINVAL);
  /* The valid SIGUSR1 next to SIGKILL was not watched, even briefly. */
  assert_int_equal(t.rc[8], 1);
}

static void test_signal_wait_outside_a_task_is_eperm(void **state) {
  (void)state;
  assert_int_equal(async_signal_wait(SIGUSR1), UV_EPERM);
  assert_int_equal(async_signal_wait_any(usr1, 1), UV_EPERM);
}

/* ---- Graceful shutdown ----
 *
 * async.h's pattern, word for word, with SIGUSR2 standing for SIGTERM and a
 * stand-in for the server: "closing" sets an event that "serving" waits
 * for, and records how it was closed. */

typedef struct stand_in_server {
  async_event_t closed;
  bool handlers_cancelled;
  int closes;
} stand_in_server_t;

static stand_in_server_t the_server;

static int stand_in_server_start(stand_in_server_t **server) {
  async_event_init(&the_server.closed);
  the_server.handlers_cancelled = false;
  the_server.closes = 0;
  *server = &the_server;
  return 0;
}

static int stand_in_server_wait(stand_in_server_t *server) {
  return async_event_wait(&server->closed);
}

static int stand_in_server_close(stand_in_server_t *server,
                                 bool cancel_handlers) {
  server->handlers_cancelled = cancel_handlers;
  server->closes++;
  async_event_set(&server->closed);
  return 0;
}

static const int stop_signals[] = {SIGINT, SIGUSR2};

static int stand_in_stop_on_signal(void *server) {
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
  // Stop accepting, cancel the connections' handlers, wait for them.
  return stand_in_server_close(server, true);
}

static int stand_in_serve(void *arg) { // main's task, which nobody cancels
  (void)arg;
  stand_in_server_t *server;
  int rc = stand_in_server_start(&server);
  if (rc != 0) return rc;
  async_task_t *stopper =
      async_spawn("stopper", stand_in_stop_on_signal, server);
  stand_in_server_wait(server); // until the stopper has closed it
  rc = async_task_join(stopper);
  async_task_release(stopper);
  return rc;
}

/* What the operator does: kill -TERM, once the program listens for it. */
static int send_usr2_once_caught(void *arg) {
  (void)arg;
  for (int i = 0; i < 100 && disposition(SIGUSR2) == SIG_DFL; i++)
    async_yield();
  if (disposition(SIGUSR2) == SIG_DFL) return UV_ETIMEDOUT; /* never caught */
  raise(SIGUSR2);
  return 0;
}

static int run_server_and_operator(void *arg) {
  async_task_t *sender = async_spawn("operator", send_usr2_once_caught, NULL);
  int rc = stand_in_serve(arg);
  int sender_rc = async_task_join(sender);
  async_task_release(sender);
  return rc != 0 ? rc : sender_rc;
}

static void
test_graceful_shutdown_pattern_closes_the_server_on_a_signal(void **state) {
  (void)state;
  assert_int_equal(harness_run(run_server_and_operator, NULL), 0);
  assert_int_equal(the_server.closes, 1);
  assert_true(the_server.handlers_cancelled);
  assert_true(disposition(SIGINT) == SIG_DFL);
  assert_true(disposition(SIGUSR2) == SIG_DFL);
}

/* The same pattern with a real server, a client connected to it, and
 * nothing changed but the port (0: any free one, made known to the test)
 * and SIGUSR2 again. */

typedef struct real_shutdown {
  int port;
  ssize_t handler_read; /* what the handler's last read returned */
  char echoed[16];
  ssize_t after_signal; /* the client's read once the signal came */
} real_shutdown_t;

static real_shutdown_t real;

static int on_client(async_stream_t *stream, void *arg) {
  (void)arg;
  char line[64];
  ssize_t n;
  while ((n = async_stream_readline(stream, line, sizeof line)) > 0)
    async_stream_write(stream, line, (size_t)n);
  real.handler_read = n;
  return 0;
}

static int stop_on_signal(void *server) {
  int signum = async_signal_wait_any(stop_signals, 2);
  if (signum < 0) return signum == UV_ECANCELED ? 0 : signum;
  // Stop accepting, cancel the connections' handlers, wait for them.
  return async_server_close(server, true);
}

static int serve(void *arg) { // main's task, which nobody cancels
  async_server_t *server;
  int rc = async_server_start(&server, "127.0.0.1", 0, on_client, arg);
  if (rc != 0) return rc;
  real.port = async_server_port(server); /* for the test's client */
  async_task_t *stopper = async_spawn("stopper", stop_on_signal, server);
  async_server_wait(server); // until the stopper has closed it
  rc = async_task_join(stopper);
  async_task_release(stopper);
  return rc;
}

/* A client talks to the server, then the operator sends the signal. */
static int client_then_signal(void *arg) {
  (void)arg;
  for (int i = 0;
       i < 100 && (real.port == 0 || disposition(SIGUSR2) == SIG_DFL); i++)
    async_yield();
  if (disposition(SIGUSR2) == SIG_DFL) return UV_ETIMEDOUT; /* never caught */
  async_stream_t *stream;
  int rc = async_connect(&stream, "127.0.0.1", real.port);
  if (rc != 0) return rc;
  async_stream_write(stream, "hello\n", 6);
  ssize_t n = async_stream_readline(stream, real.echoed, sizeof real.echoed);
  if (n > 0) raise(SIGUSR2);
  /* The server cancels its handler and closes the connection: EOF. */
  real.after_signal = async_stream_read(stream, real.echoed + n, 1);
  async_stream_close(stream);
  return n > 0 ? 0 : UV_EIO;
}

static int run_real_server_and_operator(void *arg) {
  async_task_t *client = async_spawn("client", client_then_signal, NULL);
  int rc = serve(arg);
  int client_rc = async_task_join(client);
  async_task_release(client);
  return rc != 0 ? rc : client_rc;
}

static void test_graceful_shutdown_pattern_stops_a_real_server_and_its_clients(
    void **state) {
  (void)state;
  memset(&real, 0, sizeof real);
  real.handler_read = 1;
  real.after_signal = 1;
  assert_int_equal(harness_run(run_real_server_and_operator, NULL), 0);
  assert_string_equal(real.echoed, "hello\n");
  assert_int_equal(real.handler_read, UV_ECANCELED);
  assert_int_equal(real.after_signal, 0);
  assert_true(disposition(SIGUSR2) == SIG_DFL);
}

ASYNC_TEST_MAIN(
    cmocka_unit_test(test_signal_wait_returns_the_signal_raised_by_a_task),
    cmocka_unit_test(
        test_signal_wait_returns_the_signal_sent_from_another_thread),
    cmocka_unit_test(test_signal_wait_any_returns_the_signal_that_came),
    cmocka_unit_test(test_one_signal_wakes_every_task_waiting_for_it),
    cmocka_unit_test(test_a_task_can_wait_for_the_same_signal_again),
    cmocka_unit_test(test_the_default_action_is_back_once_nobody_waits),
    cmocka_unit_test(
        test_cancelled_signal_waiter_returns_ecanceled_and_stops_watching),
    cmocka_unit_test(test_signal_wait_in_a_cancelled_task_is_ecanceled),
    cmocka_unit_test(
        test_a_waiter_left_at_the_end_of_the_run_is_cancelled_and_tidied),
    cmocka_unit_test(test_signal_wait_on_an_invalid_signal_is_einval),
    cmocka_unit_test(test_signal_wait_outside_a_task_is_eperm),
    cmocka_unit_test(
        test_graceful_shutdown_pattern_closes_the_server_on_a_signal),
    cmocka_unit_test(
        test_graceful_shutdown_pattern_stops_a_real_server_and_its_clients))
