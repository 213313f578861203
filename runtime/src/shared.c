/* shared.c: check mode's lost-update detector (async_shared_t) and its
 * invariant hooks.
 *
 * The race every asyncio course shows: read a balance, await a slow
 * service, write balance + amount. Another task that wrote the balance
 * during the await has its write silently overwritten. Each write to an
 * async_shared_t gets a serial; a task remembers, per variable, the serial
 * it last read and the first await it made since. A write whose task read
 * an older serial than the variable now has, across an await, overwrites a
 * write it never saw: reported, whatever the values, so that the bug shows
 * even on the runs where the totals happen to come out right.
 *
 * Invariants are predicates the program registers; they run after every
 * task step (at every pick), and the first failure of each is reported
 * with the task that ran last.
 *
 * Rejected: comparing values (a stale write of an unchanged value, or two
 * updates that cancel out, would pass) and watching raw memory (needs
 * compiler instrumentation; accessors are what a student can read).
 */
#include "check.h"

/* A variable a task has read, and what it knew then. */
typedef struct async__reading {
  const async_shared_t *shared;
  uint64_t init_serial, serial;
  async_site_t read_at;
  async_site_t awaited_at; /* the first await since the read */
  unsigned awaits;         /* how many since the read */
} reading_t;

typedef struct invariant {
  const char *name;
  bool (*holds)(void *arg);
  void *arg;
  bool failed;
} invariant_t;

typedef struct shared_state {
  invariant_t *invariants;
  size_t invariant_count, invariant_capacity;
  char **reported; /* "read|await|write" sites of reports made */
  size_t reported_count, reported_capacity;
} shared_state_t;

static _Thread_local uint64_t serials;
static _Thread_local shared_state_t *state;

static shared_state_t *the_state(void) {
  if (state == NULL) {
    state = calloc(1, sizeof *state);
    if (state == NULL) abort();
  }
  return state;
}

void async__shared_free(void) {
  if (state == NULL) return;
  free(state->invariants);
  for (size_t i = 0; i < state->reported_count; i++) free(state->reported[i]);
  free(state->reported);
  free(state);
  state = NULL;
}

void async__shared_task_free(struct async__check_task *data) {
  free(data->readings);
  data->readings = NULL;
  data->reading_count = data->reading_capacity = 0;
}

static bool checking(void) {
  return async__rt != NULL && async__rt->check != NULL &&
         async__rt->current != NULL;
}

void async_shared_init(async_shared_t *shared, const char *name,
                       int64_t value) {
  if (shared == NULL) {
    async__misuse("async_shared_init", UV_EINVAL, "shared is NULL");
    return;
  }
  shared->value = value;
  shared->name = name != NULL ? name : "a shared variable";
  shared->init_serial = shared->serial = ++serials;
  shared->written_at = (async_site_t){NULL, 0};
  shared->writer[0] = '\0';
}

/* The task's reading of shared, made if `make`. */
static reading_t *reading_of(struct async__check_task *data,
                             const async_shared_t *shared, bool make) {
  reading_t *readings = data->readings;
  for (size_t i = 0; i < data->reading_count; i++)
    if (readings[i].shared == shared) return &readings[i];
  if (!make) return NULL;
  if (data->reading_count == data->reading_capacity) {
    size_t capacity = data->reading_capacity ? data->reading_capacity * 2 : 4;
    readings = realloc(data->readings, capacity * sizeof *readings);
    if (readings == NULL) abort();
    data->readings = readings;
    data->reading_capacity = capacity;
  }
  reading_t *reading = &readings[data->reading_count++];
  memset(reading, 0, sizeof *reading);
  reading->shared = shared;
  return reading;
}

static void remember(reading_t *reading, const async_shared_t *shared,
                     async_site_t site) {
  reading->init_serial = shared->init_serial;
  reading->serial = shared->serial;
  reading->read_at = site;
  reading->awaited_at = (async_site_t){NULL, 0};
  reading->awaits = 0;
}

int64_t async_shared_peek(const async_shared_t *shared) {
  if (shared == NULL)
    return async__misuse("async_shared_peek", UV_EINVAL, "shared is NULL");
  return shared->value;
}

int64_t(async_shared_read)(async_shared_t *shared) {
  if (shared == NULL)
    return async__misuse("async_shared_read", UV_EINVAL, "shared is NULL");
  if (checking()) {
    struct async__check_task *data = async__check_task(async__rt->current);
    remember(reading_of(data, shared, true), shared, async__site);
  }
  return shared->value;
}

void async__shared_await(async_task_t *task, async_site_t site) {
  struct async__check_task *data = task->check;
  if (data == NULL) return;
  for (size_t i = 0; i < data->reading_count; i++) {
    reading_t *reading = &data->readings[i];
    if (reading->awaits++ == 0) reading->awaited_at = site;
  }
}

