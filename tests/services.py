"""The real services some tests need: Redis (CELERY_TEST_BROKER_URL) and Celery workers in processes of
their own, on the test database. Without Redis those tests skip, or fail under PORTAL_REQUIRE_SERVICES."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from portal.celery import app

ROOT = Path(__file__).resolve().parent.parent
WORKER_OPTIONS = [
    "--concurrency=2",
    "--loglevel=INFO",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by a test."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}:{settings['PASSWORD']}@{host}:{port}/{settings['NAME']}"


def redis_test_url(*, flush: bool) -> str:
    """CELERY_TEST_BROKER_URL once Redis answers there (its database emptied with ``flush``); skips the
    test, or fails it under PORTAL_REQUIRE_SERVICES, when it is unset or Redis is down."""
    url = os.environ.get("CELERY_TEST_BROKER_URL")
    if not url:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            pytest.fail("CELERY_TEST_BROKER_URL is not set")
        pytest.skip("set CELERY_TEST_BROKER_URL (e.g. redis://127.0.0.1:6379/15) to run with real services")
    import redis

    try:
        client = redis.Redis.from_url(url)
        client.flushdb() if flush else client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    return url


def forget_broker_pools() -> None:
    """Make Celery build its connection and producer pools again, for the broker now configured: an eager
    task earlier in the session pins them to no broker."""
    app._pool = None
    app.amqp._producer_pool = None


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``celery worker -n name@%h`` (2 processes) in its own process group, logging to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-n", f"{name}@%h", *WORKER_OPTIONS],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kill of the group reaches its pool too
        )


@contextmanager
def running_workers(
    count: int, broker_url: str, log_dir: Path, **env: str
) -> Iterator[tuple[list[subprocess.Popen], list[Path]]]:
    """Run ``count`` workers on the test database and ``broker_url`` (extra environment ``env``), with this
    process's Celery app sending to the same broker; yield their processes and log files once all are ready
    (30 seconds at most), and stop them afterwards."""
    environment = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker_url, **env}
    logs = [log_dir / f"worker{i + 1}.log" for i in range(count)]
    processes = [start_worker(log.stem, environment, log) for log in logs]
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.broker_url, app.conf.task_always_eager = broker_url, False
    forget_broker_pools()
    try:
        deadline = time.monotonic() + 30
        while not all("ready." in log.read_text() for log in logs):
            for process, log in zip(processes, logs, strict=True):
                assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the workers did not start:\n" + _tails(logs)
            time.sleep(0.2)
        yield processes, logs
    finally:
        app.conf.update(previous)
        forget_broker_pools()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def wait_until(condition, logs: list[Path], timeout: float = 60) -> None:
    """Poll ``condition`` every 0.2 s until it holds; fail with the workers' logs after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out; worker logs:\n" + _tails(logs)
        time.sleep(0.2)


def _tails(logs: list[Path]) -> str:
    return "\n".join(log.read_text()[-3000:] for log in logs)
