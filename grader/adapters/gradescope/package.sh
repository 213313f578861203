#!/usr/bin/env bash
# package.sh: makes the Gradescope autograder zip for one exercise.
#
#   grader/adapters/gradescope/package.sh EXERCISE [OUT.zip]
#
# The zip holds the kit as committed (git archive: no build output, no
# student work) with setup.sh, run_autograder and an autograder.conf naming
# the exercise at its root, as Gradescope wants them. Upload it as the
# assignment's autograder (Ubuntu base image).
set -euo pipefail

[ $# -ge 1 ] || { sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2; }
exercise=$1
out=${2:-autograder-$exercise.zip}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kit=$(cd "$here/../../.." && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/package.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
echo "EXERCISE = $exercise" >"$scratch/autograder.conf"
case $out in /*) ;; *) out=$PWD/$out ;; esac
git -C "$kit" archive --format=zip --output="$out" \
  --add-file="$here/setup.sh" --add-file="$here/run_autograder" \
  --add-file="$scratch/autograder.conf" HEAD
echo "wrote $out"
