"""The catalog's Prometheus metrics, read from the database (and the broker) at each scrape.

They describe work done by any process (Celery workers sync, the web process shows), so they come from
the tables that record it, in a few grouped queries, rather than from counters in one process:

- ``portal_sync_runs_total{kind, status}``: finished sync runs by source kind and outcome (``success``,
  ``partial``, ``failed``); ``portal_sync_run_duration_seconds{kind, status}``: their durations, a
  histogram; ``portal_sync_runs_running{kind}``: runs in progress;
  ``portal_source_last_success_timestamp_seconds{source}``: when each source last synced successfully
  (Unix time), for "has not synced for N hours" alerts.
- ``portal_findings_open{rule, severity}``: open findings.
- ``portal_notifications{kind, status}``: the notification outbox (``sent`` were delivered, ``failed`` given
  up after their retries), ``portal_notification_delivery_attempts_total{kind}`` and
  ``portal_notification_channels_broken`` (channels a permanent error disabled).
- ``portal_celery_queue_length{queue}``: messages waiting in each Celery queue (Redis ``LLEN`` of the
  queue's lists, priorities included), and ``portal_celery_broker_up`` (1 or 0), when the broker is Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from catalog.models import Channel, Finding, Notification, Severity, SyncRun

logger = logging.getLogger(__name__)

# Seconds: a git source of a few repositories syncs in seconds, an organisation on GitHub in many minutes.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
# kombu's Redis transport keeps a queue's messages of priority p > 0 in the list "<queue>\x06\x16<p>".
REDIS_PRIORITY_SEP = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
REDIS_TIMEOUT = 1.0  # seconds


class CatalogCollector:
    """A prometheus_client collector; ``collect`` runs the queries (see the module docstring).

    ``portal_catalog_metrics_up`` says whether the database answered: when it did not, the scrape still
    succeeds, with the web process's own metrics and the queue lengths.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "portal_catalog_metrics_up", "Whether the database answered the metrics' queries."
        )
        try:
            from_database = [*sync_run_metrics(), finding_metric(), *notification_metrics()]
        except DatabaseError as exc:
            logger.warning("metrics: the database did not answer: %s", exc)
            from_database = []
        up.add_metric([], 1 if from_database else 0)
        yield up
        yield from from_database
        yield from queue_metrics()


def sync_run_metrics() -> Iterator[Metric]:
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{bound}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
        for bound in DURATION_BUCKETS
    }
    rows = (
        SyncRun.objects.exclude(status=SyncRun.Status.RUNNING)
        .filter(finished_at__isnull=False)
        .annotate(duration=duration)
        .values("source__kind", "status")
        .annotate(n=Count("pk"), total=Sum("duration"), **buckets)
        .order_by("source__kind", "status")
    )
    runs = CounterMetricFamily(
        "portal_sync_runs", "Finished sync runs, by source kind and outcome.", labels=["kind", "status"]
    )
    durations = HistogramMetricFamily(
        "portal_sync_run_duration_seconds",
        "Duration of finished sync runs, by source kind and outcome.",
        labels=["kind", "status"],
    )
    for row in rows:
        labels = [row["source__kind"], row["status"]]
        runs.add_metric(labels, row["n"])
        cumulative = [(str(float(bound)), row[f"le_{bound}"]) for bound in DURATION_BUCKETS]
        durations.add_metric(
            labels, [*cumulative, ("+Inf", row["n"])], sum_value=_total_seconds(row["total"])
        )
    yield runs
    yield durations

    running = GaugeMetricFamily(
        "portal_sync_runs_running", "Sync runs in progress, by source kind.", labels=["kind"]
    )
    for row in (
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .values("source__kind")
        .annotate(n=Count("pk"))
        .order_by("source__kind")
    ):
        running.add_metric([row["source__kind"]], row["n"])
    yield running

    last_success = GaugeMetricFamily(
        "portal_source_last_success_timestamp_seconds",
        "When each source's last successful sync finished (Unix time).",
        labels=["source"],
    )
    for row in (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCESS)
        .values("source__name")
        .annotate(last=Max("finished_at"))
        .order_by("source__name")
    ):
        if row["last"] is not None:
            last_success.add_metric([row["source__name"]], row["last"].timestamp())
    yield last_success


def finding_metric() -> Metric:
    metric = GaugeMetricFamily(
        "portal_findings_open", "Open findings, by rule and severity.", labels=["rule", "severity"]
    )
    for row in (
        Finding.objects.filter(resolved_at__isnull=True)
        .values("rule", "severity")
        .annotate(n=Count("pk"))
        .order_by("rule", "severity")
    ):
        metric.add_metric([row["rule"], _severity_label(row["severity"])], row["n"])
    return metric


def notification_metrics() -> Iterator[Metric]:
    outbox = GaugeMetricFamily(
        "portal_notifications",
        "Notifications in the outbox, by kind and status (sent: delivered; failed: given up).",
        labels=["kind", "status"],
    )
    attempts = CounterMetricFamily(
        "portal_notification_delivery_attempts", "Delivery attempts made, by kind.", labels=["kind"]
    )
    tried: dict[str, int] = {}
    for row in (
        Notification.objects.values("kind", "status")
        .annotate(n=Count("pk"), tries=Sum("attempts"))
        .order_by("kind", "status")
    ):
        outbox.add_metric([row["kind"], row["status"]], row["n"])
        tried[row["kind"]] = tried.get(row["kind"], 0) + (row["tries"] or 0)
    for kind, n in tried.items():
        attempts.add_metric([kind], n)
    broken = GaugeMetricFamily(
        "portal_notification_channels_broken", "Channels disabled by a permanent delivery error."
    )
    broken.add_metric([], Channel.objects.filter(status=Channel.Status.BROKEN).count())
    yield outbox
    yield attempts
    yield broken


def queue_metrics() -> Iterator[Metric]:
    """Queue lengths when the broker is Redis (nothing for another broker, or with no broker)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return
    import redis

    from portal.celery import app

    up = GaugeMetricFamily("portal_celery_broker_up", "Whether the Celery broker (Redis) answered.")
    lengths = GaugeMetricFamily(
        "portal_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        with client.pipeline(transaction=False) as pipe:
            queues = sorted(queue_names(app))
            for queue in queues:
                for priority in REDIS_PRIORITY_STEPS:
                    pipe.llen(f"{queue}{REDIS_PRIORITY_SEP}{priority}" if priority else queue)
            counts = pipe.execute()
        client.close()
    except redis.RedisError as exc:
        logger.warning("metrics: the broker did not answer: %s", exc)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    steps = len(REDIS_PRIORITY_STEPS)
    for index, queue in enumerate(queues):
        lengths.add_metric([queue], sum(counts[index * steps : (index + 1) * steps]))
    yield up
    yield lengths


def queue_names(app) -> set[str]:
    """The default queue and every queue named in ``task_queues`` or ``task_routes``."""
    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in app.conf.task_queues or ())
    routes = app.conf.task_routes or {}
    if isinstance(routes, dict):
        names.update(
            route["queue"] for route in routes.values() if isinstance(route, dict) and route.get("queue")
        )
    return names


def _total_seconds(value) -> float:
    """A Sum of durations: a timedelta, or microseconds on backends without an interval type."""
    if value is None:
        return 0.0
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    return float(value) / 1e6


def _severity_label(value: int) -> str:
    try:
        return Severity(value).label
    except ValueError:
        return str(value)
