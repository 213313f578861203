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
# Settings, from the environment (the Makefile passes them):
#   BUILD         build directory of the variant   (build/default)
#   ASYNC_LIB     the runtime library              ($LIB, or $BUILD/libasync.a)
#   ASYNC_CFLAGS  flags for compiling the benchmarks
#                 (-Iruntime/include -D_GNU_SOURCE -O2)
#   ASYNC_LDLIBS  libraries the runtime needs      (pkg-config libuv [libcurl], -lm)
#   BENCH_TIMEOUT seconds any one program may run  (120)
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

echo
if [ "$failures" -ne 0 ]; then
  echo "$failures benchmark run(s) could not complete; see $log"
  exit 1
fi
echo "every benchmark ran (rounds in $log)"
exit 0