static bool reported_before(const char *key) {
  shared_state_t *s = the_state();
  for (size_t i = 0; i < s->reported_count; i++)
    if (strcmp(s->reported[i], key) == 0) return true;
  if (s->reported_count == s->reported_capacity) {
    size_t capacity = s->reported_capacity ? s->reported_capacity * 2 : 4;
    char **grown = realloc(s->reported, capacity * sizeof *grown);
    if (grown == NULL) abort();
    s->reported = grown;
    s->reported_capacity = capacity;
  }
  s->reported[s->reported_count] = strdup(key);
  if (s->reported[s->reported_count] == NULL) abort();
  s->reported_count++;
  return false;
}

static void report_lost_update(const async_shared_t *shared,
                               const reading_t *reading, async_site_t site) {
  char read_at[512], awaited_at[512], written_at[512], other_at[512];
  async__site_text(reading->read_at, read_at, sizeof read_at);
  async__site_text(reading->awaited_at, awaited_at, sizeof awaited_at);
  async__site_text(site, written_at, sizeof written_at);
  async__site_text(shared->written_at, other_at, sizeof other_at);
  char key[2200];
  snprintf(key, sizeof key, "%s|%s|%s|%s", read_at, awaited_at, written_at,
           other_at);
  if (reported_before(key)) return;

  const char *self = async_task_name(async__rt->current);
  async__finding_t finding;
  async__finding_init(&finding, "lost-update");
  async__text_add(&finding.text,
                  "lost update: task '%s' wrote %s at %s from a value it "
                  "read at %s, before it awaited at %s",
                  self, shared->name, written_at, read_at, awaited_at);
  if (reading->awaits > 1)
    async__text_add(&finding.text, " (and %u more awaits)",
                    reading->awaits - 1);
  async__text_add(&finding.text,
                  ".\n  Meanwhile task '%s' wrote %s at %s: that write is "
                  "lost, even on runs where the totals come out right.\n"
                  "  fix: do not keep a value across an await: read, compute "
                  "and write with no await in between, or hold a lock from "
                  "the read to the write.",
                  shared->writer, shared->name, other_at);
  async__finding_task(&finding, self);
  async__finding_task(&finding, shared->writer);
  async__finding_site(&finding, reading->read_at);
  async__finding_site(&finding, reading->awaited_at);
  async__finding_site(&finding, site);
  async__finding_site(&finding, shared->written_at);
  async__finding_emit(&finding);
}

void(async_shared_write)(async_shared_t *shared, int64_t value) {
  if (shared == NULL) {
    async__misuse("async_shared_write", UV_EINVAL, "shared is NULL");
    return;
  }
  if (checking()) {
    async_task_t *self = async__rt->current;
    struct async__check_task *data = async__check_task(self);
    reading_t *reading = reading_of(data, shared, false);
    if (reading != NULL && reading->init_serial == shared->init_serial &&
        reading->serial != shared->serial && reading->awaits != 0)
      report_lost_update(shared, reading, async__site);
    shared->serial = ++serials;
    shared->written_at = async__site;
    snprintf(shared->writer, sizeof shared->writer, "%s",
             async_task_name(self));
    /* The writer knows the value it wrote. */
    remember(reading_of(data, shared, true), shared, async__site);
  } else {
    shared->serial = ++serials;
  }
  shared->value = value;
}

/* ---- Invariants ---- */

int async_check_invariant(const char *name, bool (*holds)(void *arg),
                          void *arg) {
  if (holds == NULL)
    return async__misuse("async_check_invariant", UV_EINVAL, "holds is NULL");
  if (async__rt == NULL || async__rt->check == NULL) return UV_EPERM;
  shared_state_t *s = the_state();
  if (s->invariant_count == s->invariant_capacity) {
    size_t capacity = s->invariant_capacity ? s->invariant_capacity * 2 : 4;
    invariant_t *grown = realloc(s->invariants, capacity * sizeof *grown);
    if (grown == NULL) return UV_ENOMEM;
    s->invariants = grown;
    s->invariant_capacity = capacity;
  }
  s->invariants[s->invariant_count++] =
      (invariant_t){name ? name : "an invariant", holds, arg, false};
  return 0;
}

void async__shared_after_step(async_task_t *last) {
  if (state == NULL) return;
  for (size_t i = 0; i < state->invariant_count; i++) {
    invariant_t *invariant = &state->invariants[i];
    if (invariant->failed || invariant->holds(invariant->arg)) continue;
    invariant->failed = true;
    async__finding_t finding;
    async__finding_init(&finding, "invariant");
    char at[512];
    if (last != NULL) {
      const char *name = async_task_name(last);
      async__text_add(&finding.text,
                      "invariant broken: \"%s\" no longer holds, after a "
                      "step of task '%s'",
                      invariant->name, name);
      async__finding_task(&finding, name);
      if (last->state == ASYNC__TASK_PARKED && last->waiting_at.file) {
        async__text_add(&finding.text, ", which then waited at %s",
                        async__site_text(last->waiting_at, at, sizeof at));
        async__finding_site(&finding, last->waiting_at);
      }
    } else {
      async__text_add(&finding.text, "invariant broken: \"%s\" no longer holds",
                      invariant->name);
    }
    async__text_add(&finding.text,
                    ".\n  fix: the step that broke it changed the state "
                    "partly, or from a value read before an await; make "
                    "the whole change with no await in the middle, or under "
                    "a lock.");
    async__finding_emit(&finding);
  }
}
