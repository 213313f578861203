/* context.h: switching the CPU from one stack to another.
 *
 * Three implementations, chosen at build time: hand-written assembly for
 * x86-64 (context_x86_64.S) and AArch64 (context_aarch64.S), which save only
 * the callee-saved registers and cost a few nanoseconds; and ucontext
 * (context_ucontext.c), portable but slower because swapcontext also saves
 * the signal mask with a system call. Build with -DASYNC_CONTEXT_UCONTEXT to
 * force the fallback.
 */
#ifndef ASYNC_CONTEXT_H
#define ASYNC_CONTEXT_H

#include <stddef.h>

#if !defined(ASYNC_CONTEXT_UCONTEXT) &&                                        \
    !(defined(__x86_64__) || defined(__aarch64__))
#define ASYNC_CONTEXT_UCONTEXT 1
#endif

#ifdef ASYNC_CONTEXT_UCONTEXT
#include <ucontext.h>
typedef struct async__context {
  ucontext_t uc;
} async__context_t;
#else
typedef struct async__context {
  void *sp; /* the saved stack pointer; registers are pushed below it */
} async__context_t;
#endif

/* Saves the current registers into *from and resumes *to. */
void async__context_switch(async__context_t *from, async__context_t *to);

/* Prepares *ctx so that switching to it calls entry() on the given stack.
 * entry must never return: it switches away for good instead. */
void async__context_make(async__context_t *ctx, char *stack_base,
                         size_t stack_size, void (*entry)(void));

#endif /* ASYNC_CONTEXT_H */
