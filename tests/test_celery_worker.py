"""A real Celery worker on Redis syncs a source end to end and evaluates the rules."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from catalog.models import Finding, Project, Source, SyncRun
from catalog.tasks import sync_source
from portal.celery import app
from tests.gitrepos import make_repo

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}:{settings['PASSWORD']}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def broker_url():
    url = os.environ.get("CELERY_TEST_BROKER_URL")
    if not url:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            pytest.fail("CELERY_TEST_BROKER_URL is not set")
        pytest.skip("set CELERY_TEST_BROKER_URL (e.g. redis://127.0.0.1:6379/15) to run with a real worker")
    import redis

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    return url


@pytest.fixture
def worker(broker_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "PORTAL_GIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--concurrency=2",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.broker_url, app.conf.task_always_eager = broker_url, False
    forget_broker_pools()  # an eager task earlier in the session pinned them to no broker
    try:
        deadline = time.monotonic() + 30
        while "ready." not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the worker did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield log
    finally:
        app.pool.force_close_all()
        app.conf.update(previous)
        forget_broker_pools()
        process.terminate()
        process.wait(timeout=30)


def forget_broker_pools() -> None:
    """Make Celery build its connection and producer pools again, for the broker now configured."""
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(condition, log: Path, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; worker log:\n{log.read_text()}"
        time.sleep(0.2)


def test_worker_syncs_a_source_and_evaluates_rules(worker, tmp_path):
    make_repo(tmp_path / "repos" / "fraud", days_ago=[400, 200], descriptor=None)
    source = Source.objects.create(
        name="repos", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "repos")]}
    )

    sync_source.delay(source.pk, SyncRun.Trigger.MANUAL)

    wait_for(
        lambda: SyncRun.objects.filter(source=source).exclude(status=SyncRun.Status.RUNNING).exists(), worker
    )
    run = SyncRun.objects.get(source=source)
    assert (run.status, run.created, run.failed) == (SyncRun.Status.SUCCESS, 2, 0), run.errors
    project = Project.objects.get()
    assert project.name == "fraud" and project.repository.commits_in_window == 0
    # the worker queued the rules after the sync
    expected = {"stale-code", "no-owner", "no-descriptor"}
    wait_for(
        lambda: set(Finding.objects.filter(project=project).values_list("rule", flat=True)) >= expected,
        worker,
    )
    assert set(Finding.objects.filter(project=project).values_list("rule", flat=True)) == expected
