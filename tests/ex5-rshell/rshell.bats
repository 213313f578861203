#!/usr/bin/env bats
# rshell.bats: ex5-rshell's checks of the rshell program, over real sockets.
#
# Clients are bash's own /dev/tcp connections (a real TCP socket on a file
# descriptor), and netcat for the checks that want a peer nobody here
# wrote. Nothing sleeps to synchronise: the server says where it listens,
# and every answer is read up to a marker the shell echoes after the
# command, with a bounded wait. Facts about processes and sockets come
# from /proc, never from the program's word.

setup() {
  load ../lib/grader
  load ../lib/server
  # Writing to a connection the server has closed is an error to report,
  # not a signal that kills the test.
  trap '' PIPE
  ANSWER_WAIT=$(scaled 3)
  CONNECTIONS=()
}

teardown() {
  local fd
  for fd in "${CONNECTIONS[@]}"; do exec {fd}>&- 2>/dev/null || true; done
  stop_servers
}

# scaled SECONDS: SECONDS times the grader's TIMEOUT_SCALE.
scaled() {
  awk -v t="$1" -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print t * s }'
}

start_rshell() {
  start_server rshell -p 0
}

# connect VAR: opens a connection to the server; its descriptor in VAR.
connect() {
  local fd
  if ! exec {fd}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"; then
    grader_message "cannot connect to rshell at $SERVER_HOST:$SERVER_PORT"
    return 1
  fi
  CONNECTIONS+=("$fd")
  printf -v "$1" '%s' "$fd"
}

