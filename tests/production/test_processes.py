"""The portal's processes, started with docker-compose.yml's own commands, against the test database and
Redis: two Celery workers and beat do no duplicate work; gunicorn, a worker and beat run a scheduled sync
through on PostgreSQL and Redis.

Test-only additions to the commands: worker names and ``--without-mingle/gossip`` (faster start), beat's
``--max-interval 1`` (it looks at the schedule every second), gunicorn's ``--bind`` to a free port.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import APIToken, Project, Source, SyncRun
from catalog.schedules import TASK
from tests.gitrepos import make_repo
from tests.production.conftest import ROOT, database_url, portal_env
from tests.production.deployment import command

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
SLOW_ANSWER = 1.5  # seconds the fake tracking server takes: long enough for scheduled syncs to overlap


class Process:
    """A portal process writing its output to ``log``; ``lines()`` are its JSON log lines."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path) -> None:
        self.name, self.log = name, folder / f"{name}.log"
        argv = [str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0], *argv[1:]]
        with self.log.open("w") as out:
            self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def lines(self) -> list[dict]:
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return found

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.text()[-4000:]}"
            assert time.monotonic() < deadline, (
                f"{self.name}: no {what} in {timeout} s:\n{self.text()[-4000:]}"
            )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@pytest.fixture
def start(tmp_path, redis_url):
    """Returns ``start(name, service, *extra_args, **env)``: runs a docker-compose.yml service's command."""
    started: list[Process] = []
    base = portal_env(
        tmp_path,
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=redis_url,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PORTAL_GIT_CACHE_DIR=str(tmp_path / "git-cache"),
        CELERY_TASK_DEFAULT_QUEUE=f"test-{uuid.uuid4().hex[:8]}",  # no other worker on this Redis reads it
    )

    def start_process(name: str, service: str, *extra: str, **env: str) -> Process:
        process = Process(name, [*command(service), *extra], {**base, **env}, tmp_path)
        started.append(process)
        return process

    start_process.queue = base["CELERY_TASK_DEFAULT_QUEUE"]
    yield start_process
    for process in reversed(started):
        process.stop()


def start_worker(start, name: str) -> Process:
    return start(name, "worker", f"--hostname={name}@%h", "--without-mingle", "--without-gossip")


def start_beat(start) -> Process:
    return start("beat", "beat", "--max-interval=1")


def schedule_every(source: Source, seconds: int) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name=f"sync {source.name} every {seconds} s", task=TASK, interval=every, args=json.dumps([source.pk])
    )


def messages(process: Process, logger: str) -> list[dict]:
    return [line for line in process.lines() if line.get("logger") == logger]


