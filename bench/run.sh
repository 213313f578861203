#!/usr/bin/env bash
# run.sh: `make bench`: the runtime's benchmarks, next to asyncio, uvloop and Go.
#
#   bash bench/run.sh            (what `make bench` runs, from the repo's top)
#
# Builds bench/*.c against the runtime library, runs every workload in a
# process of its own, runs the same workloads in the peers that are
# installed (bench/peers/asyncio_bench.py on asyncio and on uvloop,
# bench/peers/go), and prints one table per workload (figure, and the ratio
# peer / runtime) and the runtime's targets, met or not.
#
# Then the I/O benchmarks (bench/io/): one load generator in C
# (bench/io/loadgen.c, raw epoll) drives, one server process at a time, the
# echo and chat servers on the runtime (bench/io/*_runtime.c), a raw libuv
# echo server (the floor), the peers' servers (bench/peers/asyncio_servers.py
# on asyncio and uvloop, bench/peers/go/servers) and the workshop's ex3 and
# ex4 solutions when they are there (built from exercises/ with the solved
# files of solutions/); tables for echo, chat fan-out and idle connections.
#
# Settings, from the environment (the Makefile passes them):
#   BUILD         build directory of the variant   (build/default)
#   ASYNC_LIB     the runtime library              ($LIB, or $BUILD/libasync.a)
#   ASYNC_CFLAGS  flags for compiling the benchmarks
#                 (-Iruntime/include -D_GNU_SOURCE -O2)
#   ASYNC_LDLIBS  libraries the runtime needs      (pkg-config libuv [libcurl], -lm)
#   BENCH_TIMEOUT seconds any one program may run  (120)
#   IO_ROUNDS     timed rounds per I/O measurement  (3; the median is shown)
#   IO_SECONDS    seconds per I/O round             (1)
#
# Benchmarks report; they do not judge. A missed target is printed, not an
# error. Exits 1 only if something could not run (a build failed, a workload
# crashed or timed out); a peer that is not installed is skipped with a note.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build/default}
ASYNC_LIB=${ASYNC_LIB:-${LIB:-$BUILD/libasync.a}}
ASYNC_CFLAGS=${ASYNC_CFLAGS:--Iruntime/include -D_GNU_SOURCE -O2}
if [ -z "${ASYNC_LDLIBS:-}" ]; then
  # libcurl too when it is there: the runtime's HTTP client may need it.
  ASYNC_LDLIBS="$(pkg-config --libs libuv 2>/dev/null || echo -luv)"
  if pkg-config --exists libcurl 2>/dev/null; then
    ASYNC_LDLIBS="$ASYNC_LDLIBS $(pkg-config --libs libcurl)"
  fi
  ASYNC_LDLIBS="$ASYNC_LDLIBS -lpthread -lm"
fi
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
IO_ROUNDS=${IO_ROUNDS:-3}
IO_SECONDS=${IO_SECONDS:-1}
WARNINGS="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"

out=$BUILD/bench
mkdir -p "$out" || exit 1
out_abs=$(cd "$out" && pwd)
log=$out/log.txt
: >"$log"
failures=0

# Workload sizes. The C runtime and Go do 1,000,000 hand-offs a round;
# Python, some 50 times slower, does 100,000 (the figure is per hand-off, so
# it compares). Fixed-size work (100,000 tasks, 1000 philosophers) is the
# same everywhere.
WORKLOADS="handoff-queue handoff-event switch spawn parked philosophers"
# shellcheck disable=SC2034 # both are read through run_workloads' nameref
declare -A fast_args=([handoff-queue]="1000000 5" [handoff-event]="1000000 5"
  [switch]="1000000 5" [spawn]="100000 5" [parked]="100000 1"
  [philosophers]="1000 5")
# shellcheck disable=SC2034
declare -A python_args=([handoff-queue]="100000 3" [handoff-event]="100000 3"
  [switch]="100000 3" [spawn]="100000 3" [parked]="100000 1"
  [philosophers]="1000 3")

declare -A result # result[peer:name] = figure, from "RESULT name value unit"
declare -A note   # note[peer] = why it has no figures

