/* lockorder.c: check mode's deadlock detection and lock-order graph.
 *
 * Two detectors share the locks' bookkeeping (which task holds what, taken
 * where):
 *
 * - Deadlock, at once: when a task is about to wait for a lock, follow the
 *   owner chain (the lock's owner, the lock that owner waits for, its
 *   owner...). Back at the caller, the tasks wait for each other for ever:
 *   report the cycle and fail the acquire with ASYNC_EDEADLK.
 * - Potential deadlock, from the order locks were ever taken (lockdep's
 *   idea, over lock instances rather than classes): taking B while holding
 *   A records the edge A -> B; an edge that closes a cycle means some
 *   schedule can deadlock, even if this one did not. An edge remembers the
 *   other locks and semaphores held around it every time it was taken (its
 *   guards): a cycle every edge of which holds the same guard, whose permits
 *   are fewer than the cycle is long, cannot close (one waiter lock, an N-1
 *   seat semaphore). The search runs over (lock, which of the new edge's
 *   guards the path has lost so far), breadth first, so that the shortest,
 *   most dangerous cycle of each kind is judged.
 *
 * Reports group identical entries by call sites, so a thousand
 * philosophers are one pattern with a count, and the same pattern is
 * reported once per run.
 *
 * Rejected: lockdep's lock classes (locks grouped by where they were
 * initialised). In C the forks of a table are one class, so the class
 * graph has a self-loop for the correct "lower fork first" solution too;
 * instances tell the two apart, at the price of one node per lock.
 */
#include "check.h"

#include <inttypes.h>

typedef struct async__lock_node node_t;
typedef struct edge edge_t;

/* A lock or semaphore seen in check mode. */
struct async__lock_node {
  const void *object;
  uint64_t serial; /* 1, 2... in order of first sight */
  bool is_semaphore;
  int capacity; /* 1 for a lock; the most permits seen for a semaphore */
  int holders;  /* tasks holding it now (semaphores) */
  size_t index; /* in graph->nodes */
  char *name;   /* async_*_set_name, or NULL */
  char label[40];
  char abandoned_by[48]; /* the task that returned holding it */
  edge_t **out, **in;
  size_t out_count, out_capacity, in_count, in_capacity;
};

/* A lock or semaphore held around an edge. */
typedef struct guard {
  uint64_t serial;
  int capacity;
} guard_t;

/* `to` was taken while `from` was held. */
struct edge {
  node_t *from, *to;
  async_site_t from_site, to_site; /* where each was taken */
  char task[48];                   /* who took it first */
  guard_t *guards;                 /* held around it every time */
  size_t guard_count;
};

/* An open-addressing table from 64-bit keys (never 0 or ~0) to pointers. */
typedef struct table {
  uint64_t *keys;
  void **values;
  size_t capacity, used; /* used counts tombstones too */
} table_t;
#define TOMBSTONE UINT64_MAX

typedef struct graph {
  table_t nodes_by_object, edges_by_pair;
  table_t live_tasks; /* tasks with check data, by address */
  node_t **nodes;
  size_t node_count, node_capacity;
  uint64_t next_serial;
  /* The search's scratch space, one slot per (node, guard mask). */
  uint32_t *stamp;
  uint32_t stamp_now;
  size_t *parent;       /* state we came from */
  edge_t **parent_edge; /* edge we came by */
  size_t *queue;
  size_t scratch_capacity;
  char **reported; /* signatures of the cycles reported this run */
  size_t reported_count;
} graph_t;

static _Thread_local graph_t *graph;

/* ---- The table ---- */

static uint64_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdu;
  key ^= key >> 33;
  return key;
}

static size_t table_find(const table_t *table, uint64_t key) {
  size_t mask = table->capacity - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask)
    if (table->keys[i] == key || table->keys[i] == 0) return i;
}

static void *table_get(const table_t *table, uint64_t key) {
  if (table->capacity == 0) return NULL;
  size_t i = table_find(table, key);
  return table->keys[i] == key ? table->values[i] : NULL;
}

static void table_put(table_t *table, uint64_t key, void *value);

