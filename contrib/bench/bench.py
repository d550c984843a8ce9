#!/usr/bin/env python3
"""Storage benchmarks for hg-bft against git, run in one script on the same data.

Usage: contrib/bench/bench.py [--sizes 10000,100000] [--runs 21] [--workdir DIR]

Needs release builds of hg-bft and hg-bft-bench (`make bench` does both). For each history size N
it builds an hg-bft repository of N one-file operations (through `hg-bft-bench populate`, which
uses the batch path) and a git repository of N one-file commits (through `git fast-import`), then
measures, for both tools, the median wall time of a one-file commit, the time of `log` over the
whole history, the bytes on disk per operation/commit (packed after the bulk build, and loose for
the commits made through the command line), and a full audit (`hg-bft verify` against
`git fsck --full`). Prints a Markdown table; the numbers in
docs/PERFORMANCE.md come from it.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HG = os.path.join(ROOT, ".build", "release", "hg-bft")
BENCH = os.path.join(ROOT, ".build", "release", "hg-bft-bench")
FILES = 100


def run(args, cwd, env=None, stdout=subprocess.DEVNULL):
    return subprocess.run(args, cwd=cwd, env=env, check=True, stdout=stdout, stderr=subprocess.PIPE)


def timed(args, cwd, env=None):
    start = time.perf_counter()
    run(args, cwd, env)
    return time.perf_counter() - start


def disk_bytes(path):
    total = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            total += st.st_blocks * 512
    return total


def content(n):
    return "operation %d: the quick brown fox jumps over the lazy dog %d\n" % (n, (n * 2654435761) % 1000003)


def git_env():
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.org",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.org",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return env


def build_git(path, n):
    """N commits, commit k rewriting file k % FILES with the same content hg-bft-bench writes."""
    env = git_env()
    run(["git", "init", "-q", "-b", "main", path], cwd="/")
    lines = []
    for k in range(n):
        data = content(k).encode()
        name = "dir%d/file%d.txt" % ((k % FILES) % 10, k % FILES)
        lines.append(b"commit refs/heads/main\n")
        lines.append(b"mark :%d\n" % (k + 1))
        lines.append(b"committer bench <bench@example.org> %d +0000\n" % (1763683200 + k))
        msg = b"change %d" % k
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        if k > 0:
            lines.append(b"from :%d\n" % k)
        lines.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data))
    start = time.perf_counter()
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, env=env, input=b"".join(lines), check=True)
    run(["git", "checkout", "-q", "-f", "main"], cwd=path, env=env)
    return time.perf_counter() - start


def build_hg(path, n):
    os.makedirs(path)
    run([HG, "init"], cwd=path)
    out = subprocess.run([BENCH, "populate", path, str(n), str(FILES)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    run([HG, "checkout", "--force"], cwd=path)
    return result


def commit_latency(tool, path, runs):
    """Median wall time of a one-file commit. tool: "hg", "git" (its default: no fsync), or
    "git-fsync" (git told to fsync objects and refs, as hg-bft always does)."""
    env = git_env()
    fsync = ["-c", "core.fsync=objects,reference", "-c", "core.fsyncMethod=fsync"] if tool == "git-fsync" else []
    samples = []
    for i in range(runs):
        with open(os.path.join(path, "dir0", "file0.txt"), "a") as f:
            f.write("edit %d\n" % i)
        if tool == "hg":
            samples.append(timed([HG, "commit", "-q", "-m", "edit %d" % i], path))
        else:
            samples.append(timed(["git"] + fsync + ["commit", "-q", "-a", "-m", "edit %d" % i], path, env))
    return statistics.median(samples)


def log_time(tool, path, runs=3):
    env = git_env()
    args = [HG, "log"] if tool == "hg" else ["git", "log"]
    return statistics.median(timed(args, path, env) for _ in range(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    for binary in (HG, BENCH):
        if not os.access(binary, os.X_OK):
            sys.exit("missing %s: run 'make release' (or 'make bench')" % binary)
    work = args.workdir or tempfile.mkdtemp(prefix="hg-bft-bench.")
    os.makedirs(work, exist_ok=True)
    sign = json.loads(subprocess.run([BENCH, "sign", "20000"], check=True, capture_output=True, text=True).stdout)
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            hg_path = os.path.join(work, "hg-%d" % n)
            git_path = os.path.join(work, "git-%d" % n)
            for p in (hg_path, git_path):
                shutil.rmtree(p, ignore_errors=True)
            populate = build_hg(hg_path, n)
            git_build = build_git(git_path, n)
            # Files written in the last 2 s are "racy" for both tools (hashed again rather than
            # trusted by stat); let the checkouts age so the commits measure the steady state.
            time.sleep(3)
            hg_bytes = disk_bytes(os.path.join(hg_path, ".hgrepo"))
            git_bytes = disk_bytes(os.path.join(git_path, ".git"))
            hg_commit = commit_latency("hg", hg_path, args.runs)
            git_commit = commit_latency("git", git_path, args.runs)
            git_fsync_commit = commit_latency("git-fsync", git_path, args.runs)
            hg_loose = (disk_bytes(os.path.join(hg_path, ".hgrepo")) - hg_bytes) / args.runs
            git_loose = (disk_bytes(os.path.join(git_path, ".git")) - git_bytes) / (2 * args.runs)
            hg_verify = timed([HG, "verify"], hg_path)
            git_fsck = timed(["git", "fsck", "--full", "--no-progress"], git_path, git_env())
            hg_log = log_time("hg", hg_path)
            git_log = log_time("git", git_path)
            rows.append(dict(n=n, populate=populate, git_build=git_build, hg_bytes=hg_bytes, git_bytes=git_bytes,
                             hg_commit=hg_commit, git_commit=git_commit, hg_log=hg_log, git_log=git_log,
                             git_fsync_commit=git_fsync_commit, hg_loose=hg_loose, git_loose=git_loose, hg_verify=hg_verify, git_fsck=git_fsck))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print("Ed25519 signing, one core: %.0f signatures/s" % sign["per_second"])
    print()
    print("| history | hg-bft commit (median of %d) | git commit -a | ratio | git commit -a, fsync on | ratio | hg-bft log | git log | ratio |" % args.runs)
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.1f ms | %.1f ms | %.2f | %.1f ms | %.2f | %.3f s | %.3f s | %.2f |" % (
            r["n"], r["hg_commit"] * 1e3, r["git_commit"] * 1e3, r["hg_commit"] / r["git_commit"],
            r["git_fsync_commit"] * 1e3, r["hg_commit"] / r["git_fsync_commit"],
            r["hg_log"], r["git_log"], r["hg_log"] / r["git_log"]))
    print()
    print("| history | hg-bft bulk write | git fast-import | hg-bft bytes/op | git bytes/commit | ratio |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.0f ops/s | %.0f commits/s | %.0f | %.0f | %.2f |" % (
            r["n"], r["populate"]["per_second"], r["n"] / r["git_build"], r["hg_bytes"] / r["n"],
            r["git_bytes"] / r["n"], r["hg_bytes"] / r["git_bytes"]))
    print()
    print("| history | hg-bft disk per commit (loose, CLI) | git disk per commit (loose) | ratio | hg-bft verify | git fsck --full | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.0f B | %.0f B | %.2f | %.2f s | %.2f s | %.2f |" % (
            r["n"], r["hg_loose"], r["git_loose"], r["hg_loose"] / r["git_loose"],
            r["hg_verify"], r["git_fsck"], r["hg_verify"] / r["git_fsck"]))
    print()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
