#!/usr/bin/env bats
# isolation.bats: hostile submissions cost only their own marks, and leave
# nothing behind; timeouts, limits and exit codes.

load common

setup() {
  new_marker
}

# Short timeouts for the hostile submissions: stopped after 2 s, not 10.
# (Not for correct ones: a busy machine must not fail them.)
short_timeouts() {
  export GRADER_TIMEOUT_SCALE=0.2
}

teardown() {
  pkill -KILL -x "$HOSTILE_MARKER" 2>/dev/null || true
}

# status_of NAME: the status of the check NAME in $BATS_TEST_TMPDIR/r.json.
status_of() {
  jq -r --arg name "$1" '.tests[] | select(.name == $name) | .status' \
    "$BATS_TEST_TMPDIR/r.json"
}

@test "exit status 0 when every check passes, 1 when some fail" {
  run grade --submission "$KIT/solutions"
  assert_success
  assert_line "Score: 9/9"
  run grade
  assert_failure 1
  assert_line "Score: 1/9"
}

@test "exit status 2 when the kit itself is broken" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  echo "a check with no kind | 1" >>"$BATS_TEST_TMPDIR/kit/tests/ex9-sample/checks"
  run "$GRADER" ex9 --kit "$BATS_TEST_TMPDIR/kit"
  assert_failure 2
  assert_output --partial "checks:8: a check is 'name | points | kind | hint'"
  run "$GRADER" ex9 --kit "$KIT" --submission "$BATS_TEST_TMPDIR/nowhere"
  assert_failure 2
  run "$GRADER" ex9 --kit "$KIT" --format yaml
  assert_failure 2
}

@test "a check that names a test that does not exist is the kit's fault: exit 2" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  echo "ghost | 1 | cmocka:test_greet:test_ghost | none" \
    >>"$BATS_TEST_TMPDIR/kit/tests/ex9-sample/checks"
  run "$GRADER" ex9 --kit "$BATS_TEST_TMPDIR/kit" --submission "$KIT/solutions"
  assert_failure 2
  assert_output --partial "names a test that does not exist"
}

@test "a build failure is one error with the compiler's output, the rest skipped" {
  run grade --submission "$HOSTILE/broken"
  assert_failure 1
  assert_line --regexp '^  ERROR +build +0/0$'
  assert_output --partial "error: expected ';'"
  [ "$(grep -c '^  skip ' <<<"$output")" -eq 5 ]
  assert_line "Score: 0/9"
}

@test "a submission without the student file is one error, the rest skipped" {
  mkdir -p "$BATS_TEST_TMPDIR/empty"
  run grade --submission "$BATS_TEST_TMPDIR/empty"
  assert_failure 1
  assert_output --partial "the submission has no greet.c"
  [ "$(grep -c '^  skip ' <<<"$output")" -eq 5 ]
}

@test "a check that hangs times out, and its whole group is killed, escaped processes too" {
  short_timeouts
  run grade --submission "$HOSTILE/hang" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 1
  [ "$(status_of 'greet says hello with a comma')" = error ]
  [ "$(status_of 'count_words on random texts')" = pass ]
  run jq -r '.tests[0].message' "$BATS_TEST_TMPDIR/r.json"
  assert_output --partial "timed out after 2 s"
  assert_no_marker_process
}

@test "on timeout the check first gets SIGQUIT, and what it prints (the task dump) is kept" {
  short_timeouts
  run grade --submission "$HOSTILE/dumper" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 1
  run jq -r '.tests[0] | .status, .output' "$BATS_TEST_TMPDIR/r.json"
  assert_line error
  assert_line "task dump: greeter waits for nothing, forever"
}

@test "timeouts scale with GRADER_TIMEOUT_SCALE" {
  GRADER_TIMEOUT_SCALE=0.1 run grade --submission "$HOSTILE/hang" --format json \
    --output "$BATS_TEST_TMPDIR/r.json"
  run jq -r '.tests[0].message' "$BATS_TEST_TMPDIR/r.json"
  assert_output --partial "timed out after 1 s"
  assert_no_marker_process
}

@test "a fork bomb is held by the process limit, costs only its own checks, and is cleaned up" {
  short_timeouts
  run grade --submission "$HOSTILE/forkbomb" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 1
  [ "$(status_of 'greet says hello with a comma')" = error ]
  [ "$(status_of 'count_words on random texts')" = pass ]
  assert_no_marker_process
}

@test "a program printing without end is stopped, its output capped" {
  short_timeouts
  run grade --submission "$HOSTILE/flood" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 1
  run jq -r '.tests[0] | .status, .message, .output_truncated, (.output | length < 100000)' \
    "$BATS_TEST_TMPDIR/r.json"
  assert_line error
  assert_line --partial "printed more than 16 MiB of output"
  assert_line --index 2 true
  assert_line --index 3 true
}

@test "a program writing a file of gigabytes is stopped by the file size limit" {
  short_timeouts
  run grade --submission "$HOSTILE/bigfile" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 1
  run jq -r '.tests[0].message' "$BATS_TEST_TMPDIR/r.json"
  assert_output --partial "SIGXFSZ"
}

@test "processes a passing check leaves behind are killed" {
  short_timeouts
  run grade --submission "$HOSTILE/orphan" --format json --output "$BATS_TEST_TMPDIR/r.json"
  [ "$(status_of 'greet says hello with a comma')" = pass ]
  run jq -r '.tests[0].output' "$BATS_TEST_TMPDIR/r.json"
  assert_output --partial "still running after the test ended, killed"
  assert_no_marker_process
}

@test "a check cannot delete files outside its directory (grader run as root)" {
  [ "$(id -u)" -eq 0 ] || skip "only root can give checks a user of their own"
  local canary=$BATS_TEST_TMPDIR/canary
  chmod 755 "$BATS_TEST_TMPDIR"
  echo precious >"$canary"
  HOSTILE_TARGET=$canary run grade --submission "$HOSTILE/vandal"
  assert_success
  [ -f "$canary" ]
}

@test "each check gets a network of its own where the kernel allows it" {
  unshare -n true 2>/dev/null || skip "this kernel refuses network namespaces"
  run grade --submission "$HOSTILE/squatter" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_success
  run jq -r .network "$BATS_TEST_TMPDIR/r.json"
  assert_output private
}

@test "a port held outside the check does not stop the check binding it" {
  unshare -n true 2>/dev/null || skip "this kernel refuses network namespaces"
  command -v socat >/dev/null || skip "socat is not installed"
  load ../lib/server
  export HOSTILE_PORT=47123
  # socat -d -d says "listening on AF=2 127.0.0.1:47123" once it listens.
  start_server socat -d -d TCP-LISTEN:$HOSTILE_PORT,bind=127.0.0.1,reuseaddr -
  run grade --submission "$HOSTILE/squatter"
  stop_servers
  assert_success
}

@test "without a network namespace checks share the network and still run" {
  GRADER_NO_NETNS=1 run grade --submission "$KIT/solutions" --format json \
    --output "$BATS_TEST_TMPDIR/r.json"
  assert_success
  run jq -r .network "$BATS_TEST_TMPDIR/r.json"
  assert_output shared
}
