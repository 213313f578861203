#!/usr/bin/env bash
# ensure-deps.sh: makes sure the kit's tools and libraries are installed.
#
# Checks for a C compiler, make, pkg-config, the pkg-config modules libuv,
# libcurl and cmocka, bats with bats-support and bats-assert, valgrind (on
# Linux), GNU timeout, and jq and xmllint (the grader's tests read its JSON
# and JUnit reports with them). Prints nothing and exits 0 when all are
# there; the check takes a few milliseconds, so make runs it before every
# build.
#
# When something is missing on Debian or Ubuntu, it installs the kit's
# packages with apt-get, as root or through non-interactive sudo. When it
# cannot (no root, sudo would ask for a password, another system, or
# DEPS_CHECK_ONLY=1 in the environment), it says what is missing, prints the
# one command that installs it, and exits 2, so that a missing tool never
# shows up later as a puzzling compiler or linker error.
set -uo pipefail

debian_packages="build-essential pkg-config libuv1-dev libcurl4-openssl-dev \
libcmocka-dev bats bats-support bats-assert valgrind jq libxml2-utils \
netcat-openbsd socat lighttpd"
fedora_packages="gcc make pkgconf libuv-devel libcurl-devel libcmocka-devel \
bats valgrind jq libxml2 netcat socat lighttpd"
brew_packages="libuv curl cmocka bats-core pkg-config coreutils jq libxml2 \
netcat socat lighttpd"

# Where bats libraries live: Debian's packages, other installs, BATS_LIB_PATH.
bats_lib_dirs="${BATS_LIB_PATH:-}:/usr/lib/bats:/usr/share/bats"
bats_lib_dirs+=":/usr/local/lib/bats:/usr/local/lib:/opt/homebrew/lib"
bats_lib_dirs+=":${HOME:-/nonexistent}/.local/lib/bats"

# Prints one line per missing thing; nothing when all is there.
find_missing() {
  local compiler=${CC:-cc}
  compiler=${compiler%% *}
  command -v "$compiler" >/dev/null 2>&1 || echo "a C compiler ($compiler)"
  local tool
  # jq and xmllint: the grader's tests check its JSON and JUnit reports.
  for tool in make pkg-config bats jq xmllint; do
    command -v "$tool" >/dev/null 2>&1 || echo "the command $tool"
  done
  # The peers no one here wrote, which the exercises' checks talk to: nc and
  # socat as clients and servers, lighttpd serving the crawler's files.
  for tool in nc socat; do
    command -v "$tool" >/dev/null 2>&1 || echo "the command $tool"
  done
  command -v lighttpd >/dev/null 2>&1 || [ -x /usr/sbin/lighttpd ] ||
    echo "the command lighttpd"
  if [ "$(uname -s)" = Linux ]; then
    command -v valgrind >/dev/null 2>&1 || echo "the command valgrind"
  fi
  command -v timeout >/dev/null 2>&1 || command -v gtimeout >/dev/null 2>&1 ||
    echo "the command timeout (GNU coreutils)"

  if command -v pkg-config >/dev/null 2>&1; then
    # One call in the common case; one per module to name the missing one.
    if ! pkg-config --exists libuv libcurl cmocka 2>/dev/null; then
      local module
      for module in libuv libcurl cmocka; do
        pkg-config --exists "$module" 2>/dev/null ||
          echo "the library $module (pkg-config module $module)"
      done
    fi
  else
    echo "the libraries libuv, libcurl and cmocka (cannot check without pkg-config)"
  fi

  local library dir found bats_dirs
  IFS=: read -r -a bats_dirs <<<"$bats_lib_dirs"
  for library in bats-support bats-assert; do
    found=
    for dir in "${bats_dirs[@]}"; do
      if [ -n "$dir" ] && [ -f "$dir/$library/load.bash" ]; then
        found=1
        break
      fi
    done
    [ -n "$found" ] || echo "the bats library $library"
  done
}

# The one command a person should run to install everything.
install_command() {
  if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
      echo "apt-get update && apt-get install -y $debian_packages"
    else
      echo "sudo sh -c 'apt-get update && apt-get install -y $debian_packages'"
    fi
  elif command -v dnf >/dev/null 2>&1; then
    local sudo="sudo "
    [ "$(id -u)" -eq 0 ] && sudo=
    echo "${sudo}dnf install -y $fedora_packages$(clone_bats_libraries)"
  elif [ "$(uname -s)" = Darwin ]; then
    echo "brew install $brew_packages$(clone_bats_libraries)"
  else
    echo ""
  fi
}

# Fedora and Homebrew package neither bats library: when they are missing,
# the command goes on to fetch them into ~/.local/lib/bats, one of the places
# this script looks.
clone_bats_libraries() {
  case $missing in *"bats library"*) ;; *) return ;; esac
  local url=https://github.com/bats-core
  # shellcheck disable=SC2016 # $HOME is for the shell of whoever runs it
  local target='"$HOME"/.local/lib/bats'
  echo " && mkdir -p $target && git clone --depth 1 $url/bats-support $target/bats-support && git clone --depth 1 $url/bats-assert $target/bats-assert"
}

# Installs the Debian packages, as root or with sudo -n. Fails if it cannot.
install_debian_packages() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true >/dev/null 2>&1 || return 1
    sudo="sudo -n"
  fi
  echo "ensure-deps: installing the kit's packages with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # Update first: a fresh container has no package lists at all.
  $sudo apt-get update -qq >&2 ||
    echo "ensure-deps: apt-get update failed; trying the install anyway" >&2
  # shellcheck disable=SC2086 # the package list is meant to split
  $sudo apt-get install -y -qq $debian_packages >&2
}

missing=$(find_missing)
[ -z "$missing" ] && exit 0

if [ "${DEPS_CHECK_ONLY:-}" != 1 ] && install_debian_packages; then
  missing=$(find_missing)
  [ -z "$missing" ] && exit 0
fi

{
  echo "The kit needs software that is not installed:"
  while IFS= read -r line; do echo "  - $line"; done <<<"$missing"
  command=$(install_command)
  if [ -n "$command" ]; then
    echo "Install it with:"
    echo
    echo "  $command"
    echo
    echo "then run make again."
  else
    echo "Install those with your system's package manager, then run make again."
  fi
} >&2
exit 2
