/* bench.h: what the runtime's benchmark workloads share.
 *
 * Each workload is the main task of one async_run(). It repeats its timed
 * round options->reps times and prints one machine-readable line,
 *
 *   RESULT <workload> <median of the rounds> <unit>
 *
 * which bench/run.sh reads; the peers (bench/peers/) print the same lines,
 * so that the same script can put them side by side.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_options {
  long n;   /* the workload's size: hand-offs, tasks, meals... */
  int reps; /* timed rounds; the median is reported */
} bench_options_t;

/* The workloads, one per file; each is an async_fn taking bench_options_t. */
int bench_handoff_queue(void *options);
int bench_handoff_event(void *options);
int bench_switch(void *options);
int bench_spawn(void *options);
int bench_parked(void *options);
int bench_philosophers(void *options);
int bench_check_philosophers(void *options);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* The process's resident set now, in bytes, from /proc/self/statm; 0 if it
 * cannot be read. */
size_t bench_rss_bytes(void);

/* Sorts samples[0..count) and returns their median. */
double bench_median(double *samples, int count);

/* Prints "RESULT name value unit" and, on stderr, every round. */
void bench_report(const char *name, double *samples, int count,
                  const char *unit);

/* Says on stderr which call failed and why; returns the error, so that a
 * workload can `return bench_failed("async_spawn", UV_ENOMEM);`. */
int bench_failed(const char *what, int error);

#endif /* BENCH_H */
