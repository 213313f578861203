/* queue.c: async_queue_t, asyncio.Queue with maxsize, task_done and join.
 *
 * Items live in a ring buffer of pointers: allocated once at maxsize for a
 * bounded queue (a put never fails for lack of memory), doubled as needed
 * for an unbounded one. Tasks that wait for an item (getters) or for space
 * (putters) queue in two wait lists.
 *
 * Unlike the lock, the queue follows asyncio's wake-and-recheck: a put wakes
 * the first getter, which takes an item only once it runs, and waits again
 * (at the back) if someone else got there first. A hand-off would have to
 * pass items to tasks that have not run yet, and get_nowait() from outside
 * the line would then see an empty queue that put_nowait() just filled. The
 * cost of re-checking is the cancellation rule: a woken getter that is
 * cancelled wakes the next getter if items remain, or an item could sit in
 * the queue while a getter sleeps; likewise for putters and free space.
 *
 * unfinished counts items put and not yet marked done; the `finished` event
 * is set whenever it is zero, which is all join() waits for.
 */
#include "internal.h"

enum { FIRST_UNBOUNDED_CAPACITY = 16 };

int async_queue_init(async_queue_t *queue, size_t maxsize) {
  if (queue == NULL)
    return async__misuse("async_queue_init", UV_EINVAL, "queue is NULL");
  size_t capacity = maxsize != 0 ? maxsize : FIRST_UNBOUNDED_CAPACITY;
  if (capacity > SIZE_MAX / sizeof(void *)) return UV_ENOMEM;
  void **items = malloc(capacity * sizeof *items);
  if (items == NULL) return UV_ENOMEM;
  queue->items = items;
  queue->head = queue->count = 0;
  queue->capacity = capacity;
  queue->maxsize = maxsize;
  queue->unfinished = 0;
  async__list_init(&queue->getters);
  async__list_init(&queue->putters);
  async_event_init(&queue->finished);
  async_event_set(&queue->finished); /* nothing is unfinished yet */
  return 0;
}

void async_queue_destroy(async_queue_t *queue) {
  if (queue == NULL) return;
  if (!async__list_empty(&queue->getters) ||
      !async__list_empty(&queue->putters) ||
      !async__list_empty(&queue->finished.waiters)) {
    /* Freeing would pull the storage from under the waiting tasks. */
    async__misuse("async_queue_destroy", UV_EBUSY,
                  "tasks still wait on the queue; it was not destroyed");
    return;
  }
  free(queue->items);
  queue->items = NULL;
  queue->head = queue->count = queue->capacity = 0;
}

static bool is_full(const async_queue_t *queue) {
  return queue->maxsize != 0 && queue->count >= queue->maxsize;
}

/* Room for one more item in an unbounded queue: doubles the ring, putting
 * the oldest item first. */
static int grow(async_queue_t *queue) {
  if (queue->capacity > SIZE_MAX / 2 / sizeof(void *)) return UV_ENOMEM;
  size_t capacity = queue->capacity * 2;
  void **items = malloc(capacity * sizeof *items);
  if (items == NULL) return UV_ENOMEM;
  for (size_t i = 0; i < queue->count; i++)
    items[i] = queue->items[(queue->head + i) % queue->capacity];
  free(queue->items);
  queue->items = items;
  queue->head = 0;
  queue->capacity = capacity;
  return 0;
}

int async_queue_put_nowait(async_queue_t *queue, void *item) {
  if (queue == NULL)
    return async__misuse("async_queue_put_nowait", UV_EINVAL, "queue is NULL");
  if (queue->items == NULL)
    return async__misuse("async_queue_put_nowait", UV_EINVAL,
                         "the queue is not initialised (or destroyed)");
  if (is_full(queue)) return UV_EAGAIN;
  if (queue->count == queue->capacity) {
    int rc = grow(queue);
    if (rc != 0) return rc;
  }
  size_t tail = queue->head + queue->count;
  if (tail >= queue->capacity) /* cheaper than %, on the hand-off path */
    tail -= queue->capacity;
  queue->items[tail] = item;
  queue->count++;
  if (queue->unfinished++ == 0) async_event_clear(&queue->finished);
  async__wake_first(&queue->getters);
  return 0;
}

