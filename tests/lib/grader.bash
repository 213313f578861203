# grader.bash: what an exercise's bats tests use to talk to the grader.
#
#   load ../lib/grader
#
#   expect_output EXPECTED   after `run`: fails unless $output is EXPECTED,
#                            and hands both to the grader, which shows them
#                            with whitespace made visible (a diff when they
#                            span lines)
#   expect_text EXPECTED ACTUAL [WHY]   the same for any two strings; WHY
#                            is the message (default: the text differs)
#   grader_message TEXT      the one-line reason shown when the test fails
#   grader_replay COMMAND    for a seeded test: how to replay this failure
#
# The grader passes GRADER_RESULT_DIR; without it (bats run by hand) the
# facts are only printed. Programs of the exercise are on PATH under the
# grader (EXERCISE_BUILD is their folder).

# grader__record NAME TEXT: TEXT into the grader's result file NAME.
grader__record() {
  [ -n "${GRADER_RESULT_DIR:-}" ] || return 0
  printf '%s' "$2" >"$GRADER_RESULT_DIR/$1"
}

grader_message() {
  grader__record message "$1"
  printf '%s\n' "$1" >&2
}

grader_replay() {
  grader__record replay "$1"
  printf 'REPLAY: %s\n' "$1" >&2
}

expect_text() {
  local expected=$1 actual=$2
  [ "$expected" = "$actual" ] && return 0
  grader__record expected "$expected"
  grader__record actual "$actual"
  # The test's own grader_message, if it gave one, says it better.
  if [ -n "${GRADER_RESULT_DIR:-}" ] && [ ! -e "$GRADER_RESULT_DIR/message" ]; then
    grader__record message "${3:-the text is not what was expected}"
  fi
  {
    echo "-- ${3:-text differs} --"
    printf 'expected: %s\n' "$expected"
    printf 'actual:   %s\n' "$actual"
    echo "--"
  } >&2
  return 1
}

# Compares with the output of the last `run` (which drops trailing
# newlines, as command substitution does).
expect_output() {
  # shellcheck disable=SC2154 # $output is set by bats' run
  expect_text "$1" "$output" "the output is not what was expected"
}