# visible TEXT: TEXT on one line, newlines shown as ⏎, cut at 300 bytes.
visible() {
  local text=${1//$'\n'/⏎}
  [ ${#text} -le 300 ] || text="${text:0:300}..."
  printf '%s' "$text"
}

# send FD TEXT [WHAT]: sends TEXT. If the server has closed the connection,
# says so (naming WHAT, or TEXT), with what the server had sent, and
# returns 1.
send() {
  printf '%s' "$2" >&"$1" 2>/dev/null && return 0
  wait_for_end "$1" || true
  local said=
  [ -z "$REST" ] || said=" (it said: $(visible "$REST"))"
  grader_message "the server closed the connection before '$(visible "${3:-${2%$'\n'}}")' could be sent$said"
  return 1
}

# ask FD COMMAND: sends COMMAND, then an echo of a marker; reads what comes
# back up to the marker into ANSWER (without it). Returns 0 with the
# answer; otherwise says why (the connection closed, or nothing came in
# time) through grader_message and returns 1.
ASKED=0
ask() {
  local fd=$1 command=$2 line
  ASKED=$((ASKED + 1))
  local marker="--rshell-check-done-$ASKED--"
  ANSWER=
  send "$fd" "$command"$'\n'"echo $marker"$'\n' "$command" || return 1
  while :; do
    line=
    if IFS= read -r -t "$ANSWER_WAIT" -u "$fd" line; then
      if [[ $line == *"$marker" ]]; then
        ANSWER+=${line%"$marker"}
        ANSWER=${ANSWER%$'\n'}
        return 0
      fi
      ANSWER+="$line"$'\n'
    elif [ $? -gt 128 ]; then
      grader_message "no answer to '$command' within ${ANSWER_WAIT}s$(
        [ -z "$ANSWER" ] || printf ' (only: %s)' "$(visible "$ANSWER")"
      ): is the shell's output copied to the client while it runs?"
      return 1
    else
      ANSWER+=$line
      grader_message "the connection closed before the answer to '$command' came$(
        [ -z "$ANSWER" ] || printf ' (got: %s)' "$(visible "$ANSWER")"
      )"
      return 1
    fi
  done
}

# expect_answer FD COMMAND EXPECTED [WHY]: ask, and compare the answer.
expect_answer() {
  ask "$1" "$2" || return 1
  expect_text "$3" "$ANSWER" "${4:-'$2' did not answer what a shell would}"
}

# wait_for_end FD: reads until the server closes the connection (0) or
# ANSWER_WAIT passes (1); what came meanwhile is in REST.
wait_for_end() {
  local line
  REST=
  while :; do
    line=
    if IFS= read -r -t "$ANSWER_WAIT" -u "$1" line; then
      REST+="$line"$'\n'
    elif [ $? -gt 128 ]; then
      return 1
    else
      REST+=$line
      return 0
    fi
  done
}

# process_state PID: the state letter of process PID (R, S, Z...), empty
# when there is no such process.
process_state() {
  local line
  { IFS= read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
  line=${line##*) }
  printf '%s' "${line%% *}"
}

# process_field PID N: field N of /proc/PID/stat counted after the command
# (1 state, 2 ppid, 3 process group).
process_field() {
  local line
  { IFS= read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
  line=${line##*) }
  local fields
  read -r -a fields <<<"$line"
  printf '%s' "${fields[$(($2 - 1))]}"
}

# children_of PID [STATE]: the processes whose parent is PID (in STATE
# only, if given), one per line as "PID STATE COMMAND".
children_of() {
  local stat line pid rest fields
  for stat in /proc/[0-9]*/stat; do
    { IFS= read -r line <"$stat"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }
    read -r -a fields <<<"$rest"
    [ "${fields[1]}" = "$1" ] || continue
    [ -z "${2:-}" ] || [ "${fields[0]}" = "$2" ] || continue
    local command=${line#*(}
    printf '%s %s %s\n' "$pid" "${fields[0]}" "${command%)*}"
  done
}

# descriptors PID: how many descriptors process PID has open.
descriptors() {
  local entries=("/proc/$1/fd"/*)
  printf '%s' "${#entries[@]}"
}

# describe_descriptors PID: what they are, counted ("3 pipe, 2 socket").
describe_descriptors() {
  local fd
  for fd in "/proc/$1/fd"/*; do
    readlink "$fd" 2>/dev/null | sed 's/:.*//; s/^\/.*/file/'
  done | sort | uniq -c | awk '{ printf "%s%d %s", NR > 1 ? ", " : "", $1, $2 }'
}

# poll_until SECONDS COMMAND...: runs COMMAND every 20 ms until it
# succeeds (0) or SECONDS (scaled) have passed (1). A bounded wait for
# something that happens on its own (a process ending), not a sleep
# standing in for synchronisation.
poll_until() {
  local limit deadline
  limit=$(awk -v t="$1" -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", t * s * 1000000 }')
  shift
  deadline=$((${EPOCHREALTIME/./} + limit))
  until "$@"; do
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

@test "a command's output comes back" {
  start_rshell
  connect client
  expect_answer "$client" "echo hello from the shell" "hello from the shell"
  expect_answer "$client" "printf 'one\\ntwo\\n'" $'one\ntwo'
}

@test "state persists between commands (cd, then pwd)" {
  start_rshell
  connect client
  ask "$client" "cd /tmp"
  expect_answer "$client" "pwd" "/tmp" \
    "after 'cd /tmp', 'pwd' answered something else: each command seems to run in a new shell"
  ask "$client" "greeting=hello"
  expect_answer "$client" 'echo "$greeting"' "hello" \
    "a variable set by one command is gone at the next: each command seems to run in a new shell"
}

@test "stderr reaches the client" {
  start_rshell
  connect client
  expect_answer "$client" "echo to-stderr >&2" "to-stderr" \
    "what the shell writes on stderr does not reach the client"
  ask "$client" "ls /no/such/directory"
  if [[ $ANSWER != *"/no/such/directory"* ]]; then
    expect_text "ls: cannot access '/no/such/directory': No such file or directory" \
      "$ANSWER" "ls's error message does not reach the client"
  fi
}

@test "two clients get two different shells" {
  start_rshell
  connect first
  connect second
  # Both connections are open at once: a server that served one client at
  # a time would leave the second without an answer.
  ask "$first" 'echo $$'
  local first_shell=$ANSWER
  ask "$second" 'echo $$'
  local second_shell=$ANSWER
  if [ "$first_shell" = "$second_shell" ]; then
    grader_message "both clients got the shell $first_shell: each connection needs a /bin/sh of its own"
    return 1
  fi
  ask "$first" "secret=first-client"
  expect_answer "$second" 'echo "secret=$secret"' "secret=" \
    "a variable set by one client is seen by the other: they share a shell"
  local parent
  parent=$(process_field "$first_shell" 2)
  if [ "$parent" != "$SERVER_PID" ]; then
    grader_message "the shell $first_shell is not a child of the server (its parent is ${parent:-gone}): start it with async_process_spawn"
    return 1
  fi
}

@test "the server listens on 127.0.0.1 only" {
  start_rshell
  # The server's listening sockets, from the kernel's tables: the inodes
  # of its socket descriptors, looked up in /proc/PID/net/tcp and tcp6.
  local inodes=" " fd target
  for fd in "/proc/$SERVER_PID/fd"/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case $target in socket:*) inodes+="${target//[!0-9]/} " ;; esac
  done
  local listening
  listening=$(
    for table in tcp tcp6; do
      [ -r "/proc/$SERVER_PID/net/$table" ] || continue
      awk -v inodes="$inodes" -v table="$table" '
        function hex(h,    i, n) {
          n = 0
          for (i = 1; i <= length(h); i++)
            n = n * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1
          return n
        }
        # Addresses are in the kernel byte order: words of 4 bytes,
        # little-endian on the machines the kit runs on.
        function ipv4(h) {
          return hex(substr(h, 7, 2)) "." hex(substr(h, 5, 2)) "." \
                 hex(substr(h, 3, 2)) "." hex(substr(h, 1, 2))
        }
        NR > 1 && $4 == "0A" && index(inodes, " " $10 " ") {
          split($2, local, ":")
          port = hex(local[2])
          if (table == "tcp") { print ipv4(local[1]) ":" port; next }
          a = local[1]
          if (a == "00000000000000000000000001000000") print "[::1]:" port
          else if (substr(a, 1, 24) == "0000000000000000FFFF0000")
            print "[::ffff:" ipv4(substr(a, 25, 8)) "]:" port
          else if (a == "00000000000000000000000000000000") print "[::]:" port
          else print "[" a "]:" port
        }' "/proc/$SERVER_PID/net/$table"
    done
  )
  if [ -z "$listening" ]; then
    grader_message "found no listening socket of the server (pid $SERVER_PID) in /proc/$SERVER_PID/net/tcp or tcp6"
    return 1
  fi
  local address
  for address in $listening; do
    case $address in
    127.*:* | "[::1]:"* | "[::ffff:127."*) ;;
    *)
      grader_message "the server listens on $address, which other machines can reach: anyone could get a shell, without a password. Listen on 127.0.0.1 only."
      expect_text "127.0.0.1:$SERVER_PORT" "$listening" "listens beyond this machine"
      return 1
      ;;
    esac
  done
}

@test "a client that disconnects leaves no shell behind within a second" {
  start_rshell
  connect client
  ask "$client" 'echo $$'
  local shell=$ANSWER
  # A busy shell: waiting for a background job, which sits in the same
  # process group. A shell reading its input would end by itself at the
  # end of input; this one has to be ended.
  ask "$client" 'sleep 1000 & echo $!'
  local job=$ANSWER
  send "$client" $'wait\n'
  exec {client}>&-

  shell_gone() { [ -z "$(process_state "$shell")" ]; }
  job_gone() {
    local state
    state=$(process_state "$job")
    # A killed job may linger as a zombie of whoever adopted it (not the
    # server): it is not running any more.
    [ -z "$state" ] || [ "$state" = Z ]
  }
  if ! poll_until 1 shell_gone; then
    if [ "$(process_state "$shell")" = Z ]; then
      grader_message "the shell $shell ended but was never reaped (a zombie): wait for it with async_process_wait"
    else
      grader_message "the client hung up, but its shell (pid $shell) is still there a second later: end it when the client's stream ends"
    fi
    return 1
  fi
  if ! poll_until 1 job_gone; then
    grader_message "the shell is gone, but the job it was running (sleep, pid $job) is still there: signal the shell's whole process group (new_process_group, then kill(-pid, SIGTERM)), not the shell alone"
    return 1
  fi
}

@test "exit closes the connection" {
  start_rshell
  connect client
  send "$client" $'echo bye\nexit\n'
  if ! wait_for_end "$client"; then
    grader_message "the shell has exited, but the connection is still open ${ANSWER_WAIT}s later$(
      [ -z "$REST" ] || printf ' (got: %s)' "$(visible "$REST")"
    ): when the shell is gone, close the client's stream"
    return 1
  fi
  expect_text "bye" "${REST%$'\n'}" "what the shell printed just before exit was lost"
}

@test "netcat as a client: a scripted session" {
  command -v nc >/dev/null || skip "nc (netcat-openbsd) is not installed"
  start_rshell
  local limit
  limit=$(scaled 4)
  # nc sends its input, then keeps reading until the server closes the
  # connection: the exit at the end of the script does that.
  run timeout "$limit" nc "$SERVER_HOST" "$SERVER_PORT" <<'SCRIPT'
cd /tmp
pwd
echo "an error" >&2
answer=42
echo "the answer is $answer"
exit
SCRIPT
  if [ "$status" -eq 124 ]; then
    grader_message "nc was still connected ${limit}s later: the script ends with exit, which should close the connection"
  fi
  expect_output $'/tmp\nan error\nthe answer is 42'
  [ "$status" -eq 0 ]
}

@test "a megabyte of output arrives whole" {
  command -v nc >/dev/null || skip "nc (netcat-openbsd) is not installed"
  start_rshell
  local sent="$BATS_TEST_TMPDIR/megabyte" received="$BATS_TEST_TMPDIR/received"
  head -c 1048576 /dev/urandom >"$sent"
  local limit
  limit=$(scaled 4)
  printf 'cat %s\nexit\n' "$sent" | timeout "$limit" nc "$SERVER_HOST" "$SERVER_PORT" >"$received"
  local size
  size=$(wc -c <"$received")
  if [ "$size" -ne 1048576 ]; then
    grader_message "'cat' of a 1048576-byte file sent $size bytes: keep copying the shell's output until its end, and let it finish before closing"
    expect_text "1048576 bytes" "$size bytes" "output lost"
    return 1
  fi
  if ! cmp -s "$sent" "$received"; then
    grader_message "all 1048576 bytes arrived, but not the same ones: $(cmp "$sent" "$received" | head -1)"
    expect_text "$(cksum <"$sent")" "$(cksum <"$received")" "the checksums differ"
    return 1
  fi
}

@test "twenty connections later, no zombie and no leaked descriptor" {
  start_rshell
  local client
  # One session first: libuv keeps a few descriptors for good once a
  # process has spawned a child.
  connect client
  send "$client" $'exit\n'
  wait_for_end "$client"
  exec {client}>&-
  local before
  before=$(descriptors "$SERVER_PID")

  local i
  for i in $(seq 1 20); do
    connect client
    ask "$client" 'echo $$' || return 1
    if [ $((i % 2)) -eq 0 ]; then
      send "$client" $'exit\n' || return 1 # the shell ends the session
      if ! wait_for_end "$client"; then
        grader_message "session $i: the shell exited, but the connection stayed open"
        return 1
      fi
    fi
    exec {client}>&- # or the client does
  done

  settled() {
    [ "$(descriptors "$SERVER_PID")" -le "$before" ] &&
      [ -z "$(children_of "$SERVER_PID")" ]
  }
  if ! poll_until 2 settled; then
    local zombies
    zombies=$(children_of "$SERVER_PID" Z)
    if [ -n "$zombies" ]; then
      grader_message "the server has zombie children (exited, never reaped): $(visible "$zombies")"
      return 1
    fi
    local left
    left=$(children_of "$SERVER_PID")
    if [ -n "$left" ]; then
      grader_message "twenty sessions are over, but the server still has children: $(visible "$left")"
      return 1
    fi
    local after
    after=$(descriptors "$SERVER_PID")
    grader_message "the server had $before descriptors open after one session and $after after twenty more ($(describe_descriptors "$SERVER_PID")): release each shell with async_process_release, which closes its pipes"
    expect_text "$before descriptors" "$after descriptors" "descriptors leaked"
    return 1
  fi
}

@test "stopping the server ends every shell" {
  start_rshell
  connect client
  ask "$client" 'echo $$'
  local shell=$ANSWER
  ask "$client" 'sleep 1000 & echo $!'
  local job=$ANSWER
  send "$client" $'wait\n'
  kill -TERM "$SERVER_PID"
  server_gone() {
    local state
    state=$(process_state "$SERVER_PID")
    [ -z "$state" ] || [ "$state" = Z ]
  }
  if ! poll_until 3 server_gone; then
    grader_message "rshell was sent SIGTERM and is still running 3s later: does the session return when it is cancelled?"
    return 1
  fi
  job_gone() {
    local state
    state=$(process_state "$job")
    [ -z "$state" ] || [ "$state" = Z ]
  }
  if ! poll_until 1 job_gone; then
    grader_message "rshell has stopped, but a job its shell ran (sleep, pid $job) is still running: start the shell in a process group of its own (new_process_group), so that ending the group ends everything the shell started"
    return 1
  fi
  [ -n "$shell" ]
}
