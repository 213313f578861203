/* dump.c: the task dump, Go style: every unfinished task, what it waits
 * for and since when, what it holds, where it was made; grouped.
 *
 * Tasks that look the same (same state, same wait at the same line, same
 * locks taken at the same lines, made at the same line) are one entry with
 * a count and a few names: a thousand stuck philosophers read as one line.
 * Entries come in the order of their first task (spawn order), so a dump is
 * the same from one run of a schedule to the next.
 *
 * Printed on a deadlock, on SIGQUIT in check mode (the grader sends it
 * before killing a program that timed out), and by async_dump_tasks().
 *
 * Rejected: grouping by the tasks' function. Tasks spawned from the same
 * function can wait in very different places, and the place is what a
 * reader needs.
 */
#include "check.h"

#include <inttypes.h>

typedef struct entry {
  async_task_t *task;
  char *key; /* what makes two tasks look the same */
  size_t order;
} entry_t;

static const char *state_text(const async__runtime_t *rt,
                              const async_task_t *task) {
  if (task == rt->current) return "running";
  if (!task->started) return "not started";
  switch (task->state) {
  case ASYNC__TASK_READY:
    return "ready";
  case ASYNC__TASK_RUNNING:
    return "running";
  case ASYNC__TASK_PARKED:
    return "waiting";
  case ASYNC__TASK_DONE:
    return "done";
  }
  return "?";
}

static bool parked_on(const async_task_t *task, const char *what) {
  return task->state == ASYNC__TASK_PARKED && task->waiting_for != NULL &&
         strcmp(task->waiting_for, what) == 0;
}

static void add_site(async__text_t *text, async_site_t site) {
  char buffer[512];
  async__text_add(text, "%s", async__site_text(site, buffer, sizeof buffer));
}

static char *make_key(const async__runtime_t *rt, const async_task_t *task) {
  async__text_t key = {0};
  async__text_add(&key, "%s|%s|", state_text(rt, task),
                  task->state == ASYNC__TASK_PARKED && task->waiting_for
                      ? task->waiting_for
                      : "");
  if (task->state == ASYNC__TASK_PARKED) add_site(&key, task->waiting_at);
  async__text_add(&key, "|");
  add_site(&key, task->created_at);
  if (task->check != NULL)
    for (size_t i = 0; i < task->check->held_count; i++) {
      async__text_add(&key, "|");
      add_site(&key, task->check->held[i].site);
    }
  if (key.data == NULL) async__text_add(&key, "%s", "");
  return key.data;
}

static int compare_entries(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  int order = strcmp(x->key, y->key);
  if (order != 0) return order;
  return (x->order > y->order) - (x->order < y->order);
}

static int compare_groups(const void *a, const void *b) {
  const entry_t *const *x = a, *const *y = b;
  return ((*x)->order > (*y)->order) - ((*x)->order < (*y)->order);
}

static bool rt_checking(void) {
  return async__rt != NULL && async__rt->check != NULL;
}

/* A lock's owner may be a task that returned holding it and was freed:
 * look it up before reading it. */
static bool task_exists(const async_task_t *task) {
  async__runtime_t *rt = async__rt;
  if (task == NULL) return false;
  if (rt->check != NULL) return async__check_task_live(task);
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next)
    if (async__container_of(link, async_task_t, all_link) == task) return true;
  return false;
}

/* What a parked task waits for, with the object named where it helps. */
static void add_wait(async__text_t *text, const async_task_t *task,
                     bool single) {
  async__text_add(text, "waiting for %s", task->waiting_for);
  if (!single || task->waiting_on == NULL) return;
  if (parked_on(task, "a lock")) {
    const async_lock_t *lock = task->waiting_on;
    async__text_add(text, " (%s", async__check_object_name(lock));
    if (rt_checking() && async__check_is_gone_owner(lock->owner))
      async__text_add(text,
                      ", held by '%s', which returned without releasing it",
                      async__check_abandoned_by(lock));
    else if (task_exists(lock->owner) && lock->owner->state == ASYNC__TASK_DONE)
      async__text_add(text,
                      ", held by '%s', which returned without "
                      "releasing it",
                      async_task_name(lock->owner));
    else if (task_exists(lock->owner))
      async__text_add(text, ", held by '%s'", async_task_name(lock->owner));
    else if (lock->owner != NULL)
      async__text_add(text, ", held by a task that has finished: it "
                            "returned without releasing it");
    async__text_add(text, ")");
  } else if (parked_on(task, "a semaphore")) {
    async__text_add(text, " (%s)", async__check_object_name(task->waiting_on));
  } else if (parked_on(task, "a task to finish")) {
    async__text_add(text, " ('%s')", async_task_name(task->waiting_on));
  }
}

/* One group: `count` tasks like first[0], the others following it in the
 * sorted array. */
