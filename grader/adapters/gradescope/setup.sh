#!/usr/bin/env bash
# setup.sh: Gradescope's image set-up: installs the kit's dependencies, builds the grader.
#
# Gradescope unpacks the autograder zip (made by package.sh: the kit, with
# this file and run_autograder at its root) into /autograder/source and runs
# this once, as root, when it builds the image.
set -euo pipefail

source_dir=${AUTOGRADER_ROOT:-/autograder}/source
cd "$source_dir"
grader/ensure-deps.sh
make -s grader-bin lib SAN= CONTEXT=asm BUILD=build/default
