/* hello.c: ex1-hello, the file you edit: your first tasks. */
#include <async.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.h"

/* ---- Part 1 ---- */

/* A task: `async def say_hello()` in Python. */
static int say_hello(void *arg) {
  (void)arg;
  /* TODO(ex1): print "Hello world!" and a newline. */
  return 0;
}

int hello_world(void) {
  /* TODO(ex1): start say_hello as a task of its own (async_spawn), wait
   * until it has finished (async_task_join), give the handle back
   * (async_task_release), and return the task's result. */
  (void)say_hello; /* delete this line once you use say_hello */
  return 0;
}

/* ---- Part 2 ---- */

/* What one task of part 2 needs to know. */
typedef struct coroutine {
  int id; /* 1, 2, ... */
  int rounds;
  double interval;
} coroutine_t;

static int coroutine(void *arg) {
  const coroutine_t *self = arg;
  /* TODO(ex1): print HELLO_COROUTINE_LINE, a space, self->id and a newline,
   * self->rounds times, and sleep self->interval seconds between two
   * prints. Sleep with async_sleep(): the tasks must take turns. */
  (void)self;
  return 0;
}

int hello_coroutines(int tasks, int rounds, double interval) {
  /* TODO(ex1): start `tasks` coroutine tasks, numbered 1 to `tasks`, each
   * with a coroutine_t of its own, then wait for all of them
   * (async_gather, or async_task_join on each), release the handles and
   * free what you allocated. Return 0, or the first error. */
  (void)coroutine; /* delete this line once you use coroutine */
  (void)tasks;
  (void)rounds;
  (void)interval;
  return 0;
}
