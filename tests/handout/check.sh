#!/usr/bin/env bash
# check.sh: the students' handout holds no answer, and grading works in it.
#
#   tests/handout/check.sh TARBALL
#
# Unpacks the tarball into a temporary folder and checks that no solution,
# mutant or correct alternative is in it (by path, and by content: no file
# in it has the bytes of one, unless the stub it started from has them
# too), then runs `make check-ex1` there: on the stub as shipped, it must
# fail the way a student sees it (exit status 1, not 2: the kit itself
# runs), and `grader diff ex1` says there is no solution to compare with.
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
tarball=${1:?usage: tests/handout/check.sh TARBALL}
passed=0 failed=0
ok() { echo "  ok    handout/$1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  handout/$1: $2"; failed=$((failed + 1)); }

scratch=$(mktemp -d) || exit 2
trap 'rm -rf "$scratch"' EXIT
if tar -xzf "$tarball" -C "$scratch" && [ -f "$scratch/async-kit/Makefile" ]
then
  ok "unpacks into async-kit/"
else
  bad "unpacks into async-kit/" "$tarball is not a kit"
  echo "$passed passed, $failed failed"
  [ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
  exit 1
fi
kit=$scratch/async-kit

for folder in solutions tests/mutants tests/alternatives; do
  if [ -e "$kit/$folder" ]; then
    bad "has no $folder/" "it is in the handout"
  else
    ok "has no $folder/"
  fi
done

# Every answer's bytes, less those a stub shares (a mutant may be a stub).
answers=$scratch/answers
{ find solutions tests/mutants tests/alternatives bench -type f \
    \( -name '*.c' -o -name '*.h' \) -exec sha256sum {} + 2>/dev/null; } |
  sort > "$answers"
stubs=$(find exercises -type f -exec sha256sum {} + 2>/dev/null | cut -d' ' -f1)
leaks=$(cd "$kit" && find . -type f -exec sha256sum {} + | while read -r sum path; do
  grep -q "^$sum " "$answers" || continue
  grep -qx "$sum" <<<"$stubs" && continue
  echo "${path#./} (the same as $(grep -m1 "^$sum " "$answers" | cut -d' ' -f3))"
done)
if [ -z "$leaks" ]; then
  ok "no file in it is an answer"
else
  bad "no file in it is an answer" "these are:"
  echo "$leaks" | sed 's/^/        /'
fi

# Grading exercise 1 in the handout: the stub fails its checks. The grader
# exits 1 for that (2 would mean the kit itself could not run); make, as
# GNU make always does when a recipe fails, exits 2 and names the
# recipe's status, "Error 1".
if [ ! -d "$kit/exercises/ex1-hello" ]; then
  bad "make check-ex1 fails on the stub" "exercise 1 is not in the kit"
else
  clean_env=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u RESULTS)
  (cd "$kit" && timeout 600 "${clean_env[@]}" make --no-print-directory \
     check-ex1) > "$scratch/make.log" 2>&1
  status=$?
  if [ "$status" -ne 0 ] && grep -q '^Score: 0/' "$scratch/make.log" &&
     grep -q '\*\*\* \[.*check-ex1\] Error 1$' "$scratch/make.log"; then
    ok "make check-ex1 fails on the stub: each check, a score, the grader's exit 1"
  else
    bad "make check-ex1 fails on the stub" "exit status $status; its output ends:"
    tail -n 25 "$scratch/make.log" | sed 's/^/        /'
  fi
  (cd "$kit" && timeout 600 "${clean_env[@]}" grader/grader ex1) \
    > "$scratch/grader.log" 2>&1
  status=$?
  if [ "$status" -eq 1 ] && grep -q '^Score: 0/' "$scratch/grader.log"; then
    ok "grader/grader ex1 fails on the stub (exit 1, not 2)"
  else
    bad "grader/grader ex1 fails on the stub (exit 1, not 2)" \
        "exit status $status; its output ends:"
    tail -n 25 "$scratch/grader.log" | sed 's/^/        /'
  fi
  (cd "$kit" && timeout 60 "${clean_env[@]}" grader/grader diff ex1) \
    > "$scratch/diff.log" 2>&1
  status=$?
  if [ "$status" -ne 0 ] && grep -qi 'solution' "$scratch/diff.log"; then
    ok "grader/grader diff ex1 says there is no solution"
  else
    bad "grader/grader diff ex1 says there is no solution" \
        "exit status $status: $(tail -n 3 "$scratch/diff.log")"
  fi
fi

echo "$passed passed, $failed failed"
[ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
[ "$failed" -eq 0 ]
