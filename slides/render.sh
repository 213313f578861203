#!/usr/bin/env bash
# render.sh: the decks, slides/NN-*.md, to self-contained HTML.
#
#   slides/render.sh OUTPUT_DIR
#
# Each deck becomes OUTPUT_DIR/NN-name.html, one file with its styles and
# scripts inside (pandoc's dzslides template with slides/style.css), so it
# opens offline from anywhere; OUTPUT_DIR/index.html links them. Needs
# pandoc (2.x or 3.x), which it installs from Debian's packages when
# missing and it can (as root, or through non-interactive sudo); else it
# prints the command and exits 2.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
output=${1:?usage: slides/render.sh OUTPUT_DIR}

if ! command -v pandoc >/dev/null 2>&1; then
  sudo=
  [ "$(id -u)" -ne 0 ] && sudo -n true >/dev/null 2>&1 && sudo="sudo -n"
  if command -v apt-get >/dev/null 2>&1 &&
     { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "render: installing pandoc with apt-get..." >&2
    { $sudo apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq pandoc; } \
      >&2
  fi
  if ! command -v pandoc >/dev/null 2>&1; then
    echo "make slides needs pandoc. Install it with:" >&2
    echo >&2
    if command -v apt-get >/dev/null 2>&1; then
      echo "  sudo apt-get install pandoc" >&2
    elif command -v dnf >/dev/null 2>&1; then
      echo "  sudo dnf install pandoc" >&2
    else
      echo "  brew install pandoc" >&2
    fi
    exit 2
  fi
fi
# --self-contained is 2.x's spelling; 3.x calls it --embed-resources.
version=$(pandoc --version | sed -n '1s/^pandoc[^0-9]*\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$version"
case $major in
  2) embed=(--self-contained)
     [ "${minor:-0}" -ge 19 ] && embed=(--embed-resources --standalone) ;;
  3) embed=(--embed-resources --standalone) ;;
  *) echo "render: pandoc $major.$minor is not supported (2.x or 3.x)" >&2
     exit 2 ;;
esac

mkdir -p "$output" || exit 2
index=$output/index.md
{
  echo "% Asynchronous programming in C: the slides"
  echo
  echo "## The decks"
  echo
} > "$index"
status=0
for deck in slides/[0-9][0-9]-*.md; do
  name=$(basename "$deck" .md)
  # The resource path lets the stylesheet be found from any directory.
  if pandoc "$deck" --from markdown --to dzslides --slide-level 2 \
       "${embed[@]}" --css slides/style.css --resource-path . \
       --metadata lang=en -o "$output/$name.html"; then
    title=$(sed -n 's/^title: "\(.*\)"$/\1/p' "$deck" | head -n 1)
    echo "$name.html"
    echo "1. [${title:-$name}]($name.html)" >> "$index"
  else
    echo "render: pandoc failed on $deck" >&2
    status=1
  fi
done
{
  echo
  echo "Keys: arrows or space to move, Home and End; o for an overview, f for full screen."
} >> "$index"
pandoc "$index" --from markdown --to html --standalone "${embed[@]}" \
  --metadata lang=en --metadata pagetitle="The slides" \
  -o "$output/index.html" || status=1
rm -f "$index"
echo "index.html"
exit $status
