/* check.h: check mode's hooks, shared by check.c, lockorder.c and dump.c.
 *
 * Check mode lives in its own files; the core calls into it through the
 * narrow hooks below, each behind one test of rt->check (NULL when check
 * mode is off), so that a program run without it pays one predictable
 * branch and nothing else. async__check_choice_point() is declared in
 * internal.h, since async__enter_blocking() calls it inline.
 *
 * Rejected: a second runtime built with -DASYNC_CHECK. The grader runs the
 * student's own binary, and "the same binary, seed and input give the same
 * interleaving" needs check mode in every build.
 */
#ifndef ASYNC_CHECK_INTERNAL_H
#define ASYNC_CHECK_INTERNAL_H

#include "internal.h"

/* ---- Configuration and the run (check.c) ---- */

typedef enum async__schedule {
  ASYNC__SCHEDULE_FIFO,       /* the ready queue's order, no extra yields */
  ASYNC__SCHEDULE_FIFO_YIELD, /* that order, every choice point yields */
  ASYNC__SCHEDULE_RANDOM,     /* a seeded uniform pick at every step */
  ASYNC__SCHEDULE_PCT         /* Burckhardt et al.'s priorities */
} async__schedule_t;

typedef struct async__check_config {
  bool enabled;
  async__schedule_t schedule;
  uint64_t seed;
  bool seed_given;
  unsigned pct_depth;      /* d: d - 1 priority change points */
  uint64_t pct_steps;      /* the step count change points are drawn over */
  uint64_t starvation_ns;  /* 0: not watched */
  uint64_t livelock_ns;    /* 0: not watched */
  uint64_t livelock_steps; /* 0: not watched */
  uint64_t hog_ns;         /* 0: not watched */
  char watches[512];   /* " NAME=VALUE" for each watch bound set, for replay */
  char findings[4096]; /* "" for none */
  char trace[4096];    /* "" for none */
} async__check_config_t;

/* Reads the ASYNC_* variables for the next run. 0, or UV_EINVAL after
 * saying which variable is wrong. */
int async__check_read_env(void);
/* Starts check mode for rt if the variables asked for it (rt->check stays
 * NULL otherwise). Called once the loop exists, before the main task. */
void async__check_start(async__runtime_t *rt);
/* The running check mode's settings. */
const async__check_config_t *async__check_config(void);

/* A choice point in a call that waits even when interrupted (join, gather,
 * wait_for, group wait): yields unless the schedule is fifo. */
void async__check_yield(void);
/* Moves the entry the strategy picks to the head of the ready queue. */
void async__check_pick(async__runtime_t *rt);
/* The virtual clock's wait_for_events(): jumps to the next timer when
 * nothing real is in flight; false when nothing can ever wake a task. */
bool async__check_wait_for_events(async__runtime_t *rt);
/* Every unfinished task waits and nothing can wake them: reports it. */
void async__check_report_stuck(async__runtime_t *rt);

/* Frees a task's check data (task.c, when the task is freed). */
void async__check_task_free(async_task_t *task);

/* ---- Per task ---- */

/* A lock or semaphore a task holds, and where it took it. */
typedef struct async__held {
  const void *object;
  struct async__lock_node *node; /* NULL once the object is initialised
                                    again: looked up anew */
  async_site_t site;
  bool is_semaphore;
} async__held_t;

struct async__check_task {
  uint64_t priority; /* PCT; 0: not drawn yet */
  async__held_t *held;
  size_t held_count, held_capacity;
  struct async__reading *readings; /* async_shared_t reads (shared.c) */
  size_t reading_count, reading_capacity;
  bool trace_named, trace_waiting; /* trace.c */
  /* progress.c */
  bool wanting, starvation_reported;
  const char *want_what;
  async_site_t want_at;
  uint64_t want_since, want_mark;
  async_site_t last_await; /* where it last reached a call that may block */
};

/* The task's check data, made on first use. */
struct async__check_task *async__check_task(async_task_t *task);
/* Tasks with check data, until they are freed (lockorder.c): a lock's
 * owner may name a task that is gone. */
void async__check_task_born(const async_task_t *task);
void async__check_task_died(const async_task_t *task);
bool async__check_task_live(const async_task_t *task);

/* ---- Findings (check.c) ---- */

/* A growing string. */
typedef struct async__text {
  char *data;
  size_t length, capacity;
} async__text_t;
__attribute__((format(printf, 2, 3))) void
async__text_add(async__text_t *text, const char *format, ...);
void async__text_free(async__text_t *text);
const char *async__text_str(const async__text_t *text);

