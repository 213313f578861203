#!/usr/bin/env bats
# formats.bats: every output format is well-formed and says the same thing.

load common

setup_file() {
  load common
  local out=$BATS_FILE_TMPDIR
  # One grading per format and submission, shared by the tests below.
  for format in text json junit tap gradescope; do
    grade --format "$format" >"$out/stub.$format" || true
    grade --submission "$KIT/solutions" --format "$format" \
      >"$out/solution.$format" || true
    grade --submission "$HOSTILE/broken" --format "$format" \
      >"$out/broken.$format" || true
  done
}

@test "json: a failing, a passing and an unbuildable submission follow the schema" {
  for kind in stub solution broken; do
    run jq -r -f "$BATS_TEST_DIRNAME/schema.jq" "$BATS_FILE_TMPDIR/$kind.json"
    assert_success
    assert_output ""
  done
}

@test "json: scores, statuses and per-check fields are right" {
  local report=$BATS_FILE_TMPDIR/stub.json
  run jq -r '[.status, .score, .max_score, (.tests | length)] | @tsv' "$report"
  assert_output $'fail\t1\t9\t5'
  run jq -r '.tests[] | "\(.status) \(.score)/\(.max_score) \(.name)"' "$report"
  assert_line "fail 0/2 greet says hello with a comma"
  assert_line "pass 1/1 greet with no names prints its usage"
  run jq -r '.tests[0] | [.expected, .actual, .hint != null] | @json' "$report"
  assert_output '["Hello, Ada!","",true]'
  run jq -r '.status, .score' "$BATS_FILE_TMPDIR/solution.json"
  assert_output $'pass\n9'
}

@test "json: a seeded check carries its replay line" {
  run jq -r '.tests[] | select(.name == "count_words on random texts") | .replay' \
    "$BATS_FILE_TMPDIR/stub.json"
  assert_output "SEED=1 ./test_greet test_count_words_random"
}

@test "json: a multi-line mismatch carries a unified diff with visible whitespace" {
  run jq -r '.tests[3].diff' "$BATS_FILE_TMPDIR/stub.json"
  assert_line "--- expected"
  assert_line "+++ actual"
  assert_line "-Hello,·Ada!⏎"
}

@test "json: a build failure is one error result and every check skipped" {
  local report=$BATS_FILE_TMPDIR/broken.json
  run jq -r '.status, .build.status, ([.tests[] | .status] | join(" "))' "$report"
  assert_output $'error\nerror\nerror skip skip skip skip skip'
  run jq -r '.tests[0].output' "$report"
  assert_output --partial "error: expected"
}

@test "junit: every report validates against the JUnit XML schema" {
  command -v xmllint >/dev/null || skip "xmllint is not installed"
  for kind in stub solution broken; do
    run xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" \
      "$BATS_FILE_TMPDIR/$kind.junit"
    assert_success
  done
}

@test "junit: counts and elements match the results" {
  local report=$BATS_FILE_TMPDIR/stub.junit
  run xmllint --xpath 'string(/testsuites/testsuite/@tests)' "$report"
  assert_output 5
  run xmllint --xpath 'string(/testsuites/testsuite/@failures)' "$report"
  assert_output 4
  run xmllint --xpath 'count(//testcase/failure)' "$report"
  assert_output 4
  run xmllint --xpath 'count(//testcase/skipped)' "$BATS_FILE_TMPDIR/broken.junit"
  assert_output 5
  run xmllint --xpath 'count(//testcase/error)' "$BATS_FILE_TMPDIR/broken.junit"
  assert_output 1
}

@test "tap: a version, a plan, one line per check, YAML diagnostics" {
  local report=$BATS_FILE_TMPDIR/stub.tap
  run sed -n '1,2p' "$report"
  assert_output $'TAP version 13\n1..5'
  run grep -cE '^(ok|not ok) [0-9]+ - ' "$report"
  assert_output 5
  run grep -c '^not ok' "$report"
  assert_output 4
  # Every YAML block opens with --- and closes with ...
  [ "$(grep -c '^  ---$' "$report")" -eq "$(grep -c '^  \.\.\.$' "$report")" ]
  run grep -c '# SKIP' "$BATS_FILE_TMPDIR/broken.tap"
  assert_output 5
  run tail -n 1 "$report"
  assert_output "# Score: 1/9"
}

@test "gradescope: results.json has the fields Gradescope reads" {
  local report=$BATS_FILE_TMPDIR/stub.gradescope
  run jq -r '.score, (.tests | length), ([.tests[].status] | unique | join(","))' "$report"
  assert_output $'1\n5\nfailed,passed'
  run jq -e '.tests | all(has("name") and has("score") and has("max_score") and has("output") and (.visibility == "visible"))' "$report"
  assert_success
  run jq -r '.tests[0].output' "$report"
  assert_output --partial "expected: Hello,·Ada!"
  assert_output --partial "hint: "
}

@test "text: marks per check, expected and actual, hint, replay, and the score" {
  local report=$BATS_FILE_TMPDIR/stub.text
  run cat "$report"
  assert_line --regexp '^  FAIL +greet says hello with a comma +0/2$'
  assert_line --regexp '^  ok +greet with no names prints its usage +1/1$'
  assert_line --partial "expected: Hello,·Ada!"
  assert_line --partial "actual:   (empty)"
  assert_line --partial "hint: The greeting is exactly"
  assert_line --partial "replay: SEED=1 ./test_greet test_count_words_random"
  assert_line "Score: 1/9"
  # No colour when the output is not a terminal.
  run grep -c $'\033' "$report"
  assert_output 0
}

@test "text: colour on a terminal" {
  command -v script >/dev/null || skip "script (util-linux) is not installed"
  run script -qec "TERM=xterm GRADER_NO_MAKE=1 $GRADER ex9 --kit $KIT --quiet" /dev/null
  assert_output --partial $'\033[31mFAIL'
}

@test "--output writes the report to a file and nothing to stdout" {
  run grade --format json --output "$BATS_TEST_TMPDIR/out.json"
  assert_failure 1
  assert_output ""
  run jq -r .exercise "$BATS_TEST_TMPDIR/out.json"
  assert_output ex9-sample
}

@test "an exercise that is not in the kit still gives well-formed json and junit, and exit 2" {
  run "$GRADER" ex7 --kit "$KIT" --format json --output "$BATS_TEST_TMPDIR/r.json"
  assert_failure 2
  run jq -r '.status, .message' "$BATS_TEST_TMPDIR/r.json"
  assert_output --partial "error"
  assert_output --partial "exercise 7 is not in the kit yet"
  run "$GRADER" ex7 --kit "$KIT" --format junit --output "$BATS_TEST_TMPDIR/r.xml"
  assert_failure 2
  run xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" "$BATS_TEST_TMPDIR/r.xml"
  assert_success
}