static void table_grow(table_t *table) {
  table_t old = *table;
  size_t capacity = old.capacity ? old.capacity * 2 : 64;
  table->keys = calloc(capacity, sizeof *table->keys);
  table->values = calloc(capacity, sizeof *table->values);
  if (table->keys == NULL || table->values == NULL) abort();
  table->capacity = capacity;
  table->used = 0;
  for (size_t i = 0; i < old.capacity; i++)
    if (old.keys[i] != 0 && old.keys[i] != TOMBSTONE)
      table_put(table, old.keys[i], old.values[i]);
  free(old.keys);
  free(old.values);
}

static void table_put(table_t *table, uint64_t key, void *value) {
  if ((table->used + 1) * 4 > table->capacity * 3) table_grow(table);
  size_t i = table_find(table, key);
  if (table->keys[i] == 0) table->used++;
  table->keys[i] = key;
  table->values[i] = value;
}

static void table_delete(table_t *table, uint64_t key) {
  if (table->capacity == 0) return;
  size_t i = table_find(table, key);
  if (table->keys[i] == key) {
    table->keys[i] = TOMBSTONE;
    table->values[i] = NULL;
  }
}

static void table_free(table_t *table) {
  free(table->keys);
  free(table->values);
  *table = (table_t){0};
}

/* ---- Nodes ---- */

static graph_t *the_graph(void) {
  if (graph == NULL) {
    graph = calloc(1, sizeof *graph);
    if (graph == NULL) abort();
    graph->next_serial = 1;
  }
  return graph;
}

static void *grow_array(void *array, size_t *capacity, size_t size) {
  size_t grown = *capacity ? *capacity * 2 : 4;
  void *bigger = realloc(array, grown * size);
  if (bigger == NULL) abort();
  *capacity = grown;
  return bigger;
}

static uint64_t object_key(const void *object) {
  return (uint64_t)(uintptr_t)object;
}

static node_t *node_for(const void *object, bool is_semaphore) {
  graph_t *g = the_graph();
  node_t *node = table_get(&g->nodes_by_object, object_key(object));
  if (node != NULL) return node;
  node = calloc(1, sizeof *node);
  if (node == NULL) abort();
  node->object = object;
  node->serial = g->next_serial++;
  node->is_semaphore = is_semaphore;
  node->capacity = 1;
  snprintf(node->label, sizeof node->label, "%s #%" PRIu64,
           is_semaphore ? "semaphore" : "lock", node->serial);
  if (g->node_count == g->node_capacity)
    g->nodes = grow_array(g->nodes, &g->node_capacity, sizeof *g->nodes);
  node->index = g->node_count;
  g->nodes[g->node_count++] = node;
  table_put(&g->nodes_by_object, object_key(object), node);
  return node;
}

static const char *node_name(const node_t *node) {
  return node->name != NULL ? node->name : node->label;
}

static uint64_t edge_key(const node_t *from, const node_t *to) {
  /* Serials stay far below 2^32 in any real run. */
  return (from->serial << 32) ^ to->serial;
}

static void unlink_edge(edge_t **edges, size_t *count, const edge_t *edge) {
  for (size_t i = 0; i < *count; i++) {
    if (edges[i] == edge) {
      memmove(&edges[i], &edges[i + 1], (*count - i - 1) * sizeof *edges);
      (*count)--;
      return;
    }
  }
}

static void edge_free(graph_t *g, edge_t *edge) {
  table_delete(&g->edges_by_pair, edge_key(edge->from, edge->to));
  free(edge->guards);
  free(edge);
}

static void node_free(node_t *node) {
  free(node->out);
  free(node->in);
  free(node->name);
  free(node);
}

/* Forgets a node and its edges: its object was initialised again, and is
 * a new lock as far as the order goes. */
static void node_kill(graph_t *g, node_t *node) {
  while (node->out_count != 0) {
    edge_t *edge = node->out[--node->out_count];
    unlink_edge(edge->to->in, &edge->to->in_count, edge);
    edge_free(g, edge);
  }
  while (node->in_count != 0) {
    edge_t *edge = node->in[--node->in_count];
    unlink_edge(edge->from->out, &edge->from->out_count, edge);
    edge_free(g, edge);
  }
  table_delete(&g->nodes_by_object, object_key(node->object));
  g->nodes[node->index] = g->nodes[--g->node_count];
  g->nodes[node->index]->index = node->index;
  node_free(node);
}

