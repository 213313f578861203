#!/usr/bin/env bats
# lighttpd.bats: ex2-crawler against a real web server no one here wrote:
# lighttpd serving the sixteen patch signatures.

bats_require_minimum_version 1.5.0

setup() {
  load crawler_helpers
  crawler_setup
}

teardown() {
  stop_servers
}

# Starts lighttpd in the foreground on 127.0.0.1, serving FILES; sets
# LIGHTTPD (its http://HOST:PORT). lighttpd cannot be told to take any free
# port and say which, so this tries random high ports until one binds (the
# first, in the grader's private network). It says "server started" once
# it listens; a wrapper turns that into the "listening on HOST:PORT" line
# start_server waits for.
start_lighttpd() {
  local lighttpd
  lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
  [ -x "$lighttpd" ] ||
    skip "lighttpd is not installed (Debian/Ubuntu: apt-get install lighttpd)"
  local config=$BATS_TEST_TMPDIR/lighttpd.conf port
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    cat >"$config" <<CONFIG
server.document-root = "$FILES"
server.bind = "127.0.0.1"
server.port = $port
mimetype.assign = ( "" => "application/octet-stream" )
CONFIG
    # shellcheck disable=SC2016 # expanded by the wrapper's shell
    if start_server bash -c '
      "$1" -D -f "$2" 2>&1 | while IFS= read -r line; do
        printf "%s\n" "$line"
        case $line in
        *"server started"*) printf "listening on 127.0.0.1:%s\n" "$3" ;;
        esac
      done' lighttpd-wrapper "$lighttpd" "$config" "$port" 2>/dev/null; then
      LIGHTTPD="http://127.0.0.1:$port"
      return 0
    fi
  done
  grader_message "lighttpd did not start on any of 8 random ports (below)"
  cat "$SERVER_OUTPUT" >&2
  return 1
}

@test "fetches the sixteen files from a real web server (lighttpd), and its 404 fails" {
  start_lighttpd
  local urls=() name
  for name in "${SIXTEEN[@]}"; do urls+=("$LIGHTTPD/$name"); done
  local missing=$LIGHTTPD/017_missing.patch.sig
  run_crawler -c 3 -o "$OUT" "${urls[@]:0:4}" "$missing" "${urls[@]:4}"
  expect_finished
  expect_saved "${SIXTEEN[@]}"
  expect_failed_line "$missing" 404
  expect_only "${SIXTEEN[@]}"
  expect_exit 1
  expect_fetched_lines "${urls[@]}"
}