# run_workloads PEER SIZES_ARRAY COMMAND...: runs COMMAND WORKLOAD N REPS
# for every workload, each in its own process, and collects the results.
run_workloads() {
  local peer=$1 sizes=$2
  shift 2
  local -n size_of=$sizes
  printf '  %-8s' "$peer"
  local workload output status
  for workload in $WORKLOADS; do
    printf ' %s' "$workload"
    # shellcheck disable=SC2086 # the sizes are two words on purpose
    output=$(timeout "$BENCH_TIMEOUT" "$@" "$workload" ${size_of[$workload]} \
      2>>"$log")
    status=$?
    while read -r tag name value _; do
      [ "$tag" = RESULT ] && result[$peer:$name]=$value
    done <<<"$output"
    if [ $status -ne 0 ]; then
      failures=$((failures + 1))
      if [ $status -eq 124 ]; then
        printf ' (timed out after %ss)' "$BENCH_TIMEOUT"
      else
        printf ' (failed, exit %d)' "$status"
      fi
      echo "== $peer $workload: exit $status" >>"$log"
    fi
  done
  echo
}

# The runtime runs with no ASYNC_* variable set: check mode, a different
# stack size or anything else the runtime reads would change what is timed.
unset_async=()
for variable in $(compgen -e); do
  case $variable in ASYNC_*) unset_async+=(-u "$variable") ;; esac
done

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

echo "== Building the benchmarks"
if [ ! -f "$ASYNC_LIB" ]; then
  echo "the runtime library $ASYNC_LIB is missing: run \`make lib\` first"
  exit 1
fi
# A sanitizer variant's library needs its runtime at link time too.
sanitizer=
case ${BUILD##*/} in
  *asan*) sanitizer="-fsanitize=address,undefined" ;;
  *ubsan*) sanitizer="-fsanitize=undefined" ;;
esac
if [ -n "$sanitizer" ]; then
  echo "note: $BUILD is a sanitizer build; its figures include the sanitizer's cost"
