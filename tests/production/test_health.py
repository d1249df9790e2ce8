"""/healthz and /readyz: what a load balancer and an orchestrator ask, answered before host checks."""

import json
import socket

import pytest

from tests.production.conftest import portal_env, run_python

GET_READYZ = (
    "from django.test import Client\nr = Client().get('/readyz')\nprint(r.status_code, r.content.decode())\n"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer(result) -> tuple[int, dict]:
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    return int(status), json.loads(body)


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any database access here would fail the test.
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")  # an address, not in ALLOWED_HOSTS
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_when_everything_is_there(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/readyz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_checks_the_broker_when_one_is_configured(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unavailable: ")


def test_readyz_names_a_database_that_does_not_answer(tmp_path):
    env = portal_env(tmp_path, DATABASE_URL=f"postgres://portal:secret-pw@127.0.0.1:{closed_port()}/portal")
    status, body = answer(run_python(GET_READYZ, env))
    assert status == 503
    assert body["failing"] == ["database", "migrations"]
    assert body["checks"]["database"] == "unavailable: OperationalError"
    assert "secret-pw" not in json.dumps(body)


def test_readyz_names_migrations_not_applied(tmp_path):
    env = portal_env(tmp_path)  # a new, empty SQLite database: nothing migrated
    status, body = answer(run_python(GET_READYZ, env))
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert body["checks"]["database"] == "ok"
    assert " migrations not applied: " in body["checks"]["migrations"]