void async__check_object_init(const void *object) {
  if (graph == NULL) return;
  node_t *node = table_get(&graph->nodes_by_object, object_key(object));
  if (node == NULL) return;
  /* Tasks may still list it as held (a lock initialised while locked is a
   * bug of its own); they keep the object, and look the node up again. */
  async__runtime_t *rt = async__rt;
  for (struct async__list *link = rt->all_tasks.next; link != &rt->all_tasks;
       link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    if (task->check == NULL) continue;
    for (size_t i = 0; i < task->check->held_count; i++)
      if (task->check->held[i].node == node) task->check->held[i].node = NULL;
  }
  node_kill(graph, node);
}

/* ---- Tasks alive ----
 *
 * A lock's owner is a plain pointer, and a task that returns holding a lock
 * (a common bug) is freed while the lock still names it. Every task with
 * check data is in this set until it is freed, and owner chains, reports
 * and dumps look a task up here before they read it. */

void async__check_task_born(const async_task_t *task) {
  table_put(&the_graph()->live_tasks, object_key(task), (void *)task);
}

void async__check_task_died(const async_task_t *task) {
  if (graph != NULL) table_delete(&graph->live_tasks, object_key(task));
}

bool async__check_task_live(const async_task_t *task) {
  return task != NULL && graph != NULL &&
         table_get(&graph->live_tasks, object_key(task)) != NULL;
}

const char *async__check_object_name(const void *object) {
  node_t *node =
      graph ? table_get(&graph->nodes_by_object, object_key(object)) : NULL;
  return node != NULL ? node_name(node) : "an untracked lock";
}

static void set_name(const void *object, bool is_semaphore, const char *name) {
  if (object == NULL || async__rt == NULL || async__rt->check == NULL) return;
  node_t *node = node_for(object, is_semaphore);
  free(node->name);
  node->name = name != NULL ? strdup(name) : NULL;
}

void async_lock_set_name(async_lock_t *lock, const char *name) {
  set_name(lock, false, name);
}

void async_semaphore_set_name(async_semaphore_t *sem, const char *name) {
  set_name(sem, true, name);
}

void async__lockorder_free(async__runtime_t *rt) {
  (void)rt;
  graph_t *g = graph;
  if (g == NULL) return;
  graph = NULL;
  for (size_t i = 0; i < g->node_count; i++) {
    node_t *node = g->nodes[i];
    for (size_t j = 0; j < node->out_count; j++) {
      free(node->out[j]->guards);
      free(node->out[j]);
    }
    node_free(node);
  }
  free(g->nodes);
  table_free(&g->nodes_by_object);
  table_free(&g->edges_by_pair);
  table_free(&g->live_tasks);
  free(g->stamp);
  free(g->parent);
  free(g->parent_edge);
  free(g->queue);
  for (size_t i = 0; i < g->reported_count; i++) free(g->reported[i]);
  free(g->reported);
  free(g);
}

/* ---- What each task holds ---- */

static void held_add(async_task_t *task, const void *object, node_t *node,
                     async_site_t site) {
  bool is_semaphore = node->is_semaphore;
  struct async__check_task *data = async__check_task(task);
  if (data->held_count == data->held_capacity)
    data->held =
        grow_array(data->held, &data->held_capacity, sizeof *data->held);
  data->held[data->held_count++] =
      (async__held_t){object, node, site, is_semaphore};
}

/* Removes the latest entry for object; false if the task had none. */
static bool held_remove(async_task_t *task, const void *object) {
  struct async__check_task *data = task->check;
  if (data == NULL) return false;
  for (size_t i = data->held_count; i-- > 0;) {
    if (data->held[i].object == object) {
      memmove(&data->held[i], &data->held[i + 1],
              (data->held_count - i - 1) * sizeof *data->held);
      data->held_count--;
      return true;
    }
  }
  return false;
}

static node_t *held_node(async__held_t *held) {
  if (held->node == NULL)
    held->node = node_for(held->object, held->is_semaphore);
  return held->node;
}

/* ---- Reports ---- */

