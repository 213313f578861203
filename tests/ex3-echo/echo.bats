#!/usr/bin/env bats
# echo.bats: ex3-echo's checks of the echo_server and echo_client programs,
# with netcat and socat as the peers no one here wrote.

setup() {
  load ../lib/grader
  load ../lib/server
  cd "$BATS_TEST_TMPDIR" || return 1
  # Bounds on how long a failure takes to show; a correct run takes
  # milliseconds.
  limit=$(awk -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print 3 * s }')
}

teardown() {
  stop_servers
}

# The file's exact contents, a final newline or its absence included, into
# the variable named $2 ($(...) alone would drop a final newline).
read_exactly() {
  local text
  text=$(cat "$1" && printf x)
  printf -v "$2" '%s' "${text%x}"
}

need() {
  command -v "$1" >/dev/null || skip "$1 is not installed ($2)"
}

# excerpt VARIABLE FILE FROM TO: lines FROM to TO of FILE, exactly (a final
# newline, or its absence, kept), into VARIABLE.
excerpt() {
  local text
  # NUL bytes shown as <NUL>: a shell variable cannot hold them.
  text=$(LC_ALL=C sed -n "$3,$4p" "$2" | LC_ALL=C sed 's/\x0/<NUL>/g' && printf x)
  printf -v "$1" '%s' "${text%x}"
}

