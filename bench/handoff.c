/* handoff.c: one value passed between two tasks, through a queue or events.
 *
 * Queue: a producer puts the ints 1..n into a queue of maxsize 1 and a
 * consumer gets them, so each item makes the two tasks take turns: n
 * hand-offs. Events: two tasks play ping-pong with two events (set, wait,
 * clear), two hand-offs per round trip. Reported in ns per hand-off.
 */
#include "bench.h"

#include "async.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct queue_pair {
  async_queue_t queue;
  long n;
} queue_pair_t;

static int producer(void *arg) {
  queue_pair_t *pair = arg;
  for (long i = 1; i <= pair->n; i++) {
    int rc = async_queue_put(&pair->queue, (void *)(intptr_t)i);
    if (rc < 0) return rc;
  }
  return 0;
}

static int consumer(void *arg) {
  queue_pair_t *pair = arg;
  for (long i = 1; i <= pair->n; i++) {
    void *item;
    int rc = async_queue_get(&pair->queue, &item);
    if (rc < 0) return rc;
    if ((intptr_t)item != i) return UV_EINVAL; /* lost or reordered */
  }
  return 0;
}

typedef struct event_pair {
  async_event_t ping, pong;
  long n;
} event_pair_t;

static int pinger(void *arg) {
  event_pair_t *pair = arg;
  for (long i = 0; i < pair->n; i++) {
    async_event_set(&pair->ping);
    int rc = async_event_wait(&pair->pong);
    if (rc < 0) return rc;
    async_event_clear(&pair->pong);
  }
  return 0;
}

static int ponger(void *arg) {
  event_pair_t *pair = arg;
  for (long i = 0; i < pair->n; i++) {
    int rc = async_event_wait(&pair->ping);
    if (rc < 0) return rc;
    async_event_clear(&pair->ping);
    async_event_set(&pair->pong);
  }
  return 0;
}

/* Runs a and b side by side to the end; the seconds it took, or < 0. */
static double run_two(async_fn a, async_fn b, void *arg) {
  uint64_t start = bench_now_ns();
  async_task_t *first = async_spawn("first", a, arg);
  async_task_t *second = async_spawn("second", b, arg);
  if (first == NULL || second == NULL) {
    bench_failed("async_spawn", UV_ENOMEM);
    return -1;
  }
  int rc_first = async_task_join(first);
  int rc_second = async_task_join(second);
  uint64_t elapsed = bench_now_ns() - start;
  async_task_release(first);
  async_task_release(second);
  if (rc_first < 0 || rc_second < 0) {
    bench_failed("a hand-off task", rc_first < 0 ? rc_first : rc_second);
    return -1;
  }
  return (double)elapsed;
}

int bench_handoff_queue(void *arg) {
  const bench_options_t *options = arg;
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  if (samples == NULL) return bench_failed("calloc", UV_ENOMEM);
  queue_pair_t pair = {.n = options->n};
  int rc = async_queue_init(&pair.queue, 1);
  if (rc < 0) {
    free(samples);
    return bench_failed("async_queue_init", rc);
  }
  for (int round = 0; round < options->reps && rc == 0; round++) {
    double elapsed = run_two(producer, consumer, &pair);
    if (elapsed < 0) rc = UV_EINVAL;
    samples[round] = elapsed / (double)options->n;
  }
  async_queue_destroy(&pair.queue);
  if (rc == 0) bench_report("handoff-queue", samples, options->reps, "ns");
  free(samples);
  return rc;
}

int bench_handoff_event(void *arg) {
  const bench_options_t *options = arg;
  double *samples = calloc((size_t)options->reps, sizeof *samples);
  if (samples == NULL) return bench_failed("calloc", UV_ENOMEM);
  event_pair_t pair = {.n = options->n};
  int rc = 0;
  for (int round = 0; round < options->reps && rc == 0; round++) {
    async_event_init(&pair.ping);
    async_event_init(&pair.pong);
    double elapsed = run_two(pinger, ponger, &pair);
    if (elapsed < 0) rc = UV_EINVAL;
    samples[round] = elapsed / (2.0 * (double)options->n);
  }
  if (rc == 0) bench_report("handoff-event", samples, options->reps, "ns");
  free(samples);
  return rc;
}
