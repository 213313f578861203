#!/usr/bin/env bats
# adapters.bats: Gradescope's run_autograder in a simulated /autograder, the
# autograder zip, and the GitHub Actions workflow's commands.

load common

ADAPTERS="$REPO/grader/adapters"

# A Gradescope layout: the kit in source/ (the fixture kit, with the
# grader), the upload in submission/.
make_autograder() {
  AUTOGRADER_ROOT=$BATS_TEST_TMPDIR/autograder
  export AUTOGRADER_ROOT
  mkdir -p "$AUTOGRADER_ROOT/source" "$AUTOGRADER_ROOT/submission"
  cp -R "$KIT/." "$AUTOGRADER_ROOT/source/"
  ln -s "$REPO/grader" "$AUTOGRADER_ROOT/source/grader"
  echo "EXERCISE = ex9" >"$AUTOGRADER_ROOT/source/autograder.conf"
}

@test "gradescope: a loose upload of a correct file gets full marks in results.json" {
  make_autograder
  cp "$KIT/solutions/ex9-sample/greet.c" "$AUTOGRADER_ROOT/submission/"
  run "$ADAPTERS/gradescope/run_autograder"
  assert_success
  assert_line "Score: 9/9"
  run jq -r '.score, (.tests | length), ([.tests[].status] | unique | join(","))' \
    "$AUTOGRADER_ROOT/results/results.json"
  assert_output $'9\n5\npassed'
}

@test "gradescope: a repository upload of the stub gets its score and the reasons" {
  make_autograder
  mkdir -p "$AUTOGRADER_ROOT/submission/exercises"
  cp -R "$KIT/exercises/ex9-sample" "$AUTOGRADER_ROOT/submission/exercises/"
  run "$ADAPTERS/gradescope/run_autograder"
  assert_success
  run jq -r '.score, .tests[0].status, .tests[0].output' \
    "$AUTOGRADER_ROOT/results/results.json"
  assert_line --index 0 1
  assert_line --index 1 failed
  assert_output --partial "expected: Hello,·Ada!"
}

@test "gradescope: an empty upload scores 0 with a message, not a crash" {
  make_autograder
  run "$ADAPTERS/gradescope/run_autograder"
  assert_success
  run jq -r '.score, .output' "$AUTOGRADER_ROOT/results/results.json"
  assert_line --index 0 0
  assert_output --partial "the submission has no greet.c"
}

@test "gradescope: an autograder that names no exercise still writes results.json" {
  make_autograder
  rm "$AUTOGRADER_ROOT/source/autograder.conf"
  run "$ADAPTERS/gradescope/run_autograder"
  assert_success
  run jq -r '.score, .output' "$AUTOGRADER_ROOT/results/results.json"
  assert_line --index 0 0
  assert_output --partial "does not say which exercise"
}

@test "gradescope: package.sh puts setup.sh, run_autograder and autograder.conf at the zip's root" {
  command -v unzip >/dev/null || skip "unzip is not installed"
  run "$ADAPTERS/gradescope/package.sh" ex9 "$BATS_TEST_TMPDIR/ag.zip"
  assert_success
  run unzip -l "$BATS_TEST_TMPDIR/ag.zip"
  assert_line --regexp ' setup\.sh$'
  assert_line --regexp ' run_autograder$'
  assert_line --regexp ' autograder\.conf$'
  assert_line --regexp ' Makefile$'
  run unzip -p "$BATS_TEST_TMPDIR/ag.zip" autograder.conf
  assert_output "EXERCISE = ex9"
}

@test "github: the workflow's grading command writes results.json and junit.xml" {
  local workflow=$ADAPTERS/github/classroom.yml
  # shellcheck disable=SC2016 # the workflow's own text, $EXERCISE and all
  grep -q 'grader/grader "$EXERCISE"' "$workflow"
  grep -q -- '--also json:results.json --also junit:junit.xml' "$workflow"
  cd "$BATS_TEST_TMPDIR"
  run "$GRADER" ex9 --kit "$KIT" --quiet --also json:results.json \
    --also junit:junit.xml
  assert_failure 1
  assert_line "Score: 1/9"
  run jq -r -f "$BATS_TEST_DIRNAME/schema.jq" results.json
  assert_output ""
  run xmllint --noout --schema "$BATS_TEST_DIRNAME/junit.xsd" junit.xml
  assert_success
}
