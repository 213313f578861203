#!/usr/bin/env bash
# check-aarch64.sh: the AArch64 context switch, cross-compiled, run in qemu.
#
#   tests/context/check-aarch64.sh BUILD_DIR
#
# Skipped, with a note, where aarch64-linux-gnu-gcc or qemu-aarch64 is
# missing (Debian: gcc-aarch64-linux-gnu qemu-user; CI installs them).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=$1/context
passed=0 failed=0
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
   ! command -v qemu-aarch64 >/dev/null 2>&1; then
  echo "  skip  context/aarch64: needs aarch64-linux-gnu-gcc and qemu-aarch64"
  echo "        (apt-get install gcc-aarch64-linux-gnu qemu-user)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
mkdir -p "$build" || exit 2
for variant in asm ucontext; do
  flags=()
  [ "$variant" = ucontext ] && flags=(-DASYNC_CONTEXT_UCONTEXT)
  binary=$build/switch_test_aarch64_$variant
  if aarch64-linux-gnu-gcc -std=c11 -D_GNU_SOURCE -O2 -static -Wall -Wextra \
       -Werror "${flags[@]}" -Iruntime/src -o "$binary" \
       tests/context/switch_test.c runtime/src/context.c \
       runtime/src/context_aarch64.S 2>"$build/log" &&
     output=$(timeout 60 qemu-aarch64 "$binary" 2>&1); then
    echo "  ok    context/aarch64 ($variant): $output"
    passed=$((passed + 1))
  else
    echo "  FAIL  context/aarch64 ($variant):"
    sed 's/^/        /' "$build/log"
    echo "        ${output:-}"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ -n "${RESULTS:-}" ] && echo "$passed $failed" >> "$RESULTS"
[ "$failed" -eq 0 ]
