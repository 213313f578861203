/* context.c: preparing a fresh context, and the ucontext fallback.
 *
 * The assembly switch resumes a context by popping its saved registers and
 * returning; a fresh context is therefore a stack laid out as if it had
 * been switched away from just before calling entry().
 */
#include "context.h"

#include <stdint.h>
#include <string.h>

#ifdef ASYNC_CONTEXT_UCONTEXT

void async__context_switch(async__context_t *from, async__context_t *to) {
  swapcontext(&from->uc, &to->uc);
}

void async__context_make(async__context_t *ctx, char *stack_base,
                         size_t stack_size, void (*entry)(void)) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = stack_base;
  ctx->uc.uc_stack.ss_size = stack_size;
  ctx->uc.uc_link = NULL;
  makecontext(&ctx->uc, entry, 0);
}

#elif defined(__x86_64__)

void async__context_make(async__context_t *ctx, char *stack_base,
                         size_t stack_size, void (*entry)(void)) {
  uintptr_t top = ((uintptr_t)stack_base + stack_size) & ~(uintptr_t)15;
  void **sp = (void **)top;
  *--sp = NULL;          /* entry's return address: it never returns */
  *--sp = (void *)entry; /* where the switch's `ret` goes */
  for (int i = 0; i < 6; i++) *--sp = NULL; /* rbp rbx r12-r15 */
  ctx->sp = sp;
}

#elif defined(__aarch64__)

void async__context_make(async__context_t *ctx, char *stack_base,
                         size_t stack_size, void (*entry)(void)) {
  uintptr_t top = ((uintptr_t)stack_base + stack_size) & ~(uintptr_t)15;
  char *sp = (char *)top - 160;
  memset(sp, 0, 160);
  ((void **)sp)[11] = (void *)entry; /* x30, restored from [sp, #88] */
  ctx->sp = sp;
}

#endif
