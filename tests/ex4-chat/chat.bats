#!/usr/bin/env bats
# chat.bats: ex4-chat's checks of the chat_server program, with nc and socat
# as its clients.
#
# Each client is nc or socat with its input and output on fifos held open
# by this shell: the test types into it and reads what it prints with
# `read -t`, which returns as soon as the bytes are there (the deadline is
# only for a server that never sends them). Nothing waits by sleeping. The
# checks with several clients talking are in test_chat.c, where the room
# can say when a client that sent its name has joined.

setup() {
  load ../lib/grader
  load ../lib/server
  CLIENT_PIDS=()
  DEADLINE=$(awk -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print 3 * s }')
  PROMPT="What's your name? "
}

teardown() {
  local pid
  for pid in "${CLIENT_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
  done
  stop_servers
}

# need PROGRAM: skips the check when a peer it uses is not installed.
need() {
  command -v "$1" >/dev/null 2>&1 ||
    skip "this check needs $1, which is not installed"
}

# open_client NAME COMMAND...: runs COMMAND with its stdin and stdout on
# fifos; the shell writes to fd ${NAME}_IN and reads fd ${NAME}_OUT.
open_client() {
  local name=$1 directory=$BATS_TEST_TMPDIR
  shift
  mkfifo "$directory/$name.in" "$directory/$name.out"
  "$@" <"$directory/$name.in" >"$directory/$name.out" 2>&1 3>&- &
  CLIENT_PIDS+=("$!")
  local in out
  exec {in}>"$directory/$name.in"
  exec {out}<"$directory/$name.out"
  printf -v "${name}_IN" '%s' "$in"
  printf -v "${name}_OUT" '%s' "$out"
}

# expect_bytes NAME EXPECTED WHY: the next bytes NAME receives are EXPECTED.
expect_bytes() {
  local fd_name="${1}_OUT" got= code=0 why=$3
  IFS= read -r -N "${#2}" -t "$DEADLINE" -u "${!fd_name}" got || code=$?
  if [ "$code" -gt 128 ]; then
    why="$why; it got ${#got} bytes, then nothing more for $DEADLINE s"
  elif [ "$code" -ne 0 ]; then
    why="$why; it got ${#got} bytes, then the server closed the connection"
  fi
  expect_text "$2" "$got" "$why"
}

@test "an nc client gets the exact prompt" {
  need nc
  start_server chat_server -p 0
  # -d: nc does not read its input, so it ends as soon as the server hangs
  # up, and a server that does so fails this check at once.
  open_client alice nc -d "$SERVER_HOST" "$SERVER_PORT"
  expect_bytes alice "$PROMPT" \
    "a new client must first receive exactly \"$PROMPT\" (no newline)"
}

@test "an empty line from a telnet-style client brings the prompt again" {
  need socat
  start_server chat_server -p 0
  # crlf: socat ends each line it sends with "\r\n", as telnet does.
  open_client alice socat -t 0.1 - "TCP:$SERVER_HOST:$SERVER_PORT,crlf"
  expect_bytes alice "$PROMPT" "a new client must first receive the prompt"
  printf '\n' >&"$alice_IN"
  expect_bytes alice "$PROMPT" \
    "after an empty line (\"\\r\\n\"), the prompt must come again"
  printf '\n' >&"$alice_IN"
  expect_bytes alice "$PROMPT" \
    "after a second empty line, the prompt must come once more"
}

@test "SIGTERM with clients connected: the server exits 0" {
  need socat
  start_server chat_server -p 0
  open_client alice socat -t 0.1 - "TCP:$SERVER_HOST:$SERVER_PORT"
  expect_bytes alice "$PROMPT" "a new client must first receive the prompt"
  printf 'alice\n' >&"$alice_IN"
  open_client bob socat -t 0.1 - "TCP:$SERVER_HOST:$SERVER_PORT"
  expect_bytes bob "$PROMPT" "a new client must first receive the prompt"
  printf 'bob\nhello\n' >&"$bob_IN"

  # A deadline, so that a server that ignores the cancellation fails this
  # check in a few seconds rather than by the grader's timeout.
  sleep "$DEADLINE" 3>&- &
  local deadline=$! finished= code=0
  CLIENT_PIDS+=("$deadline")
  kill -TERM "$SERVER_PID"
  wait -n -p finished "$SERVER_PID" "$deadline" || code=$?
  if [ "$finished" = "$deadline" ]; then
    grader_message "after SIGTERM the server still ran $DEADLINE s later: when\
 readline returns UV_ECANCELED (the server is closing), leave the room and\
 return"
    sed 's/^/  server: /' "$SERVER_OUTPUT" >&2
    return 1
  fi
  if [ "$code" -ne 0 ]; then
    grader_message "after SIGTERM the server exited with status $code, not 0"
    sed 's/^/  server: /' "$SERVER_OUTPUT" >&2
    return 1
  fi
  # Its clients see the end of their connections: socat then ends too.
  local rest read_status=0
  IFS= read -r -d '' -t "$DEADLINE" -u "$alice_OUT" rest || read_status=$?
  if [ "$read_status" -gt 128 ]; then
    grader_message "the server exited, but alice's connection stayed open"
    return 1
  fi
}