fi
bench_binary=$out/runtime_bench
# shellcheck disable=SC2086,SC2046 # the flag variables hold several words
if ! ${CC:-cc} -std=c11 -O2 $WARNINGS $sanitizer $ASYNC_CFLAGS \
  $(pkg-config --cflags libuv 2>/dev/null) \
  -o "$bench_binary" bench/*.c "$ASYNC_LIB" $ASYNC_LDLIBS; then
  echo "the runtime benchmarks did not build (see the errors above)"
  exit 1
fi

python=
if [ -x /usr/bin/python3 ]; then
  python=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1; then
  python=$(command -v python3)
fi

go_binary=
if command -v go >/dev/null 2>&1; then
  # Cache, module path and binary stay under the build directory.
  if (cd bench/peers/go && GOCACHE=$out_abs/go/cache GOPATH=$out_abs/go/path \
    GOMODCACHE=$out_abs/go/path/pkg/mod GOPROXY=off GOFLAGS='' \
    GO111MODULE=on GOTOOLCHAIN=local \
    go build -o "$out_abs/go-bench" .) 2>>"$log"; then
    go_binary=$out/go-bench
  else
    note[Go]="the Go peer did not build (see $log)"
    failures=$((failures + 1))
  fi
fi

# The I/O benchmarks' programs: the load generator and the libuv server
# need no runtime; the runtime's servers link it as the benchmarks do. The
# load generator is never built with a sanitizer: it is not what is measured.
io_dir=$out/io
mkdir -p "$io_dir" || exit 1
io_built=true
# shellcheck disable=SC2086,SC2046 # the flag variables hold several words
if ! ${CC:-cc} -std=c11 -O2 $WARNINGS -D_GNU_SOURCE \
  -o "$io_dir/loadgen" bench/io/loadgen.c ||
  ! ${CC:-cc} -std=c11 -O2 $WARNINGS $sanitizer -D_GNU_SOURCE \
    $(pkg-config --cflags libuv 2>/dev/null) -o "$io_dir/echo_libuv" \
    bench/io/echo_libuv.c $ASYNC_LDLIBS; then
  io_built=false
fi
for server in echo_runtime chat_runtime; do
  # shellcheck disable=SC2086,SC2046
  ${CC:-cc} -std=c11 -O2 $WARNINGS $sanitizer $ASYNC_CFLAGS \
    $(pkg-config --cflags libuv 2>/dev/null) -o "$io_dir/$server" \
    "bench/io/$server.c" "$ASYNC_LIB" $ASYNC_LDLIBS || io_built=false
done
if [ "$io_built" != true ]; then
  echo "the I/O benchmarks did not build (see the errors above)"
  exit 1
fi

go_servers=
if [ -n "$go_binary" ]; then
  if (cd bench/peers/go && GOCACHE=$out_abs/go/cache GOPATH=$out_abs/go/path \
    GOMODCACHE=$out_abs/go/path/pkg/mod GOPROXY=off GOFLAGS='' \
    GO111MODULE=on GOTOOLCHAIN=local \
    go build -o "$out_abs/io/go-servers" ./servers) 2>>"$log"; then
    go_servers=$io_dir/go-servers
  else
    note[io-Go]="the Go servers did not build (see $log)"
    failures=$((failures + 1))
  fi
fi

# build_solution EXERCISE PROGRAM: builds a workshop solution as the grader
# does (every .c of exercises/EXERCISE, the solved files taken from
# solutions/EXERCISE; the program's own list in tests/EXERCISE/exercise.conf
# when there is one), into $io_dir/EXERCISE. Sets note[EXERCISE] when it
# cannot. The kit's warnings are shown, not fatal, as for a student.
build_solution() {
  local exercise=$1 program=$2 kit=exercises/$1 solved=solutions/$1
  local conf=tests/$1/exercise.conf names=() sources=() name file
  if [ ! -d "$kit" ] || [ ! -d "$solved" ]; then
    note[$exercise]="skipped: $kit and $solved are not written yet"
    return
  fi
  if [ -f "$conf" ]; then
    read -r -a names <<<"$(sed -n "s/^${program}_SOURCES[[:space:]]*[:?]*=//p" \
      "$conf")"
  fi
  if [ ${#names[@]} -eq 0 ]; then
    for file in "$kit"/*.c "$solved"/*.c; do
      [ -f "$file" ] && names+=("${file##*/}")
    done
    mapfile -t names < <(printf '%s\n' "${names[@]}" | sort -u)
  fi
  for name in "${names[@]}"; do
    for file in "$solved/$name" "$kit/$name" "tests/$exercise/$name" \
      "tests/lib/$name" ""; do
      [ -z "$file" ] || [ -f "$file" ] && break
    done
    if [ -z "$file" ]; then
      note[$exercise]="skipped: $name, a source of $program, is missing"
      return
    fi
    sources+=("$file")
  done
  if [ ${#sources[@]} -eq 0 ]; then
    note[$exercise]="skipped: $kit has no C files yet"
    return
  fi
  echo "== build $exercise: ${sources[*]}" >>"$log"
  # shellcheck disable=SC2086,SC2046
  if ${CC:-cc} -std=c11 -O2 ${WARNINGS//-Werror/} $sanitizer $ASYNC_CFLAGS \
    -I"$solved" -I"$kit" $(pkg-config --cflags libuv 2>/dev/null) \
    -o "$io_dir/$exercise" "${sources[@]}" "$ASYNC_LIB" $ASYNC_LDLIBS \
    2>>"$log"; then
    return
  fi
  note[$exercise]="skipped: $program did not build (see $log)"
}
build_solution ex3-echo echo_server
build_solution ex4-chat chat_server

# ---------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------

echo "== Running (each workload in its own process; rounds in $log)"
run_workloads runtime fast_args env "${unset_async[@]}" "$bench_binary"

# Check mode: the same binary with ASYNC_CHECK=1, one process per schedule.
CHECK_SCHEDULES="fifo fifo-yield random pct"
printf '  %-8s' "check"
for schedule in $CHECK_SCHEDULES; do
  printf ' %s' "$schedule"
  output=$(timeout "$BENCH_TIMEOUT" env "${unset_async[@]}" ASYNC_CHECK=1 \
    ASYNC_SCHEDULE="$schedule" ASYNC_SEED=1 \
    "$bench_binary" check-philosophers 1000 5 2>>"$log")
  status=$?
  while read -r tag name value _; do
    [ "$tag" = RESULT ] && result[check-$schedule:$name]=$value
  done <<<"$output"
  if [ $status -ne 0 ]; then
    failures=$((failures + 1))
    printf ' (failed, exit %d)' "$status"
    echo "== check $schedule: exit $status" >>"$log"
  fi
done
echo

if [ -z "$python" ]; then
  note[asyncio]="skipped: python3 is not installed"
  note[uvloop]="skipped: python3 is not installed"
else
  run_workloads asyncio python_args env -u PYTHONASYNCIODEBUG -u PYTHONDEVMODE \
    "$python" -B bench/peers/asyncio_bench.py
  if "$python" -c 'import uvloop' 2>/dev/null; then
    run_workloads uvloop python_args env -u PYTHONASYNCIODEBUG \
      -u PYTHONDEVMODE "$python" -B bench/peers/asyncio_bench.py --uvloop
  else
    note[uvloop]="skipped: uvloop is not installed for $python"
  fi
fi

if [ -n "$go_binary" ]; then
  run_workloads Go fast_args "$go_binary"
elif [ -z "${note[Go]:-}" ]; then
  note[Go]="skipped: go is not installed"
fi

# ---------------------------------------------------------------------------
# Run: the I/O benchmarks
# ---------------------------------------------------------------------------

ECHO_SERVERS="runtime libuv asyncio uvloop Go ex3"
CHAT_SERVERS="runtime asyncio uvloop Go ex4"
IDLE_CONNECTIONS=10000
idle_shown=$(sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$IDLE_CONNECTIONS")
declare -A server_label=([runtime]=runtime [libuv]="raw libuv" [asyncio]=asyncio
  [uvloop]=uvloop [Go]=Go [ex3]="ex3 solution" [ex4]="ex4 solution")

# The load generator and the server share two CPUs: each gets one of its
# own, so that neither steals the other's.
pin_server=() pin_client=()
if command -v taskset >/dev/null 2>&1 &&
  [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] &&
  taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
fi

# 10,000 connections need as many descriptors in the server and in the load
# generator: raise the soft limit to the hard one if it is lower.
[ "$(ulimit -n)" = unlimited ] || ulimit -n "$(ulimit -Hn)" 2>/dev/null
descriptors=$(ulimit -n)
if [ "$descriptors" != unlimited ] &&
  [ "$descriptors" -lt $((IDLE_CONNECTIONS + 100)) ]; then
  note[idle]="skipped: $idle_shown connections need more descriptors\
 than the limit of $descriptors (ulimit -n)"
fi

# server_command KIND KEY: the command line of KIND's (echo or chat) server
# KEY, in the array `server_argv`; empty when that server is not available.
server_command() {
  local kind=$1 key=$2
  server_argv=()
  case $key in
    runtime) server_argv=(env "${unset_async[@]}" "$io_dir/${kind}_runtime"
      -H 127.0.0.1 -p 0) ;;
    libuv) server_argv=("$io_dir/echo_libuv" -H 127.0.0.1 -p 0) ;;
    asyncio | uvloop)
      [ -n "$python" ] && [ -z "${note[$key]:-}" ] || return
      server_argv=(env -u PYTHONASYNCIODEBUG -u PYTHONDEVMODE "$python" -B
        bench/peers/asyncio_servers.py "$kind" -H 127.0.0.1 -p 0)
      [ "$key" = uvloop ] && server_argv+=(--uvloop) ;;
    Go) [ -n "$go_servers" ] &&
      server_argv=("$go_servers" "$kind" -H 127.0.0.1 -p 0) ;;
    ex3) [ -z "${note[ex3-echo]:-}" ] &&
      server_argv=(env "${unset_async[@]}" "$io_dir/ex3-echo"
        -H 127.0.0.1 -p 0) ;;
    ex4) [ -z "${note[ex4-chat]:-}" ] &&
      server_argv=(env "${unset_async[@]}" "$io_dir/ex4-chat" -p 0) ;;
  esac
}

