#!/bin/sh
# Regenerates the seed corpora of contrib/fuzz/corpus from a real hg-bft: a throwaway repository
# with a few commits, a clone and a two-way sync whose byte streams are recorded.
#
#   contrib/fuzz/seeds.sh [path/to/hg-bft]     (default: .build/debug/hg-bft)
#
# object-decoder: each object as stored on disk (zlib) and as its canonical encoding: blobs,
#                 and operations of every kind (genesis, change, membership).
# operation-index: index/operations of that repository, of its clone, and cut short inside its
#                 last record (a torn tail), each after a mode byte of 0 and of 1 (main.swift).
# graph-file:     index/graph of that repository once hg-bft-bench (beside hg-bft) has added
#                 enough operations for hg-bft to write one (two authors, a merge, ~700 more),
#                 and the same file cut to its first 1, 2, 5 and 40 operations.
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
graphs=$here/corpus/graph-file
indexes=$here/corpus/operation-index
bench=$(dirname "$bin")/hg-bft-bench
[ -x "$bench" ] || { echo "seeds.sh: no hg-bft-bench beside $bin (build it first)" >&2; exit 1; }
mkdir -p "$objects" "$frames" "$graphs" "$indexes"
rm -f "$objects"/stored-* "$objects"/encoding-* "$frames"/clone-* "$frames"/sync-* "$frames"/example-* "$graphs"/graph-* \
    "$indexes"/index-*
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

# The operation indexes, before the graph file's operations are added.
for mode in 0 1; do
    for side in a b; do
        { printf "\\00$mode"; cat "$work/$side/.hgrepo/index/operations"; } > "$indexes/index-$side-$mode"
    done
    { printf "\\00$mode"; head -c -3 "$work/a/.hgrepo/index/operations"; } > "$indexes/index-torn-$mode"
done

# The graph file: hg-bft writes one once the index has grown by 64 KiB (FORMAT.md 5.9.2). The
# prefixes are cut following that section's layout (parents always come before their children,
# so the first K operations are a graph of their own).
"$bench" populate "$work/a" 700 5 >/dev/null
cat "$work/a/.hgrepo/index/graph" > "$graphs/graph-whole"
python3 - "$graphs" <<'PY'
import sys, zlib
out = sys.argv[1]
data = open(out + "/graph-whole", "rb").read()
u32 = lambda at: int.from_bytes(data[at:at + 4], "little")
u64 = lambda at: int.from_bytes(data[at:at + 8], "little")
n, a, p, m = u32(28), u32(32), u32(36), u64(40)
at = 48
authors = [data[at + 32 * i:at + 32 * i + 32] for i in range(a)]; at += 32 * a
ids = [data[at + 32 * i:at + 32 * i + 32] for i in range(n)]; at += 32 * n
numbers = [u32(at + 4 * i) for i in range(n)]; at += 4 * n
sequences = [data[at + 8 * i:at + 8 * i + 8] for i in range(n)]; at += 8 * n
timestamps = [data[at + 8 * i:at + 8 * i + 8] for i in range(n)]; at += 8 * n
kinds = data[at:at + n]; at += n
entries = [data[at + 4 * i:at + 4 * i + 4] for i in range(n)]; at += 4 * n
ends = [u32(at + 4 * i) for i in range(n)]; at += 4 * n
links = [data[at + 4 * i:at + 4 * i + 4] for i in range(p)]; at += 4 * p
message_ends = [u64(at + 8 * i) for i in range(n)]; at += 8 * n
messages = data[at:at + m]
for k in (1, 2, 5, 40):
    used = []
    for x in numbers[:k]:
        if x not in used: used.append(x)
    renumber = {x: i for i, x in enumerate(used)}
    le = lambda v, size: v.to_bytes(size, "little")
    body = b"".join([authors[x] for x in used] + ids[:k] + [le(renumber[x], 4) for x in numbers[:k]]
                    + sequences[:k] + timestamps[:k] + [kinds[:k]] + entries[:k] + [le(e, 4) for e in ends[:k]]
                    + links[:ends[k - 1]] + [le(e, 8) for e in message_ends[:k]] + [messages[:message_ends[k - 1]]]
                    + [le(i, 4) for i in sorted(range(k), key=lambda i: ids[i])])
    head = data[:28] + le(k, 4) + le(len(used), 4) + le(ends[k - 1], 4) + le(message_ends[k - 1], 8)
    whole = head + body
    open("%s/graph-first-%d" % (out, k), "wb").write(whole + le(zlib.crc32(whole) & 0xFFFFFFFF, 4))
PY

echo "object-decoder: $(ls "$objects" | wc -l) seeds; frame-parser: $(ls "$frames" | wc -l) seeds;" \
    "graph-file: $(ls "$graphs" | wc -l) seeds; operation-index: $(ls "$indexes" | wc -l) seeds"
