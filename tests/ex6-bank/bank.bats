#!/usr/bin/env bats
# bank.bats: ex6-bank's checks of the bank program, run in check mode under
# fifo and seeded random and pct schedules (virtual time: each run is
# instant, whatever the AML office and the TANs take).

setup() {
  load ../lib/grader
}

# check_schedules ARGS...: runs `bank ARGS` in check mode under fifo,
# fifo-yield and seeds 1-4 of random and of pct. Fails at the first run
# that exits non-zero or has a finding, with what went wrong and the
# command that replays that very run.
check_schedules() {
  local plan=(fifo: fifo-yield:) entry seed
  for seed in 1 2 3 4; do plan+=("random:$seed" "pct:$seed"); done
  local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  local findings=$BATS_TEST_TMPDIR/findings
  for entry in "${plan[@]}"; do
    local schedule=${entry%%:*} seed=${entry#*:}
    local settings="ASYNC_SCHEDULE=$schedule${seed:+ ASYNC_SEED=$seed}"
    rm -f "$findings"
    local status=0
    # shellcheck disable=SC2086 # $settings is NAME=VALUE words
    env ASYNC_CHECK=1 $settings ASYNC_FINDINGS="$findings" bank "$@" \
      >"$out" 2>"$err" || status=$?
    [ "$status" -ne 0 ] || [ -s "$findings" ] || continue

    # What bank's books say, then what check mode saw: one line each.
    local books found why
    books=$(grep -m1 '^bank: ' "$err" | sed 's/^bank: //')
    found=$(grep -m1 '^async: ' "$err" | sed 's/^async: //')
    why=${books:-"it exited with status $status"}
    [ -z "$books" ] && [ "$status" -eq 0 ] && why="its books balanced"
    [ -n "$found" ] && why="$why; check mode found: $found"
    grader_replay "ASYNC_CHECK=1 $settings make run-ex6${*:+ ARGS='$*'}"
    grader_message "bank${*:+ $*}, under $settings: $why"
    echo "--- bank's output:" >&2
    cat "$out" "$err" >&2
    return 1
  done
}

@test "the bank's day adds up under 10 schedules" {
  check_schedules
}

@test "the bank's day with transfers adds up under 10 schedules" {
  check_schedules -t -x 4
}

@test "the bank reads amounts exactly" {
  run bank -a 1 -r 0 -o 19.99
  if [ "$status" -ne 0 ]; then
    grader_message "bank -o 19.99 exited with status $status:\
 amount_parse should take 19.99"
    echo "$output" >&2
    return 1
  fi
  expect_text "account 1: 19.99" "${lines[0]}" \
    "bank -o 19.99 should open account 1 with 19.99:\
 does amount_parse count cents with integers?"

  run bank -a 1 -r 0 -o 10.001
  if [ "$status" -ne 2 ] || [[ $output != *"is not an amount"* ]]; then
    grader_message "bank -o 10.001 should refuse the amount (exit 2), but\
 exited with status $status: amount_parse must refuse less than a cent"
    echo "$output" >&2
    return 1
  fi
}
