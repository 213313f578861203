#!/usr/bin/env bash
# selftest.sh: proves each exercise's checks: solutions pass, stubs and mutants fail.
#
#   grader/selftest.sh [--kit DIR] [--results FILE] [EXERCISE...]
#
# For every exercise of the kit (or those named): the reference solution
# (solutions/exN-name/) must score full marks; the stub (exercises/) must
# fail, and its fingerprint (tests/exN-name/stub.fingerprint) be current;
# every known-wrong variant, tests/mutants/exN-name/NAME/ (the
# student files it changes; the others come from the solution), must be
# caught by at least one check, and by each check its optional `caught-by`
# file names (one per line); every correct alternative,
# tests/alternatives/exN-name/NAME/ (same layout), must score full marks,
# so that the checks never punish a correct idea. Each of those is one
# test: prints a line per test and "N passed, N failed"; --results appends
# "PASSED FAILED" to FILE (as tests/run-tests.sh does). Exits 0 when all
# passed, 1 when some did not, 2 when the grader itself could not run.
set -uo pipefail

home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 2
grader="$home/grader/grader"
kit=$home
results_file=
exercises=()

while [ $# -gt 0 ]; do
  case $1 in
  --kit) [ $# -ge 2 ] || exit 2; kit=$2; shift 2 ;;
  --results) [ $# -ge 2 ] || exit 2; results_file=$2; shift 2 ;;
  -h | --help) sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "selftest.sh: unknown option $1" >&2; exit 2 ;;
  *) exercises+=("$1"); shift ;;
  esac
done
kit=$(cd "$kit" && pwd) || exit 2

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
  green=$'\033[32m' red=$'\033[31m' plain=$'\033[0m'
else
  green='' red='' plain=''
fi

# Build the grader and the runtime once; every run below reuses them.
if ! listed=$("$grader" list --kit "$kit"); then
  echo "selftest.sh: the grader could not run" >&2
  exit 2
fi
export GRADER_NO_MAKE=1
[ ${#exercises[@]} -gt 0 ] || mapfile -t exercises <<<"$listed"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/selftest.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
kit_broken=

# grade EXERCISE SUBMISSION: runs the grader as TAP into $scratch/report;
# sets $status.
grade() {
  "$grader" "$1" --kit "$kit" --submission "$2" --format tap --quiet \
    >"$scratch/report" 2>"$scratch/errors"
  status=$?
  [ "$status" -ne 2 ] || kit_broken=1
}

# The names of the checks that did not pass, from the TAP report.
failing_checks() {
  sed -n 's/^not ok [0-9]* - //p' "$scratch/report" |
    awk 'NR > 1 { printf "; " } { printf "%s", $0 }'
}

pass() {
  printf '  %sok%s    %s\n' "$green" "$plain" "$1"
  passed=$((passed + 1))
}

fail() {
  printf '  %sFAIL%s  %s: %s\n' "$red" "$plain" "$1" "$2"
  failed=$((failed + 1))
  sed 's/^/        /' "$scratch/errors" "$scratch/report" | head -60
}

if [ -z "$listed" ]; then
  echo "no exercises in $kit yet"
  exercises=()
fi

for exercise in "${exercises[@]}"; do
  [ -n "$exercise" ] || continue
  grade "$exercise" "$kit/solutions"
  if [ "$status" -eq 0 ]; then
    pass "$exercise: the solution scores full marks"
  else
    fail "$exercise: the solution" "does not score full marks (exit $status)"
  fi

  grade "$exercise" "$kit/exercises"
  if [ "$status" -eq 1 ]; then
    pass "$exercise: the stub fails ($(failing_checks))"
  else
    fail "$exercise: the stub" "should fail, but the grader exited $status"
  fi

  # progress tells "not started" by it.
  if fingerprint=$("$grader" fingerprint "$exercise" --kit "$kit" --check); then
    pass "$exercise: the stub's fingerprint is current"
  else
    : >"$scratch/errors"
    : >"$scratch/report"
    fail "$exercise: the stub's fingerprint" "$fingerprint"
  fi

  # A variant is the solution with some student files replaced.
  for variant in "$kit/tests/mutants/$exercise"/*/ \
    "$kit/tests/alternatives/$exercise"/*/; do
    [ -d "$variant" ] || continue
    name=$(basename "$variant")
    kind=mutant
    case $variant in "$kit/tests/alternatives/"*) kind=alternative ;; esac
    submission="$scratch/$kind-$name"
    rm -rf "$submission"
    mkdir -p "$submission/$exercise"
    cp -R "$kit/solutions/$exercise/." "$submission/$exercise/"
    cp -R "$variant/." "$submission/$exercise/"
    rm -f "$submission/$exercise/caught-by"
    grade "$exercise" "$submission"
    if [ "$kind" = alternative ]; then
      # A correct idea other than the reference's: it must never lose marks.
      if [ "$status" -eq 0 ]; then
        pass "$exercise: alternative $name scores full marks"
      else
        fail "$exercise: alternative $name" "is correct but lost marks (exit $status)"
      fi
      continue
    fi
    if [ "$status" -ne 1 ]; then
      fail "$exercise: mutant $name" "is not caught by any check (exit $status)"
      continue
    fi
    # caught-by names, one per line, the checks meant to catch this
    # mutant: each of them must fail, not merely some check.
    missed=
    if [ -f "$variant/caught-by" ]; then
      while IFS= read -r check || [ -n "$check" ]; do
        [ -n "$check" ] || continue
        grep -qxF "not ok ${check}" < <(sed -n 's/^not ok [0-9]* - /not ok /p' "$scratch/report") ||
          missed="$missed${missed:+; }$check"
      done <"$variant/caught-by"
    fi
    if [ -n "$missed" ]; then
      fail "$exercise: mutant $name" "is not caught by: $missed (caught by: $(failing_checks))"
    else
      pass "$exercise: mutant $name is caught by: $(failing_checks)"
    fi
  done
done

echo "$passed passed, $failed failed"
[ -n "$results_file" ] && echo "$passed $failed" >>"$results_file"
[ -z "$kit_broken" ] || exit 2
[ "$failed" -eq 0 ]
