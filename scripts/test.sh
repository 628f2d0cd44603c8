#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs PostGIS and Chromium if missing,
# starts PostgreSQL, creates the test database, installs gridplan, lints, type-checks, tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || need+=(fonts-wqy-zenhei)  # Chinese labels in screenshots
if [ ${#need[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

if ! pg_isready -q -h localhost; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h localhost && break; sleep 1; done
fi
psql -v ON_ERROR_STOP=1 -qtA -U postgres -h localhost -d postgres \
  -c "SELECT 1 FROM pg_database WHERE datname = 'gridplan_test'" | grep -q 1 \
  || psql -v ON_ERROR_STOP=1 -q -U postgres -h localhost -d postgres -c "CREATE DATABASE gridplan_test"
psql -v ON_ERROR_STOP=1 -q -U postgres -h localhost -d gridplan_test \
  -c "CREATE EXTENSION IF NOT EXISTS postgis"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,peers]"

export GRIDPLAN_TEST_DATABASE_URL="postgresql+psycopg://postgres@localhost/gridplan_test"
.venv/bin/ruff check src tests
.venv/bin/mypy
.venv/bin/pytest "$@"
