# common.bash: what the grader's own bats tests share.
#
# They grade the fixture kit (tests/grader/fixtures/kit: one small exercise,
# ex9-sample, with a stub, a solution, checks and mutants) and the hostile
# submissions beside it. tests/grader/run.sh builds the grader first and
# sets GRADER_NO_MAKE=1, so that each test runs it without make.
# shellcheck disable=SC2034 # REPO, KIT, HOSTILE are for the .bats files

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
GRADER="$REPO/grader/grader"
KIT="$REPO/tests/grader/fixtures/kit"
HOSTILE="$REPO/tests/grader/fixtures/hostile"
export GRADER_NO_MAKE=1
# Hints and other state go to the test's own folder, not the kit's.
export GRADER_STATE_DIR="${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}/state"

bats_load_library bats-support
bats_load_library bats-assert

# grade ARGS...: the grader on the fixture kit's ex9-sample.
grade() {
  "$GRADER" ex9 --kit "$KIT" --quiet "$@"
}

# A name for this test's marker processes (at most 15 characters, the
# kernel's limit for a process name), which hostile submissions take.
new_marker() {
  HOSTILE_MARKER="gt$$${RANDOM}"
  HOSTILE_MARKER=${HOSTILE_MARKER:0:15}
  export HOSTILE_MARKER
}

# Fails if any process is still named $HOSTILE_MARKER.
assert_no_marker_process() {
  local left
  left=$(pgrep -x "$HOSTILE_MARKER" || true)
  if [ -n "$left" ]; then
    pkill -KILL -x "$HOSTILE_MARKER" || true
    fail "processes named $HOSTILE_MARKER survived the grader: $left"
  fi
}
