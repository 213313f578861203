/* hello.h: the functions of ex1-hello that you write (kit-owned; do not
 * edit). main.c calls them from inside async_run(); so do the checks. */
#ifndef HELLO_H
#define HELLO_H

/* The line of part 2, before its id: "Hello World from coroutine 3". */
#define HELLO_COROUTINE_LINE "Hello World from coroutine"

/* Part 1. From inside a task: starts one task that prints "Hello world!"
 * and a newline, and waits until it has finished. Returns 0, or a negative
 * UV_E* error. */
int hello_world(void);

/* Part 2. From inside a task: starts `tasks` tasks at once, numbered 1 to
 * `tasks`; each prints "Hello World from coroutine <its number>" and a
 * newline `rounds` times, sleeping `interval` seconds between two prints
 * (not before the first, not after the last). Waits until all of them have
 * finished. Returns 0, or a negative UV_E* error. */
int hello_coroutines(int tasks, int rounds, double interval);

#endif
