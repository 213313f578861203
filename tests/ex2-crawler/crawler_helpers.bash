# crawler_helpers.bash: what ex2-crawler's bats checks share: the servers,
# the crawler run in check mode under a deadline, and the verdicts.
#
#   load crawler_helpers      (from setup; loads ../lib/grader and server)
#
#   crawler_setup             OUT (an empty folder to save into), FILES (the
#                             sixteen patch signatures), SIXTEEN (their names)
#   start_fixture             the kit's http_fixture serving FILES; BASE is
#                             its http://HOST:PORT
#   find_closed_port          CLOSED_PORT: a port where nothing listens
#   fixture_ask PATH          the fixture's one-line answer to PATH (/peak)
#   run_crawler ARGS...       runs `crawler ARGS...` in check mode: status,
#                             output (stdout), stderr, CRAWL_SECONDS; a run
#                             still going after CRAWLER_DEADLINE seconds (6)
#                             gets SIGQUIT (a task dump), then SIGKILL
#   expect_* ...              verdicts; each fails with a message a student
#                             can act on, and shows what the crawler printed
#
# shellcheck disable=SC2034,SC2154 # the variables are for the tests that
# load this file; bats' run sets status, output, lines and stderr

crawler_setup() {
  load ../lib/grader
  load ../lib/server
  FILES=${TESTS_SRC:-$BATS_TEST_DIRNAME}/files
  OUT=$BATS_TEST_TMPDIR/out
  mkdir -p "$OUT"
  mapfile -t SIXTEEN < <(cd "$FILES" && ls)
  SCALE=${TIMEOUT_SCALE:-1}
}

# Seconds scaled by TIMEOUT_SCALE (a slow machine gets longer).
scaled() {
  awk -v t="$1" -v s="$SCALE" 'BEGIN { print t * s }'
}

start_fixture() {
  start_server http_fixture -p 0 -d "$FILES" || return 1
  FIXTURE_HOST=$SERVER_HOST
  FIXTURE_PORT=$SERVER_PORT
  BASE="http://$SERVER_HOST:$SERVER_PORT"
}

# A port on 127.0.0.1 where nothing listens, into CLOSED_PORT: the port a
# fixture had, once it is gone. Not a fixed port such as 1: on a shared
# network anything may listen there; a port just freed is taken again only
# by a rare coincidence, and in the grader's private network never.
find_closed_port() {
  start_server http_fixture -p 0 || return 1
  CLOSED_PORT=$SERVER_PORT
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID"
  { wait "$SERVER_PID"; } 2>/dev/null || true
}

