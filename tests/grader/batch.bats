#!/usr/bin/env bats
# batch.bats: grading a class at once, hostile submissions among them.

load common

setup_file() {
  load common
  new_marker
  # Hostile checks stop after 5 s, not 10; correct ones need far less.
  export GRADER_TIMEOUT_SCALE=0.5
  # A class: two good students, the stub, and every hostile submission.
  local class=$BATS_FILE_TMPDIR/class
  mkdir -p "$class"
  for student in alice bob; do
    mkdir -p "$class/$student"
    cp -R "$KIT/solutions/ex9-sample" "$class/$student/"
  done
  mkdir -p "$class/stub"
  cp -R "$KIT/exercises/ex9-sample" "$class/stub/"
  # shellcheck disable=SC2153 # HOSTILE comes from common.bash
  for hostile in hang forkbomb flood bigfile orphan squatter broken; do
    cp -R "$HOSTILE/$hostile" "$class/$hostile"
  done
  # Two copies of the squatter hold the same port at the same time.
  cp -R "$HOSTILE/squatter" "$class/squatter2"
  "$GRADER" batch "$class" --kit "$KIT" --jobs 2 \
    --output-dir "$BATS_FILE_TMPDIR/results" >"$BATS_FILE_TMPDIR/table" 2>&1
  echo $? >"$BATS_FILE_TMPDIR/status"
  pgrep -x "$HOSTILE_MARKER" >"$BATS_FILE_TMPDIR/survivors" || true
  pkill -KILL -x "$HOSTILE_MARKER" || true
}

@test "batch exits 0, and prints a table with a row per submission" {
  [ "$(cat "$BATS_FILE_TMPDIR/status")" = 0 ]
  run cat "$BATS_FILE_TMPDIR/table"
  assert_line --regexp '^student +ex9-sample +total$'
  assert_line --regexp '^alice +9/9 +9/9$'
  assert_line --regexp '^broken +0/9 \(error\) +0/9$'
  assert_line --regexp '^11 submissions, 11 gradings, .* 2 at once'
}

@test "batch writes one JSON report per submission, valid against the schema" {
  local count=0
  for report in "$BATS_FILE_TMPDIR"/results/*/ex9-sample.json; do
    run jq -r -f "$BATS_TEST_DIRNAME/schema.jq" "$report"
    assert_output ""
    count=$((count + 1))
  done
  [ "$count" -eq 11 ]
}

@test "batch writes a summary CSV with a line per submission" {
  local csv=$BATS_FILE_TMPDIR/results/summary.csv
  run head -n 1 "$csv"
  assert_output "student,exercise,status,score,max_score,seconds,submission"
  [ "$(wc -l <"$csv")" -eq 12 ]
  run grep '^stub,ex9-sample,fail,1,9,' "$csv"
  assert_success
}

@test "hostile submissions cost only their own marks: the others grade as alone" {
  local results=$BATS_FILE_TMPDIR/results
  run grade --submission "$KIT/solutions" --format json \
    --output "$BATS_TEST_TMPDIR/alone.json"
  local alone
  alone=$(jq -c '[.score, [.tests[] | .status]]' "$BATS_TEST_TMPDIR/alone.json")
  for student in alice bob; do
    [ "$(jq -c '[.score, [.tests[] | .status]]' "$results/$student/ex9-sample.json")" = "$alone" ]
  done
  run jq -c '[.score, [.tests[] | .status]]' "$results/stub/ex9-sample.json"
  assert_output '[1,["fail","fail","fail","fail","pass"]]'
}

@test "after a batch no process of any submission survives" {
  run cat "$BATS_FILE_TMPDIR/survivors"
  assert_output ""
}

@test "two submissions binding the same fixed port both pass, each in its own network" {
  unshare -n true 2>/dev/null || skip "this kernel refuses network namespaces"
  local results=$BATS_FILE_TMPDIR/results
  run jq -r .score "$results/squatter/ex9-sample.json" "$results/squatter2/ex9-sample.json"
  assert_output $'9\n9'
}

@test "batch refuses bad usage with exit 2" {
  run "$GRADER" batch --kit "$KIT"
  assert_failure 2
  run "$GRADER" batch "$BATS_TEST_TMPDIR/nowhere" --kit "$KIT"
  assert_failure 2
  run "$GRADER" batch "$KIT/solutions" --kit "$KIT" --exercise ex7
  assert_failure 2
}
