/* hello.c: ex1-hello, wrong: part 2 returns without waiting for its tasks. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.h"

/* ---- Part 1: asyncio.run(main()) where main awaits one task ---- */

/* A task is a plain function `int fn(void *arg)`: what `async def` is in
 * Python. Its return value is its result; a negative one is an error. */
static int say_hello(void *arg) {
  (void)arg;
  printf("Hello world!\n");
  return 0;
}

int hello_world(void) {
  /* asyncio.create_task(say_hello()): the task is created, but it does not
   * run yet. It runs once this task blocks, which the join below does. */
  async_task_t *task = async_spawn("hello", say_hello, NULL);
  if (task == NULL) return UV_ENOMEM;
  /* `await task`. Without it this function would return, main would end,
   * and async_run() would cancel the task before it ever printed: the
   * classic "nothing happened" of a first asyncio program. */
  int result = async_task_join(task);
  /* The handle is ours until we give it back. */
  async_task_release(task);
  return result;
}

/* ---- Part 2: many tasks, each sleeping between its prints ---- */

/* What one task needs. Each task gets a struct of its own: handing every
 * task the address of the same loop counter would have them all read it
 * after the loop moved on, and print the same (wrong) id. */
typedef struct coroutine {
  int id;
  int rounds;
  double interval;
} coroutine_t;

static int coroutine(void *arg) {
  const coroutine_t *self = arg;
  for (int round = 1; round <= self->rounds; round++) {
    /* Sleep *between* prints: none before the first, none after the last,
     * so that the whole run takes (rounds - 1) * interval. */
    if (round > 1) {
      /* async_sleep, never sleep() or usleep(): those stop the whole
       * thread, so every other task would stop with this one. This one
       * parks only this task, and the loop runs the others meanwhile. */
      int rc = async_sleep(self->interval);
      if (rc < 0) return rc; /* cancelled: stop at once */
    }
    printf(HELLO_COROUTINE_LINE " %d\n", self->id);
  }
  return 0;
}

int hello_coroutines(int tasks, int rounds, double interval) {
  if (tasks < 1 || rounds < 1 || interval < 0) return UV_EINVAL;
  coroutine_t *coroutines = calloc((size_t)tasks, sizeof *coroutines);
  async_task_t **handles = calloc((size_t)tasks, sizeof *handles);
  int *results = calloc((size_t)tasks, sizeof *results);
  if (coroutines == NULL || handles == NULL || results == NULL) {
    free(coroutines);
    free(handles);
    free(results);
    return UV_ENOMEM;
  }

  /* Start them all first, and only then wait. Spawning one and joining it
   * before spawning the next would run them one after the other: N times
   * as long, with no concurrency at all. */
  int started = 0, result = 0;
  for (int i = 0; i < tasks; i++) {
    coroutines[i] = (coroutine_t){i + 1, rounds, interval};
    char name[32];
    snprintf(name, sizeof name, "coroutine-%d", i + 1);
    handles[i] = async_spawn(name, coroutine, &coroutines[i]);
    if (handles[i] == NULL) {
      result = UV_ENOMEM;
      break;
    }
    started++;
  }
  /* Out of memory half way: the ones started must not print on. */
  for (int i = 0; result < 0 && i < started; i++) async_task_cancel(handles[i]);

  /* asyncio.gather(*tasks, return_exceptions=True): wait for every one of
   * them, even if one fails, because they all read coroutines[], which is
   * freed below. While this task waits, the loop runs the others: each
   * prints, sleeps, and while it sleeps the next one prints. */
  int gathered = 0; /* Wrong: no gather; the tasks are cancelled unrun. */
  if (result == 0) result = gathered;
  for (int i = 0; i < started; i++) {
    if (result == 0 && results[i] < 0) result = results[i];
    async_task_release(handles[i]);
  }
  free(coroutines);
  free(handles);
  free(results);
  return result;
}
