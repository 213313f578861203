#!/usr/bin/env bash
# handout.sh: the students' tarball: the kit without anything that gives
# the answers away.
#
#   grader/handout.sh OUTPUT_DIR
#
# Writes OUTPUT_DIR/async-kit-handout.tar.gz, one folder async-kit/ with
# the kit's files (those git tracks or would track; every file, outside a
# git checkout) except: solutions/, tests/mutants/, tests/alternatives/
# (answers and near-answers), bench/ (its servers and philosophers are
# working solutions), build output, .git and .ci. In it, `make check-exN`,
# `make hint-exN`, `make run-exN` and `make progress` work as in the kit;
# `make diff-exN` says there is no solution.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
output=${1:?usage: grader/handout.sh OUTPUT_DIR}
mkdir -p "$output" || exit 2
list=$output/files
tarball=$output/async-kit-handout.tar.gz

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files --cached --others --exclude-standard
else
  find . -type f ! -path './build/*' ! -path './.git/*' | sed 's|^\./||'
fi | grep -Ev '^(solutions|tests/mutants|tests/alternatives|bench|build|grader-results|\.ci)/|^\.git/' |
  while IFS= read -r path; do [ -f "$path" ] && echo "$path"; done |
  LC_ALL=C sort > "$list"

# One folder, the same bytes for the same files: names sorted, owner and
# dates fixed.
stage=$(mktemp -d) || exit 2
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/async-kit"
tar -cf - -T "$list" | tar -xf - -C "$stage/async-kit" || exit 1
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime='2020-01-01 00:00Z' -cf - async-kit | gzip -n -9 > "$tarball" ||
  exit 1
echo "$tarball: $(wc -l < "$list") files, $(du -k "$tarball" | cut -f1) KiB"