def wait_until(
    condition: Callable[[], bool], what: str, processes: list[Process], timeout: float = 45
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            assert process.popen.poll() is None, f"{process.name} exited:\n{process.text()[-4000:]}"
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def test_two_workers_and_beat_do_no_duplicate_work(start, httpserver, redis_url):
    """Beat queues a sync of one source every second; each takes longer than that. The per-source lock
    turns the overlapping ones into skips: runs never overlap, and every task is one run or one skip."""

    def slow_registry(request):
        time.sleep(SLOW_ANSWER)
        from werkzeug import Response

        return Response("{}", content_type="application/json")

    httpserver.expect_request("/api/2.0/mlflow/registered-models/search").respond_with_handler(slow_registry)
    source = Source.objects.create(
        name="registry", kind=Source.Kind.MLFLOW, config={"tracking_uri": httpserver.url_for("/").rstrip("/")}
    )
    schedule_every(source, 1)
    workers = [start_worker(start, "w1"), start_worker(start, "w2")]
    beat = start_beat(start)  # all three start at once: what beat sends meanwhile waits in the queue
    everyone = [*workers, beat]

    wait_until(
        lambda: SyncRun.objects.filter(source=source).exclude(status="running").count() >= 3,
        "3 runs",
        everyone,
    )
    beat.stop()
    queue = redis.Redis.from_url(redis_url)
    wait_until(
        lambda: queue.llen(start.queue) == 0 and not SyncRun.objects.filter(status="running").exists(),
        "the queue to drain",
        workers,
    )
    time.sleep(1)  # the last task's log lines

    runs = list(SyncRun.objects.filter(source=source).order_by("started_at"))
    assert {run.status for run in runs} == {SyncRun.Status.SUCCESS}, [run.errors for run in runs]
    for earlier, later in itertools.pairwise(runs):
        assert later.started_at >= earlier.finished_at, "two syncs of one source overlapped"
    assert len(httpserver.log) == len(runs)  # the registry was read once per run, never twice at once

    sent = [line for line in beat.lines() if line["message"].startswith("Scheduler: Sending due task")]
    received = [
        line
        for w in workers
        for line in messages(w, "celery.worker.strategy")
        if "received" in line["message"]
    ]
    skipped = [
        line
        for w in workers
        for line in messages(w, "catalog.tasks")
        if "already being synced" in line["message"]
    ]
    synced = [
        line
        for w in workers
        for line in messages(w, "catalog.tasks")
        if line["message"].startswith("synced source")
    ]
    sync_tasks = [line for line in received if "catalog.tasks.sync_source" in line["message"]]
    assert len(sync_tasks) == len(sent), "the broker lost or duplicated a task"
    assert len(synced) == len(runs) and len(synced) + len(skipped) == len(sync_tasks)
    assert skipped, "no sync was due while another ran: the test did not exercise the lock"
    assert all(line["task_id"] and line["task"] == TASK for line in skipped + synced)
    assert all(messages(w, "celery.worker.strategy") for w in workers), "one worker did all the work"
    # Sync log lines carry the run's id, each run's its own.
    finished = [line for w in workers for line in messages(w, "catalog.sync") if "sync_run_id" in line]
    assert sorted(line["sync_run_id"] for line in finished) == sorted(run.pk for run in runs)


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql", "pgsql"),
    reason="runs on PostgreSQL (the suite's PostgreSQL pass: DATABASE_URL=postgres://...)",
)
def test_web_worker_and_beat_run_a_scheduled_sync_on_postgresql_and_redis(start, tmp_path, django_user_model):
    assert connection.vendor == "postgresql"
    make_repo(tmp_path / "repos" / "fraud-model", days_ago=[200, 3])
    source = Source.objects.create(
        name="repos", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "repos")]}
    )
    staff = django_user_model.objects.create_user("ops", password="a-long-test-password-1", is_staff=True)
    _, token = APIToken.objects.issue(staff, "e2e")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    schedule_every(source, 2)
    # No PROMETHEUS_MULTIPROC_DIR, as in docker-compose.yml: gunicorn's config makes one in the temp folder.
    temp = tmp_path / "temp"
    temp.mkdir()
    web = start("web", "web", f"--bind=127.0.0.1:{port}", WEB_CONCURRENCY="2", TMPDIR=str(temp))
    worker = start_worker(start, "w1")
    beat = start_beat(start)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=10, headers={"Host": "127.0.0.1"})

    def answers() -> bool:
        try:
            return client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    web.wait_for(answers, "answer on /healthz")
    ready = client.get("/readyz")
    checks = ready.json()["checks"]
    assert (checks["database"], checks["broker"]) == ("ok", "ok"), ready.text
    migrated = bool(MigrationRecorder(connection).applied_migrations())
    assert ready.status_code == (200 if migrated else 503), ready.text  # --no-migrations: none recorded

    wait_until(
        lambda: SyncRun.objects.filter(source=source, trigger="schedule", status="success").exists(),
        "a scheduled sync",
        [web, worker, beat],
    )
    assert Project.objects.filter(name="fraud-model").exists()

    # The web app shows what the worker wrote.
    auth = {"Authorization": f"Bearer {token}"}
    projects = client.get("/api/v1/projects/", params={"q": "fraud"}, headers=auth)
    assert projects.status_code == 200, projects.text
    assert "fraud-model" in projects.text

    # A request's id follows the task it queues into the worker's log (beat stopped: no sync is running).
    beat.stop()
    wait_until(lambda: not SyncRun.objects.filter(status="running").exists(), "the last sync", [web, worker])
    request_id = f"e2e-{uuid.uuid4().hex[:12]}"
    queued = client.post(f"/api/v1/sources/{source.pk}/sync/", headers={**auth, "X-Request-ID": request_id})
    assert queued.status_code in (200, 202), queued.text
    assert queued.headers["X-Request-ID"] == request_id
    wait_until(
        lambda: any(
            line.get("request_id") == request_id and line["logger"] == "catalog.sync"
            for line in worker.lines()
        ),
        "the queued sync's log line with the request id",
        [web, worker],
    )

    # /metrics from any gunicorn worker counts the requests both answered.
    for _ in range(10):
        assert client.get("/login/").status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
    }
    login = ("method", "GET"), ("status", "200"), ("view", "login")
    assert samples[("portal_http_request_duration_seconds_count", login)] == 10
    assert samples[("portal_sync_runs_total", (("kind", "git"), ("status", "success")))] >= 1
    assert samples[("portal_celery_broker_up", ())] == 1
    [metrics_dir] = temp.glob("portal-metrics-*")
    recorded_by = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(recorded_by) == 2, "expected both gunicorn workers to have answered"
