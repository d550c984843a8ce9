#!/usr/bin/env bash
# Runs every benchmark of this directory on release builds (make bench builds them first).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 contrib/bench/bench.py "$@"