static const char *site_text(async_site_t site, char *buffer, size_t size) {
  return async__site_text(site, buffer, size);
}

static bool same_site(async_site_t a, async_site_t b) {
  if (a.line != b.line) return false;
  if (a.file == b.file) return true;
  return a.file != NULL && b.file != NULL && strcmp(a.file, b.file) == 0;
}

/* Identical entries of a cycle: the same pair of call sites. */
typedef struct pattern {
  async_site_t first, second;
  size_t count;
  size_t example; /* the first entry like it */
} pattern_t;

/* Groups entries[i] = (firsts[i], seconds[i]) by site pair, in order of
 * first appearance. Returns the number of patterns (<= count). */
static size_t group_patterns(const async_site_t *firsts,
                             const async_site_t *seconds, size_t count,
                             pattern_t *patterns) {
  size_t pattern_count = 0;
  for (size_t i = 0; i < count; i++) {
    size_t p = 0;
    while (p < pattern_count && !(same_site(patterns[p].first, firsts[i]) &&
                                  same_site(patterns[p].second, seconds[i])))
      p++;
    if (p == pattern_count)
      patterns[pattern_count++] = (pattern_t){firsts[i], seconds[i], 0, i};
    patterns[p].count++;
  }
  return pattern_count;
}

/* "'P0', 'P1', 'P2' and 997 more" over the entries of one pattern. */
static void add_names(async__text_t *text, const char *const *names,
                      const pattern_t *pattern, const pattern_t *patterns,
                      const async_site_t *firsts, const async_site_t *seconds,
                      size_t count) {
  (void)patterns;
  size_t shown = 0;
  for (size_t i = pattern->example; i < count && shown < 3; i++) {
    if (!same_site(firsts[i], pattern->first) ||
        !same_site(seconds[i], pattern->second))
      continue;
    async__text_add(text, "%s'%s'", shown ? ", " : "", names[i]);
    shown++;
  }
  if (pattern->count > shown)
    async__text_add(text, " and %zu more", pattern->count - shown);
}

static const char *const fix_text =
    "  fix: take the locks in one global order (say, the lower-numbered one "
    "first), or let at most N-1 of the N tasks compete at once (a semaphore "
    "of N-1 seats), or take one lock around taking both.";

/* ---- Deadlock: the owner chain ---- */

static bool waits_for_a_lock(const async_task_t *task) {
  return task->state == ASYNC__TASK_PARKED && task->waiting_for != NULL &&
         strcmp(task->waiting_for, "a lock") == 0;
}

/* The number of tasks in the cycle that self closes by waiting for lock, or
 * 0 if the chain of owners does not lead back to self. */
static size_t owner_cycle(const async_lock_t *lock, const async_task_t *self,
                          size_t limit) {
  const async_task_t *owner = lock->owner;
  size_t length = 1;
  while (owner != self) {
    if (!async__check_task_live(owner) || !waits_for_a_lock(owner) ||
        ++length > limit)
      return 0;
    owner = ((const async_lock_t *)owner->waiting_on)->owner;
  }
  return length;
}

