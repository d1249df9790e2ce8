"""A real MLflow tracking server end to end: models, versions, runs with git tags, aliases, stages and tags
registered through its REST API; the mlflow source synced; the catalog, links, history and findings checked.

The server runs from its own virtual environment (full ``mlflow`` pins packages the portal also uses):
``MLFLOW_SERVER_BIN`` names its ``mlflow`` executable (``scripts/test.sh`` sets it when
``PORTAL_TEST_MLFLOW=1``). Without it the test is skipped, or fails when ``PORTAL_REQUIRE_SERVICES`` is set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from catalog.models import Finding, ModelVersionEvent, Project, RegisteredModel, Source, SyncRun
from catalog.production import production_version_on
from catalog.rules.evaluate import evaluate_rules
from catalog.sync import sync_source
from tests.gitrepos import git, make_repo

pytestmark = pytest.mark.django_db

STARTUP_TIMEOUT = 90  # seconds; a cold start (schema migrations of a new database) takes 10-15 s here
DESCRIPTOR = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  annotations: {annotations}
spec:
  type: ml-model
  lifecycle: production
  owner: ml-platform
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Stop the server and its workers (gunicorn or uvicorn children): its whole process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # workers that outlived their parent


@pytest.fixture
def mlflow_server(tmp_path) -> Iterator[Server]:
    binary = os.environ.get("MLFLOW_SERVER_BIN")
    if not binary:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            pytest.fail("MLFLOW_SERVER_BIN is not set (PORTAL_TEST_MLFLOW=1 scripts/test.sh installs mlflow)")
        pytest.skip(
            "set MLFLOW_SERVER_BIN to an mlflow executable (PORTAL_TEST_MLFLOW=1 scripts/test.sh does)"
        )
    port = free_port()
    log = tmp_path / "mlflow.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                binary,
                "server",
                "--backend-store-uri",
                f"sqlite:///{tmp_path / 'mlflow.db'}",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, f"mlflow server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"mlflow server not ready:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        yield server
    finally:
        server.stop()


class Registry:
    """Writes to the server through its REST API, as a training pipeline would."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/2.0/mlflow/", timeout=30)

    def call(self, method: str, path: str, body: dict) -> dict:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def run(self, *, repo: str, commit: str, started: datetime, **metrics: float) -> str:
        """A finished run with git tags and metrics, as ``mlflow.start_run`` in a git checkout makes."""
        millis = int(started.timestamp() * 1000)
        tags = {"mlflow.source.git.repoURL": repo, "mlflow.source.git.commit": commit, "mlflow.user": "ci"}
        body = {
            "experiment_id": "0",
            "start_time": millis,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        run_id = self.call("POST", "runs/create", body)["run"]["info"]["run_id"]
        metrics_body = [{"key": k, "value": v, "timestamp": millis, "step": 0} for k, v in metrics.items()]
        self.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics_body})
        self.call(
            "POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": millis + 60_000}
        )
        return run_id

    def model(self, name: str, **tags: str) -> None:
        body = {
            "name": name,
            "description": f"{name} model",
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        self.call("POST", "registered-models/create", body)

    def version(self, name: str, *, run_id: str = "") -> str:
        source = f"runs:/{run_id}/model" if run_id else f"s3://models/{name}/{time.monotonic_ns()}"
        body = {"name": name, "source": source, **({"run_id": run_id} if run_id else {})}
        return self.call("POST", "model-versions/create", body)["model_version"]["version"]

    def alias(self, name: str, alias: str, version: str) -> None:
        self.call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version})

    def stage(self, name: str, version: str, stage: str) -> None:
        body = {"name": name, "version": version, "stage": stage, "archive_existing_versions": False}
        self.call("POST", "model-versions/transition-stage", body)

    def delete_version(self, name: str, version: str) -> None:
        self.call("DELETE", "model-versions/delete", {"name": name, "version": version})


def repo_with_origin(
    path: Path, origin: str, *, descriptor: str, days_ago: list[int], now: datetime
) -> list[str]:
    """A git working tree whose origin is ``origin``; returns its commits, oldest first."""
    make_repo(path, days_ago=days_ago, descriptor=descriptor, now=now)
    git(path, "remote", "add", "origin", origin)
    return git(path, "rev-list", "--reverse", "HEAD").split()


