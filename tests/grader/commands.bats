#!/usr/bin/env bats
# commands.bats: hint tiers, progress, run, diff, list and the self-test.

load common

@test "list names the kit's exercises" {
  run "$GRADER" list --kit "$KIT"
  assert_success
  assert_output ex9-sample
}

@test "hint shows the next tier each time, remembers it, and can start over" {
  run "$GRADER" hint ex9 --kit "$KIT"
  assert_success
  assert_line "Hint 1 of 3 for ex9-sample:"
  assert_output --partial "snprintf"
  run "$GRADER" hint ex9 --kit "$KIT"
  assert_line "Hint 2 of 3 for ex9-sample:"
  run "$GRADER" hint ex9 --kit "$KIT"
  assert_line "Hint 3 of 3 for ex9-sample:"
  assert_output --partial "That is the last hint"
  run "$GRADER" hint ex9 --kit "$KIT"
  assert_line "Hint 3 of 3 for ex9-sample:"
  [ "$(cat "$GRADER_STATE_DIR/hint-ex9-sample")" = 3 ]
  run "$GRADER" hint ex9 --kit "$KIT" --reset
  run "$GRADER" hint ex9 --kit "$KIT"
  assert_line "Hint 1 of 3 for ex9-sample:"
}

@test "progress: not started, failing and done, with scores" {
  run "$GRADER" progress --kit "$KIT"
  assert_success
  # The stub passes one check, yet is not started: it is the stub.
  assert_line --regexp '^ex9-sample +not started +1/9$'
  run "$GRADER" progress --kit "$KIT" --submission "$KIT/solutions"
  assert_line --regexp '^ex9-sample +done +9/9$'
  mkdir -p "$BATS_TEST_TMPDIR/empty"
  run "$GRADER" progress --kit "$KIT" --submission "$BATS_TEST_TMPDIR/empty"
  assert_line --regexp '^ex9-sample +not started +0/9$'
}

@test "progress: a stub the student changed that still fails is failing" {
  mkdir -p "$BATS_TEST_TMPDIR/started/ex9-sample"
  cp "$KIT/exercises/ex9-sample/greet.c" "$BATS_TEST_TMPDIR/started/ex9-sample/"
  echo "/* a first try */" >>"$BATS_TEST_TMPDIR/started/ex9-sample/greet.c"
  run "$GRADER" progress --kit "$KIT" --submission "$BATS_TEST_TMPDIR/started"
  assert_success
  assert_line --regexp '^ex9-sample +failing +1/9$'
}

@test "fingerprint --check: a stub changed since its fingerprint fails, with the command" {
  run "$GRADER" fingerprint ex9 --kit "$KIT" --check
  assert_success
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  echo "/* edited */" >>"$BATS_TEST_TMPDIR/kit/exercises/ex9-sample/greet.c"
  run "$GRADER" fingerprint ex9 --kit "$BATS_TEST_TMPDIR/kit" --check
  assert_failure 1
  assert_line "  grader/grader fingerprint ex9-sample > tests/ex9-sample/stub.fingerprint"
}

@test "run builds the submission and runs its program with the arguments given" {
  run "$GRADER" run ex9 --kit "$KIT" --submission "$KIT/solutions" \
    --build-dir "$BATS_TEST_TMPDIR/build" -- Ada "Bob Jr"
  assert_success
  assert_output $'Hello, Ada!\nHello, Bob Jr!'
}

@test "run of a submission that does not build says so and exits 1" {
  run "$GRADER" run ex9 --kit "$KIT" --submission "$HOSTILE/broken" \
    --build-dir "$BATS_TEST_TMPDIR/build"
  assert_failure 1
  assert_output --partial "did not build"
}

