#!/usr/bin/env bats
# cron.bats: ex7's checks of the cron program, in real time with real
# commands: crontab errors, output, the schedule measured on the clock, and
# stopping (-t, SIGINT) with no command left behind.
#
# Nothing here sleeps to wait for something. cron's stdout is a pipe that
# the test reads: a command says "started" on it when it runs, and the
# pipe's end of file comes once every process that holds it has gone: cron
# and every command it started. That is how "no child left" is seen.

setup() {
  load ../lib/grader
  cd "$BATS_TEST_TMPDIR" || return 1
  CRON_PID=
  SLEEP_PID=
}

teardown() {
  # What a failed test may have left: cron, and the command it did not stop.
  if [ -n "$CRON_PID" ]; then kill -KILL "$CRON_PID" 2>/dev/null || true; fi
  if [ -n "$SLEEP_PID" ]; then kill -KILL "$SLEEP_PID" 2>/dev/null || true; fi
  return 0
}

# Seconds, scaled like the grader's timeouts (slow machines, sanitizers).
scaled() {
  awk -v t="$1" -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print t * s }'
}

# start_cron ARGS...: runs cron in the background with its stdout into a
# pipe this test reads (fd $CRON_OUT, lines kept in cron.out) and its
# stderr into cron.err. Sets CRON_PID.
start_cron() {
  rm -f cron.fifo cron.out
  mkfifo cron.fifo || return 1
  : >cron.out
  cron "$@" >cron.fifo 2>cron.err </dev/null 3>&- &
  CRON_PID=$!
  exec {CRON_OUT}<cron.fifo
  rm -f cron.fifo
}

# read_until PATTERN SECONDS: reads cron's stdout until a line matches the
# extended regular expression; that line is in $LINE. 1 on end of file or
# when nothing came for SECONDS.
read_until() {
  while IFS= read -r -t "$2" -u "$CRON_OUT" LINE; do
    printf '%s\n' "$LINE" >>cron.out
    [[ $LINE =~ $1 ]] && return 0
  done
  return 1
}

# read_to_end SECONDS: reads cron's stdout to its end of file; 1 if it has
# not come after SECONDS (something still holds the pipe open).
read_to_end() {
  local line status
  while :; do
    IFS= read -r -t "$1" -u "$CRON_OUT" line
    status=$?
    if [ "$status" -eq 0 ]; then
      printf '%s\n' "$line" >>cron.out
      continue
    fi
    [ -n "$line" ] && printf '%s\n' "$line" >>cron.out
    [ "$status" -le 128 ]
    return
  done
}

# What cron said on stderr, on one line, for messages.
cron_said() {
  head -c 400 cron.err | tr '\n' ' '
}

# Whether the process is still there (a zombie is gone: it has exited).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

@test "a bad crontab line is reported as CRONTAB:LINE: reason" {
  cat >crontab <<'EOF'
# comments and blank lines are not jobs

   # an indented comment
5 echo a good line
0 echo a period of zero
every-5-seconds date
7
EOF
  status=0
  timeout "$(scaled 5)" cron -f crontab -t 2 >out 2>err || status=$?
  if [ "$status" -ne 2 ]; then
    grader_message "cron -f crontab exited with status $status, not 2, with \
lines 5 to 7 bad (period 0, period not a number, no command); it said: \
$(head -c 300 err | tr '\n' ' ')"
    return 1
  fi
  # One line per bad line, each starting with FILE:LINE:, and nothing else.
  expect_text $'crontab:5\ncrontab:6\ncrontab:7' \
    "$(grep -o '^crontab:[0-9]*' err)" \
    "each bad line (and only those) is reported as crontab:LINE: reason" ||
    return 1
  expect_text "" "$(cat out)" "with a bad line, no command runs at all"
}

@test "commands' output is forwarded to cron's stdout and stderr" {
  printf '%s\n' '10 echo "to stdout"; echo "to stderr" >&2' >crontab
  status=0
  timeout "$(scaled 5)" cron -f crontab -t 0.3 >out 2>err || status=$?
  if [ "$status" -ne 0 ]; then
    grader_message "cron -f crontab -t 0.3 exited with status $status; it \
said: $(head -c 300 err | tr '\n' ' ')"
    return 1
  fi
  expect_text "to stdout" "$(cat out)" \
    "the command's stdout should come out on cron's stdout, once" || return 1
  if ! grep -qx "to stderr" err; then
    expect_text "to stderr" "$(cat err)" \
      "the command's stderr should come out on cron's stderr"
    return 1
  fi
}

