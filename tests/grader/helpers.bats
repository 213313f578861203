#!/usr/bin/env bats
# helpers.bats: tests/lib's bats helpers, as exercises' tests use them.
# Each test runs in a subshell of its own: what one exports is its own.
# shellcheck disable=SC2030,SC2031

setup() {
  load common
  load ../lib/server
  load ../lib/grader
}

teardown() {
  stop_servers
}

# A stand-in server: says where it listens, then waits forever, with a
# child in its process group.
fake_server() {
  start_server bash -c 'sleep 1000 & echo "starting"; echo "listening on 127.0.0.1:4242"; wait'
}

@test "start_server waits for 'listening on HOST:PORT' and sets the address" {
  fake_server
  [ "$SERVER_HOST" = 127.0.0.1 ]
  [ "$SERVER_PORT" = 4242 ]
  kill -0 "$SERVER_PID"
  run cat "$SERVER_OUTPUT"
  assert_line starting
}

@test "the server leads its own process group, and has no fd 3" {
  fake_server
  [ "$(ps -o pgid= -p "$SERVER_PID" | tr -d ' ')" = "$SERVER_PID" ]
  [ ! -e "/proc/$SERVER_PID/fd/3" ]
}

@test "stop_servers kills the server's whole process group" {
  fake_server
  local group=$SERVER_PID pid alive=
  stop_servers
  # A killed process may linger a moment as a zombie: dead, not alive.
  for pid in $(pgrep -g "$group"); do
    [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] ||
      alive="$alive $pid"
  done
  [ -z "$alive" ]
}

@test "start_server fails, showing the output, when the server never listens" {
  run start_server bash -c 'echo "cannot bind"; exit 1'
  assert_failure
  assert_output --partial "never said 'listening on HOST:PORT'"
  assert_output --partial "cannot bind"
}

@test "expect_output records expected and actual for the grader" {
  export GRADER_RESULT_DIR=$BATS_TEST_TMPDIR/result
  mkdir -p "$GRADER_RESULT_DIR"
  run printf 'a b\nc'
  run expect_output $'a b\nc'
  assert_success
  [ ! -e "$GRADER_RESULT_DIR/expected" ]
  run printf 'a  b'
  run expect_output 'a b'
  assert_failure
  [ "$(cat "$GRADER_RESULT_DIR/expected")" = "a b" ]
  [ "$(cat "$GRADER_RESULT_DIR/actual")" = "a  b" ]
  [ "$(cat "$GRADER_RESULT_DIR/message")" = "the output is not what was expected" ]
}

@test "grader_replay prints a REPLAY line and records it" {
  export GRADER_RESULT_DIR=$BATS_TEST_TMPDIR/result
  mkdir -p "$GRADER_RESULT_DIR"
  run grader_replay "SEED=7 ./prog"
  assert_output "REPLAY: SEED=7 ./prog"
  [ "$(cat "$GRADER_RESULT_DIR/replay")" = "SEED=7 ./prog" ]
}
