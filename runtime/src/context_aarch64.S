/* context_aarch64.S: the context switch for AArch64 (AAPCS64).
 *
 * Saves the callee-saved registers x19-x28, the frame pointer x29, the link
 * register x30 (the resume point) and the low halves of v8-v15 (d8-d15),
 * then swaps stack pointers. A fresh context has x30 = entry.
 */
#if defined(__aarch64__) && !defined(ASYNC_CONTEXT_UCONTEXT)

  .text
  .globl async__context_switch
  .type async__context_switch, %function
  .p2align 4
/* void async__context_switch(async__context_t *from (x0), async__context_t *to (x1)) */
async__context_switch:
  sub sp, sp, #160
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  mov x2, sp
  str x2, [x0]
  ldr x2, [x1]
  mov sp, x2
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #160
  ret
  .size async__context_switch, .-async__context_switch

#endif
  .section .note.GNU-stack,"",%progbits