# The functional check against drift: the program logs (with -v) when each
# run starts, on the loop's clock, in seconds since cron_run was called.
# Each start must be within 20 ms of its grid point. A busy machine may
# delay one start now and then (the loop gets the CPU late): one start
# late by at most 100 ms is let pass when the start after it is on time
# again, which is what an absolute schedule does. A schedule that sleeps a
# period after each run is late by the run's 50 ms at its second start,
# and later at every start after: that is drift, and it fails.
@test "in real time every start is within 20 ms of its grid point" {
  cat >crontab <<'EOF'
# every 0.2 s, runs take 50 ms: 8 starts in 1.6 s, at 0, 0.2, ..., 1.4
0.2 sleep 0.05
EOF
  local tolerance
  tolerance=$(awk -v s="${TIMEOUT_SCALE:-1}" 'BEGIN { print 0.020 * s }')
  status=0
  timeout "$(scaled 8)" cron -v -f crontab -t 1.6 >out 2>err || status=$?
  if [ "$status" -ne 0 ]; then
    grader_message "cron -v -f crontab -t 1.6 exited with status $status; it \
said: $(head -c 300 err | tr '\n' ' ')"
    return 1
  fi
  # The starts as the grid points they are on ("0.4"), or, for a start
  # late by more than the tolerance, its time and how late it is ("0.452
  # (52 ms after 0.4)").
  local report
  report=$(awk -v tolerance="$tolerance" -v period=0.2 '
    $1 == "cron:" && $4 == "starts:" { at[++n] = substr($2, 2) + 0 }
    END {
      for (i = 1; i <= n; i++) {
        # The last point at or before the start (a printed time may be a
        # microsecond short of its point).
        point[i] = int(at[i] / period + 0.01) * period
        late[i] = at[i] - point[i]
      }
      forgiven = 0
      for (i = 1; i <= n; i++) {
        text = sprintf("%.1f", point[i])
        if (late[i] > tolerance) {
          if (forgiven == 0 && late[i] <= 0.1 * tolerance / 0.02 &&
              (i == n || late[i + 1] <= tolerance))
            forgiven++
          else
            text = sprintf("%.3f (%.0f ms after %.1f)", at[i],
                           late[i] * 1000, point[i])
        }
        starts = starts (i > 1 ? " " : "") text
      }
      printf "every 0.2 s, runs take 50 ms: %s\n", starts
    }' err)
  local expected="every 0.2 s, runs take 50 ms: 0.0 0.2 0.4 0.6 0.8 1.0 1.2 \
1.4"
  if [ "$report" != "$expected" ]; then
    grader_message "the starts (cron -v's log: seconds since cron_run began) \
are not on the grid: each must be within $(awk -v t="$tolerance" \
'BEGIN { print t * 1000 }') ms of t0 + k * period"
  fi
  expect_text "$expected" "$report"
}

@test "-t stops cron on time, and the command still running" {
  printf '%s\n' '1000 sleep 30 & echo "started $!"; wait' >crontab
  local began=$EPOCHREALTIME
  start_cron -f crontab -t 0.5
  if ! read_until '^started [0-9]+$' "$(scaled 2)"; then
    grader_message "the command never started; cron said: $(cron_said)"
    return 1
  fi
  SLEEP_PID=${LINE#started }
  # The end of file comes when cron and everything it started have gone.
  if ! read_to_end "$(scaled 2)"; then
    if alive "$CRON_PID"; then
      grader_message "cron -t 0.5 was still running 1.5 s after its time was \
up, waiting for its 'sleep 30': at the end of -t, cancel the runs still \
going and wait for them; each stops its command"
    else
      grader_message "cron -t 0.5 exited, but left its command running (the \
'sleep 30', pid $SLEEP_PID, started by the command's shell): stop the \
command's whole process group, not just the shell"
    fi
    return 1
  fi
  SLEEP_PID= # gone: its number may go to another process now
  local took
  took=$(awk -v a="$began" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
  wait "$CRON_PID"
  status=$?
  CRON_PID=
  if [ "$status" -ne 0 ]; then
    grader_message "cron -t 0.5 exited with status $status; it said: \
$(cron_said)"
    return 1
  fi
  if ! awk -v t="$took" 'BEGIN { exit !(t >= 0.5) }'; then
    grader_message "cron -t 0.5 stopped after $took s: too early"
    return 1
  fi
}

@test "SIGINT stops cron and leaves no command running" {
  printf '%s\n' '# a command that would run for 30 s' \
    '1000 sleep 30 & echo "started $!"; wait' >crontab
  start_cron -f crontab
  if ! read_until '^started [0-9]+$' "$(scaled 2)"; then
    grader_message "the command never started; cron said: $(cron_said)"
    return 1
  fi
  SLEEP_PID=${LINE#started }
  kill -INT "$CRON_PID"
  if ! read_to_end "$(scaled 1)"; then
    if alive "$CRON_PID"; then
      grader_message "cron was still running 1 s after SIGINT: when its task \
is cancelled, cron_run must cancel the runs and return once they have \
stopped"
    elif alive "$SLEEP_PID"; then
      grader_message "cron exited on SIGINT but left its command running (the \
'sleep 30', pid $SLEEP_PID, that the command's shell started): when a run \
is cancelled, send SIGTERM to the command's whole process group \
(new_process_group, then kill(-pid, SIGTERM)), not just to the shell"
    else
      grader_message "1 s after SIGINT, something cron started still holds \
its stdout open"
    fi
    return 1
  fi
  SLEEP_PID= # gone: its number may go to another process now
  wait "$CRON_PID"
  status=$?
  CRON_PID=
  if [ "$status" -ne 0 ]; then
    grader_message "cron exited with status $status on SIGINT, not 0 (a \
clean stop); it said: $(cron_said)"
    return 1
  fi
}