server_pid=
server_fd=
# start_server COMMAND...: starts a server in a process group of its own
# (pinned to its CPU) and reads its "listening on HOST:PORT" line; sets
# server_pid, server_host and server_port. Fails if it never says it.
start_server() {
  local fifo=$out_abs/io/server-output line address
  rm -f "$fifo"
  mkfifo "$fifo" || return 1
  echo "== server: $*" >>"$log"
  setsid "${pin_server[@]}" "$@" >"$fifo" 2>>"$log" &
  server_pid=$!
  exec {server_fd}<"$fifo"
  rm -f "$fifo"
  if ! read -r -t 20 -u "$server_fd" line ||
    [[ $line != "listening on "* ]]; then
    echo "== the server never said \"listening on HOST:PORT\" (${line:-})" \
      >>"$log"
    stop_server
    return 1
  fi
  address=${line#listening on }
  server_port=${address##*:}
  server_host=${address%:*}
  server_host=${server_host#[}
  server_host=${server_host%]}
  case $server_host in
    0.0.0.0 | '') server_host=127.0.0.1 ;;
    ::) server_host=::1 ;;
  esac
}

# stop_server: kills the server's whole process group and reaps it.
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -KILL -- "-$server_pid" 2>/dev/null ||
    kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  [ -n "$server_fd" ] && exec {server_fd}<&-
  server_pid=
  server_fd=
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# io_run KIND MODE SERVERS ARGS...: for each server of SERVERS, a fresh
# server process of KIND and one load generator run in MODE with ARGS; the
# results go to result[io-SERVER:name].
io_run() {
  local kind=$1 mode=$2 servers=$3 key output status
  shift 3
  printf '  %-8s' "$mode"
  for key in $servers; do
    server_command "$kind" "$key"
    [ ${#server_argv[@]} -eq 0 ] && continue
    printf ' %s' "$key"
    if ! start_server "${server_argv[@]}"; then
      failures=$((failures + 1))
      printf ' (did not start)'
      continue
    fi
    echo "== $mode $key" >>"$log"
    output=$(timeout "$BENCH_TIMEOUT" "${pin_client[@]}" "$io_dir/loadgen" \
      "$mode" "$server_host" "$server_port" -s "$server_pid" "$@" 2>>"$log")
    status=$?
    while read -r tag name value _; do
      [ "$tag" = RESULT ] && result[io-$key:$name]=$value
    done <<<"$output"
    if ! kill -0 "$server_pid" 2>/dev/null; then
      printf ' (the server died)'
      status=1
    fi
    stop_server
    if [ $status -ne 0 ]; then
      failures=$((failures + 1))
      [ $status -eq 124 ] && printf ' (timed out after %ss)' "$BENCH_TIMEOUT"
      [ $status -ne 124 ] && printf ' (failed, exit %d)' "$status"
      echo "== $mode $key: exit $status" >>"$log"
    fi
  done
  echo
}

echo "== Running the I/O benchmarks (a fresh server process each;" \
  "rounds in $log)"
timing=(-w 0.5 -d "$IO_SECONDS" -r "$IO_ROUNDS")
io_run echo echo "$ECHO_SERVERS" -c 100 -l 64 "${timing[@]}"
io_run chat chat "$CHAT_SERVERS" -c 100 -k 10 -W 32 "${timing[@]}"
if [ -z "${note[idle]:-}" ]; then
  io_run echo idle "$ECHO_SERVERS" -n "$IDLE_CONNECTIONS"
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

echo
echo "== Method"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "machine:  ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') CPUs," \
  "Linux $(uname -r)"
echo "runtime:  $ASYNC_LIB; benchmarks built with ${CC:-cc} -O2," \
  "one thread, default stacks, no ASYNC_* settings"
echo "timing:   CLOCK_MONOTONIC (C, Go's monotonic clock), time.perf_counter" \
  "(Python); each figure is the median of its rounds:"
echo "          runtime and Go 5 rounds of 1,000,000 hand-offs/switches;" \
  "Python 3 rounds of 100,000"
echo "          spawn: one round to warm the stacks, then the median of" \
  "5 rounds (Python 3) of 100,000 tasks"
echo "          RSS: /proc/self/statm before and after 100,000 tasks park," \
  "one fresh process each"
echo "          philosophers: median of 5 dinners (Python 3), spawn to last join"
echo "          check mode: median of 5 dinners of 1000 philosophers x 10 meals," \
  "ASYNC_CHECK=1 ASYNC_SEED=1, each schedule in its own process"
if [ -n "$python" ]; then
  echo "asyncio:  $python, Python $("$python" -c \
    'import sys; print(sys.version.split()[0])')"
  if [ -z "${note[uvloop]:-}" ]; then
    echo "uvloop:   $("$python" -c 'import uvloop; print(uvloop.__version__)')," \
      "the same script with uvloop.EventLoopPolicy()"
  fi
fi
if [ -n "$go_binary" ]; then
  echo "Go:       $(go version | cut -d' ' -f3), GOMAXPROCS=${GOMAXPROCS:-1}," \
    "buffered channels for queue and events, sync.Mutex forks, Gosched to yield"
fi
for peer in asyncio uvloop Go; do
  [ -n "${note[$peer]:-}" ] && printf '%-9s %s\n' "$peer:" "${note[$peer]}"
done
echo "I/O:      loopback; bench/io/loadgen (C, raw epoll, one thread) against" \
  "one server process at a time, a fresh one per measurement"
if [ ${#pin_server[@]} -ne 0 ]; then
  echo "          the server pinned to CPU 0, the load generator to CPU 1" \
    "(taskset): two CPUs, one each"
else
  echo "          not pinned (no taskset, or fewer than two CPUs): the server" \
    "and the load generator share the CPUs"
fi
echo "          echo: 100 connections send 64-byte lines, each waits for its" \
  "echo (checked byte for byte) before the next;"
echo "          0.5 s warm-up, then the median of $IO_ROUNDS rounds of" \
  "$IO_SECONDS s; p50/p99 over each round's requests"
echo "          server CPU: utime + stime of /proc/PID/stat (every thread," \
  "10 ms ticks) over a round, divided by its requests or deliveries"
echo "          chat: 100 clients named through the prompt, 10 of them send" \
  "48-byte lines, each at most 32 lines ahead of"
echo "          its slowest receiver; every delivery checked (sender, order," \
  "bytes); deliveries = lines received, all clients"
echo "          idle: $idle_shown connections, each served one echo," \
  "then held: the server's VmRSS after minus before, per connection"
echo "servers:  runtime bench/io/{echo,chat}_runtime.c (a task per" \
  "connection: readline, write, drain); raw libuv bench/io/echo_libuv.c;"
echo "          asyncio and uvloop bench/peers/asyncio_servers.py" \
  "(start_server, readline, write, drain); Go bench/peers/go/servers"
echo "          (a goroutine per connection, bufio); ex3/ex4: the workshop's" \
  "solutions, built from exercises/ and solutions/ with -O2"
for key in io-Go ex3-echo ex4-chat idle; do
  [ -n "${note[$key]:-}" ] && printf '%-9s %s\n' "${key#io-}:" "${note[$key]}"
done

# figure NAME PEER: the figure in the table's unit, or empty.
figure() {
  local value=${result[$2:$1]:-}
  [ -z "$value" ] && return
  case $1 in
    parked-rss) awk -v v="$value" 'BEGIN { printf "%.2f", v / 1024 }' ;;
    *) echo "$value" ;;
  esac
}

# table NAME TITLE UNIT
table() {
  local name=$1 title=$2 unit=$3 base peer value
  base=$(figure "$name" runtime)
  echo
  echo "-- $title ($unit)"
  printf '   %-9s %14s %10s\n' "" "figure" "vs runtime"
  for peer in runtime asyncio uvloop Go; do
    value=$(figure "$name" "$peer")
    if [ -z "$value" ]; then
      local why=${note[$peer]:-"no figure (see $log)"}
      printf '   %-9s %14s %10s  %s\n' "$peer" "-" "" "${why%%:*}"
      continue
    fi
    awk -v peer="$peer" -v v="$value" -v b="${base:-0}" -v name="$name" '
      BEGIN {
        ratio = "-"
        if (name != "live-tasks" && b > 0) {
          format = v / b >= 10 ? "%.0fx" : "%.2fx"
          ratio = sprintf(format, v / b)
        }
        format = v >= 100 ? "%.0f" : "%.2f"
        printf "   %-9s %14s %10s\n", peer, sprintf(format, v), ratio
      }'
  done
}

echo
echo "== Results (ratio: the peer's figure over the runtime's; above 1x," \
  "the runtime does better)"
table handoff-queue "hand-off between two tasks: a queue of maxsize 1" \
  "ns per hand-off"
echo "   (with maxsize 1 each item takes two task switches: to the consumer" \
  "and back)"
table handoff-event "hand-off between two tasks: two events, set/wait/clear" \
  "ns per hand-off"
table switch "bare task switch: two tasks yielding to each other" \
  "ns per switch"
table spawn "spawn + join 100,000 tasks that yield once" "ns per task"
for peer in runtime asyncio uvloop Go; do
  if [ -n "${result[$peer:spawn-first]:-}" ]; then
    first_rounds="${first_rounds:-}${first_rounds:+, }$peer $(printf '%.0f' \
      "${result[$peer:spawn-first]}")"
  fi
done
[ -n "${first_rounds:-}" ] &&
  echo "   first round, fresh stacks (ns per task): $first_rounds"
table parked-rss "RSS per parked task, 100,000 parked on one event" \
  "KiB per task"
table live-tasks "live tasks at once (default stacks)" "tasks"
table philosophers "1000 philosophers x 100 meals, 1000 lock forks" \
  "ms in all"

echo
echo "-- check mode: 1000 philosophers x 10 meals, every detector on" \
  "(ms in all; virtual clock, seed 1)"
for schedule in $CHECK_SCHEDULES; do
  value=$(figure check-philosophers "check-$schedule")
  printf '   %-11s %12s\n' "$schedule" "${value:+$(printf '%.2f' "$value")}"
done

# io_format VALUE [SCALE]: VALUE / SCALE as the tables print it; "-" if none.
io_format() {
  awk -v v="$1" -v s="${2:-1}" 'BEGIN {
    if (v == "") { print "-"; exit }
    v /= s
    format = v >= 100 ? "%.0f" : "%.2f"
    printf format "\n", v
  }'
}

# io_ratio VALUE BASE higher|lower: how many times better the runtime (BASE)
# does than VALUE, for a figure where higher or lower is better.
io_ratio() {
  awk -v v="$1" -v b="$2" -v better="$3" 'BEGIN {
    if (v == "" || b == "" || v <= 0 || b <= 0) exit
    r = better == "higher" ? b / v : v / b
    printf (r >= 10 ? "%.0fx" : "%.2fx") "\n", r
  }'
}

