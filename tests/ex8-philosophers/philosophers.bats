#!/usr/bin/env bats
# philosophers.bats: ex8's checks of the philosophers program: what it
# prints, for five and for a thousand philosophers, its options, and a run
# in real time.

setup() {
  load ../lib/grader
}

# meal_counts MEALS: reads a dinner's output and prints one line per
# philosopher who did not eat and think exactly MEALS times ("Kant ate 11
# times, thought 11 times"), in order of appearance, then "N philosophers".
meal_counts() {
  awk -v meals="$1" '
    function note(name) {
      if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    }
    / eating$/ {
      name = substr($0, 1, length($0) - 7); ate[name]++; note(name)
    }
    / thinking$/ {
      name = substr($0, 1, length($0) - 9); thought[name]++; note(name)
    }
    END {
      for (i = 1; i <= n; i++) {
        name = order[i]
        if (ate[name] != meals || thought[name] != meals)
          printf "%s ate %d times, thought %d times\n", name, ate[name] + 0,
                 thought[name] + 0
      }
      print n " philosophers"
    }'
}

# what_it_said FILE: what the program said besides its meals: check
# mode's first report (its first line), then the dinner's own lines (who
# stopped early, and why), else the first other lines.
what_it_said() {
  local said
  said=$(
    grep -m 1 '^async: ' "$1" || true
    grep '^dinner: \|^philosophers: ' "$1" | head -n 3
  )
  [ -n "$said" ] ||
    said=$(grep -v ' eating$\| thinking$' "$1" | grep -v '^  ' | head -n 3)
  printf '%s' "$said"
}

@test "five philosophers each eat 10 meals" {
  status=0
  ASYNC_CHECK=1 philosophers >out 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    grader_message "philosophers exited with status $status; it said:
$(what_it_said out)"
    grader_replay "ASYNC_CHECK=1 make run-ex8"
    return 1
  fi
  expect_text "5 philosophers" "$(meal_counts 10 <out)" \
    "each of the five should eat 10 times and think 10 times" || return 1
  local names
  names=$(sed -n 's/ eating$//p' out | LC_ALL=C sort -u | paste -sd ' ' -)
  expect_text "Aristotle Kant Marx Russell Spinoza" "$names" \
    "the five are Aristotle, Kant, Spinoza, Marx and Russell" || return 1
  expect_text "All philosophers are done eating now." "$(tail -n 1 out)" \
    "the last line announces the end"
}

@test "a thousand philosophers each eat 10 meals" {
  local settings=(ASYNC_CHECK=1 ASYNC_SCHEDULE=random ASYNC_SEED=1
    ASYNC_STARVATION=0)
  local again="${settings[*]} make run-ex8 ARGS=\"-n 1000\""
  status=0
  env "${settings[@]}" philosophers -n 1000 >out 2>err || status=$?
  if [ "$status" -ne 0 ]; then
    grader_message "philosophers -n 1000 exited with status $status; it said:
$(what_it_said err)"
    grader_replay "$again"
    return 1
  fi
  if ! expect_text "1000 philosophers" "$(meal_counts 10 <out | tail -n 6)" \
    "each of P0 to P999 should eat 10 times and think 10 times"; then
    grader_replay "$again"
    return 1
  fi
  expect_text "All philosophers are done eating now." "$(tail -n 1 out)" \
    "the last line announces the end"
}

@test "the dinner runs in real time too" {
  # No check mode: real sleeps, 2 meals of 10 ms each (about 0.05 s in
  # all). A program that only works in virtual time, or hangs, fails here.
  local args=(-n 5 -m 2 -e 0.01 -t 0.01)
  status=0
  timeout 5 philosophers "${args[@]}" >out 2>&1 || status=$?
  if [ "$status" -eq 124 ]; then
    grader_message "philosophers ${args[*]} did not finish within 5 s of \
real time (about 0.05 s was expected): a deadlock?"
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    grader_message "philosophers ${args[*]} exited with status $status; it said:
$(what_it_said out)"
    return 1
  fi
  expect_text "5 philosophers" "$(meal_counts 2 <out)" \
    "each of the five should eat twice and think twice"
}

@test "bad options print the usage and exit 2" {
  local args
  for args in "-n 1" "-n many" "-m -1" "-e -0.5" "-t soon" "-x" "extra"; do
    # shellcheck disable=SC2086 # split on purpose
    run philosophers $args
    if [ "$status" -ne 2 ] || [[ $output != *"usage: philosophers"* ]]; then
      grader_message "philosophers $args should print its usage and exit 2 \
(it exited with status $status)"
      return 1
    fi
  done
}
