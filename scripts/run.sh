#!/usr/bin/env bash
# The main job on a laptop: catalog git repositories, evaluate the rules, serve the portal.
# Usage: scripts/run.sh [DIRECTORY | GIT_URL ...]   (default: this checkout)
# SQLite in var/, Celery tasks run in-process: no server needed.
set -euo pipefail
# Relative directories are taken from where the command is run, before moving to the checkout.
targets=()
for target in "$@"; do
    if [ -e "$target" ]; then
        targets+=("$(cd "$(dirname "$target")" && pwd)/$(basename "$target")")
    else
        targets+=("$target")
    fi
done
cd "$(dirname "$0")/.."
[ ${#targets[@]} -eq 0 ] && targets=("$PWD")
source scripts/bootstrap.sh
export LOG_FORMAT=${LOG_FORMAT:-text}  # logs for people, not for a log collector
manage() { .venv/bin/python manage.py "$@"; }
manage migrate --no-input >/dev/null
manage source_add local "${targets[@]}"
manage sync local || echo "(the sync did not finish: see the messages above and the sync runs page)"
manage evaluate
manage ensure_admin
echo "The portal is at http://127.0.0.1:${PORT:-8000}/ (Ctrl-C stops it)."
# Plain http on 127.0.0.1 (PORTAL_HTTPS off); WhiteNoise serves the static files.
exec .venv/bin/python manage.py runserver --noreload "127.0.0.1:${PORT:-8000}"
