/* hello.c: ex1-hello, solved another way: join each task in turn. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.h"

static int say_hello(void *arg) {
  (void)arg;
  puts("Hello world!");
  return 0;
}

int hello_world(void) {
  async_task_t *task = async_spawn(NULL, say_hello, NULL);
  if (task == NULL) return UV_ENOMEM;
  int result = async_task_join(task);
  async_task_release(task);
  return result;
}

typedef struct coroutine {
  int id;
  int rounds;
  double interval;
} coroutine_t;

/* Prints first, then sleeps before each later print. */
static int coroutine(void *arg) {
  const coroutine_t *self = arg;
  printf("%s %d\n", HELLO_COROUTINE_LINE, self->id);
  for (int round = 2; round <= self->rounds; round++) {
    int rc = async_sleep(self->interval);
    if (rc < 0) return rc;
    printf("%s %d\n", HELLO_COROUTINE_LINE, self->id);
  }
  return 0;
}

int hello_coroutines(int tasks, int rounds, double interval) {
  coroutine_t *coroutines = malloc((size_t)tasks * sizeof *coroutines);
  async_task_t **handles = malloc((size_t)tasks * sizeof *handles);
  if (coroutines == NULL || handles == NULL) {
    free(coroutines);
    free(handles);
    return UV_ENOMEM;
  }
  int spawned = 0;
  for (; spawned < tasks; spawned++) {
    coroutines[spawned] = (coroutine_t){spawned + 1, rounds, interval};
    handles[spawned] = async_spawn(NULL, coroutine, &coroutines[spawned]);
    if (handles[spawned] == NULL) break;
  }
  /* All are running by now: joining them one by one costs no concurrency,
   * since each join only waits for what runs anyway. */
  int result = spawned < tasks ? UV_ENOMEM : 0;
  for (int i = 0; i < spawned; i++) {
    if (result < 0) async_task_cancel(handles[i]);
    int rc = async_task_join(handles[i]);
    if (rc < 0 && result == 0) result = rc;
    async_task_release(handles[i]);
  }
  free(coroutines);
  free(handles);
  return result;
}
