"""Liveness and readiness, for load balancers and orchestrators (Docker health checks, Kubernetes probes).

``healthz``: the process answers (no database, no broker): 200 ``{"status": "ok"}``.
``readyz``: the parts a request needs are there: the database answers, every migration is applied, and,
when ``CELERY_BROKER_URL`` is set, the broker accepts a connection. 200 ``{"status": "ready", "checks":
{part: "ok"}}``, or 503 ``{"status": "unavailable", "failing": [part, ...], "checks": {part: why}}``.
Why a part failed is said by the exception's class only; its message (host names, users) goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 2.0  # seconds to connect to the broker

_migrated = False  # migrations, once all applied, stay applied for the life of the process


class NotReady(Exception):
    """A part is reachable but not ready; the message says why (safe to show)."""


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {"database": check_database, "migrations": check_migrations}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = check_broker
    results, failing = {}, []
    for part, check in checks.items():
        if part == "migrations" and "database" in failing:
            results[part] = "unknown: the database is unavailable"
            failing.append(part)
            continue
        try:
            check()
        except NotReady as exc:
            results[part] = str(exc)
            failing.append(part)
        except Exception as exc:
            logger.warning("readiness: %s failed: %s", part, exc, exc_info=True)
            results[part] = f"unavailable: {type(exc).__name__}"
            failing.append(part)
        else:
            results[part] = "ok"
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": results}, status=503)
    return JsonResponse({"status": "ready", "checks": results})


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_migrations() -> None:
    """Raise NotReady naming the first unapplied migrations."""
    global _migrated
    if _migrated:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{m.app_label}.{m.name}" for m, _ in plan[:3]]
        more = f" and {len(plan) - 3} more" if len(plan) > 3 else ""
        raise NotReady(f"{len(plan)} migrations not applied: {', '.join(names)}{more}")
    _migrated = True


def check_broker() -> None:
    """Open (and close) a connection to the Celery broker; raises kombu's or the transport's error."""
    from portal.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
        connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