# One GET over bash's /dev/tcp: no client program needed, no keep-alive.
fixture_ask() {
  local fd response
  exec {fd}<>"/dev/tcp/$FIXTURE_HOST/$FIXTURE_PORT" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' \
    "$1" "$FIXTURE_HOST" >&"$fd"
  response=$(cat <&"$fd")
  exec {fd}<&-
  response=${response#*$'\r\n\r\n'}
  printf '%s' "${response//[$'\r\n']/}"
}

run_crawler() {
  FINDINGS=$BATS_TEST_TMPDIR/findings.json
  rm -f "$FINDINGS"
  CRAWL_COMMAND="crawler $*"
  local deadline start end
  deadline=$(scaled "${CRAWLER_DEADLINE:-6}")
  start=$EPOCHREALTIME
  # Check mode: a task that waits for a seat nobody will give back is a
  # deadlock, reported at once instead of a hang. The deadline catches a
  # transfer that nothing ends (SIGQUIT first: the runtime's task dump
  # shows where each task waits).
  run --separate-stderr env ASYNC_CHECK=1 ASYNC_FINDINGS="$FINDINGS" \
    timeout -s QUIT -k 1 "$deadline" crawler "$@"
  end=$EPOCHREALTIME
  CRAWL_SECONDS=$(awk -v a="$start" -v b="$end" \
    'BEGIN { printf "%.2f", b - a }')
  CRAWL_DEADLINE=$deadline
}

# What the crawler printed, after a failed verdict.
show_crawl() {
  {
    echo "\$ $CRAWL_COMMAND   (exit $status, $CRAWL_SECONDS s)"
    echo "--- stdout:"
    printf '%s\n' "$output"
    echo "--- stderr:"
    printf '%s\n' "$stderr"
    echo "--- files saved in $OUT:"
    ls -A "$OUT"
  } >&2
}

# flunk WORDS...: the verdict fails with the message WORDS (joined by
# spaces, so that a long one can be written on several lines).
flunk() {
  grader_message "$*"
  show_crawl
  return 1
}

# The run ended by itself, and check mode found nothing.
expect_finished() {
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    flunk "the crawler was still running after $CRAWL_DEADLINE s and was" \
      "stopped (its task dump is below): does every transfer have" \
      "options->timeout, and every task a seat in the end?"
    return 1
  fi
  if [ -s "$FINDINGS" ]; then
    local kind
    kind=$(sed -n 's/.*"kind": *"\([^"]*\)".*/\1/p' "$FINDINGS" | head -1)
    flunk "the runtime's check mode reported a ${kind:-problem} (its report" \
      "is below); for a deadlock: a task waits for a seat that is never" \
      "given back"
    return 1
  fi
}

# expect_exit STATUS: 0 when every URL can be fetched, 1 when some cannot.
expect_exit() {
  [ "$status" -eq "$1" ] && return 0
  local first
  first=$(printf '%s\n' "$stderr" | grep -m1 '^failed ' || true)
  if [ "$1" -eq 0 ] && [ -n "$first" ]; then
    flunk "the crawler exited with status $status, but every URL here can be" \
      "fetched; it said: $first"
  elif [ "$1" -eq 0 ]; then
    flunk "the crawler exited with status $status, but every URL here can be" \
      "fetched"
  else
    flunk "the crawler exited with status $status, not $1: a URL failed, so" \
      "crawler_crawl returns a count above 0 and the crawler exits 1"
  fi
}

# expect_saved NAME...: each NAME saved in OUT, byte for byte as in FILES.
expect_saved() {
  local name saved expected prefix
  for name in "$@"; do
    if [ ! -f "$OUT/$name" ]; then
      flunk "$name was not saved in the -o folder"
      return 1
    fi
    cmp -s "$FILES/$name" "$OUT/$name" && continue
    saved=$(wc -c <"$OUT/$name")
    expected=$(wc -c <"$FILES/$name")
    # The bytes before the first NUL: what a strlen()-based save keeps.
    prefix=$(LC_ALL=C awk 'BEGIN { RS = "\0" } NR == 1 { print length($0) }' \
      "$FILES/$name")
    if [ "$saved" -lt "$expected" ] && [ "$saved" -eq "$prefix" ]; then
      flunk "$name was saved cut short ($saved of $expected bytes), right" \
        "before its first NUL byte: it is binary; write response.body_size" \
        "bytes (fwrite), never strlen() or fputs()"
    else
      flunk "$name was saved, but not byte for byte ($saved bytes; the" \
        "server sent $expected): save the body untouched"
    fi
    return 1
  done
}

# expect_only NAME...: OUT holds these files and nothing else (no partial,
# temporary or failed download).
expect_only() {
  local extra
  extra=$(comm -13 <(printf '%s\n' "$@" | LC_ALL=C sort) \
    <(cd "$OUT" && find . -mindepth 1 -maxdepth 1 -printf '%f\n' |
      LC_ALL=C sort) | paste -sd' ' -)
  [ -z "$extra" ] && return 0
  flunk "the -o folder holds files it should not: $extra. A failed fetch" \
    "leaves no file behind, not even a partial or temporary one"
}

# expect_fetched_lines URL...: stdout is one "fetched URL" per URL (any
# order), then "done".
expect_fetched_lines() {
  local expected actual
  expected=$(printf 'fetched %s\n' "$@" | LC_ALL=C sort)
  actual=$(printf '%s\n' "$output" | grep -v '^done$' | LC_ALL=C sort)
  if [ "$expected" != "$actual" ]; then
    expect_text "$expected" "$actual" "the fetched lines differ" || true
    flunk "stdout should hold one line \"fetched URL\" per URL saved (in any" \
      "order), then \"done\""
    return 1
  fi
  if [ "${lines[${#lines[@]} - 1]}" != "done" ]; then
    flunk "the last line on stdout should be \"done\""
    return 1
  fi
}

# expect_failed_line URL [WORD]: stderr has "failed URL: REASON", with a
# reason, which says WORD if given.
expect_failed_line() {
  local line
  line=$(printf '%s\n' "$stderr" | grep -F -- "failed $1: " | head -1)
  if [ -z "$line" ]; then
    flunk "stderr should hold a line \"failed $1: reason\""
    return 1
  fi
  local reason=${line#"failed $1: "}
  if [ -z "${reason// /}" ]; then
    flunk "the line \"failed $1:\" gives no reason"
    return 1
  fi
  if [ -n "${2:-}" ] && [[ $reason != *"$2"* ]]; then
    flunk "the reason in \"$line\" should say $2"
    return 1
  fi
}