static void report_deadlock(async_lock_t *lock, async_task_t *self,
                            size_t length) {
  /* Entry i: a task, the lock it holds (the one entry i - 1 waits for) and
   * where it took it, and where it waits for the next one. */
  const char **names = calloc(length, sizeof *names);
  const void **held = calloc(length, sizeof *held);
  const void **wanted = calloc(length, sizeof *wanted);
  async_site_t *held_at = calloc(length, sizeof *held_at);
  async_site_t *waits_at = calloc(length, sizeof *waits_at);
  pattern_t *patterns = calloc(length, sizeof *patterns);
  if (!names || !held || !wanted || !held_at || !waits_at || !patterns) abort();
  const async_lock_t *waiting_for = lock;
  async_task_t *task = self;
  for (size_t i = 0; i < length; i++) {
    names[i] = async_task_name(task);
    wanted[i] = waiting_for;
    waits_at[i] = task == self ? async__site : task->waiting_at;
    async_task_t *next = waiting_for->owner;
    held[(i + 1) % length] = waiting_for;
    held_at[(i + 1) % length] = waiting_for->acquired_at;
    task = next;
    if (task != self) waiting_for = (const async_lock_t *)task->waiting_on;
  }

  async__finding_t finding;
  async__finding_init(&finding, "deadlock");
  char a[512], b[512];
  async__text_add(&finding.text,
                  "deadlock: %zu tasks wait for each other in a cycle, and "
                  "none of them can go on:\n",
                  length);
  size_t pattern_count = group_patterns(held_at, waits_at, length, patterns);
  for (size_t p = 0; p < pattern_count; p++) {
    const pattern_t *pattern = &patterns[p];
    size_t i = pattern->example;
    if (pattern->count == 1) {
      async__text_add(
          &finding.text,
          "  task '%s' holds %s (taken at %s) and waits at %s for %s\n",
          names[i], async__check_object_name(held[i]),
          site_text(held_at[i], a, sizeof a),
          site_text(waits_at[i], b, sizeof b),
          async__check_object_name(wanted[i]));
    } else {
      async__text_add(&finding.text, "  %zu tasks in the cycle (",
                      pattern->count);
      add_names(&finding.text, names, pattern, patterns, held_at, waits_at,
                length);
      async__text_add(&finding.text,
                      "), each holding the lock acquired at %s and waiting "
                      "for the next one's at %s\n",
                      site_text(held_at[i], a, sizeof a),
                      site_text(waits_at[i], b, sizeof b));
    }
  }
  async__text_add(&finding.text,
                  "  task '%s' closed the cycle at %s: that acquire returns "
                  "ASYNC_EDEADLK.\n%s",
                  names[0], site_text(waits_at[0], a, sizeof a), fix_text);
  for (size_t i = 0; i < length; i++) {
    async__finding_task(&finding, names[i]);
    async__finding_lock(&finding, async__check_object_name(wanted[i]));
  }
  for (size_t p = 0; p < pattern_count; p++) {
    async__finding_site(&finding, patterns[p].first);
    async__finding_site(&finding, patterns[p].second);
  }
  async__finding_emit(&finding);
  free(names);
  free(held);
  free(wanted);
  free(held_at);
  free(waits_at);
  free(patterns);
}

/* ---- Potential deadlock: the lock-order graph ---- */

enum { MAX_GUARDS = 6 }; /* guards of the new edge the search follows */

static bool has_guard(const edge_t *edge, uint64_t serial) {
  for (size_t i = 0; i < edge->guard_count; i++)
    if (edge->guards[i].serial == serial) return true;
  return false;
}

/* The bits of the new edge's guards that `edge` does not hold. */
static unsigned lost_guards(const edge_t *closing, const edge_t *edge,
                            size_t guard_count) {
  unsigned lost = 0;
  for (size_t j = 0; j < guard_count; j++)
    if (!has_guard(edge, closing->guards[j].serial)) lost |= 1u << j;
  return lost;
}

/* A cycle of `length` locks, every edge of which holds the new edge's
 * guards but the `lost` ones, can close unless a kept guard has fewer
 * permits than the cycle has locks. */
static bool can_close(const edge_t *closing, size_t guard_count, unsigned lost,
                      size_t length) {
  for (size_t j = 0; j < guard_count; j++)
    if (!(lost & (1u << j)) && (size_t)closing->guards[j].capacity < length)
      return false;
  return true;
}

static void scratch_reserve(graph_t *g, size_t states) {
  if (states <= g->scratch_capacity) return;
  size_t capacity = g->scratch_capacity ? g->scratch_capacity : 256;
  while (capacity < states) capacity *= 2;
  free(g->stamp);
  free(g->parent);
  free(g->parent_edge);
  free(g->queue);
  g->stamp = calloc(capacity, sizeof *g->stamp);
  g->parent = malloc(capacity * sizeof *g->parent);
  g->parent_edge = malloc(capacity * sizeof *g->parent_edge);
  g->queue = malloc(capacity * sizeof *g->queue);
  if (!g->stamp || !g->parent || !g->parent_edge || !g->queue) abort();
  g->scratch_capacity = capacity;
  g->stamp_now = 0;
}

static void report_cycle(graph_t *g, edge_t *closing, edge_t **path,
                         size_t path_length);

