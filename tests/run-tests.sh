#!/usr/bin/env bash
# run-tests.sh: runs each test of cmocka test programs in a process of its own.
#
#   tests/run-tests.sh [--timeout S] [--wrapper "CMD ARGS"] [--results FILE]
#                      BINARY...
#
# Each BINARY is a program built with tests/runtime/harness.h: `BINARY --list`
# names its tests and `BINARY NAME` runs one. Every test runs in a process of
# its own under `timeout` (which gives it a process group of its own and kills
# the whole group when time is up), stdin from /dev/null, output captured and
# shown only if the test fails. A crash, a hang or a leak therefore fails one
# test, not the ones after it.
#
#   --timeout S    seconds per test (default 20), times $TIMEOUT_SCALE if set
#                  (e.g. TIMEOUT_SCALE=3 on a slow machine)
#   --wrapper CMD  run each test as `CMD BINARY NAME`, e.g. "valgrind -q";
#                  CMD is split on spaces (no quoting)
#   --results FILE append "PASSED FAILED" to FILE, for a total across runs
#
# Prints one line per test and a final "N passed, N failed". Exits 1 if any
# test failed, 2 on bad usage.
set -uo pipefail

timeout_seconds=20
wrapper=
results_file=
max_output_lines=200

usage() {
  echo "usage:" >&2
  sed -n '4,5p' "$0" | sed 's/^#//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
  --timeout) [ $# -ge 2 ] || usage; timeout_seconds=$2; shift 2 ;;
  --wrapper) [ $# -ge 2 ] || usage; wrapper=$2; shift 2 ;;
  --results) [ $# -ge 2 ] || usage; results_file=$2; shift 2 ;;
  --) shift; break ;;
  -*) usage ;;
  *) break ;;
  esac
done
[ $# -gt 0 ] || usage

# The per-test timeout, scaled. awk, because both numbers may be fractions.
scale=${TIMEOUT_SCALE:-1}
if ! timeout_seconds=$(awk -v t="$timeout_seconds" -v s="$scale" \
  'BEGIN { if (t + 0 <= 0 || s + 0 <= 0) exit 1; print t * s }'); then
  echo "run-tests.sh: the timeout and TIMEOUT_SCALE must be positive numbers" >&2
  exit 2
fi

# GNU timeout; Homebrew's coreutils calls it gtimeout.
timeout_command=
for candidate in timeout gtimeout; do
  if command -v "$candidate" >/dev/null 2>&1; then
    timeout_command=$candidate
    break
  fi
done
if [ -z "$timeout_command" ]; then
  echo "run-tests.sh: needs GNU timeout (coreutils); run make deps" >&2
  exit 2
fi

wrapper_words=()
[ -n "$wrapper" ] && read -r -a wrapper_words <<<"$wrapper"

# Colour only for a person at a terminal.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
  green=$'\033[32m' red=$'\033[31m' plain=$'\033[0m'
else
  green='' red='' plain=''
fi

output_file=$(mktemp "${TMPDIR:-/tmp}/run-tests.XXXXXX") || exit 2
running=
cleanup() {
  rm -f "$output_file"
}
interrupted() {
  # timeout made itself a process group leader: stop the whole group.
  if [ -n "$running" ]; then
    kill -TERM -- "-$running" 2>/dev/null || kill -TERM "$running" 2>/dev/null
  fi
  echo
  echo "interrupted"
  cleanup
  exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

now() {
  # EPOCHREALTIME is bash 5; older shells measure in whole seconds.
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "$EPOCHREALTIME"; else date +%s; fi
}

passed=0
failed=0

report_pass() {
  printf '  %sok%s    %s\n' "$green" "$plain" "$1"
  passed=$((passed + 1))
}

# report_fail NAME REASON: the reason, then the test's output, indented and
# capped (the head and, where reports end up, the tail).
report_fail() {
  printf '  %sFAIL%s  %s: %s\n' "$red" "$plain" "$1" "$2"
  failed=$((failed + 1))
  [ -s "$output_file" ] || return 0
  local lines head tail
  lines=$(wc -l <"$output_file")
  if [ "$lines" -le "$max_output_lines" ]; then
    sed 's/^/        /' "$output_file"
  else
    head=50
    tail=$((max_output_lines - head))
    sed -n "1,${head}p" "$output_file" | sed 's/^/        /'
    echo "        [... $((lines - head - tail)) lines left out ...]"
    tail -n "$tail" "$output_file" | sed 's/^/        /'
  fi
}

# why_failed STATUS SECONDS: the exit status of `timeout` in plain words.
why_failed() {
  local status=$1 elapsed=$2
  case $status in
  124) echo "timed out after $timeout_seconds s" ;;
  125) echo "could not start it (timeout failed)" ;;
  126 | 127) echo "could not run it (exit status $status)" ;;
  137)
    # Either it ignored timeout's SIGTERM and got the SIGKILL, or something
    # else killed it.
    if awk -v e="$elapsed" -v t="$timeout_seconds" 'BEGIN { exit !(e >= t) }'
    then
      echo "timed out after $timeout_seconds s (and ignored SIGTERM)"
    else
      echo "killed by signal KILL"
    fi
    ;;
  *)
    if [ "$status" -gt 128 ]; then
      echo "crashed: signal SIG$(kill -l $((status - 128)) 2>/dev/null ||
        echo $((status - 128)))"
    else
      echo "exit status $status"
    fi
    ;;
  esac
}

for binary in "$@"; do
  program=$(basename "$binary")
  case $binary in */*) ;; *) binary=./$binary ;; esac

  if ! "$binary" --list >"$output_file" 2>&1 </dev/null; then
    report_fail "$program" "could not list its tests ($binary --list failed)"
    continue
  fi
  tests=()
  while IFS= read -r name; do
    [ -n "$name" ] && tests+=("$name")
  done <"$output_file"
  if [ ${#tests[@]} -eq 0 ]; then
    : >"$output_file"
    report_fail "$program" "it lists no tests"
    continue
  fi

  for name in "${tests[@]}"; do
    start=$(now)
    # In the background, so that an interrupt reaches our trap at once.
    "$timeout_command" --kill-after=2 "$timeout_seconds" \
      ${wrapper_words[@]+"${wrapper_words[@]}"} "$binary" "$name" \
      >"$output_file" 2>&1 </dev/null &
    running=$!
    wait "$running" 2>/dev/null # no "Aborted" line from bash itself
    status=$?
    running=
    elapsed=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')

    if [ "$status" -eq 0 ]; then
      report_pass "$program/$name"
    else
      report_fail "$program/$name" "$(why_failed "$status" "$elapsed")"
    fi
  done
done

echo "$passed passed, $failed failed"
[ -n "$results_file" ] && echo "$passed $failed" >>"$results_file"
[ "$failed" -eq 0 ]
