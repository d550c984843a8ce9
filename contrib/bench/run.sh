#!/usr/bin/env bash
# Runs every benchmark of this directory on release builds (make bench builds them first).
# Arguments go to bench.py; verify_bench.py runs with its defaults (22,000 and 100,000 operations;
# run it alone with --million for 10^6).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 contrib/bench/bench.py "$@"
python3 contrib/bench/verify_bench.py