# io_why KEY: why a server has no figures.
io_why() {
  local why
  case $1 in
    asyncio | uvloop) why=${note[$1]:-} ;;
    Go) why=${note[io-Go]:-${note[Go]:-}} ;;
    ex3) why=${note[ex3-echo]:-} ;;
    ex4) why=${note[ex4-chat]:-} ;;
  esac
  why=${why:-"no figure (see $log)"}
  echo "${why%%:*}"
}

# loadgen_cost NAME SERVERS SCALE UNIT: one line with the load generator's
# own CPU cost in the runs against each server.
loadgen_cost() {
  local key costs=
  for key in $2; do
    [ -n "${result[io-$key:$1]:-}" ] &&
      costs="$costs${costs:+, }${server_label[$key]} $(io_format \
        "${result[io-$key:$1]}" "$3")"
  done
  [ -n "$costs" ] && echo "   load generator's own CPU, $4: $costs"
}

echo
echo "== I/O (vs rt: how many times better the runtime does: its rate over" \
  "the peer's, the peer's cost over its own; above 1x, the runtime does" \
  "better)"
echo
echo "-- echo, 100 connections, 64-byte lines"
printf '   %-13s %11s %8s %8s %8s %11s %8s\n' "" "requests/s" "vs rt" \
  "p50 us" "p99 us" "CPU us/req" "vs rt"
