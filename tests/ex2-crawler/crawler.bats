#!/usr/bin/env bats
# crawler.bats: ex2-crawler's checks of the crawler program, against the
# kit's HTTP fixture serving the sixteen patch signatures in files/.

bats_require_minimum_version 1.5.0

setup() {
  load crawler_helpers
  crawler_setup
}

teardown() {
  stop_servers
}

# The sixteen files' URLs on the fixture, into URLS.
sixteen_urls() {
  URLS=()
  local name
  for name in "${SIXTEEN[@]}"; do URLS+=("$BASE/$name"); done
}

@test "all sixteen files are saved byte for byte, the binary one too" {
  start_fixture
  sixteen_urls
  run_crawler -o "$OUT" "${URLS[@]}"
  expect_finished
  expect_saved "${SIXTEEN[@]}"
  expect_only "${SIXTEEN[@]}"
  expect_exit 0
  expect_fetched_lines "${URLS[@]}"
}

# peak_check LIMIT: the fixture's peak of requests in progress is exactly
# LIMIT. The first LIMIT URLs wait at the fixture's gate until LIMIT
# requests are in progress at once, so reaching LIMIT does not depend on
# timing: a crawler that keeps LIMIT in flight opens the gate at once; one
# that never does sees those transfers time out (-t). The LIMIT + 2 others
# take 100 ms each, so that more than LIMIT at once would overlap and show.
peak_check() {
  local limit=$1 i urls=() names=()
  start_fixture
  for ((i = 1; i <= 2 * limit + 2; i++)); do
    if [ "$i" -le "$limit" ]; then
      urls+=("$BASE/gate/$limit/bytes/$((1000 + i))")
    else
      urls+=("$BASE/delay/100/bytes/$((1000 + i))")
    fi
    names+=("$((1000 + i))")
  done
  run_crawler -c "$limit" -t "$(scaled 1)" -o "$OUT" "${urls[@]}"
  expect_finished
  local peak
  peak=$(fixture_ask /peak)
  if ! [[ $peak =~ ^[0-9]+$ ]]; then
    flunk "the fixture did not answer /peak (it said: '$peak')"
    return 1
  fi
  if [ "$peak" -gt "$limit" ]; then
    flunk "with -c $limit the fixture saw $peak transfers in flight at once;" \
      "at most $limit may be: take a seat of a semaphore of LIMIT before" \
      "each transfer, and give it back after"
    return 1
  fi
  if [ "$peak" -eq 0 ]; then
    flunk "with -c $limit no transfer ever reached the fixture:" \
      "crawler_fetch fetches nothing yet (part 1)"
    return 1
  fi
  if [ "$peak" -lt "$limit" ]; then
    flunk "with -c $limit the crawler never had $limit transfers in flight" \
      "at once (at most $peak), so the URLs that wait until $limit requests" \
      "are in timed out: spawn every task before waiting for any, and let" \
      "the semaphore hold them back"
    return 1
  fi
  expect_exit 0
  for i in "${names[@]}"; do
    if [ "$(wc -c <"$OUT/$i" 2>/dev/null || echo 0)" -ne "$i" ]; then
      flunk "$i (the body of /bytes/$i, $i bytes) was not saved whole"
      return 1
    fi
  done
}

@test "at most LIMIT transfers in flight, and LIMIT reached: -c 1" {
  peak_check 1
}

@test "at most LIMIT transfers in flight, and LIMIT reached: -c 3" {
  peak_check 3
}

@test "at most LIMIT transfers in flight, and LIMIT reached: -c 5" {
  peak_check 5
}

