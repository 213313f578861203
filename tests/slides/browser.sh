#!/usr/bin/env bash
# browser.sh: the decks render, open offline in a browser, and show
# something.
#
#   tests/slides/browser.sh SLIDES_DIR
#
# Renders the decks into SLIDES_DIR (as `make slides` does), checks that
# no deck loads anything from the network (every style and script is inside
# the file), then opens two slides in headless Chromium,
# with every host name made unresolvable, takes a screenshot of each and
# has tests/slides/png_colours.c check that it is not blank. Without
# Chromium (Debian's package chromium) or zlib's headers (zlib1g-dev), the
# screenshots are skipped with a note. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
slides=${1:?usage: tests/slides/browser.sh SLIDES_DIR}
passed=0 failed=0 skipped=0
ok() { echo "  ok    browser/$1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  browser/$1: $2"; failed=$((failed + 1)); }
skip() { echo "  skip  browser/$1: $2"; skipped=$((skipped + 1)); }
finish() {
  echo "$passed passed, $failed failed, $skipped skipped"
  [ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
  [ "$failed" -eq 0 ]
  exit
}

if ! log=$(slides/render.sh "$slides" 2>&1); then
  bad "make slides" "slides/render.sh failed:"
  echo "$log" | tail -n 20 | sed 's/^/        /'
  finish
fi
decks=("$slides"/[0-9][0-9]-*.html)
ok "make slides renders ${#decks[@]} decks and an index"
for deck in "${decks[@]}" "$slides/index.html"; do
  name=$(basename "$deck")
  if grep -Eq '<(script|link|img)[^>]*(src|href)="(https?:)?//' "$deck"; then
    bad "$name is self-contained" "it loads from the network:"
    grep -Eo '<(script|link|img)[^>]*(src|href)="(https?:)?//[^"]*' "$deck" |
      head -5 | sed 's/^/        /'
  else
    ok "$name is self-contained"
  fi
done

browser=
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    browser=$candidate
    break
  fi
done
tool=$slides/png_colours
if [ -z "$browser" ]; then
  skip "screenshots" "Chromium is not installed (apt-get install chromium)"
  finish
fi
if ! cc -std=c11 -O2 -Wall -Wextra -Werror -o "$tool" \
     tests/slides/png_colours.c -lz 2>"$slides/png_colours.log"; then
  if ! echo '#include <zlib.h>' | cc -E -x c - >/dev/null 2>&1; then
    skip "screenshots" "zlib's headers are missing (apt-get install zlib1g-dev)"
  else
    bad "png_colours compiles" "$(cat "$slides/png_colours.log")"
  fi
  finish
fi

profile=$(mktemp -d) || exit 2
trap 'rm -rf "$profile"' EXIT
# A slide of code beside code, and a slide of check-mode output.
for target in 03-waiting.html#3 08-races.html#9; do
  shot=$slides/${target%%.html*}-${target#*#}.png
  rm -f "$shot"
  # --no-sandbox: Chromium's sandbox refuses to run as root (CI does).
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu \
    --hide-scrollbars --user-data-dir="$profile" --no-first-run \
    --host-resolver-rules='MAP * ~NOTFOUND' --window-size=1280,720 \
    --screenshot="$shot" "file://$PWD/$slides/$target" \
    >"$slides/browser.log" 2>&1
  if [ ! -s "$shot" ]; then
    bad "$target" "$browser took no screenshot:"
    tail -n 5 "$slides/browser.log" | sed 's/^/        /'
  elif verdict=$("$tool" "$shot"); then
    ok "$target shows a slide ($verdict; $shot)"
  else
    bad "$target" "the screenshot is blank ($verdict; $shot)"
  fi
done
finish