for key in $ECHO_SERVERS; do
  rps=${result[io-$key:echo-rps]:-}
  if [ -z "$rps" ]; then
    printf '   %-13s %11s %8s %8s %8s %11s %8s  %s\n' \
      "${server_label[$key]}" - "" - - - "" "$(io_why "$key")"
    continue
  fi
  errors=${result[io-$key:echo-errors]:-0}
  printf '   %-13s %11s %8s %8s %8s %11s %8s%s\n' "${server_label[$key]}" \
    "$(io_format "$rps")" \
    "$(io_ratio "$rps" "${result[io-runtime:echo-rps]:-}" higher)" \
    "$(io_format "${result[io-$key:echo-p50]:-}")" \
    "$(io_format "${result[io-$key:echo-p99]:-}")" \
    "$(io_format "${result[io-$key:echo-cpu]:-}")" \
    "$(io_ratio "${result[io-$key:echo-cpu]:-}" \
      "${result[io-runtime:echo-cpu]:-}" lower)" \
    "$([ "$errors" != 0 ] && echo "  $errors errors")"
done
loadgen_cost echo-loadgen-cpu "$ECHO_SERVERS" 1 "us per request"
echo "   (requests/s is bounded by whichever CPU saturates first, often the" \
  "load generator's: the server's CPU per request is the fair comparison)"