# show_difference EXPECTED_FILE ACTUAL_FILE WHY: fails, handing the grader
# the lines around the first difference rather than megabytes of both.
show_difference() {
  local line from to want got
  line=$(cmp "$1" "$2" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p' | head -n 1)
  line=${line:-1}
  from=$((line > 3 ? line - 3 : 1))
  to=$((line + 8))
  excerpt want "$1" "$from" "$to"
  excerpt got "$2" "$from" "$to"
  expect_text "$want" "$got" "$3 (lines $from to $to shown)"
}

@test "nc as a client of echo_server" {
  need nc "apt-get install netcat-openbsd"
  start_server echo_server -p 0
  printf 'hello, netcat\n\ttabs\tand  spaces \n\xc3\xa9t\xc3\xa9\nno newline at the end' >input
  local status=0 actual expected
  # -N: after the end of its input, nc shuts its sending side down (as
  # echo_client does) and reads until the server closes.
  timeout "$limit" nc -N "$SERVER_HOST" "$SERVER_PORT" <input >output 2>errors ||
    status=$?
  read_exactly input expected
  read_exactly output actual
  if [ "$status" -eq 124 ]; then
    grader_message "nc sent four lines, the last without a newline, and ended its stream; echo_server had not closed the connection $limit s later (it should echo and close once a client's stream ends)"
  elif [ "$actual" != "$expected" ]; then
    grader_message "nc (netcat) sent four lines, the last without a newline: each should come back as it was sent"
  fi
  expect_text "$expected" "$actual" "nc got back something else than it sent"
  [ "$status" -ne 124 ]
}

@test "echo_server goes on after a client sends an over-long line" {
  need nc "apt-get install netcat-openbsd"
  start_server echo_server -p 0
  # 65,537 bytes before the newline: one more than the limit.
  { head -c 65537 /dev/zero | tr '\0' 'x' && printf '\nafter\n'; } >long
  local status=0
  timeout "$limit" nc -N "$SERVER_HOST" "$SERVER_PORT" <long >output 2>errors ||
    status=$?
  if [ "$status" -eq 124 ]; then
    grader_message "a client sent a line of 65,537 bytes: echo_server should close that connection, but it was still open $limit s later"
    return 1
  fi
  if [ -s output ]; then
    grader_message "a client sent a line of 65,537 bytes and got $(wc -c <output) bytes back: nothing of an over-long line should be echoed (not even its first part), and the connection closed"
    return 1
  fi
  status=0
  printf 'still there?\n' | timeout "$limit" nc -N "$SERVER_HOST" "$SERVER_PORT" >output 2>errors ||
    status=$?
  local actual
  read_exactly output actual
  if [ "$actual" != $'still there?\n' ]; then
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      grader_message "after a client sent an over-long line, the next client was not served"
    else
      grader_message "echo_server exited after a client sent an over-long line (it printed: $(tail -c 300 "$SERVER_OUTPUT" | tr "\n" " ")); it should close that one connection and go on"
    fi
  fi
  expect_text $'still there?\n' "$actual" "the next client did not get its line back"
}

# stops_cleanly SIGNAL: starts echo_server, connects a client that stays
# idle, sends SIGNAL; the server must exit 0, and the client see the end.
stops_cleanly() {
  local signal=$1 fd line status
  # Under timeout, which passes the signal on to echo_server and returns
  # its exit status, or kills it and returns 124 once the limit is up: a
  # deadline without a watchdog of our own. --foreground: the signal goes
  # to echo_server once, not a second time to its whole process group (a
  # second SIGINT, as a second Ctrl-C, may rightly kill a server that is
  # already stopping).
  start_server timeout --foreground -s KILL "$limit" echo_server -p 0
  exec {fd}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
  printf 'ping\n' >&"$fd"
  # The echo proves the server is serving (and so waiting for signals).
  if ! IFS= read -r -t "$limit" -u "$fd" line || [ "$line" != ping ]; then
    grader_message "a client sent ping and did not get it back (this check needs echo_connection to work first)"
    return 1
  fi
  kill -"$signal" "$SERVER_PID"
  status=0
  wait "$SERVER_PID" || status=$?
  if [ "$status" -eq 124 ]; then
    grader_message "echo_server was still running after SIG$signal, with one idle client connected, until it was killed $limit s after it started: close the server with its clients (async_server_close(server, true))"
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    if [ "$status" -gt 128 ]; then
      grader_message "SIG$signal killed echo_server (exit status $status): wait for it with async_signal_wait_any, then close the server and return 0"
    else
      grader_message "echo_server exited $status after SIG$signal, not 0; it printed: $(tail -c 300 "$SERVER_OUTPUT" | tr "\n" " ")"
    fi
    return 1
  fi
  # The idle client: the server closed its connection (end of stream).
  if IFS= read -r -t "$limit" -u "$fd" line; then
    grader_message "after SIG$signal the client still read \"$line\" from the server"
    return 1
  elif [ $? -gt 128 ]; then
    grader_message "echo_server exited but its client's connection stayed open"
    return 1
  fi
  exec {fd}>&-
}

@test "SIGTERM and SIGINT stop echo_server with exit 0, clients closed" {
  stops_cleanly TERM
  stop_servers
  stops_cleanly INT
}

# client_check NAME_OF_SERVER HOST PORT: runs echo_client on ./input and
# fails, saying why, unless it printed exactly its input and exited 0.
client_check() {
  local server=$1 status=0
  timeout "$limit" echo_client "$2" "$3" <input >output 2>errors || status=$?
  if [ "$status" -eq 124 ]; then
    grader_message "echo_client (talking to $server) was still running $limit s after its input ended: at the end of stdin it should shut down its sending side (async_stream_shutdown), so that the server sees the end, echoes the last line and closes; then stop when a read returns 0"
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    grader_message "echo_client (talking to $server) exited $status: $(head -c 300 errors | tr "\n" " ")"
    return 1
  fi
  if ! cmp -s input output; then
    grader_message "echo_client sent $(wc -l <input) lines to $server (one with a NUL byte, the last without a newline) and should print exactly what came back: $(wc -c <input) bytes; it printed $(wc -c <output)"
    show_difference input output "echo_client printed something else than its input"
    return 1
  fi
}

@test "echo_client prints what echo_server echoes" {
  start_server echo_server -p 0
  {
    printf 'hello\n\n\ttabs\tand  spaces \na\0NUL byte\n'
    seq 1 2000
    printf 'the last line, with no newline'
  } >input
  client_check echo_server "$SERVER_HOST" "$SERVER_PORT"
}

@test "echo_client against socat as the echo server" {
  need socat "apt-get install socat"
  # socat, no one's code here, echoes through cat: each connection gets a
  # cat of its own, and closes once cat has seen the end of the input.
  start_server socat -d -d TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork EXEC:cat
  {
    seq 1 2000
    printf 'caf\xc3\xa9\t\r\na\0NUL byte\nno newline at the end'
  } >input
  client_check socat 127.0.0.1 "$SERVER_PORT"
}
