/* stack.c: task stacks, with a guard page each, pooled.
 *
 * Stacks are carved out of slabs of SLAB_STACKS stacks, one mmap each, so
 * that 100,000 tasks need a few thousand mappings, not 100,000 (Linux caps a
 * process at 65,530 by default). Each stack's lowest page is a guard:
 * MADV_GUARD_INSTALL (Linux 6.13) makes it fault without splitting the
 * mapping; older kernels get mprotect(PROT_NONE), which splits it, so they
 * top out near 30,000 live tasks. Memory is reserved, not committed: only
 * the pages a task touches cost RAM. A finished task's stack goes back on a
 * free list and is reused as it is (re-zeroing or MADV_DONTNEED would cost
 * more than it saves); the slabs are unmapped when the run ends.
 *
 * Stack tops are "coloured": each starts a different multiple of 64 bytes
 * below its page boundary. Without that every task's hottest cache line
 * (its top frame) has the same address modulo 4 KiB and beyond, and with
 * thousands of live tasks they all fight over the same few cache sets.
 *
 * A task that runs off its stack hits the guard page; the SIGSEGV handler,
 * on an alternate signal stack, names the task and says how to give it more.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ASYNC__HAVE_VALGRIND 1
#endif
#endif

/* Under ASan, the frames a finished task never returned from (its entry
 * and its last switch away, at the top of its stack) leave poisoned shadow
 * behind: that part is unpoisoned before the stack is used again, or the
 * next task on it gets false reports. Only the top: unpoisoning all of it
 * would commit the shadow of every page the task never touched. Tasks
 * abandoned in a deadlock never unwound at all: after such a run, whole
 * slabs are unpoisoned before they are unmapped, for the next mapping. */
#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_UNPOISON_MEMORY_REGION
#define ASAN_UNPOISON_MEMORY_REGION(address, size)                             \
  ((void)(address), (void)(size))
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

enum { SLAB_STACKS = 16 };

struct async__slab {
  struct async__slab *next;
  char *memory;
  size_t length;
  async__stack_t stacks[SLAB_STACKS];
};

static size_t page_size(void) {
  static size_t size;
  if (size == 0) size = (size_t)sysconf(_SC_PAGESIZE);
  return size;
}