echo
echo "-- chat fan-out: 100 clients, 10 senders, every line to the 99 others"
printf '   %-13s %15s %8s %15s %8s\n' "" "deliveries/s" "vs rt" \
  "CPU ns/delivery" "vs rt"
for key in $CHAT_SERVERS; do
  rate=${result[io-$key:chat-deliveries]:-}
  if [ -z "$rate" ]; then
    printf '   %-13s %15s %8s %15s %8s  %s\n' "${server_label[$key]}" \
      - "" - "" "$(io_why "$key")"
    continue
  fi
  errors=${result[io-$key:chat-errors]:-0}
  cpu=${result[io-$key:chat-cpu]:-}
  printf '   %-13s %15s %8s %15s %8s%s\n' "${server_label[$key]}" \
    "$(io_format "$rate")" \
    "$(io_ratio "$rate" "${result[io-runtime:chat-deliveries]:-}" higher)" \
    "$(io_format "$cpu" 0.001)" \
    "$(io_ratio "$cpu" "${result[io-runtime:chat-cpu]:-}" lower)" \
    "$([ "$errors" != 0 ] && echo "  $errors errors")"
done

loadgen_cost chat-loadgen-cpu "$CHAT_SERVERS" 0.001 "ns per delivery"

echo
echo "-- memory per idle connection, $idle_shown connections" \
  "(KiB of the server's RSS)"
if [ -n "${note[idle]:-}" ]; then
  echo "   ${note[idle]}"