int async_queue_get_nowait(async_queue_t *queue, void **item) {
  if (queue == NULL || item == NULL)
    return async__misuse("async_queue_get_nowait", UV_EINVAL,
                         "queue or item is NULL");
  if (queue->count == 0) return UV_EAGAIN;
  *item = queue->items[queue->head];
  if (++queue->head == queue->capacity) queue->head = 0;
  queue->count--;
  async__wake_first(&queue->putters);
  return 0;
}

/* Waits in `line` until woken or interrupted. Woken means "look again", not
 * "it is yours": the caller re-checks. Interrupted after being woken, the
 * waiter passes the wakeup on if what it was woken for is still there. */
static int wait_in_line(async_queue_t *queue, struct async__list *line,
                        const char *what,
                        bool (*still_there)(const async_queue_t *queue)) {
  async__waiter_t waiter;
  async__waiter_enqueue(line, &waiter);
  int rc;
  do {
    rc = async__park(what, queue, true);
  } while (rc == 0 && !waiter.woken);
  if (rc != 0) {
    if (!waiter.woken)
      async__list_remove(&waiter.link);
    else if (still_there(queue))
      async__wake_first(line);
  }
  return rc;
}

static bool has_space(const async_queue_t *queue) {
  return !is_full(queue);
}

static bool has_items(const async_queue_t *queue) {
  return queue->count != 0;
}

int(async_queue_put)(async_queue_t *queue, void *item) {
  int rc = async__enter_blocking("async_queue_put");
  if (rc != 0) return rc;
  if (queue == NULL)
    return async__misuse("async_queue_put", UV_EINVAL, "queue is NULL");
  while (is_full(queue)) {
    rc = wait_in_line(queue, &queue->putters, "space in a queue", has_space);
    if (rc != 0) return rc;
  }
  return async_queue_put_nowait(queue, item);
}

int(async_queue_get)(async_queue_t *queue, void **item) {
  int rc = async__enter_blocking("async_queue_get");
  if (rc != 0) return rc;
  if (queue == NULL || item == NULL)
    return async__misuse("async_queue_get", UV_EINVAL, "queue or item is NULL");
  while (queue->count == 0) {
    rc =
        wait_in_line(queue, &queue->getters, "an item from a queue", has_items);
    if (rc != 0) return rc;
  }
  return async_queue_get_nowait(queue, item);
}

size_t async_queue_size(const async_queue_t *queue) {
  if (queue == NULL) {
    async__misuse("async_queue_size", UV_EINVAL, "queue is NULL");
    return 0;
  }
  return queue->count;
}

bool async_queue_empty(const async_queue_t *queue) {
  if (queue == NULL) {
    async__misuse("async_queue_empty", UV_EINVAL, "queue is NULL");
    return true;
  }
  return queue->count == 0;
}

bool async_queue_full(const async_queue_t *queue) {
  if (queue == NULL) {
    async__misuse("async_queue_full", UV_EINVAL, "queue is NULL");
    return false;
  }
  return is_full(queue);
}

int async_queue_task_done(async_queue_t *queue) {
  if (queue == NULL)
    return async__misuse("async_queue_task_done", UV_EINVAL, "queue is NULL");
  if (queue->unfinished == 0)
    return async__misuse("async_queue_task_done", UV_EINVAL,
                         "called more times than there were items put");
  if (--queue->unfinished == 0) async_event_set(&queue->finished);
  return 0;
}

int(async_queue_join)(async_queue_t *queue) {
  int rc = async__enter_blocking("async_queue_join");
  if (rc != 0) return rc;
  if (queue == NULL)
    return async__misuse("async_queue_join", UV_EINVAL, "queue is NULL");
  return async__event_wait(&queue->finished, "async_queue_join",
                           "a queue to be joined", queue);
}
