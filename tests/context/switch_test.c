/* switch_test.c: the context switch alone, for checking other CPUs' assembly.
 *
 * Built with a cross compiler and run under qemu-user by check-aarch64.sh,
 * since the runtime's own tests run only on the machine's CPU. Two contexts
 * ping-pong; each checks that the values it keeps in callee-saved integer
 * and floating-point registers across a switch come back intact.
 */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>

enum { ROUNDS = 1000 };

static async__context_t main_context, task_context;
static volatile int task_rounds;

static void task_entry(void) {
  double kept = 1.25;
  long counter = 0;
  for (int i = 0; i < ROUNDS; i++) {
    counter += i;
    kept *= 1.0;
    async__context_switch(&task_context, &main_context);
    if (kept != 1.25 || counter != (long)i * (i + 1) / 2) {
      printf("task: a kept register was clobbered in round %d\n", i);
      exit(1);
    }
    task_rounds++;
  }
  async__context_switch(&task_context, &main_context);
  abort(); /* never resumed */
}

int main(void) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  async__context_make(&task_context, stack, sizeof stack, task_entry);
  double kept = 2.5;
  long counter = 7;
  for (int i = 0; i <= ROUNDS; i++) {
    async__context_switch(&main_context, &task_context);
    __asm__ volatile("" : "+r"(counter));
    if (kept != 2.5 || counter != 7 + i) {
      printf("main: a kept register was clobbered in round %d\n", i);
      return 1;
    }
    counter++;
  }
  if (task_rounds != ROUNDS) {
    printf("the task ran %d rounds, not %d\n", task_rounds, ROUNDS);
    return 1;
  }
  printf("%d switches each way, registers intact\n", ROUNDS + 1);
  return 0;
}
