/* context_x86_64.S: the context switch for x86-64 (System V ABI).
 *
 * Only the callee-saved registers (rbx, rbp, r12-r15) and the stack pointer
 * need saving: the caller of async__context_switch already assumes every
 * other register is clobbered. The return address on the stack is the
 * resume point. MXCSR and the x87 control word are not saved: the runtime
 * does not support tasks that change floating-point modes.
 */
#if defined(__x86_64__) && !defined(ASYNC_CONTEXT_UCONTEXT)

  .text
  .globl async__context_switch
  .type async__context_switch, @function
  .p2align 4
/* void async__context_switch(async__context_t *from (rdi), async__context_t *to (rsi)) */
async__context_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq (%rsi), %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size async__context_switch, .-async__context_switch

#endif
  .section .note.GNU-stack,"",@progbits
