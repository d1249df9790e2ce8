"""Helpers for the production tests: the portal in processes of its own, with a deployment's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import ROOT, database_url, redis_test_url  # noqa: F401  (re-exported)

PRELUDE = (
    "import django, os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings')\ndjango.setup()\n"
)
STRONG_SECRET_KEY = "k3C9x-Lq7Vf2_pZ8mR4tY1uW6eH0sJ5nB2dG8aX3cQ9vK7yT4rM1wE6hN0pF5jL8"


def portal_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a portal process: this one's, a data folder of its own, and ``overrides``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_ALLOW"))}
    env.update(PORTAL_DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` with Django set up (the portal's settings) in a new interpreter; return the result."""
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def redis_url():
    """A Redis database for the test (CELERY_TEST_BROKER_URL), not flushed: tests use queues of their own."""
    return redis_test_url(flush=False)