/* Looks for a cycle closed by `closing` that its guards do not prevent;
 * reports the shortest one found. */
static void search_cycle(graph_t *g, edge_t *closing) {
  size_t guard_count =
      closing->guard_count < MAX_GUARDS ? closing->guard_count : MAX_GUARDS;
  size_t masks = (size_t)1 << guard_count;
  scratch_reserve(g, g->node_count * masks);
  if (++g->stamp_now == 0) {
    memset(g->stamp, 0, g->scratch_capacity * sizeof *g->stamp);
    g->stamp_now = 1;
  }
  /* Edges that are not followed stand for guards the search ignores. */
  unsigned start_lost = 0;
  size_t start = closing->to->index * masks + start_lost;
  size_t head = 0, tail = 0;
  g->stamp[start] = g->stamp_now;
  g->queue[tail++] = start;
  while (head < tail) {
    size_t state = g->queue[head++];
    node_t *node = g->nodes[state / masks];
    unsigned lost = (unsigned)(state % masks);
    for (size_t k = 0; k < node->out_count; k++) {
      edge_t *edge = node->out[k];
      unsigned next_lost = lost | lost_guards(closing, edge, guard_count);
      size_t next = edge->to->index * masks + next_lost;
      if (g->stamp[next] == g->stamp_now) continue;
      g->stamp[next] = g->stamp_now;
      g->parent[next] = state;
      g->parent_edge[next] = edge;
      if (edge->to == closing->from) {
        size_t length = 1;
        for (size_t s = next; s != start; s = g->parent[s]) length++;
        if (!can_close(closing, guard_count, next_lost, length)) continue;
        edge_t **path = malloc((length - 1) * sizeof *path);
        if (path == NULL) abort();
        size_t i = length - 1;
        for (size_t s = next; s != start; s = g->parent[s])
          path[--i] = g->parent_edge[s];
        report_cycle(g, closing, path, length - 1);
        free(path);
        return;
      }
      g->queue[tail++] = next;
    }
  }
}

static void report_cycle(graph_t *g, edge_t *closing, edge_t **path,
                         size_t path_length) {
  size_t length = path_length + 1;
  edge_t **cycle = malloc(length * sizeof *cycle);
  async_site_t *firsts = malloc(length * sizeof *firsts);
  async_site_t *seconds = malloc(length * sizeof *seconds);
  const char **names = malloc(length * sizeof *names);
  pattern_t *patterns = malloc(length * sizeof *patterns);
  if (!cycle || !firsts || !seconds || !names || !patterns) abort();
  cycle[0] = closing;
  memcpy(cycle + 1, path, path_length * sizeof *path);
  for (size_t i = 0; i < length; i++) {
    firsts[i] = cycle[i]->from_site;
    seconds[i] = cycle[i]->to_site;
    names[i] = cycle[i]->task;
  }
  size_t pattern_count = group_patterns(firsts, seconds, length, patterns);

  /* Once per run for each pattern of sites. */
  async__text_t signature = {0};
  char a[512], b[512];
  for (size_t p = 0; p < pattern_count; p++)
    async__text_add(
        &signature, "%s>%s*%zu;", site_text(patterns[p].first, a, sizeof a),
        site_text(patterns[p].second, b, sizeof b), patterns[p].count);
  bool seen = false;
  for (size_t i = 0; i < g->reported_count && !seen; i++)
    seen = strcmp(g->reported[i], async__text_str(&signature)) == 0;
  if (seen) {
    async__text_free(&signature);
  } else {
    if ((g->reported_count & (g->reported_count - 1)) == 0) {
      size_t capacity = g->reported_count ? g->reported_count * 2 : 1;
      g->reported = realloc(g->reported, capacity * sizeof *g->reported);
      if (g->reported == NULL) abort();
    }
    g->reported[g->reported_count++] = signature.data;

    async__finding_t finding;
    async__finding_init(&finding, "potential-deadlock");
    async__text_add(&finding.text,
                    "potential deadlock: %zu locks are taken in an order that "
                    "forms a cycle; this run went through, but another "
                    "schedule can hang:\n",
                    length);
    for (size_t p = 0; p < pattern_count; p++) {
      const pattern_t *pattern = &patterns[p];
      const edge_t *edge = cycle[pattern->example];
      if (pattern->count == 1 && edge == closing) continue; /* below */
      if (pattern->count == 1) {
        async__text_add(&finding.text,
                        "  task '%s' took %s at %s while holding %s (taken "
                        "at %s)\n",
                        edge->task, node_name(edge->to),
                        site_text(edge->to_site, a, sizeof a),
                        node_name(edge->from),
                        site_text(edge->from_site, b, sizeof b));
      } else {
        async__text_add(&finding.text, "  %zu tasks in the cycle (",
                        pattern->count);
        add_names(&finding.text, names, pattern, patterns, firsts, seconds,
                  length);
        async__text_add(&finding.text,
                        "), each holding the lock acquired at %s and taking "
                        "the next one's at %s\n",
                        site_text(edge->from_site, a, sizeof a),
                        site_text(edge->to_site, b, sizeof b));
      }
    }
    async__text_add(&finding.text,
                    "  the cycle closed when task '%s' took %s at %s while "
                    "holding %s (taken at %s)\n%s",
                    closing->task, node_name(closing->to),
                    site_text(closing->to_site, a, sizeof a),
                    node_name(closing->from),
                    site_text(closing->from_site, b, sizeof b), fix_text);
    for (size_t i = 0; i < length; i++) {
      async__finding_task(&finding, cycle[i]->task);
      async__finding_lock(&finding, node_name(cycle[i]->from));
    }
    for (size_t p = 0; p < pattern_count; p++) {
      async__finding_site(&finding, patterns[p].first);
      async__finding_site(&finding, patterns[p].second);
    }
    async__finding_emit(&finding);
  }
  free(cycle);
  free(firsts);
  free(seconds);
  free(names);
  free(patterns);
}

