/* hello.c: ex1-hello, solved another way: a task group (asyncio.TaskGroup). */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.h"

static int say_hello(void *arg) {
  (void)arg;
  printf("Hello world!\n");
  return 0;
}

int hello_world(void) {
  async_group_t group;
  int rc = async_group_init(&group);
  if (rc < 0) return rc;
  if (async_group_spawn(&group, "hello", say_hello, NULL) == NULL)
    rc = UV_ENOMEM;
  int waited = async_group_wait(&group);
  return rc < 0 ? rc : waited;
}

typedef struct coroutine {
  int id;
  int rounds;
  double interval;
} coroutine_t;

static int coroutine(void *arg) {
  const coroutine_t *self = arg;
  for (int round = 0; round < self->rounds; round++) {
    if (round > 0 && async_sleep(self->interval) < 0) return UV_ECANCELED;
    printf(HELLO_COROUTINE_LINE " %d\n", self->id);
  }
  return 0;
}

int hello_coroutines(int tasks, int rounds, double interval) {
  coroutine_t *coroutines = calloc((size_t)tasks, sizeof *coroutines);
  if (coroutines == NULL) return UV_ENOMEM;
  async_group_t group;
  int rc = async_group_init(&group);
  for (int i = 0; rc == 0 && i < tasks; i++) {
    coroutines[i] = (coroutine_t){i + 1, rounds, interval};
    if (async_group_spawn(&group, "coroutine", coroutine, &coroutines[i]) ==
        NULL)
      rc = UV_ENOMEM;
  }
  /* The group's wait returns once every task in it has finished. */
  int waited = async_group_wait(&group);
  free(coroutines);
  return rc < 0 ? rc : waited;
}
