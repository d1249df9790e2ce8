"""/metrics: Prometheus text format; request latency, sync runs, open findings, queue lengths; guarded."""

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import Severity, SyncRun
from portal.celery import app


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a /metrics answer (which must be 200)."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.mark.django_db
def test_only_loopback_scrapes_without_a_token(client):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code != 403


@pytest.mark.django_db
def test_a_token_is_required_when_set(client, settings):
    settings.PORTAL = {**settings.PORTAL, "METRICS_TOKEN": "scrape-me-7c1f"}
    assert client.get("/metrics").status_code == 403  # loopback no longer suffices
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-7c1f", REMOTE_ADDR="10.1.2.3")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_request_latency_by_view(client, outsider):
    key = (
        "portal_http_request_duration_seconds_count",
        (("method", "GET"), ("status", "200"), ("view", "maintenance")),
    )
    before = scrape(client).get(key, 0)
    client.force_login(outsider)
    assert client.get(reverse("maintenance")).status_code == 200
    assert client.get(reverse("maintenance")).status_code == 200
    assert scrape(client)[key] == before + 2


@pytest.mark.django_db
def test_sync_runs_and_open_findings_from_the_database(client, catalog):
    git = catalog.source("repos")
    files = catalog.source("descriptors", kind="file")
    start = catalog.now
    for source, status, seconds in [(git, "success", 3), (git, "success", 100), (files, "failed", 10)]:
        catalog.sync_run(
            source, status=status, started_at=start, finished_at=start + timedelta(seconds=seconds)
        )
        start += timedelta(hours=1)
    catalog.sync_run(git, status=SyncRun.Status.RUNNING, started_at=start)
    alpha, bravo = catalog.project("alpha"), catalog.project("bravo")
    catalog.finding(alpha, "stale-code")
    catalog.finding(bravo, "stale-code")
    catalog.finding(bravo, "no-owner", severity=Severity.ERROR)
    catalog.finding(alpha, "no-owner", resolved_at=catalog.now)

    metrics = scrape(client)
    git_ok = (("kind", "git"), ("status", "success"))
    assert metrics[("portal_sync_runs_total", git_ok)] == 2
    assert metrics[("portal_sync_runs_total", (("kind", "file"), ("status", "failed")))] == 1
    assert metrics[("portal_sync_run_duration_seconds_bucket", (*git_ok[:1], ("le", "1.0"), git_ok[1]))] == 0
    assert metrics[("portal_sync_run_duration_seconds_bucket", (*git_ok[:1], ("le", "5.0"), git_ok[1]))] == 1
    assert (
        metrics[("portal_sync_run_duration_seconds_bucket", (*git_ok[:1], ("le", "120.0"), git_ok[1]))] == 2
    )
    assert metrics[("portal_sync_run_duration_seconds_bucket", (*git_ok[:1], ("le", "+Inf"), git_ok[1]))] == 2
    assert metrics[("portal_sync_run_duration_seconds_sum", git_ok)] == pytest.approx(103)
    assert metrics[("portal_sync_runs_running", (("kind", "git"),))] == 1
    last = start - timedelta(hours=2) + timedelta(seconds=100)
    assert (
        metrics[("portal_source_last_success_timestamp_seconds", (("source", "repos"),))] == last.timestamp()
    )
    assert metrics[("portal_findings_open", (("rule", "stale-code"), ("severity", "warning")))] == 2
    assert metrics[("portal_findings_open", (("rule", "no-owner"), ("severity", "error")))] == 1
    assert not any(name == "portal_celery_queue_length" for name, _ in metrics)  # no broker configured


@pytest.mark.django_db
def test_celery_queue_length_counts_every_priority(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    with app.connection_for_write(redis_url) as connection:
        for priority in (0, 0, 9):
            app.send_task("catalog.tasks.evaluate_rules", connection=connection, priority=priority)
    metrics = scrape(client)
    assert metrics[("portal_celery_broker_up", ())] == 1
    assert metrics[("portal_celery_queue_length", (("queue", "celery"),))] == 3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    metrics = scrape(client)
    assert metrics[("portal_celery_broker_up", ())] == 0
    assert ("portal_celery_queue_length", (("queue", "celery"),)) not in metrics