@test "diff shows a submission against the solution" {
  run "$GRADER" diff ex9 --kit "$KIT" --submission "$KIT/tests/mutants"
  assert_failure 1
  # tests/mutants/ex9-sample holds no greet.c of its own: nothing to diff.
  assert_output --partial "the submission has no greet.c"
  mkdir -p "$BATS_TEST_TMPDIR/sub/ex9-sample"
  cp "$KIT/tests/mutants/ex9-sample/no-comma/greet.c" "$BATS_TEST_TMPDIR/sub/ex9-sample/"
  run "$GRADER" diff ex9 --kit "$KIT" --submission "$BATS_TEST_TMPDIR/sub"
  assert_line '-  return snprintf(buffer, size, "Hello, %s!", name);'
  assert_line '+  return snprintf(buffer, size, "Hello %s!", name);'
}

@test "a reused build directory rebuilds only what changed, and picks up a changed file" {
  local build=$BATS_TEST_TMPDIR/build
  run grade --submission "$KIT/solutions" --build-dir "$build"
  assert_success
  local before
  before=$(stat -c %Y "$build/out/obj/main.o")
  touch "$BATS_TEST_TMPDIR/built"
  # The stub: greet.c changes, main.c does not.
  run grade --build-dir "$build"
  assert_failure 1
  [ "$build/out/obj/greet.o" -nt "$BATS_TEST_TMPDIR/built" ]
  # main.o stays, unless the runtime's header changed meanwhile.
  [ "$(stat -c %Y "$build/out/obj/main.o")" = "$before" ] ||
    [ "$REPO/runtime/include/async.h" -nt "$BATS_TEST_TMPDIR/built" ]
  run grade --submission "$KIT/solutions" --build-dir "$build"
  assert_success
}

@test "self-test: the solution passes, the stub fails, every mutant is caught" {
  run "$REPO/grader/selftest.sh" --kit "$KIT" --results "$BATS_TEST_TMPDIR/results"
  assert_success
  assert_line --partial "ex9-sample: the solution scores full marks"
  assert_line --partial "ex9-sample: the stub fails"
  assert_line --partial "mutant miscount is caught by: count_words on random texts"
  assert_line --partial "mutant no-comma is caught by:"
  assert_line --partial "ex9-sample: alternative state-machine scores full marks"
  assert_line --partial "ex9-sample: the stub's fingerprint is current"
  assert_line "6 passed, 0 failed"
  [ "$(cat "$BATS_TEST_TMPDIR/results")" = "6 0" ]
}

@test "self-test: a mutant no check catches fails the self-test" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  mkdir -p "$BATS_TEST_TMPDIR/kit/tests/mutants/ex9-sample/harmless"
  cp "$KIT/solutions/ex9-sample/greet.c" "$BATS_TEST_TMPDIR/kit/tests/mutants/ex9-sample/harmless/"
  run "$REPO/grader/selftest.sh" --kit "$BATS_TEST_TMPDIR/kit"
  assert_failure 1
  assert_line --partial "mutant harmless: is not caught by any check"
}

@test "self-test: a solution that fails a check fails the self-test" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  cp "$KIT/tests/mutants/ex9-sample/miscount/greet.c" "$BATS_TEST_TMPDIR/kit/solutions/ex9-sample/"
  run "$REPO/grader/selftest.sh" --kit "$BATS_TEST_TMPDIR/kit"
  assert_failure 1
  assert_line --partial "the solution: does not score full marks"
}

@test "self-test: a mutant not caught by the check its caught-by names fails the self-test" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  echo "greet prints one line per name, in order" \
    >"$BATS_TEST_TMPDIR/kit/tests/mutants/ex9-sample/miscount/caught-by"
  run "$REPO/grader/selftest.sh" --kit "$BATS_TEST_TMPDIR/kit"
  assert_failure 1
  assert_line --partial "mutant miscount: is not caught by: greet prints one line per name, in order (caught by: count_words on random texts)"
}

@test "self-test: a correct alternative that loses marks fails the self-test" {
  cp -R "$KIT" "$BATS_TEST_TMPDIR/kit"
  cp "$KIT/tests/mutants/ex9-sample/miscount/greet.c" \
    "$BATS_TEST_TMPDIR/kit/tests/alternatives/ex9-sample/state-machine/"
  run "$REPO/grader/selftest.sh" --kit "$BATS_TEST_TMPDIR/kit"
  assert_failure 1
  assert_line --partial "alternative state-machine: is correct but lost marks (exit 1)"
}
