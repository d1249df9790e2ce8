# Sourced by the other scripts: a virtual environment in .venv with the portal installed.
# Usage: source scripts/bootstrap.sh [dev]   ("dev" adds the test tools)
set -euo pipefail
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "The portal needs Python 3.11 or newer as '$PYTHON' (set PYTHON=... to choose another)." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
extras=""
[ "${1:-}" = "dev" ] && extras="[dev]"
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip uv
    .venv/bin/uv pip install --quiet --python .venv/bin/python -e ".${extras}"
    touch "$stamp"
fi
