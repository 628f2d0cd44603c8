#!/usr/bin/env bash
# The main job on a fresh Debian machine: install gridplan and run the demo on the embedded
# GeoPackage store (no server). Output goes to ./demo-out (override: bash scripts/demo.sh DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/gridplan demo --out "${1:-demo-out}"
