# Makefile: the kit's table of contents. `make help` lists what it can do.
#
# Every build goes to build/<variant>/: "default", or "asan", "ubsan",
# "ucontext" (and combinations such as "asan-ucontext") after SAN= or
# CONTEXT=, so variants never overwrite each other. Examples:
#
#   make check                  the whole suite, as CI runs it
#   make test-runtime SAN=address
#   make check-ex4              grade exercise 4

THIS_MAKEFILE := $(lastword $(MAKEFILE_LIST))

# ---------------------------------------------------------------------------
# Settings: override any of them on the command line, e.g. make O=-O0
# (a "## " line above a setting is what `make help` shows for it)
# ---------------------------------------------------------------------------

## C compiler
CC ?= cc
## optimisation flags
O ?= -O2
## sanitizers: address (ASan+UBSan) or undefined (UBSan)
SAN ?=
## task switching: asm, or ucontext (the portable fallback)
CONTEXT ?= asm
## seconds per test (TIMEOUT_SCALE=N in the environment multiplies it)
TIMEOUT ?= 20
## seconds each test may take under valgrind
VALGRIND_TIMEOUT ?= 120
## the runtime tests that `make valgrind` runs
VALGRIND_TESTS ?= test_run test_task test_time test_lock test_semaphore test_event \
                  test_condition test_queue test_gather test_wait test_group test_future \
                  test_thread test_signal test_process test_http \
                  test_stream test_server \
                  test_check_config test_check_clock test_check_schedule \
                  test_check_deadlock test_check_lockorder test_check_dump \
                  test_check_findings test_check_shared test_check_trace \
                  test_check_progress
## compiler for the fuzz targets (libFuzzer needs clang)
FUZZ_CC ?= clang
## inputs in make check's short fuzz run
FUZZ_RUNS ?= 20000
## extra compiler flags, added last
CFLAGS ?=
## extra linker flags
LDFLAGS ?=

ifeq ($(SAN),)
  san_variant :=
else ifeq ($(SAN),address)
  san_variant := asan
  SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),undefined)
  san_variant := ubsan
  SAN_FLAGS := -fsanitize=undefined
else
  $(error SAN=$(SAN) is not supported: use SAN=address or SAN=undefined)
endif
# Undefined behaviour fails the test instead of printing a line and going on.
SAN_FLAGS += $(if $(SAN),-fno-sanitize-recover=all)

ifeq ($(CONTEXT),asm)
  context_variant :=
else ifeq ($(CONTEXT),ucontext)
  context_variant := ucontext
  CONTEXT_FLAGS := -DASYNC_CONTEXT_UCONTEXT
else
  $(error CONTEXT=$(CONTEXT) is not supported: use asm or ucontext)
endif

# "default", or the parts that differ from it joined by "-": asan-ucontext
variant := $(or $(subst $() ,-,$(strip $(san_variant) $(context_variant))),default)
## where this variant is built
BUILD ?= build/$(variant)

# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes
KIT_CFLAGS = -std=c11 -D_GNU_SOURCE -g $(O) $(WARNINGS) $(SAN_FLAGS) \
             $(CONTEXT_FLAGS) $(CFLAGS)
KIT_LDFLAGS = $(strip $(SAN_FLAGS) $(LDFLAGS))

# Looked up when a recipe runs, not when make starts, so that a missing
# library is reported by the deps check rather than by pkg-config.
RUNTIME_PACKAGES := libuv libcurl
RUNTIME_PKG_CFLAGS = $(shell pkg-config --cflags $(RUNTIME_PACKAGES))
TEST_PKG_CFLAGS = $(shell pkg-config --cflags $(RUNTIME_PACKAGES) cmocka)
TEST_PKG_LIBS = $(shell pkg-config --libs $(RUNTIME_PACKAGES) cmocka) \
                -lpthread -lm

RUNTIME_CPPFLAGS := -DASYNC__RUNTIME_SOURCE -Iruntime/include -Iruntime/src
RUNTIME_CFLAGS = $(strip $(RUNTIME_CPPFLAGS) $(KIT_CFLAGS) \
                 $(RUNTIME_PKG_CFLAGS))
# The .S files only need the preprocessor's view of the build.
RUNTIME_ASFLAGS = $(strip $(RUNTIME_CPPFLAGS) -g $(CONTEXT_FLAGS))
TEST_CFLAGS = $(strip -Iruntime/include -Itests/runtime $(KIT_CFLAGS) \
              $(TEST_PKG_CFLAGS))

