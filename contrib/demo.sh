#!/usr/bin/env bash
# A short tour: create a repository, commit, let a second replica write, sync both ways, audit.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/hg-bft-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { printf '\n$ hg-bft'; printf ' %q' "$@"; printf '\n'; "$bin" "$@"; }

mkdir desk && cd desk
run init
printf 'Notes from the field.\n' > notes.md
mkdir -p sources && printf 'interview transcript\n' > sources/interview.txt
run commit -m "first draft"

# A second replica with its own key: it may write once an admin (the founder) adds it.
cd "$work"
run clone desk laptop
laptop_id=$("$bin" -C laptop id)
cd desk
run member add "$laptop_id"
cd "$work/laptop"
run sync
printf 'Written on the laptop.\n' > laptop.md
run commit -m "from the laptop"

# Meanwhile, on the desk; then one sync reconciles both ways.
cd "$work/desk"
printf 'A second paragraph.\n' >> notes.md
run commit -m "expand notes"
cd "$work/laptop"
run sync
run log --graph --oneline
run member list
run verify
printf '\nThe demo repositories were in %s (removed on exit).\n' "$work"