def test_sync_of_a_real_mlflow_server(mlflow_server, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)  # git dates have whole seconds
    fraud_commits = repo_with_origin(
        tmp_path / "repos" / "fraud",
        "git@github.com:Acme/fraud.git",
        descriptor=DESCRIPTOR.format(
            name="fraud", annotations='{"mlflow.org/registered-models": "fraud-detector, fraud-shadow"}'
        ),
        days_ago=[120, 1],
        now=now,
    )
    churn_commits = repo_with_origin(
        tmp_path / "repos" / "churn",
        "https://github.com/acme/churn.git",
        descriptor=DESCRIPTOR.format(name="churn", annotations="{}"),
        days_ago=[3],
        now=now,
    )
    repo_with_origin(
        tmp_path / "repos" / "ranker",
        "https://gitlab.example.com/ml/ranker.git",
        descriptor=DESCRIPTOR.format(name="ranker", annotations="{}"),
        days_ago=[2],
        now=now,
    )
    repos = Source.objects.create(
        name="repos", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "repos")]}
    )
    assert sync_source(repos).status == SyncRun.Status.SUCCESS

    registry = Registry(mlflow_server.url)
    # fraud-detector: named by the fraud project's annotation; the champion was trained 100 days ago
    registry.model("fraud-detector", team="risk")
    old = registry.run(
        repo="git@github.com:Acme/fraud.git",
        commit=fraud_commits[0],
        started=now - timedelta(days=100),
        auc=0.91,
    )
    new = registry.run(
        repo="git@github.com:Acme/fraud.git",
        commit=fraud_commits[1],
        started=now - timedelta(hours=5),
        auc=0.93,
    )
    assert registry.version("fraud-detector", run_id=old) == "1"
    assert registry.version("fraud-detector", run_id=new) == "2"
    registry.alias("fraud-detector", "champion", "1")
    registry.alias("fraud-detector", "challenger", "2")
    # churn-model: linked through its run's repository (another URL form of the churn repository)
    registry.model("churn-model")
    churn_run = registry.run(
        repo="https://GitHub.com/acme/churn", commit=churn_commits[0], started=now - timedelta(days=2), f1=0.8
    )
    registry.version("churn-model", run_id=churn_run)
    registry.stage("churn-model", "1", "Production")
    # ranker-model: linked by its tag, but nothing of it is in production
    registry.model("ranker-model", **{"portal.project": "ranker"})
    registry.version("ranker-model")
    # sandbox: an s3 source, no run, no project
    registry.model("sandbox")
    registry.version("sandbox")
    registry.version("sandbox")

    source = Source.objects.create(
        name="mlflow",
        kind=Source.Kind.MLFLOW,
        config={"tracking_uri": mlflow_server.url, "metrics": ["auc", "f1"]},
    )
    run = sync_source(source)

    assert (run.status, run.failed, run.created) == (SyncRun.Status.SUCCESS, 0, 10), run.errors
    fraud = RegisteredModel.objects.get(name="fraud-detector")
    assert fraud.aliases == {"champion": "1", "challenger": "2"} and fraud.tags == {"team": "risk"}
    assert fraud.production_version.version == "1"
    v1 = fraud.versions.get(version="1")
    assert (v1.run_id, v1.git_commit, v1.metrics, v1.aliases) == (
        old,
        fraud_commits[0],
        {"auc": 0.91},
        ["champion"],
    )
    assert v1.git_repo_url == "git@github.com:Acme/fraud.git" and v1.source_uri == f"runs:/{old}/model"
    assert v1.commit_url == f"https://github.com/Acme/fraud/commit/{fraud_commits[0]}"
    assert abs(v1.trained_at - (now - timedelta(days=100))) < timedelta(seconds=1)
    assert abs(v1.registered_at - now) < timedelta(minutes=5) and v1.registered_at.tzinfo is not None
    assert fraud.url == f"{mlflow_server.url}/#/models/fraud-detector"
    churn = RegisteredModel.objects.get(name="churn-model")
    assert churn.production_version.stage == "Production"
    sandbox = RegisteredModel.objects.get(name="sandbox")
    assert [(v.version, v.run_id, v.source_uri[:5]) for v in sandbox.versions.all()] == [
        ("2", "", "s3://"),
        ("1", "", "s3://"),
    ]

    links = {
        m.name: (m.project.name if m.project else None, m.link_method) for m in RegisteredModel.objects.all()
    }
    assert links == {
        "fraud-detector": ("fraud", "annotation"),
        "churn-model": ("churn", "repository"),
        "ranker-model": ("ranker", "tag"),
        "sandbox": (None, ""),
    }

    evaluate_rules()
    open_findings = {
        (f.rule, str(f.subject))
        for f in Finding.objects.filter(
            resolved_at=None,
            rule__in=["model-behind-code", "orphan-model", "no-production-model", "stale-model"],
        )
    }
    assert open_findings == {
        ("model-behind-code", "fraud-detector"),  # trained 100 days before the last commit of main
        ("orphan-model", "sandbox"),
        ("no-production-model", "ranker"),
    }
    assert "main of fraud has commits 99 days newer" in Finding.objects.get(rule="model-behind-code").message

    # The champion moves to version 2 and a sandbox version is deleted: the history records both.
    registry.alias("fraud-detector", "champion", "2")
    registry.delete_version("sandbox", "1")
    before_move = datetime.now(UTC)
    run = sync_source(source)  # updates fraud-detector, its versions 1 and 2, and sandbox
    assert run.status == SyncRun.Status.SUCCESS and (run.created, run.updated) == (0, 4), run.errors
    fraud.refresh_from_db()
    assert fraud.production_version.version == "2"
    assert production_version_on(fraud, before_move).version == "1"
    assert production_version_on(fraud, datetime.now(UTC)).version == "2"
    assert sandbox.versions.get(version="1").gone_at is not None
    assert ModelVersionEvent.objects.filter(registered_model=fraud, label="champion").count() == 3
    evaluate_rules()
    assert not Finding.objects.filter(rule="model-behind-code", resolved_at=None).exists()

    # The server goes away: the sync fails its listing and keeps every model as it was.
    mlflow_server.stop()
    source.config = {**source.config, "retries": 1}
    source.save()
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED and "ConnectError" in run.errors[0]["message"]
    assert RegisteredModel.objects.filter(gone_at__isnull=True).count() == 4
    assert Project.objects.get(name="fraud").registered_models.get().production_version.version == "2"
