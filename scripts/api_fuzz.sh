#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against its live OpenAPI schema: a fresh SQLite database with a small
# catalog (gen_catalog.py's, synced through a file source, plus this checkout through a git source), gunicorn
# on 127.0.0.1, a service token. Checks: no 5xx (not_a_server_error) and every documented response matches
# its schema (response_schema_conformance). Usage: scripts/api_fuzz.sh [MAX_EXAMPLES_PER_OPERATION]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh dev
examples=${1:-${API_FUZZ_EXAMPLES:-15}}
data=$(mktemp -d -t portal-fuzz-XXXXXX)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$data"
}
trap cleanup EXIT
export PORTAL_DATA_DIR="$data" STATIC_ROOT="$data/static" LOG_LEVEL=ERROR
unset DATABASE_URL CELERY_BROKER_URL
manage() { .venv/bin/python manage.py "$@"; }

manage migrate --no-input >/dev/null
manage collectstatic --no-input >/dev/null  # as the image does: pages (a 404 too) need the manifest
.venv/bin/python ../shared/bench/gen_catalog.py "$data/catalog" --components 60 --groups 8 >/dev/null
cat > "$data/people.yaml" <<'YAML'
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ada, title: Ada Lovelace}
spec: {profile: {email: ada@example.com}, memberOf: [team-fraud-001]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: grace}
spec: {memberOf: [team-ranking-000, dept-fraud-00]}
YAML
manage source_add --kind file generated "$data/catalog/all.yaml" "$data/people.yaml" >/dev/null
manage source_add self . >/dev/null
manage sync --all >/dev/null || true
manage evaluate >/dev/null
# Rows no local source makes (CI pipelines, a model registry, custom facts), so that their endpoints have data.
manage shell -c '
from django.utils import timezone
from catalog.models import ModelVersion, Pipeline, PipelineRun, Project, ProjectFact, RegisteredModel, Source
now = timezone.now()
project = Project.objects.exclude(repository=None).order_by("pk").first()
pipeline = Pipeline.objects.create(repository=project.repository, provider="github-actions", external_id="1",
                                   name="CI", file_path=".github/workflows/ci.yml", latest_status="failure")
PipelineRun.objects.create(pipeline=pipeline, external_id="9", status="completed", conclusion="failure",
                           portal_status="failure", branch="main", created_at=now)
registry = Source.objects.create(name="registry", kind="mlflow", enabled=False)
model = RegisteredModel.objects.create(source=registry, name="churn", project=project, aliases={"champion": "1"})
ModelVersion.objects.create(registered_model=model, version="1", number=1, aliases=["champion"])
ProjectFact.objects.create(project=project, name="coverage", number=0.8, observed_at=now)
' >/dev/null
token=$(manage token_create fuzzer "schemathesis" --service --create-staff)

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST=127.0.0.1 PORT=$port WEB_CONCURRENCY=2 .venv/bin/gunicorn --config python:portal.gunicorn portal.wsgi &
server=$!
echo "API fuzzing: $examples examples per operation against http://127.0.0.1:$port/api/schema/"
# From the temporary folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
root=$PWD
(cd "$data" && "$root/.venv/bin/schemathesis" run "http://127.0.0.1:$port/api/schema/?format=json" \
    --wait-for-schema 30 \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" \
    --seed "${API_FUZZ_SEED:-6}" \
    --generation-database none \
    --no-color)
