"""gunicorn's settings for the portal: ``gunicorn --config python:portal.gunicorn portal.wsgi``.

From the environment: ``PORT`` (8000; ``HOST`` 0.0.0.0), ``WEB_CONCURRENCY`` (worker processes, 2),
``GUNICORN_THREADS`` (threads per worker, 1), ``GUNICORN_TIMEOUT`` (seconds a request may take, 60).

Logs: gunicorn's own lines go to stderr in the portal's format (``LOG_FORMAT``, JSON by default); there is
no access log, since the portal logs each request itself with its request id (``portal.logs``).
Metrics: the workers share ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless set, emptied at
start), so ``/metrics`` answered by any worker counts the requests of all (``portal.metrics``).
"""

import os
import tempfile
from pathlib import Path

# Before anything imports prometheus_client: it picks in-process or shared-file values once, at import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="portal-metrics-"))

from prometheus_client import multiprocess

from portal.settings import LOGGING

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (with jitter, so they do not all restart at once).
max_requests = 5000
max_requests_jitter = 500
accesslog = None
# The portal's own logging (settings.LOGGING), gunicorn's lines included; its access log off.
logconfig_dict = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "gunicorn.error": {"level": "INFO"},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


def on_starting(server) -> None:
    """Start the shared metrics from zero: files left by an earlier run would count its requests."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
