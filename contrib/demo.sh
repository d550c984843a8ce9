#!/usr/bin/env bash
# A short tour: create a repository, commit twice, show the DAG, audit it.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/hg-bft-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { printf '\n$ hg-bft'; printf ' %q' "$@"; printf '\n'; "$bin" "$@"; }

run init
printf 'Notes from the field.\n' > notes.md
mkdir -p sources && printf 'interview transcript\n' > sources/interview.txt
run commit -m "first draft"
printf 'A second paragraph.\n' >> notes.md
rm sources/interview.txt
run status --short
run commit -m "expand notes; drop the transcript"
run log --graph --oneline
run verify
printf '\nThe demo repository was in %s (removed on exit).\n' "$work"
