#!/usr/bin/env bash
# check.sh: the slides' C snippets are real files that compile and run.
#
#   tests/slides/check.sh BUILD_DIR LIBRARY CFLAGS... -- LDLIBS...
#
# In slides/*.md, a ```c block must follow a line
# `<!-- file: PATH -->` (the whole file, less its `/* slide: ... */`
# marker lines) or `<!-- file: PATH:REGION -->` (the lines between
# `/* slide: REGION */` and the next `/* slide: end */`), and match it byte
# for byte. A ```text block after `<!-- output: PATH -->` (in the slides or
# in README.md) must match PATH. Every slides/snippets/*.c compiles with the
# kit's flags (warnings are errors) and is shown on some slide; each
# slides/snippets/NAME.expected or NAME.WHAT.expected is a transcript: a
# first line `$ [VAR=VALUE...] ./NAME [ARGS...]` (or none, for `./NAME`),
# then what the program prints, stdout and stderr together, as a terminal
# shows them. Prints one line per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=$1 library=$2
shift 2
cflags=() ldlibs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cflags+=("$1"); shift; done
[ $# -gt 0 ] && shift
ldlibs=("$@")
out=$build/slides
mkdir -p "$out/shown" || exit 2
passed=0 failed=0
ok() { echo "  ok    slides/$1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  slides/$1: $2"; failed=$((failed + 1)); }

# What a marker names: the whole file, or one region of it.
excerpt() { # PATH [REGION]
  if [ -z "${2:-}" ]; then
    grep -v '^ */\* slide: .* \*/$' "$1"
  else
    awk -v begin="/* slide: $2 */" '
      $0 == begin { inside = 1; found = 1; next }
      inside && $0 == "/* slide: end */" { inside = 0; next }
      inside { print }
      END { exit !found }' "$1"
  fi
}

# Every marked block of a Markdown file, saved as shown: prints
# "KIND TARGET SAVED" per block (KIND file or output).
extract() { # MARKDOWN
  local flat=${1//\//_}
  awk -v dir="$out/shown" -v flat="$flat" '
    /^<!-- (file|output): [^ ]+ -->$/ { kind = $2; sub(/:$/, "", kind);
                                        target = $3; next }
    /^```(c|text)$/ && target != "" {
      n++; saved = dir "/" flat "." n; printf "" > saved; inside = 1; next }
    /^```$/ && inside { inside = 0; close(saved);
                        print kind, target, saved; target = ""; next }
    inside { print > saved }
    { target = inside ? target : "" }
  ' "$1"
}

shown_files=" "
for deck in slides/*.md README.md; do
  [ -f "$deck" ] || continue
  while read -r kind target saved; do
    case $kind in
    file)
      [ "$deck" = README.md ] && continue # tests/readme/check.sh's
      path=${target%%:*} region=
      [ "$path" != "$target" ] && region=${target#*:}
      shown_files+="$path "
      deck_name=${deck#slides/}
      if [ ! -f "$path" ]; then
        bad "$deck_name shows $target" "no such file"
      elif ! expected=$(excerpt "$path" "$region"); then
        bad "$deck_name shows $target" "$path has no /* slide: $region */"
      elif [ "$expected" = "$(cat "$saved")" ]; then
        ok "$deck_name shows $target as it is"
      else
        bad "$deck_name shows $target" "the slide shows something else; diff:"
        diff -u <(echo "$expected") "$saved" | sed 's/^/        /' | head -40
      fi
      ;;
    output)
      if [ ! -f "$target" ]; then
        bad "$deck_name shows $target" "no such file"
      elif cmp -s "$target" "$saved"; then
        ok "$deck_name shows $target as it is"
      else
        bad "$deck_name shows $target" "the slide shows something else; diff:"
        diff -u "$target" "$saved" | sed 's/^/        /' | head -40
      fi
      ;;
    esac
  done < <(extract "$deck")
done

# Runs a transcript's command in $out and prints what it printed.
run_transcript() { # EXPECTED NAME
  local command=./$2
  if head -n 1 "$1" | grep -q '^\$ '; then command=$(head -n 1 "$1"); fi
  local words settings=() rest=()
  read -r -a words <<<"${command#\$ }"
  for word in "${words[@]}"; do
    if [ ${#rest[@]} -eq 0 ] && [[ $word == [A-Z_]*=* ]]; then
      settings+=("$word")
    else
      rest+=("$word")
    fi
  done
  # stdbuf: stdout line-buffered, so that it interleaves with stderr as in
  # a terminal.
  (cd "$out" && env "${settings[@]}" timeout 20 stdbuf -oL "${rest[@]}" 2>&1)
}

for source in slides/snippets/*.c; do
  name=$(basename "$source" .c)
  binary=$out/$name
  case $shown_files in
    *" $source "*) ;;
    *) bad "$name is on a slide" "no slide shows $source" ;;
  esac
  if ! log=$(cc "${cflags[@]}" -o "$binary" "$source" "$library" \
               "${ldlibs[@]}" 2>&1); then
    bad "$name compiles" "$log"
    continue
  fi
  ok "$name compiles"
  for expected in slides/snippets/"$name".expected \
                  slides/snippets/"$name".*.expected; do
    [ -f "$expected" ] || continue
    want=$(cat "$expected")
    head -n 1 "$expected" | grep -q '^\$ ' && want=$(tail -n +2 "$expected")
    actual=$(run_transcript "$expected" "$name")
    if [ "$actual" = "$want" ]; then
      ok "$name prints what $expected says"
    else
      bad "$name prints what $expected says" "it printed:"
      diff -u <(echo "$want") <(echo "$actual") | sed 's/^/        /' |
        head -40
    fi
  done
done

echo "$passed passed, $failed failed"
[ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
[ "$failed" -eq 0 ]
