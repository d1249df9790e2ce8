#!/usr/bin/env bash
# The main job on a laptop: catalog git repositories, evaluate the rules, serve the portal.
# Usage: scripts/run.sh [DIRECTORY | GIT_URL ...]   (default: this checkout)
# SQLite in var/, Celery tasks run in-process: no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("$PWD")
manage() { .venv/bin/python manage.py "$@"; }
manage migrate --no-input >/dev/null
manage source_add local "${targets[@]}"
manage sync local || echo "(some repositories could not be read: see the sync run's page)"
manage evaluate
manage ensure_admin
echo "The portal is at http://127.0.0.1:${PORT:-8000}/ (Ctrl-C stops it)."
exec .venv/bin/python manage.py runserver --insecure --noreload "127.0.0.1:${PORT:-8000}"
