#!/usr/bin/env bats
# hello.bats: ex1-hello's checks of the hello program.

setup() {
  load ../lib/grader
  cd "$BATS_TEST_TMPDIR" || return 1
}

@test "hello with no options prints exactly Hello world!" {
  local status=0
  hello >out 2>err || status=$?
  if [ ! -s out ] && [ "$status" -eq 0 ]; then
    grader_message "hello printed nothing: hello_world() must wait for its task (async_task_join) before it returns"
  fi
  # Exactly, a final newline included ($(...) alone would drop it).
  local actual
  actual=$(cat out && printf x)
  expect_text $'Hello world!\n' "${actual%x}" \
    "hello (part 1) should print exactly Hello world! and a newline"
  if [ "$status" -ne 0 ]; then
    grader_message "hello printed the right line but exited $status: $(head -c 300 err | tr "\n" " ")"
    return 1
  fi
}

# rounds_problem TASKS ROUNDS < OUTPUT: the first thing wrong with part 2's
# output, or nothing: every line is "Hello World from coroutine ID", each
# id from 1 to TASKS prints ROUNDS lines, and no task starts round k+1
# before every task has printed its round k.
rounds_problem() {
  awk -v tasks="$1" -v rounds="$2" -v prefix="Hello World from coroutine " '
    function problem(text) { print text; found = 1; exit }
    {
      id = substr($0, length(prefix) + 1)
      if (index($0, prefix) != 1 || id !~ /^[1-9][0-9]*$/)
        problem(sprintf("line %d is \"%s\", not \"%sID\"", NR, $0, prefix))
      id += 0
      if (id > tasks)
        problem(sprintf("line %d: there is no coroutine %d (ids go from 1 to %d)",
                        NR, id, tasks))
      round = ++count[id]
      if (round > rounds)
        problem(sprintf("line %d: coroutine %d printed a line more than its %d rounds",
                        NR, id, rounds))
      for (other = 1; other <= tasks; other++)
        if (count[other] + 0 < round - 1)
          problem(sprintf("line %d: coroutine %d printed its round %d before coroutine %d printed its round %d",
                          NR, id, round, other, round - 1))
    }
    END {
      if (found) exit
      if (NR == 0) { print "it printed nothing"; exit }
      for (id = 1; id <= tasks; id++)
        if (count[id] + 0 != rounds) {
          printf "coroutine %d printed %d lines, not %d\n", id, count[id], rounds
          exit
        }
    }'
}

@test "round k of every task before round k+1 of any, in seeded schedules" {
  # Check mode: virtual time (the sleeps take none) and the order in which
  # ready tasks run chosen by a seeded schedule, so that every run of a
  # schedule and seed is the same run, on any machine, under any load.
  local args="-n 4 -r 3 -i 0.01" schedule seed status problem
  for schedule in fifo random:1 random:2 random:3 pct:1 pct:2 pct:3; do
    seed=${schedule#*:}
    schedule=${schedule%:*}
    [ "$seed" != "$schedule" ] || seed=
    status=0
    # shellcheck disable=SC2086 # $args is words on purpose
    env ASYNC_CHECK=1 ASYNC_SCHEDULE="$schedule" ${seed:+ASYNC_SEED=$seed} \
      hello $args >out 2>err || status=$?
    problem=$(rounds_problem 4 3 <out)
    [ "$status" -eq 0 ] || problem="${problem:+$problem; }hello exited $status"
    if [ -n "$problem" ]; then
      grader_message "hello $args, schedule $schedule${seed:+ seed $seed}: $problem"
      grader_replay "ASYNC_CHECK=1 ASYNC_SCHEDULE=$schedule${seed:+ ASYNC_SEED=$seed} make run-ex1 ARGS='$args'"
      echo "what hello printed:"
      sed 's/^/  /' out
      head -c 2000 err
      return 1
    fi
  done
}

@test "hello -n 10 -r 3 -i 0.2 takes about 0.4 s of real time, not 4 s" {
  # Ten tasks that each print, sleep 0.2 s, print, sleep 0.2 s, print: all
  # sleep at the same time, so the whole run takes 0.4 s. One after the
  # other it would take ten times that. The margins are wide: this is no
  # benchmark, but a run that finishes before 0.3 s did not sleep, and one
  # still running at 2 s ran the tasks one at a time.
  local limit start end elapsed status=0
  limit=$(awk -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print 2 * s }')
  start=$(date +%s%N)
  timeout "$limit" hello -n 10 -r 3 -i 0.2 >out 2>err || status=$?
  end=$(date +%s%N)
  elapsed=$(((end - start) / 1000000))
  if [ "$status" -eq 124 ]; then
    grader_message "hello -n 10 -r 3 -i 0.2 was still running after $limit s (it should take 0.4 s): do the tasks run one after another? Start them all before waiting for any, and sleep with async_sleep()"
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    grader_message "hello -n 10 -r 3 -i 0.2 exited $status: $(head -c 300 err | tr "\n" " ")"
    return 1
  fi
  if [ "$(wc -l <out)" -ne 30 ]; then
    grader_message "hello -n 10 -r 3 -i 0.2 printed $(wc -l <out) lines, not 10 x 3 = 30"
    return 1
  fi
  if [ "$elapsed" -lt 300 ]; then
    grader_message "hello -n 10 -r 3 -i 0.2 finished in $elapsed ms: each task should sleep 0.2 s between two of its prints, so the run takes 0.4 s"
    return 1
  fi
  echo "took $elapsed ms"
}