/* Records from -> to, taken by task with `guards` held around it; searches
 * for a cycle when the edge is new or lost a guard. */
static void add_edge(graph_t *g, node_t *from, node_t *to,
                     async_site_t from_site, async_site_t to_site,
                     const async_task_t *task, const guard_t *guards,
                     size_t guard_count) {
  uint64_t key = edge_key(from, to);
  edge_t *edge = table_get(&g->edges_by_pair, key);
  if (edge != NULL) {
    size_t kept = 0;
    for (size_t i = 0; i < edge->guard_count; i++) {
      bool still = false;
      for (size_t j = 0; j < guard_count && !still; j++)
        still = guards[j].serial == edge->guards[i].serial;
      if (still) edge->guards[kept++] = edge->guards[i];
    }
    if (kept == edge->guard_count) return;
    edge->guard_count = kept;
    search_cycle(g, edge);
    return;
  }
  edge = calloc(1, sizeof *edge);
  if (edge == NULL) abort();
  edge->from = from;
  edge->to = to;
  edge->from_site = from_site;
  edge->to_site = to_site;
  snprintf(edge->task, sizeof edge->task, "%s", async_task_name(task));
  if (guard_count != 0) {
    edge->guards = malloc(guard_count * sizeof *guards);
    if (edge->guards == NULL) abort();
    memcpy(edge->guards, guards, guard_count * sizeof *guards);
    edge->guard_count = guard_count;
  }
  table_put(&g->edges_by_pair, key, edge);
  if (from->out_count == from->out_capacity)
    from->out = grow_array(from->out, &from->out_capacity, sizeof *from->out);
  from->out[from->out_count++] = edge;
  if (to->in_count == to->in_capacity)
    to->in = grow_array(to->in, &to->in_capacity, sizeof *to->in);
  to->in[to->in_count++] = edge;
  search_cycle(g, edge);
}

/* The current task is about to take `object` (node `to`) at `site`: an
 * edge from everything it holds. */