# ---------------------------------------------------------------------------
# What gets built
# ---------------------------------------------------------------------------

RUNTIME_SOURCES := $(sort $(wildcard runtime/src/*.c runtime/src/*.S))
# foo.c.o and foo.S.o, so that a C file and an assembly file may share a name.
RUNTIME_OBJECTS := $(RUNTIME_SOURCES:runtime/src/%=$(BUILD)/runtime/%.o)
LIB := $(BUILD)/libasync.a

RUNTIME_TEST_SOURCES := $(sort $(wildcard tests/runtime/test_*.c))
TEST_BUILD := $(BUILD)/tests/runtime
RUNTIME_TESTS := $(RUNTIME_TEST_SOURCES:tests/runtime/%.c=$(TEST_BUILD)/%)
VALGRIND_BINARIES = $(filter $(VALGRIND_TESTS:%=$(TEST_BUILD)/%),$(RUNTIME_TESTS))

# The C and header files `make format` owns.
FORMAT_FILES = $(shell find runtime tests exercises solutions grader bench \
                 \( -name '*.c' -o -name '*.h' \) -type f 2>/dev/null | sort)

# The grader (grader/README.md): a C program of its own, always built the
# same way, without sanitizers, whatever variant the runtime is built in.
GRADER_SOURCES := $(sort $(wildcard grader/src/*.c))
GRADER_BUILD := build/grader
GRADER_OBJECTS := $(GRADER_SOURCES:grader/src/%.c=$(GRADER_BUILD)/obj/%.o)
GRADER_BIN := $(GRADER_BUILD)/grader
GRADER_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O2 $(WARNINGS) $(CFLAGS)

VALGRIND := valgrind --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite -q
RUN_TESTS := tests/run-tests.sh
# The rendered slides, and the students' tarball.
SLIDES_BUILD := build/slides
HANDOUT_BUILD := build/handout
# Each step of `make check` writes "passed failed" lines here.
CHECK_RESULTS := build/check-results

# The steps of `make check`, each one make invocation. Grader self-tests,
# solutions and stubs join this list as they arrive.
CHECK_STEPS = test-runtime "test-runtime SAN=address" "valgrind SAN=" \
              "test-runtime CONTEXT=ucontext" check-aarch64 check-readme \
              fuzz-readline

# The grader's own tests, and the self-test of every exercise.
CHECK_STEPS += test-grader check-solutions

# The workshop: the slides' snippets and a rendered deck, the students'
# handout.
CHECK_STEPS += check-slides check-handout

# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------

.DEFAULT_GOAL := all
.PHONY: grader-bin test-grader check-solutions progress
.PHONY: slides check-slides handout check-handout
.PHONY: all lib test-runtime check check-aarch64 check-readme fuzz-readline \
        fuzz-readline-long valgrind compdb format format-check bench \
        clean deps help FORCE

all: deps lib $(RUNTIME_TESTS) ## build the runtime library and its tests

lib: $(LIB) ## build the runtime library, build/<variant>/libasync.a

test-runtime: $(RUNTIME_TESTS) ## run each runtime test in its own process
ifeq ($(RUNTIME_TESTS),)
	@echo "no runtime tests yet (tests/runtime/test_*.c)"
else
	@$(RUN_TESTS) --timeout $(TIMEOUT) $(if $(RESULTS),--results $(RESULTS)) \
	  $(RUNTIME_TESTS)
endif

# Runs every step, even after a failing one, then totals the tests that all
# steps ran: each step appends "passed failed" lines to $(CHECK_RESULTS).
check: deps ## the kit's whole test suite, as CI runs it
	@mkdir -p $(dir $(CHECK_RESULTS)) && rm -f $(CHECK_RESULTS); \
	failed_steps=; \
	for step in $(CHECK_STEPS); do \
	  echo "== make $$step"; \
	  $(MAKE) --no-print-directory $$step \
	    RESULTS=$(abspath $(CHECK_RESULTS)) || \
	    failed_steps="$$failed_steps, $$step"; \
	done; \
	echo; \
	[ -z "$$failed_steps" ] || echo "failing steps: $${failed_steps#, }"; \
	awk '{ passed += $$1; failed += $$2 } \
	     END { printf "%d passed, %d failed\n", passed, failed }' \
	  $(CHECK_RESULTS) 2>/dev/null || echo "0 passed, 0 failed"; \
	[ -z "$$failed_steps" ]

check-aarch64: ## the AArch64 context switch, cross-built, run in qemu-user
	@RESULTS=$(RESULTS) tests/context/check-aarch64.sh $(BUILD)

fuzz-readline: ## fuzz the line reader briefly (FUZZ_RUNS inputs), as make check does
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	     $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then \
	  echo "  skip  fuzz_readline: $(FUZZ_CC) has no libFuzzer" \
	       "(apt-get install clang libclang-rt-14-dev)"; \
	  echo "0 passed, 0 failed, 1 skipped"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory $(FUZZ_BUILD)/fuzz_readline >/dev/null || exit 1; \
	if $(FUZZ_BUILD)/fuzz_readline -runs=$(FUZZ_RUNS) -seed=1 -max_len=4096 \
	     -artifact_prefix=$(FUZZ_BUILD)/ >$(FUZZ_BUILD)/fuzz_readline.log 2>&1; \
	then \
	  echo "  ok    fuzz_readline: $(FUZZ_RUNS) inputs"; \
	  echo "1 passed, 0 failed"; \
	  $(if $(RESULTS),echo "1 0" >>$(RESULTS);) \
	else \
	  tail -n 30 $(FUZZ_BUILD)/fuzz_readline.log; \
	  echo "  FAIL  fuzz_readline (the input is saved in $(FUZZ_BUILD)/crash-*)"; \
	  $(if $(RESULTS),echo "0 1" >>$(RESULTS);) \
	  exit 1; \
	fi

fuzz-readline-long: $(FUZZ_BUILD)/fuzz_readline ## fuzz the line reader for 10 minutes, keeping a corpus
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/fuzz_readline -max_total_time=600 -max_len=8192 \
	  -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus

check-readme: $(LIB) ## README's examples: shown as they are, compiled, run
	@RESULTS=$(RESULTS) tests/readme/check.sh $(BUILD) $(LIB) \
	  $(TEST_CFLAGS) -- $(KIT_LDFLAGS) $(TEST_PKG_LIBS)

check-slides: $(LIB) ## slide snippets shown as they are, compiled, run; decks in a browser
	@status=0; \
	RESULTS=$(RESULTS) tests/slides/check.sh $(BUILD) $(LIB) \
	  $(TEST_CFLAGS) -- $(KIT_LDFLAGS) $(TEST_PKG_LIBS) || status=1; \
	RESULTS=$(RESULTS) tests/slides/browser.sh $(SLIDES_BUILD) || status=1; \
	exit $$status

slides: ## render the decks to self-contained HTML in build/slides/
	@slides/render.sh $(SLIDES_BUILD)

handout: ## the students' tarball, without solutions or mutants: build/handout/
	@grader/handout.sh $(HANDOUT_BUILD)

check-handout: handout ## unpack the handout and grade ex1 in it
	@RESULTS=$(RESULTS) tests/handout/check.sh $(HANDOUT_BUILD)/async-kit-handout.tar.gz

valgrind: $(VALGRIND_BINARIES) ## run VALGRIND_TESTS under valgrind
ifneq ($(SAN),)
	$(error valgrind needs a build without sanitizers; drop SAN=$(SAN))
endif
	@if [ -z "$(VALGRIND_BINARIES)" ]; then \
	  echo "none of the valgrind tests ($(VALGRIND_TESTS)) exists yet"; \
	elif ! command -v valgrind >/dev/null 2>&1; then \
	  echo "valgrind is not available here: skipping $(VALGRIND_TESTS)"; \
	else \
	  $(RUN_TESTS) --timeout $(VALGRIND_TIMEOUT) --wrapper "$(VALGRIND)" \
	    $(if $(RESULTS),--results $(RESULTS)) $(VALGRIND_BINARIES); \
	fi

check-ex%: deps ## grade one exercise, e.g. make check-ex4
	@case "$*" in ''|*[!0-9]*) \
	  echo "usage: make check-exN, with N the exercise's number"; exit 2;; \
	esac; \
	if ! ls -d exercises/ex$*-* >/dev/null 2>&1; then \
	  echo "exercise $* is not in the kit yet"; exit 2; \
	fi; \
	exec grader/grader ex$* --build-dir build/grader/work/ex$* \
	  $(if $(SUBMISSION),--submission $(SUBMISSION)) \
	  $(if $(FORMAT),--format $(FORMAT))

hint-ex%: ## show the next hint for exercise N, e.g. make hint-ex4
	@exec grader/grader hint ex$*

run-ex%: ## build and run exercise N by hand: make run-ex3 ARGS="-p 0"
	@exec grader/grader run ex$* $(if $(PROGRAM),--program $(PROGRAM)) \
	  $(if $(SUBMISSION),--submission $(SUBMISSION)) -- $(ARGS)

diff-ex%: ## a submission against the solution: make diff-ex4 [SUBMISSION=dir]
	@exec grader/grader diff ex$* $(if $(SUBMISSION),--submission $(SUBMISSION))

progress: deps ## every exercise: not started, failing or done, with its score
	@exec grader/grader progress $(if $(SUBMISSION),--submission $(SUBMISSION))

check-solutions: deps ## solutions score full marks, stubs fail, mutants are caught
	@grader/selftest.sh $(if $(RESULTS),--results $(RESULTS))

grader-bin: $(GRADER_BIN) ## build the grader, build/grader/grader

test-grader: deps $(GRADER_BUILD)/test_text ## the grader's own tests, on the fixture kit
	@status=0; \
	$(RUN_TESTS) --timeout $(TIMEOUT) $(if $(RESULTS),--results $(RESULTS)) \
	  $(GRADER_BUILD)/test_text || status=1; \
	tests/grader/run.sh $(if $(RESULTS),--results $(RESULTS)) || status=1; \
	exit $$status

compdb: ## write compile_commands.json for clangd and other editors
	@{ echo '['; separator=' '; \
	  for file in $(RUNTIME_SOURCES); do \
	    case $$file in \
	      *.S) flags='$(RUNTIME_ASFLAGS)';; \
	      *) flags='$(RUNTIME_CFLAGS)';; \
	    esac; \
	    printf '%s{"directory": "%s", "file": "%s",\n  "command": "%s"}\n' \
	      "$$separator" "$(CURDIR)" "$$file" "$(CC) $$flags -c $$file"; \
	    separator=','; \
	  done; \
	  for file in $(RUNTIME_TEST_SOURCES); do \
	    printf '%s{"directory": "%s", "file": "%s",\n  "command": "%s"}\n' \
	      "$$separator" "$(CURDIR)" "$$file" \
	      "$(CC) $(TEST_CFLAGS) -c $$file"; \
	    separator=','; \
	  done; \
	  echo ']'; } > compile_commands.json
	@echo "wrote compile_commands.json"

format: ## reformat the kit's C files with clang-format
	@$(call need,clang-format)
	clang-format -i $(FORMAT_FILES)

format-check: ## list the C files that clang-format would change
	@$(call need,clang-format)
	@unformatted=$$(for file in $(FORMAT_FILES); do \
	  clang-format --dry-run --Werror "$$file" >/dev/null 2>&1 || echo "$$file"; \
	done); \
	if [ -n "$$unformatted" ]; then \
	  echo "make format would change:"; echo "$$unformatted" | sed 's/^/  /'; \
	  exit 1; \
	fi

bench: lib ## run the benchmarks (bench/run.sh)
	@if [ -f bench/run.sh ]; then \
	  BUILD=$(BUILD) LIB=$(LIB) bash bench/run.sh; \
	else \
	  echo "no benchmarks yet (bench/run.sh)"; \
	fi

clean: ## remove every build variant and compile_commands.json
	rm -rf build $(filter-out build/%,$(BUILD)) compile_commands.json

deps: ## check the dependencies; install them on Debian/Ubuntu
	@CC="$(CC)" grader/ensure-deps.sh

help: ## list the targets and settings (this text)
	@awk 'BEGIN { print "Targets:" } \
	  /^## / { doc = substr($$0, 4); next } \
	  /^[A-Z_]+ \?=/ && doc != "" { \
	    settings = settings sprintf("  %-18s %s\n", $$1, doc) } \
	  /^[a-z%-]+:.*## / { \
	    name = $$0; sub(/:.*/, "", name); sub(/%/, "N", name); \
	    text = $$0; sub(/^[^#]*## /, "", text); \
	    printf "  %-18s %s\n", name, text } \
	  { doc = "" } \
	  END { printf "\nSettings (make NAME=value):\n%s", settings }' \
	  $(THIS_MAKEFILE)

# $(call need,COMMAND): stop with a plain message if COMMAND is missing.
need = command -v $(1) >/dev/null 2>&1 || { echo "$(1) is not installed"; exit 2; }

# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------

# Every compile waits for the deps check, without being rebuilt because of it.
$(RUNTIME_OBJECTS) $(RUNTIME_TESTS:%=%.o): | deps

$(BUILD)/runtime/%.c.o: runtime/src/%.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(RUNTIME_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/runtime/%.S.o: runtime/src/%.S $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(RUNTIME_ASFLAGS) -MMD -MP -c -o $@ $<

# Rebuilt from scratch so that a deleted source leaves nothing behind.
$(LIB): $(RUNTIME_OBJECTS) $(BUILD)/sources
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $(RUNTIME_OBJECTS)

$(TEST_BUILD)/%.o: tests/runtime/%.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(RUNTIME_TESTS): %: %.o $(LIB)
	$(CC) $(KIT_LDFLAGS) -o $@ $< $(LIB) $(TEST_PKG_LIBS)

# These two files change only when their text does: the objects depend on
# the flags (make O=-O0 rebuilds everything), the library on the list of
# sources (a deleted source file leaves the archive).
BUILD_FLAGS_TEXT = $(CC) $(RUNTIME_CFLAGS) $(RUNTIME_ASFLAGS) $(TEST_CFLAGS) \
                   $(KIT_LDFLAGS) $(TEST_PKG_LIBS)
SOURCES_TEXT = $(RUNTIME_SOURCES)
# $(call remember,VARIABLE): write VARIABLE's text to the target if it changed.
remember = @mkdir -p $(@D); echo '$($(1))' | cmp -s - $@ || echo '$($(1))' > $@

$(BUILD)/flags: FORCE
	$(call remember,BUILD_FLAGS_TEXT)
$(BUILD)/sources: FORCE
	$(call remember,SOURCES_TEXT)

$(GRADER_OBJECTS): | deps
$(GRADER_BUILD)/obj/%.o: grader/src/%.c $(GRADER_BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(GRADER_CFLAGS) -MMD -MP -c -o $@ $<

$(GRADER_BIN): $(GRADER_OBJECTS)
	$(CC) $(LDFLAGS) -o $@ $(GRADER_OBJECTS) -lm

# The grader's cmocka tests link its own objects (all but main.o).
$(GRADER_BUILD)/test_text: tests/grader/test_text.c \
                           $(filter-out %/main.o,$(GRADER_OBJECTS))
	$(CC) $(GRADER_CFLAGS) -Igrader/src -Itests/lib $(TEST_PKG_CFLAGS) \
	  $(LDFLAGS) -o $@ $^ $(TEST_PKG_LIBS)

GRADER_FLAGS_TEXT = $(CC) $(GRADER_CFLAGS) $(LDFLAGS)
$(GRADER_BUILD)/flags: FORCE
	$(call remember,GRADER_FLAGS_TEXT)

# The line reader's fuzz target (tests/fuzz/), built by clang with libFuzzer.
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(WARNINGS) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              $(RUNTIME_CPPFLAGS) $(RUNTIME_PKG_CFLAGS)
FUZZ_LIBS = $(shell pkg-config --libs $(RUNTIME_PACKAGES)) -lpthread -lm

$(FUZZ_BUILD)/fuzz_readline: tests/fuzz/fuzz_readline.c $(RUNTIME_SOURCES) \
                             $(wildcard runtime/include/*.h runtime/src/*.h) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_readline.c \
	  $(RUNTIME_SOURCES) $(FUZZ_LIBS)

# Fixture servers the tests start (tests/fixtures/), built on the runtime.
FIXTURE_BUILD := $(BUILD)/tests/fixtures
HTTP_FIXTURE := $(FIXTURE_BUILD)/http_fixture
FIXTURE_LIBS = $(shell pkg-config --libs $(RUNTIME_PACKAGES)) -lpthread -lm

$(FIXTURE_BUILD)/%.o: tests/fixtures/%.c $(BUILD)/flags | deps
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(HTTP_FIXTURE): $(FIXTURE_BUILD)/http_fixture.o $(LIB)
	$(CC) $(KIT_LDFLAGS) -o $@ $< $(LIB) $(FIXTURE_LIBS)

# test_http starts the fixture: building the test builds it.
$(TEST_BUILD)/test_http: $(HTTP_FIXTURE)

-include $(FIXTURE_BUILD)/http_fixture.d
-include $(RUNTIME_OBJECTS:.o=.d) $(RUNTIME_TESTS:%=%.d) $(GRADER_OBJECTS:.o=.d)

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules
