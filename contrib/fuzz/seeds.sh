#!/bin/sh
# Regenerates the seed corpora of contrib/fuzz/corpus from a real hg-bft: a throwaway repository
# with a few commits, a clone and a two-way sync whose byte streams are recorded.
#
#   contrib/fuzz/seeds.sh [path/to/hg-bft]     (default: .build/debug/hg-bft)
#
# object-decoder: each object as stored on disk (zlib) and as its canonical encoding: blobs,
#                 and operations of every kind (genesis, change, membership).
# frame-parser:   each direction of the clone and of the sync, whole; and the example frames of
#                 Tests/HGSyncTests/Vectors/protocol-examples.txt, one per file.
# Keys, nonces and timestamps are fresh on every run, so the files differ each time; the
# committed corpus is one such run. The files this script made before (stored-*, encoding-*,
# clone-*, sync-*, example-*) are replaced; other seeds in those directories are kept.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/.build/debug/hg-bft}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || { echo "seeds.sh: no hg-bft at $bin (build it first)" >&2; exit 1; }

objects=$here/corpus/object-decoder
frames=$here/corpus/frame-parser
mkdir -p "$objects" "$frames"
rm -f "$objects"/stored-* "$objects"/encoding-* "$frames"/clone-* "$frames"/sync-* "$frames"/example-*
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hg() { "$bin" "$@" >/dev/null 2>&1; }

# A repository: genesis, a commit adding a text file and an executable, one modifying and
# deleting, one with a binary file and a non-ASCII path; membership operations below.
mkdir "$work/a"
cd "$work/a"
hg init
printf 'hello\n' > README.md
mkdir src
printf '#!/bin/sh\necho hi\n' > src/run.sh
chmod +x src/run.sh
hg commit -m "first draft"
printf 'hello, world\n' > README.md
rm src/run.sh
hg commit -m "second: edit README, delete run.sh"
printf '\000\001\002\377binary' > data.bin
printf 'caf\303\251\n' > "caf$(printf '\303\251').txt"
hg commit -m "binary and UTF-8 names"

# A clone and a sync, each direction recorded (the client's bytes, then the server's).
record() {  # name, command...
    name=$1
    shift
    "$@" --exec "tee '$work/$name-client' | '$bin' serve '$work/a' | tee '$work/$name-server'" >/dev/null 2>&1
    cat "$work/$name-client" > "$frames/$name-client"
    cat "$work/$name-server" > "$frames/$name-server"
}
cd "$work"
record clone "$bin" clone b

# Membership operations: the founder adds b's replica as a writer, makes it an admin and
# proposes a new admin quorum; b learns it, then both sides commit and sync.
peer=$("$bin" -C "$work/b" id)
cd "$work/a"
hg member add "$peer"
hg member role "$peer" admin
hg member quorum 2
cd "$work/b"
hg sync "$work/a"
printf 'from b\n' > b.txt
hg commit -m "commit on b"
cd "$work/a"
printf 'from a\n' > a.txt
hg commit -m "commit on a"
cd "$work/b"
record sync "$bin" sync

# Each loose object of a, as stored and as encoded; named by kind and the first 12 hex digits
# of its id (what a received in the sync is in a pack, and left out).
cd "$work/a"
for file in .hgrepo/objects/??/*; do
    fan=$(basename "$(dirname "$file")")
    id=$fan$(basename "$file")
    kind=$("$bin" cat-object --type "$id")
    if [ "$kind" = operation ]; then kind=$("$bin" show --json "$id" | sed -n 's/.*"kind" *: *"\([a-z-]*\)".*/\1/p' | head -n 1); fi
    cat "$file" > "$objects/stored-$kind-$(echo "$id" | cut -c1-12)"  # cat: not the file's 0444
    "$bin" cat-object --encoding "$id" > "$objects/encoding-$kind-$(echo "$id" | cut -c1-12)"
done

# The protocol's example frames (one "name hex" per line).
while read -r name hex; do
    printf '%s' "$hex" | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' \
        > "$frames/example-$name"
done < "$root/Tests/HGSyncTests/Vectors/protocol-examples.txt"

echo "object-decoder: $(ls "$objects" | wc -l) seeds; frame-parser: $(ls "$frames" | wc -l) seeds"
