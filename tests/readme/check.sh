#!/usr/bin/env bash
# check.sh: README's C examples are real files that compile and run.
#
#   tests/readme/check.sh BUILD_DIR LIBRARY CFLAGS... -- LDLIBS...
#
# Every ```c block in README.md must follow a line `<!-- file: PATH -->`
# and match PATH byte for byte; every tests/readme/*.c compiles with the
# kit's flags; where PATH.expected exists, the program's output must equal
# it. Prints one line per example and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=$1 library=$2
shift 2
cflags=() ldlibs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cflags+=("$1"); shift; done
[ $# -gt 0 ] && shift
ldlibs=("$@")
mkdir -p "$build/readme" || exit 2
passed=0 failed=0
ok() { echo "  ok    readme/$1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  readme/$1: $2"; failed=$((failed + 1)); }

# The blocks README shows, against the files they claim to be.
awk -v dir="$build/readme" '
  /^<!-- file: .* -->$/ { name = $3; next }
  /^```c$/ && name != "" { flat = name; gsub(/\//, "_", flat);
                           out = dir "/" flat ".shown";
                           printf "" > out; inside = 1; next }
  /^```$/ && inside { inside = 0; close(out); print name; name = ""; next }
  inside { print > out }
' README.md > "$build/readme/shown.list" || exit 2
while read -r path; do
  shown="$build/readme/${path//\//_}.shown"
  if [ ! -f "$path" ]; then
    bad "$path" "README shows it, but the file does not exist"
  elif cmp -s "$shown" "$path"; then
    ok "$path is what README shows"
  else
    bad "$path" "README shows something else; diff:"
    diff -u "$path" "$shown" | sed 's/^/        /' | head -40
  fi
done < "$build/readme/shown.list"

for source in tests/readme/*.c; do
  name=$(basename "$source" .c)
  binary=$build/readme/$name
  if ! log=$(cc "${cflags[@]}" -o "$binary" "$source" "$library" \
               "${ldlibs[@]}" 2>&1); then
    bad "$name compiles" "$log"
    continue
  fi
  ok "$name compiles"
  expected=tests/readme/$name.expected
  [ -f "$expected" ] || continue
  if actual=$(timeout 10 "$binary" 2>&1) &&
     [ "$actual" = "$(cat "$expected")" ]; then
    ok "$name prints what $expected says"
  else
    bad "$name prints what $expected says" "it printed: $actual"
  fi
done

echo "$passed passed, $failed failed"
[ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
[ "$failed" -eq 0 ]
