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
# A real MLflow server for tests/registry/test_mlflow_server.py, in its own environment (mlflow pins
# packages the portal also uses): PORTAL_TEST_MLFLOW=1 installs it and points MLFLOW_SERVER_BIN at it.
if [ "${PORTAL_TEST_MLFLOW:-}" = 1 ] && [ -z "${MLFLOW_SERVER_BIN:-}" ]; then
    [ -x .venv-mlflow/bin/python ] || .venv/bin/uv venv --quiet --python .venv/bin/python .venv-mlflow
    .venv/bin/uv pip install --quiet --python .venv-mlflow/bin/python "mlflow==${MLFLOW_VERSION:-3.17.2}"
    export MLFLOW_SERVER_BIN="$PWD/.venv-mlflow/bin/mlflow"
fi
.venv/bin/ruff check --quiet .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
    || { echo "Models and migrations differ: run manage.py makemigrations" >&2; exit 1; }
exec .venv/bin/pytest "$@"
