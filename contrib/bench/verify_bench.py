#!/usr/bin/env python3
"""Audit benchmark: `hg-bft verify` against `git fsck --full`, and verify's scaling in time and memory.

Usage: contrib/bench/verify_bench.py [--compare 22000] [--sizes 100000] [--million] [--runs 5]
                                     [--workdir DIR] [--build-dir DIR]

Needs release builds of hg-bft and hg-bft-bench (`make bench` does both; --build-dir names another
directory holding them, e.g. `.build-x/release` after `--scratch-path .build-x`). For each size N (the --compare size, then every --sizes entry, then
1,000,000 with --million) it builds, with the helpers of bench.py, an hg-bft repository of N
one-file operations (`hg-bft-bench populate`, the batch path) and a git repository of N one-file
commits of the same files and contents (`git fast-import`), then runs `hg-bft verify --json` and
`git fsck --full` one after the other on warm caches: one untimed run each, then RUNS timed runs
(one at 10^6). Each run's wall time, CPU time (user + system) and peak resident memory come from
wait4(2) on that process alone. Prints a Markdown table and a JSON line; docs/PERFORMANCE.md
quotes them.

The same run measures the Ed25519 floor that verify cannot beat: `hg-bft-bench verify-signatures`
times --floor-count libsodium verifications on one core in CPU time (median of RUNS runs, beside
each size's verify runs), and the floor for N operations is N × one verification ÷ the cores this process
may run on. "Fraction of the floor" is floor time ÷ verify's wall time: 1.0 would mean that
verify costs nothing beyond its signature checks spread over every core. On a machine shared with
other jobs the wall time also counts the time verify waited for a core, so the table gives beside
it the fraction by CPU time, signatures × one verification ÷ verify's CPU time: what the wall
fraction comes to when verify has every core to itself and keeps them busy.

With --workdir the repositories are kept there and reused by later runs of the same sizes.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the repository builders and the git environment)


def measure(args, cwd, env=None):
    """Runs ARGS to completion; returns (wall s, cpu s, max RSS bytes, stdout). Fails on a non-zero exit."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit("%s failed (exit %d): %s" % (" ".join(args), proc.returncode, stderr.decode(errors="replace")))
    # Linux reports ru_maxrss in KiB.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, stdout


def repeat(args, cwd, runs, env=None, check=None):
    """One untimed run (warms the page cache), then RUNS measured ones: median wall and CPU, largest RSS."""
    _, _, _, stdout = measure(args, cwd, env)
    if check:
        check(stdout)
    samples = [measure(args, cwd, env) for _ in range(runs)]
    return dict(wall=statistics.median(s[0] for s in samples), cpu=statistics.median(s[1] for s in samples),
                rss=max(s[2] for s in samples), walls=[s[0] for s in samples])


def cores():
    """The cores this process may run on (what verify's workers get)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def verification_seconds(count, runs):
    """Median CPU seconds of one Ed25519 verification on one core, over RUNS runs of COUNT."""
    samples = []
    for _ in range(max(1, runs)):
        _, _, _, stdout = measure([bench.BENCH, "verify-signatures", str(count)], None)
        samples.append(json.loads(stdout)["seconds_each"])
    return statistics.median(samples)


def ensure(path, n, builder):
    """Builds the repository at PATH unless a finished one of N operations is already there."""
    marker = path + ".done"
    if os.path.exists(marker) and open(marker).read().strip() == str(n):
        return None
    shutil.rmtree(path, ignore_errors=True)
    start = time.perf_counter()
    builder(path, n)
    elapsed = time.perf_counter() - start
    with open(marker, "w") as f:
        f.write("%d\n" % n)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=int, default=22000, help="size of the verify/fsck comparison (issue 4: 22,000)")
    parser.add_argument("--sizes", default="100000", help="further sizes, comma-separated")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 operations (a few minutes to build, about 1 GB of disk)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and size (1 at 10^6)")
    parser.add_argument("--workdir", default=None, help="keep (and reuse) the repositories here")
    parser.add_argument("--floor-count", type=int, default=20000, help="verifications timed per run of the floor measurement")
    parser.add_argument("--build-dir", default=os.path.dirname(bench.HG), help="directory of the hg-bft and hg-bft-bench binaries")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)  # the builders run commands in other directories
    bench.HG = os.path.join(build, "hg-bft")
    bench.BENCH = os.path.join(build, "hg-bft-bench")
    for binary in (bench.HG, bench.BENCH):
        if not os.access(binary, os.X_OK):
            sys.exit("missing %s: run 'make release' (or 'make bench')" % binary)
    sizes = [args.compare] + [int(s) for s in args.sizes.split(",") if s] + ([1000000] if args.million else [])
    work = args.workdir or tempfile.mkdtemp(prefix="hg-bft-verify-bench.")
    os.makedirs(work, exist_ok=True)
    env = bench.git_env()

    signatures = {}

    def clean(stdout):
        report = json.loads(stdout)
        if not report["clean"]:
            sys.exit("hg-bft verify found problems: %s" % report["problems"][:5])
        signatures["last"] = report["signatures"]

    rows = []
    try:
        for n in sizes:
            hg_path = os.path.join(work, "hg-%d" % n)
            git_path = os.path.join(work, "git-%d" % n)
            hg_build = ensure(hg_path, n, bench.build_hg)
            git_build = ensure(git_path, n, bench.build_git)
            runs = 1 if n >= 1000000 else args.runs
            hg = repeat([bench.HG, "verify", "--json"], hg_path, runs, check=clean)
            git = repeat(["git", "fsck", "--full", "--no-progress"], git_path, runs, env=env)
            each = verification_seconds(args.floor_count, runs)
            floor = signatures["last"] * each / cores()
            rows.append(dict(n=n, runs=runs, hg=hg, git=git, hg_build=hg_build, git_build=git_build,
                             signatures=signatures["last"], verification=each, cores=cores(), floor=floor,
                             floor_fraction=floor / hg["wall"], cpu_fraction=signatures["last"] * each / hg["cpu"],
                             hg_disk=bench.disk_bytes(os.path.join(hg_path, ".hgrepo")),
                             git_disk=bench.disk_bytes(os.path.join(git_path, ".git"))))
            print("measured %d: hg-bft verify %.3f s, git fsck --full %.3f s, Ed25519 floor %.3f s (%.2f of its speed)"
                  % (n, hg["wall"], git["wall"], floor, floor / hg["wall"]), file=sys.stderr)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print("| operations | hg-bft verify | git fsck --full | ratio | hg-bft ops/s | hg-bft CPU | git CPU | hg-bft max RSS | git max RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        hg, git = r["hg"], r["git"]
        print("| %s | %.3f s | %.3f s | %.2f | %s | %.2f s | %.2f s | %.0f MiB | %.0f MiB |" % (
            "{:,}".format(r["n"]), hg["wall"], git["wall"], hg["wall"] / git["wall"],
            "{:,.0f}".format(r["n"] / hg["wall"]), hg["cpu"], git["cpu"], hg["rss"] / 2**20, git["rss"] / 2**20))
    print()
    print("| operations | signatures | one verification | cores | Ed25519 floor | hg-bft verify | fraction of the floor's speed | by CPU time |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.1f µs | %d | %.3f s | %.3f s | %.2f | %.2f |" % (
            "{:,}".format(r["n"]), "{:,}".format(r["signatures"]), r["verification"] * 1e6, r["cores"], r["floor"],
            r["hg"]["wall"], r["floor_fraction"], r["cpu_fraction"]))
    print()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
