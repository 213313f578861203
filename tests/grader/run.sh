#!/usr/bin/env bash
# run.sh: runs the grader's own bats tests (tests/grader/*.bats) and totals them.
#
#   tests/grader/run.sh [--results FILE] [FILE.bats...]
#
# Builds the grader and the runtime once, then runs each .bats file with
# bats' TAP output, shows it, and prints "N passed, N failed" (skipped tests
# count as passed); --results appends "PASSED FAILED" to FILE, as
# tests/run-tests.sh does. Exits 1 if any test failed, 2 if the grader could
# not be built.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
repo=$(cd "$here/../.." && pwd) || exit 2
results_file=
while [ $# -gt 0 ]; do
  case $1 in
  --results) [ $# -ge 2 ] || exit 2; results_file=$2; shift 2 ;;
  -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  *) break ;;
  esac
done
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$here"/*.bats)

# Builds build/grader/grader and the runtime (exit 2 if it cannot).
"$repo/grader/grader" list --kit "$here/fixtures/kit" >/dev/null || exit 2
export GRADER_NO_MAKE=1
export BATS_LIB_PATH="${BATS_LIB_PATH:-/usr/lib/bats:/usr/share/bats:/usr/local/lib/bats}"

output=$(mktemp "${TMPDIR:-/tmp}/grader-tests.XXXXXX") || exit 2
trap 'rm -f "$output"' EXIT
passed=0
failed=0
for file in "${files[@]}"; do
  echo "-- $(basename "$file")"
  bats --tap "$file" 2>&1 | tee "$output" | sed 's/^/  /'
  file_passed=$(grep -c '^ok ' "$output")
  file_failed=$(grep -c '^not ok ' "$output")
  # A file that could not even start counts as one failure.
  if [ "$file_passed" -eq 0 ] && [ "$file_failed" -eq 0 ]; then
    file_failed=1
  fi
  passed=$((passed + file_passed))
  failed=$((failed + file_failed))
done

echo "$passed passed, $failed failed"
[ -n "$results_file" ] && echo "$passed $failed" >>"$results_file"
[ "$failed" -eq 0 ]