static size_t round_to_pages(size_t bytes) {
  size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

static bool guard(char *page_start) {
  if (madvise(page_start, page_size(), MADV_GUARD_INSTALL) == 0) return true;
  return mprotect(page_start, page_size(), PROT_NONE) == 0;
}

static void stack_register(async__stack_t *stack) {
#ifdef ASYNC__HAVE_VALGRIND
  stack->valgrind_id =
      VALGRIND_STACK_REGISTER(stack->base, stack->base + stack->size);
#else
  (void)stack;
#endif
}

static void stack_deregister(async__stack_t *stack) {
#ifdef ASYNC__HAVE_VALGRIND
  VALGRIND_STACK_DEREGISTER(stack->valgrind_id);
#else
  (void)stack;
#endif
}

enum { COLORS = 64, COLOR_STEP = 64 };

/* Maps `count` stacks of `size` usable bytes each, guard pages below. */
static struct async__slab *slab_new(async__stack_pool_t *pool, size_t size,
                                    size_t count) {
  size_t stride = size + page_size();
  struct async__slab *slab = calloc(1, sizeof *slab);
  if (slab == NULL) return NULL;
  slab->length = stride * count;
  slab->memory =
      mmap(NULL, slab->length, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (slab->memory == MAP_FAILED) {
    free(slab);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    char *guard_page = slab->memory + i * stride;
    if (!guard(guard_page)) {
      munmap(slab->memory, slab->length);
      free(slab);
      return NULL;
    }
    async__stack_t *stack = &slab->stacks[i];
    stack->base = guard_page + page_size();
    stack->size = size;
    stack->color = (pool->stacks_made++ % COLORS) * COLOR_STEP;
    stack_register(stack);
  }
  return slab;
}

void async__stack_pool_init(async__stack_pool_t *pool, size_t stack_size) {
  pool->stack_size = round_to_pages(stack_size);
  pool->stacks_made = 0;
  pool->free_list = NULL;
  pool->slabs = NULL;
}

async__stack_t *async__stack_get(async__stack_pool_t *pool, size_t size) {
  size = round_to_pages(size);
  if (size == pool->stack_size && pool->free_list != NULL) {
    async__stack_t *stack = pool->free_list;
    pool->free_list = stack->next_free;
    return stack;
  }
  /* Pooled sizes come in slabs; an odd size gets a slab of one. */
  size_t count = size == pool->stack_size ? SLAB_STACKS : 1;
  struct async__slab *slab = slab_new(pool, size, count);
  if (slab == NULL) return NULL;
  slab->next = pool->slabs;
  pool->slabs = slab;
  for (size_t i = 1; i < count; i++) {
    slab->stacks[i].next_free = pool->free_list;
    pool->free_list = &slab->stacks[i];
  }
  return &slab->stacks[0];
}

void async__stack_put(async__stack_pool_t *pool, async__stack_t *stack) {
  size_t used_top = stack->size < 16 * 1024 ? stack->size : 16 * 1024;
  ASAN_UNPOISON_MEMORY_REGION(stack->base + stack->size - used_top, used_top);
  /* Odd-sized stacks stay in their slab until the run ends. */
  if (stack->size != pool->stack_size) return;
  stack->next_free = pool->free_list;
  pool->free_list = stack;
}

void async__stack_pool_destroy(async__stack_pool_t *pool) {
  struct async__slab *slab = pool->slabs;
  while (slab != NULL) {
    struct async__slab *next = slab->next;
    size_t count = slab->length / (slab->stacks[0].size + page_size());
    for (size_t i = 0; i < count; i++) stack_deregister(&slab->stacks[i]);
    if (async__rt != NULL && async__rt->abandoned)
      ASAN_UNPOISON_MEMORY_REGION(slab->memory, slab->length);
    munmap(slab->memory, slab->length);
    free(slab);
    slab = next;
  }
  pool->slabs = NULL;
  pool->free_list = NULL;
}

size_t async__stack_size_from_env(void) {
  const char *text = getenv("ASYNC_STACK_SIZE");
  if (text == NULL || *text == '\0') return ASYNC_DEFAULT_STACK_SIZE;
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text) return 0;
  if (value > (1ull << 30)) return 0; /* before a suffix could wrap it */
  if (*end == 'k' || *end == 'K') {
    value *= 1024;
    end++;
  } else if (*end == 'm' || *end == 'M') {
    value *= 1024 * 1024;
    end++;
  }
  if (*end != '\0' || value < 16 * 1024 || value > (1ull << 30)) return 0;
  return (size_t)value;
}

/* ---- Stack overflow reports ---- */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_OWNS_SEGV 1 /* ASan reports overflows itself */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_OWNS_SEGV 1
#endif
#endif

#ifndef SANITIZER_OWNS_SEGV

static void write_text(const char *text) {
  ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

static void write_number(size_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  char text[24];
  for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  write_text(text);
}

static struct sigaction previous_segv;

/* Runs on the alternate signal stack: only async-signal-safe calls. */
static void on_segv(int signal_number, siginfo_t *info, void *context) {
  async__runtime_t *rt = async__rt;
  async_task_t *task = rt != NULL ? rt->current : NULL;
  if (task != NULL && task->stack != NULL) {
    char *fault = info->si_addr;
    char *guard_page = task->stack->base - page_size();
    /* A large frame can jump past the guard page: allow some slack. */
    if (fault >= guard_page - 64 * 1024 && fault < task->stack->base) {
      write_text("async: task '");
      if (task->name[0] != '\0') {
        write_text(task->name);
      } else { /* not named yet, and snprintf is not signal-safe */
        write_text("task-");
        write_number(task->id);
      }
      write_text("' overflowed its stack of ");
      write_number(task->stack->size / 1024);
      write_text(" KiB.\nasync: give tasks more with ASYNC_STACK_SIZE=");
      write_number(task->stack->size * 4 / 1024);
      write_text("k, or this one with async_spawn_with() and a larger "
                 "stack_size; or make it recurse less.\n");
    }
  }
  /* The faulting instruction runs again, and the default action, or the
   * handler we displaced, gets the fault. */
  sigaction(signal_number, &previous_segv, NULL);
  (void)context;
}
#endif

/* Called at every async_run: a test framework (cmocka does, around each
 * test) may have put its own handler in since. Ours reports, then hands the
 * fault to whichever handler it displaced. ASan reports overflows itself. */
void async__stack_overflow_handler_install(void) {
#ifdef SANITIZER_OWNS_SEGV
  return;
#else
  static _Thread_local bool have_alternate_stack;
  static _Thread_local char alternate[64 * 1024];
  if (!have_alternate_stack) {
    stack_t alt = {.ss_sp = alternate, .ss_size = sizeof alternate};
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
      /* The program already set one up: keep it. */
    } else if (sigaltstack(&alt, NULL) != 0) {
      return; /* no alternate stack, no way to report an overflow */
    }
    have_alternate_stack = true;
  }
  struct sigaction current;
  if (sigaction(SIGSEGV, NULL, &current) != 0) return;
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_segv)
    return;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &previous_segv);
#endif
}