/* What a report is about, for the findings file: at most this many task
 * names are kept (task_count says how many there were). */
enum { ASYNC__FINDING_MAX_NAMES = 64 };
typedef struct async__finding {
  const char *kind;    /* "deadlock", "potential-deadlock"... */
  async__text_t text;  /* the report: a first line, then indented lines */
  async__text_t tasks; /* JSON array items, comma-separated */
  async__text_t locks; /* likewise */
  async__text_t sites; /* likewise */
  size_t task_count, lock_count, site_count;
} async__finding_t;

void async__finding_init(async__finding_t *finding, const char *kind);
void async__finding_task(async__finding_t *finding, const char *name);
void async__finding_lock(async__finding_t *finding, const char *name);
/* Adds file:line unless it is there already or unknown. */
void async__finding_site(async__finding_t *finding, async_site_t site);
/* Prints the report and its replay line on stderr, appends it to the
 * findings file, and frees it. */
void async__finding_emit(async__finding_t *finding);

/* "file:line", or "an unknown place" for a site nobody recorded. */
const char *async__site_text(async_site_t site, char *buffer, size_t size);

/* ---- Locks and semaphores (lockorder.c) ---- */

/* async_lock_acquire, before it takes or waits for the lock: records the
 * lock-order edges from every lock the task holds, and follows the owner
 * chain; ASYNC_EDEADLK when it leads back to the caller (reported). */
int async__check_lock_acquire(async_lock_t *lock, bool may_fail);
/* The lock changed hands: task is its new owner (NULL: free). */
void async__check_lock_moved(async_lock_t *lock, async_task_t *from,
                             async_task_t *to, async_site_t site);
/* async_semaphore_acquire: before (edges), and once a permit is taken. */
void async__check_semaphore_acquire(async_semaphore_t *sem);
void async__check_semaphore_taken(async_semaphore_t *sem);
void async__check_semaphore_released(async_semaphore_t *sem);
/* A lock or semaphore was (re)initialised: a new object for the graph. */
void async__check_object_init(const void *object);

/* A task returned: the locks it holds get a stand-in owner (the task is
 * freed soon), and remember its name. */
void async__check_task_finished(async_task_t *task);
bool async__check_is_gone_owner(const async_task_t *task);
/* The name of the task that returned holding lock. */
const char *async__check_abandoned_by(const void *lock);

/* The name reports use for a lock or semaphore ("lock #3", or its own). */
const char *async__check_object_name(const void *object);

/* Frees the lock-order graph at the end of the run. */
void async__lockorder_free(async__runtime_t *rt);

/* ---- Lost updates and invariants (shared.c) ---- */

/* The task reached a call that may block, at site. */
void async__shared_await(async_task_t *task, async_site_t site);
/* A task step ended (last: the task that ran): checks the invariants. */
void async__shared_after_step(async_task_t *last);
void async__shared_task_free(struct async__check_task *data);
void async__shared_free(void);

/* ---- Starvation, livelock, loop hogs (progress.c) ---- */

/* The task returned: it wants nothing any more. */
void async__progress_task_finished(async_task_t *task);
/* The task reached a call that may block, at site. */
void async__progress_await(async_task_t *task, async_site_t site);
/* The schedule picked next (NULL: a callback). */
void async__progress_pick(async__runtime_t *rt, async_task_t *next);
/* The virtual clock moved. */
void async__progress_time_passed(async__runtime_t *rt);
void async__progress_task_free(async_task_t *task);
void async__progress_free(void);

/* ---- Trace (trace.c) ---- */

/* Opens ASYNC_TRACE's file; false (said on stderr) if it cannot. */
bool async__trace_start(const char *path);
void async__trace_stop(void);
/* The schedule picked `next` (NULL: a callback) to run now. */
void async__trace_pick(async_task_t *next);
void async__trace_task_gone(async_task_t *task);
/* The scheduler is about to wait: whoever ran has left the CPU. */
void async__trace_idle(void);
/* A lock changed hands (from, to: NULL for nobody). */
void async__trace_lock(uint64_t serial, const char *name, async_task_t *from,
                       async_task_t *to, async_site_t site);

/* ---- Task dump (dump.c) ---- */

/* Appends the grouped dump of the unfinished tasks to text, each line
 * indented by `indent`. */
void async__dump_tasks(async__runtime_t *rt, async__text_t *text,
                       const char *indent, async__finding_t *finding);

#endif /* ASYNC_CHECK_INTERNAL_H */