static void add_group(async__runtime_t *rt, async__text_t *text,
                      const char *indent, entry_t *first, size_t count,
                      async__finding_t *finding) {
  async_task_t *task = first->task;
  bool single = count == 1;
  if (single) {
    async__text_add(text, "%stask '%s' (#%" PRIu64 ") [", indent,
                    async_task_name(task), async_task_id(task));
  } else {
    async__text_add(text, "%s%zu tasks (", indent, count);
    for (size_t i = 0; i < count && i < 3; i++)
      async__text_add(text, "%s'%s'", i ? ", " : "",
                      async_task_name(first[i].task));
    if (count > 3) async__text_add(text, " and %zu more", count - 3);
    async__text_add(text, ") [");
  }
  if (task->state == ASYNC__TASK_PARKED && task->waiting_for != NULL) {
    add_wait(text, task, single);
    uint64_t since = task->waiting_since;
    for (size_t i = 1; i < count; i++)
      if (first[i].task->waiting_since < since)
        since = first[i].task->waiting_since;
    async__text_add(text, ", since %.3f s", (double)since / 1e9);
  } else {
    async__text_add(text, "%s", state_text(rt, task));
  }
  async__text_add(text, "]");
  if (task->state == ASYNC__TASK_PARKED && task->waiting_at.file != NULL) {
    async__text_add(text, " at ");
    add_site(text, task->waiting_at);
  }
  async__text_add(text, "\n");

  struct async__check_task *data = task->check;
  if (data != NULL && data->held_count != 0) {
    async__text_add(text, "%s    %s ", indent, single ? "holds" : "each holds");
    for (size_t i = 0; i < data->held_count; i++) {
      if (i != 0) async__text_add(text, ", ");
      if (single)
        async__text_add(text, "%s ",
                        async__check_object_name(data->held[i].object));
      else
        async__text_add(text, "a %s ",
                        data->held[i].is_semaphore ? "semaphore" : "lock");
      async__text_add(text, "(taken at ");
      add_site(text, data->held[i].site);
      async__text_add(text, ")");
    }
    async__text_add(text, "\n");
  }
  async__text_add(text, "%s    created ", indent);
  if (task == rt->main_task) {
    async__text_add(text, "by async_run()\n");
  } else {
    async__text_add(text, "at ");
    add_site(text, task->created_at);
    async__text_add(text, "\n");
  }

  if (finding != NULL) {
    for (size_t i = 0; i < count; i++)
      async__finding_task(finding, async_task_name(first[i].task));
    if (task->state == ASYNC__TASK_PARKED) {
      async__finding_site(finding, task->waiting_at);
      if (parked_on(task, "a lock") || parked_on(task, "a semaphore"))
        for (size_t i = 0; i < count; i++)
          async__finding_lock(
              finding, async__check_object_name(first[i].task->waiting_on));
    }
    if (data != NULL)
      for (size_t i = 0; i < data->held_count; i++)
        async__finding_site(finding, data->held[i].site);
  }
}

void async__dump_tasks(async__runtime_t *rt, async__text_t *text,
                       const char *indent, async__finding_t *finding) {
  size_t count = 0;
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state != ASYNC__TASK_DONE) count++;
  }
  if (count == 0) {
    async__text_add(text, "%sno unfinished task\n", indent);
    return;
  }
  entry_t *entries = calloc(count, sizeof *entries);
  entry_t **groups = calloc(count, sizeof *groups);
  if (entries == NULL || groups == NULL) abort();
  size_t n = 0;
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->state == ASYNC__TASK_DONE) continue;
    entries[n] = (entry_t){task, make_key(rt, task), n};
    n++;
  }
  qsort(entries, n, sizeof *entries, compare_entries);
  size_t group_count = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && strcmp(entries[j].key, entries[i].key) == 0) j++;
    groups[group_count] = &entries[i];
    group_count++;
    i = j;
  }
  /* Groups in the order of their first task; the sizes follow. */
  qsort(groups, group_count, sizeof *groups, compare_groups);
  for (size_t g = 0; g < group_count; g++) {
    entry_t *first = groups[g];
    size_t size = 1;
    while (first + size < entries + n &&
           strcmp(first[size].key, first->key) == 0)
      size++;
    add_group(rt, text, indent, first, size, finding);
  }
  for (size_t i = 0; i < n; i++) free(entries[i].key);
  free(entries);
  free(groups);
}

void async_dump_tasks(FILE *out) {
  async__runtime_t *rt = async__rt;
  if (out == NULL) out = stderr;
  if (rt == NULL) {
    fprintf(out, "async: task dump: no async_run() on this thread\n");
    return;
  }
  size_t count = rt->unfinished;
  async__text_t text = {0};
  async__text_add(&text, "async: task dump at %.3f s: %zu unfinished task%s\n",
                  (double)async__now() / 1e9, count, count == 1 ? "" : "s");
  async__dump_tasks(rt, &text, "  ", NULL);
  fflush(stdout);
  fputs(async__text_str(&text), out);
  fflush(out);
  async__text_free(&text);
}
