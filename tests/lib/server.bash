# server.bash: starts the exercise's servers in bats tests, and stops them.
#
#   load ../lib/server
#
#   start_server COMMAND [ARGS...]
#       runs COMMAND in the background, in a session and process group of
#       its own, stdin from /dev/null and bats' fd 3 closed (a child holding
#       fd 3 would keep bats waiting forever), and waits, without sleeping,
#       until it prints "listening on HOST:PORT". Then SERVER_HOST,
#       SERVER_PORT and SERVER_PID are set; its output so far and from now on
#       goes to $SERVER_OUTPUT. Fails, showing the output, if the server
#       exits or stays silent for $SERVER_START_TIMEOUT seconds (default 10,
#       times TIMEOUT_SCALE).
#   stop_servers
#       kills every server this test started, with its whole process group,
#       and returns once they are gone (every process that kept the
#       server's stdout); call it from teardown().
#
# Pass -p 0 to servers so that each picks a free port: under the grader a
# test may share the network with others (GRADER_NETWORK=shared).

SERVER_PIDS=()
SERVER_READERS=()

start_server() {
  local directory=${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}
  local index=${#SERVER_PIDS[@]}
  local fifo="$directory/server-$index.fifo"
  SERVER_OUTPUT="$directory/server-$index.out"
  local limit=${SERVER_START_TIMEOUT:-10}
  limit=$(awk -v t="$limit" -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print t * s }')

  rm -f "$fifo"
  mkfifo "$fifo" || return 1
  : >"$SERVER_OUTPUT"
  # Not a process group leader here (no job control in bats), so setsid
  # execs the server itself: $! is the server, and leads its own group.
  setsid "$@" >"$fifo" 2>&1 </dev/null 3>&- &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")

  local fd line address=
  exec {fd}<"$fifo"
  rm -f "$fifo"
  while IFS= read -r -t "$limit" -u "$fd" line; do
    printf '%s\n' "$line" >>"$SERVER_OUTPUT"
    case $line in
    *"listening on "*)
      address=${line##*listening on }
      break
      ;;
    esac
  done
  # Keep reading in the background, so the server never blocks on a full
  # pipe. This reader ends when the last process holding the server's
  # output has gone, which is how stop_servers knows they all have.
  cat <&"$fd" >>"$SERVER_OUTPUT" 3>&- &
  SERVER_READERS+=("$!")
  exec {fd}<&-

  if [ -z "$address" ]; then
    echo "the server ($*) never said 'listening on HOST:PORT'; it printed:" >&2
    sed 's/^/  /' "$SERVER_OUTPUT" >&2
    return 1
  fi
  SERVER_HOST=${address%:*}
  SERVER_PORT=${address##*:}
  SERVER_PORT=${SERVER_PORT%%[!0-9]*}
  export SERVER_HOST SERVER_PORT SERVER_PID SERVER_OUTPUT
}

stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    # Braces: bash reports "Killed" on the stderr of the wait's caller.
    { wait "$pid"; } 2>/dev/null || true
  done
  for pid in "${SERVER_READERS[@]}"; do
    { wait "$pid"; } 2>/dev/null || true
  done
  SERVER_PIDS=()
  SERVER_READERS=()
  return 0
}