else
  printf '   %-13s %11s %8s\n' "" "KiB" "vs rt"
  for key in $ECHO_SERVERS; do
    bytes=${result[io-$key:idle-rss]:-}
    if [ -z "$bytes" ]; then
      printf '   %-13s %11s %8s  %s\n' "${server_label[$key]}" - "" \
        "$(io_why "$key")"
      continue
    fi
    printf '   %-13s %11s %8s\n' "${server_label[$key]}" \
      "$(io_format "$bytes" 1024)" \
      "$(io_ratio "$bytes" "${result[io-runtime:idle-rss]:-}" lower)"
  done
fi

# target LABEL NAME LIMIT UNIT: one line of the targets table.
target() {
  local label=$1 name=$2 limit=$3 unit=$4 value verdict
  value=$(figure "$name" runtime)
  if [ -z "$value" ]; then
    printf '   %-32s %14s %12s  %s\n' "$label" "<= $limit $unit" "-" \
      "not measured"
    return
  fi
  verdict=$(awk -v v="$value" -v l="$limit" \
    'BEGIN { print (v <= l ? "met" : "MISSED") }')
  printf '   %-32s %14s %12s  %s\n' "$label" "<= $limit $unit" \
    "$(awk -v v="$value" \
      'BEGIN { format = v >= 100 ? "%.0f" : "%.2f"; printf format, v }') $unit" \
    "$verdict"
}

echo
echo "== Targets (the runtime)"
printf '   %-32s %14s %12s  %s\n' "work" "target" "measured" "verdict"
target "hand-off, queue of maxsize 1" handoff-queue 60 ns
target "hand-off, event pair" handoff-event 60 ns
target "spawn + join, per task" spawn 200 ns
target "RSS per parked task" parked-rss 6 KiB
target "1000 philosophers x 100 meals" philosophers 15 ms
for schedule in $CHECK_SCHEDULES; do
  result[runtime:check-$schedule]=${result[check-$schedule:check-philosophers]:-}
  target "check mode, $schedule: 1000 x 10" "check-$schedule" 100 ms
done
live=${result[runtime:live-tasks]:-}
if [ "$live" = 100000 ]; then
  live_verdict=met
elif [ -n "$live" ]; then
  live_verdict=MISSED
else
  live_verdict="not measured"
fi
printf '   %-32s %14s %12s  %s\n' "live tasks at once" "100,000" \
  "${live:--}" "$live_verdict (default stacks)"

# io_target LABEL VALUE OP LIMIT SHOWN: one I/O line of the targets table;
# VALUE compared with LIMIT (OP is <= or >=), SHOWN as measured.
io_target() {
  local label_text=$1 value=$2 op=$3 limit=$4 shown=$5 verdict
  if [ -z "$value" ]; then
    printf '   %-32s %14s %12s  %s\n' "$label_text" "$op $limit" "-" \
      "not measured"
    return
  fi
  verdict=$(awk -v v="$value" -v l="${limit%%[!0-9.]*}" -v op="$op" \
    'BEGIN { ok = op == "<=" ? v <= l : v >= l; print ok ? "met" : "MISSED" }')
  printf '   %-32s %14s %12s  %s\n' "$label_text" "$op $limit" "$shown" \
    "$verdict"
}
runtime_cpu=${result[io-runtime:echo-cpu]:-}
io_target "echo: server CPU per request" "$runtime_cpu" "<=" "3.5 us" \
  "$(io_format "$runtime_cpu") us"
echo_share=$(awk -v r="${result[io-runtime:echo-rps]:-}" \
  -v l="${result[io-libuv:echo-rps]:-}" \
  'BEGIN { if (r != "" && l > 0) printf "%.2f", r / l }')
io_target "echo: requests/s over raw libuv" "$echo_share" ">=" "0.85x" \
  "${echo_share}x"
chat_share=$(awk -v r="${result[io-runtime:chat-deliveries]:-}" \
  -v u="${result[io-uvloop:chat-deliveries]:-}" \
  'BEGIN { if (r != "" && u > 0) printf "%.2f", r / u }')
io_target "chat: deliveries/s over uvloop's" "$chat_share" ">=" "1.00x" \
  "${chat_share}x"
idle_kib=$(awk -v b="${result[io-runtime:idle-rss]:-}" \
  'BEGIN { if (b != "") printf "%.2f", b / 1024 }')
io_target "memory per idle connection" "$idle_kib" "<=" "20 KiB" \
  "$idle_kib KiB"

echo
if [ "$failures" -ne 0 ]; then
  echo "$failures benchmark run(s) could not complete; see $log"
  exit 1
fi
echo "every benchmark ran (rounds in $log)"
exit 0