static void add_edges_from_held(async_task_t *self, const void *object,
                                node_t *to, async_site_t site) {
  struct async__check_task *data = self->check;
  if (data == NULL || data->held_count == 0) return;
  graph_t *g = the_graph();
  enum { MAX_HELD_GUARDS = 16 };
  guard_t guards[MAX_HELD_GUARDS];
  for (size_t i = 0; i < data->held_count; i++) {
    async__held_t *from = &data->held[i];
    if (from->object == object) continue;
    size_t guard_count = 0;
    for (size_t j = 0; j < data->held_count; j++) {
      async__held_t *other = &data->held[j];
      if (j == i || other->object == object || other->object == from->object)
        continue;
      if (guard_count == MAX_HELD_GUARDS) break;
      node_t *node = held_node(other);
      guards[guard_count++] = (guard_t){node->serial, node->capacity};
    }
    add_edge(g, held_node(from), to, from->site, site, self, guards,
             guard_count);
  }
}

/* ---- Locks a task returned without releasing ----
 *
 * The lock stays locked (any task may still release it, as in asyncio),
 * but its owner becomes this stand-in rather than the finished task, whose
 * memory is freed soon and may be reused by a new task that would then
 * seem to own the lock. The node keeps the name, for reports. */
static async_task_t gone_owner;

bool async__check_is_gone_owner(const async_task_t *task) {
  return task == &gone_owner;
}

const char *async__check_abandoned_by(const void *lock) {
  node_t *node =
      graph ? table_get(&graph->nodes_by_object, object_key(lock)) : NULL;
  return node != NULL && node->abandoned_by[0] ? node->abandoned_by
                                               : "a task that has finished";
}

void async__check_task_finished(async_task_t *task) {
  struct async__check_task *data = task->check;
  async__progress_task_finished(task);
  size_t kept = 0;
  for (size_t i = 0; i < data->held_count; i++) {
    async__held_t *held = &data->held[i];
    async_lock_t *lock = (async_lock_t *)held->object;
    if (held->is_semaphore || lock->owner != task) {
      data->held[kept++] = *held;
      continue;
    }
    node_t *node = held_node(held);
    snprintf(node->abandoned_by, sizeof node->abandoned_by, "%s",
             async_task_name(task));
    async__trace_lock(node->serial, node_name(node), task, NULL, held->site);
    lock->owner = &gone_owner;
  }
  data->held_count = kept;
}

/* ---- The hooks ---- */

int async__check_lock_acquire(async_lock_t *lock, bool may_fail) {
  async__runtime_t *rt = async__rt;
  async_task_t *self = rt->current;
  if (may_fail && lock->owner != NULL) {
    size_t length = owner_cycle(lock, self, rt->unfinished);
    if (length != 0) {
      report_deadlock(lock, self, length);
      return ASYNC_EDEADLK;
    }
  }
  add_edges_from_held(self, lock, node_for(lock, false), async__site);
  return 0;
}

void async__check_lock_moved(async_lock_t *lock, async_task_t *from,
                             async_task_t *to, async_site_t site) {
  bool from_live = async__check_task_live(from);
  if (from_live) held_remove(from, lock);
  node_t *node = node_for(lock, false);
  if (to != NULL) held_add(to, lock, node, site);
  async__trace_lock(node->serial, node_name(node), from_live ? from : NULL, to,
                    site);
}

void async__check_semaphore_acquire(async_semaphore_t *sem) {
  node_t *node = node_for(sem, true);
  int permits = sem->bound >= 0 ? sem->bound : sem->value + node->holders;
  if (permits > node->capacity) node->capacity = permits;
  add_edges_from_held(async__rt->current, sem, node, async__site);
}

void async__check_semaphore_taken(async_semaphore_t *sem) {
  node_t *node = node_for(sem, true);
  node->holders++;
  int permits = sem->bound >= 0 ? sem->bound : sem->value + node->holders;
  if (permits > node->capacity) node->capacity = permits;
  held_add(async__rt->current, sem, node, async__site);
}

void async__check_semaphore_released(async_semaphore_t *sem) {
  async__runtime_t *rt = async__rt;
  bool removed = rt->current != NULL && held_remove(rt->current, sem);
  /* Released by another task (a semaphore used to signal): the permit
   * leaves whichever task took it first. */
  for (struct async__list *link = rt->all_tasks.next;
       !removed && link != &rt->all_tasks; link = link->next) {
    async_task_t *task = async__container_of(link, async_task_t, all_link);
    removed = held_remove(task, sem);
  }
  if (removed) {
    node_t *node = node_for(sem, true);
    if (node->holders > 0) node->holders--;
  }
}