@test "sixteen delayed URLs with -c 4 take about four delays" {
  # Each answer takes 300 ms. Four at a time: 16 / 4 = 4 rounds, 1.2 s.
  # One at a time takes 4.8 s; all at once, 0.3 s. The margins are wide:
  # this is about what runs at once, not speed. -t 1 bounds each transfer
  # (0.3 s), not the wait for a turn: the last round starts at 0.9 s.
  local i urls=()
  start_fixture
  for ((i = 1; i <= 16; i++)); do
    urls+=("$BASE/delay/300/bytes/$((2000 + i))")
  done
  run_crawler -c 4 -t "$(scaled 1)" -o "$OUT" "${urls[@]}"
  expect_finished
  # shellcheck disable=SC2154 # bats' run --separate-stderr sets stderr
  if [ "$status" -ne 0 ] && [[ $stderr == *"timed out"* ]]; then
    flunk "transfers of 0.3 s timed out with -t 1: -t bounds one transfer," \
      "not the wait for a seat; start the clock once the task has its seat"
    return 1
  fi
  expect_exit 0
  local low high
  low=$(scaled 1.15)
  high=$(scaled 3.6)
  if awk -v s="$CRAWL_SECONDS" -v l="$low" 'BEGIN { exit !(s < l) }'; then
    flunk "16 URLs of 300 ms each took $CRAWL_SECONDS s with -c 4, less than" \
      "4 rounds of 300 ms: more than 4 transfers ran at once"
    return 1
  fi
  if awk -v s="$CRAWL_SECONDS" -v h="$high" 'BEGIN { exit !(s > h) }'; then
    flunk "16 URLs of 300 ms each took $CRAWL_SECONDS s with -c 4; 4 at a" \
      "time take about 1.2 s: the transfers did not overlap (did each task" \
      "wait for the one before it?)"
    return 1
  fi
}

# failure_check URL WORD [ARGS...]: URL fails among the sixteen good ones
# (placed third): "failed URL: ..." (saying WORD, if given) on stderr, exit
# 1, no file of its own, the sixteen saved. One transfer at a time (-c 1):
# the thirteen after it are still waiting when it fails, so a crawl that
# stops or loses its only seat at a failure shows.
failure_check() {
  local bad=$1 word=${2:-}
  shift 2
  sixteen_urls
  local urls=("${URLS[@]:0:2}" "$bad" "${URLS[@]:2}")
  run_crawler -c 1 "$@" -o "$OUT" "${urls[@]}"
  expect_finished
  expect_failed_line "$bad" "$word"
  expect_only "${SIXTEEN[@]}"
  expect_saved "${SIXTEEN[@]}"
  expect_exit 1
  expect_fetched_lines "${URLS[@]}"
}

@test "a 404 is reported on stderr, leaves no file, and the others are saved" {
  start_fixture
  failure_check "$BASE/017_missing.patch.sig" 404
}

@test "a refused connection is reported, leaves no file, and the others are saved" {
  find_closed_port
  start_fixture
  failure_check "http://127.0.0.1:$CLOSED_PORT/018_refused.patch.sig" ""
}

@test "a transfer that times out (-t) is reported, leaves no partial file, and the others are saved" {
  start_fixture
  # Announces 8000 bytes, sends 4000, then stalls: only -t ends it, with
  # half a file written.
  CRAWLER_DEADLINE=3 failure_check "$BASE/stall-after/4000" "" \
    -t "$(scaled 0.5)"
}

@test "-f FILE: URLs one a line, blank lines and comments skipped" {
  start_fixture
  sixteen_urls
  local list=$BATS_TEST_TMPDIR/urls.txt url
  {
    printf '# the patch signatures of one release\n\n'
    for url in "${URLS[@]:0:8}"; do printf '%s\n' "$url"; done
    printf '   \n# the second half, indented, with CRLF endings\n'
    for url in "${URLS[@]:8}"; do printf '  %s\r\n' "$url"; done
  } >"$list"
  run_crawler -f "$list" -o "$OUT"
  expect_finished
  expect_saved "${SIXTEEN[@]}"
  expect_only "${SIXTEEN[@]}"
  expect_exit 0
  expect_fetched_lines "${URLS[@]}"
}

@test "a malformed URL is reported clearly, and the others are saved" {
  start_fixture
  sixteen_urls
  # No scheme; and a URL whose last path segment, the file name, is empty.
  run_crawler -c 3 -o "$OUT" "${URLS[@]:0:8}" "001_tcb_invalidation.patch.sig" \
    "$BASE/patches/" "${URLS[@]:8}"
  expect_finished
  expect_failed_line "001_tcb_invalidation.patch.sig"
  expect_failed_line "$BASE/patches/"
  expect_only "${SIXTEEN[@]}"
  expect_saved "${SIXTEEN[@]}"
  expect_exit 1
  expect_fetched_lines "${URLS[@]}"
}
