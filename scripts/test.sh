#!/usr/bin/env bash
# Set up and run the test suite (SQLite unless DATABASE_URL says otherwise). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh dev
# Browser tests drive Debian's Chromium (never Playwright's own download).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
.venv/bin/ruff check --quiet .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
    || { echo "Models and migrations differ: run manage.py makemigrations" >&2; exit 1; }
exec .venv/bin/pytest "$@"
