# exercise.mk: builds one exercise's programs and test programs for the grader.
#
# The grader runs it in the scratch output directory as
#
#   make -f grader/exercise.mk EXERCISE=exN-name EXERCISE_SRC=... \
#        TESTS_SRC=... TESTS_LIB=... RUNTIME_INCLUDE=... RUNTIME_HARNESS=... \
#        RUNTIME_LIB=...
#
# and everything exercise-specific comes from TESTS_SRC/exercise.conf (see
# grader/README.md): STUDENT_FILES, PROGRAMS and TEST_PROGRAMS, NAME_SOURCES
# for each of them, and optionally LIBS, PACKAGES and EXTRA_CFLAGS. Sources
# are looked up in the exercise folder, then the tests folder, then tests/lib,
# then tests/fixtures (the kit's fixture servers, e.g. http_fixture.c).
#
# Student code is built with the kit's warnings shown but not fatal: a
# warning alone never fails a student (SPEC section 2).

include $(TESTS_SRC)/exercise.conf

CC ?= cc
PACKAGES ?= libuv libcurl cmocka
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
PACKAGE_CFLAGS := $(shell pkg-config --cflags $(PACKAGES))
PACKAGE_LIBS := $(shell pkg-config --libs $(PACKAGES))
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(WARNINGS) \
             -I$(EXERCISE_SRC) -I$(TESTS_SRC) -I$(TESTS_LIB) \
             -I$(RUNTIME_INCLUDE) -I$(RUNTIME_HARNESS) \
             $(PACKAGE_CFLAGS) $(EXTRA_CFLAGS)

# The fixture servers live beside tests/lib in the kit.
KIT_FIXTURES ?= $(dir $(TESTS_LIB:%/=%))fixtures
vpath %.c $(EXERCISE_SRC) $(TESTS_SRC) $(TESTS_LIB) $(KIT_FIXTURES)

ALL_PROGRAMS := $(PROGRAMS) $(TEST_PROGRAMS)

.PHONY: all
all: $(ALL_PROGRAMS)

# $(call program,NAME): NAME links its NAME_SOURCES with the runtime.
define program
$(1): $$(patsubst %.c,obj/%.o,$$($(1)_SOURCES)) $$(RUNTIME_LIB)
	$$(CC) -o $$@ $$(filter %.o,$$^) $$(RUNTIME_LIB) $$(LIBS) \
	  $$(PACKAGE_LIBS) -lpthread -lm
endef
$(foreach name,$(ALL_PROGRAMS),$(eval $(call program,$(name))))

obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard obj/*.d)

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules
