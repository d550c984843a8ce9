#!/usr/bin/env python3
"""Sync benchmarks for hg-bft against git, in one script on the same shape of data.

Usage: contrib/bench/sync_bench.py [--base 20000] [--new 2000] [--runs 30] [--ff-runs 11] [--build-dir DIR]

Needs release builds of hg-bft and hg-bft-bench (`make bench`), taken from .build/release unless
--build-dir names another directory (e.g. the products of a `--scratch-path` build). Measures, over
a local pipe:
  1. a cold clone of BASE operations (`hg-bft clone` / `git clone --no-local`);
  2. a replica lacking the newest NEW operations (`hg-bft sync` / `git fetch`, fast-forward):
     wall time (median of FF_RUNS runs, each from fresh copies of both sides written out to
     disk first, the tools taking turns to go first; and the median of the per-run ratios with
     a 95 % bootstrap interval), bytes on the wire against the payload, round trips;
  3. both sides with NEW new operations each, RUNS times: round trips and overhead bytes for
     hg-bft; git fetch's negotiation rounds for the same shape once.
git's wire bytes are counted by contrib/bench/count_pipe.py as its --upload-pack wrapper, and its
negotiation rounds from GIT_TRACE_PACKET (the number of fetch commands sent).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.path.join(ROOT, ".build", "release")
HG = os.path.join(BUILD_DIR, "hg-bft")
BENCH = os.path.join(BUILD_DIR, "hg-bft-bench")
COUNT = os.path.join(HERE, "count_pipe.py")
FILES = 100


def run(args, cwd=None, env=None, capture=False):
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=capture, text=capture)


def timed(args, cwd=None, env=None):
    start = time.perf_counter()
    out = run(args, cwd, env, capture=True)
    return time.perf_counter() - start, out.stdout


def git_env(extra=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.org",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.org",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    env.update(extra or {})
    return env


def content(n, tag):
    return "operation %s%d: the quick brown fox jumps over the lazy dog %d\n" % (tag, n, (n * 2654435761) % 1000003)


def git_add_commits(path, start, count, tag, first=False, date_base=1763683200):
    """COUNT commits on main; each rewrites one of FILES files. Dates increase with k from
    DATE_BASE, so that the newest work is also the most recent by date, as in real use (git's
    negotiation walks commits newest first)."""
    lines = []
    for k in range(start, start + count):
        data = content(k, tag).encode()
        name = "dir%d/file%d.txt" % ((k % FILES) % 10, k % FILES)
        msg = b"change %s%d" % (tag.encode(), k)
        lines.append(b"commit refs/heads/main\nmark :%d\n" % (k + 1))
        lines.append(b"committer bench <b@example.org> %d +0000\n" % (date_base + k))
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        if k == start and not first:
            lines.append(b"from refs/heads/main^0\n")
        elif k > start:
            lines.append(b"from :%d\n" % k)
        lines.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data))
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=path, env=git_env(),
                   input=b"".join(lines), check=True)


def git_fetch(path, counts):
    trace = counts + ".trace"
    env = git_env({"GIT_TRACE_PACKET": trace})
    if os.path.exists(trace):
        os.remove(trace)
    start = time.perf_counter()
    run(["git", "-c", "protocol.version=2", "fetch", "-q", "--upload-pack", "%s %s git-upload-pack" % (COUNT, counts),
         "origin"], cwd=path, env=env)
    elapsed = time.perf_counter() - start
    with open(trace, errors="replace") as f:
        rounds = sum(1 for line in f if "fetch> command=fetch" in line)
    with open(counts) as f:
        up, down = map(int, f.read().split()[-2:])
    return elapsed, up + down, rounds


def hg_populate(path, n):
    run([BENCH, "populate", path, str(n), str(FILES)], capture=True)


def hg_sync(path):
    elapsed, out = timed([HG, "sync", "--json"], cwd=path)
    summary = json.loads(out)[0]
    return elapsed, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=20000)
    parser.add_argument("--new", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--ff-runs", type=int, default=11,
                        help="fast-forward fetches timed, each from fresh copies (default: %(default)s)")
    parser.add_argument("--build-dir", default=BUILD_DIR,
                        help="directory holding the release hg-bft and hg-bft-bench (default: %(default)s)")
    args = parser.parse_args()
    global HG, BENCH
    HG = os.path.join(os.path.abspath(args.build_dir), "hg-bft")
    BENCH = os.path.join(os.path.abspath(args.build_dir), "hg-bft-bench")
    for binary in (HG, BENCH):
        if not os.access(binary, os.X_OK):
            sys.exit("missing %s: run 'make bench'" % binary)
    work = tempfile.mkdtemp(prefix="hg-bft-sync-bench.")
    try:
        a, b = os.path.join(work, "hgA"), os.path.join(work, "hgB")
        ga, gb = os.path.join(work, "gitA"), os.path.join(work, "gitB")
        os.makedirs(a)
        run([HG, "init"], cwd=a, capture=True)
        hg_populate(a, args.base)
        run(["git", "init", "-q", "-b", "main", ga], env=git_env())
        git_add_commits(ga, 0, args.base, "a", first=True)

        # 1. Cold clone.
        hg_clone, _ = timed([HG, "clone", "--json", a, b], cwd=work)
        git_clone, _ = timed(["git", "clone", "-q", "--no-local", ga, gb], cwd=work, env=git_env())
        # The clone may write only once an admin of A made it a member (docs/ACCESS-CONTROL.md);
        # that one operation travels now, outside the measurements.
        peer_id = run([HG, "id"], cwd=b, capture=True).stdout.strip()
        run([HG, "member", "add", peer_id], cwd=a, capture=True)
        run([HG, "sync", "-q"], cwd=b, capture=True)

        # 2. Fast-forward: the replica lacks the newest NEW. Each of FF_RUNS runs starts from
        # fresh copies of both sides (the sync state included), hg-bft and git alternately;
        # the medians are reported.
        hg_populate(a, args.new)
        git_add_commits(ga, args.base, args.new, "a")
        saved = {p: p + ".saved" for p in (a, b, gb)}
        for p, copy in saved.items():
            shutil.copytree(p, copy, symlinks=True)
        hg_times, git_times, pull_times = [], [], []
        ff = None

        def time_hg():
            nonlocal ff
            elapsed, ff = hg_sync(b)
            hg_times.append(elapsed)

        def time_git_fetch():
            # Timed without the byte-counting wrapper (a Python process would add its start-up
            # to git's time); bytes and rounds are counted in one more, untimed run below.
            start = time.perf_counter()
            run(["git", "fetch", "-q", "origin"], cwd=gb, env=git_env())
            git_times.append(time.perf_counter() - start)

        for i in range(args.ff_runs):
            for p, copy in saved.items():
                shutil.rmtree(p)
                shutil.copytree(copy, p, symlinks=True)
            # The copies' dirty pages are written out before each timed command, and the two
            # tools take turns going first: otherwise whichever runs first shares the disk with
            # the copies' writeback (and hg-bft, which fsyncs its pack and index, always did).
            for measure in ((time_hg, time_git_fetch) if i % 2 == 0 else (time_git_fetch, time_hg)):
                os.sync()
                measure()
            # git pull also updates the working tree, as hg-bft sync does: timed for reference.
            shutil.rmtree(gb)
            shutil.copytree(saved[gb], gb, symlinks=True)
            os.sync()
            start = time.perf_counter()
            run(["git", "pull", "-q", "--ff-only", "origin", "main"], cwd=gb, env=git_env())
            pull_times.append(time.perf_counter() - start)
        shutil.rmtree(gb)
        shutil.copytree(saved[gb], gb, symlinks=True)
        _, git_ff_bytes, git_ff_rounds = git_fetch(gb, os.path.join(work, "count-ff"))
        hg_ff, git_ff = statistics.median(hg_times), statistics.median(git_times)
        git_pull = statistics.median(pull_times)
        ratios = sorted(h / g for h, g in zip(hg_times, git_times))
        # The median of the per-run ratios, with a 95 % bootstrap interval (fixed seed): whether
        # the ratio is under 1 by more than the host's noise.
        rng = random.Random(1)
        boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
        ratio_interval = (boots[49], boots[1949])
        ff_payload = ff["payloadBytesReceived"] + ff["payloadBytesSent"]
        ff_wire = ff["bytesReceived"] + ff["bytesSent"]

        # 3. Both sides with NEW new operations, RUNS times.
        trips, overheads, payloads = [], [], []
        for _ in range(args.runs):
            hg_populate(a, args.new)
            hg_populate(b, args.new)
            _, s = hg_sync(b)
            trips.append(s["roundTrips"])
            wire = s["bytesReceived"] + s["bytesSent"]
            payload = s["payloadBytesReceived"] + s["payloadBytesSent"]
            overheads.append(wire - payload)
            payloads.append(payload)
        git_add_commits(ga, args.base + args.new, args.new, "a")
        run(["git", "checkout", "-q", "main"], cwd=gb, env=git_env())
        git_add_commits(gb, 0, args.new, "b", date_base=1763683200 + 10 * (args.base + 3 * args.new))
        _, git_both_bytes, git_both_rounds = git_fetch(gb, os.path.join(work, "count-both"))
        run([HG, "verify"], cwd=a, capture=True)
        run([HG, "verify"], cwd=b, capture=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| case | hg-bft | git | ratio |")
    print("|---|---|---|---|")
    print("| cold clone of %d | %.2f s | %.2f s | %.2f |" % (args.base, hg_clone, git_clone, hg_clone / git_clone))
    print("| fetch %d new (fast-forward): median time of %d | %.3f s | %.3f s | %.2f |" % (
        args.new, args.ff_runs, hg_ff, git_ff, hg_ff / git_ff))
    print("| same, against git pull --ff-only (which also updates the working tree) | %.3f s | %.3f s | %.2f |" % (
        hg_ff, git_pull, hg_ff / git_pull))
    print("| same: bytes on the wire | %d | %d | %.2f |" % (ff_wire, git_ff_bytes, ff_wire / git_ff_bytes))
    print("| same: round trips | %d | %d | |" % (ff["roundTrips"], git_ff_rounds))
    print()
    print("fast-forward, per-run ratios hg-bft/git (sorted): %s" % " ".join("%.2f" % r for r in ratios))
    print("fast-forward, median of the per-run ratios: %.3f (95 %% bootstrap interval %.3f to %.3f)" % (
        statistics.median(ratios), ratio_interval[0], ratio_interval[1]))
    print("fast-forward, hg-bft runs: %s s; git runs: %s s" % (
        " ".join("%.3f" % t for t in hg_times), " ".join("%.3f" % t for t in git_times)))
    print("hg-bft fast-forward: payload %d bytes, wire %d bytes, overhead %.2f %%" % (
        ff_payload, ff_wire, 100.0 * (ff_wire - ff_payload) / ff_payload))
    print("both sides %d new, %d runs: round trips mean %.3f (max %d); overhead mean %d bytes = %.3f %% of the payload" % (
        args.new, args.runs, statistics.mean(trips), max(trips), statistics.mean(overheads),
        100.0 * statistics.mean(overheads) / statistics.mean(payloads)))
    print("git fetch with %d new commits on each side: %d negotiation round(s), %d bytes" % (
        args.new, git_both_rounds, git_both_bytes))


if __name__ == "__main__":
    main()
