"""/metrics: Prometheus text format; request latency, sync runs, open findings, queue lengths; guarded."""

import socket
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import Channel, Notification, Severity, SyncRun
from portal.celery import app
from tests.production.conftest import portal_env, run_python


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

    ok, broken = (
        Channel.objects.create(team=catalog.team("fraud"), slack_channel="#fraud"),
        Channel.objects.create(team=catalog.team("nlp"), slack_channel="#nlp", status=Channel.Status.BROKEN),
    )
    for key, status, attempts in [
        ("a1", "sent", 1),
        ("a2", "sent", 2),
        ("a3", "failed", 6),
        ("a4", "pending", 0),
    ]:
        Notification.objects.create(dedup_key=key, kind="alert", channel=ok, status=status, attempts=attempts)
    Notification.objects.create(dedup_key="d1", kind="digest", channel=broken, status="failed", attempts=1)

    metrics = scrape(client)
    assert metrics[("portal_catalog_metrics_up", ())] == 1
    assert metrics[("portal_notifications", (("kind", "alert"), ("status", "sent")))] == 2
    assert metrics[("portal_notifications", (("kind", "alert"), ("status", "failed")))] == 1
    assert metrics[("portal_notifications", (("kind", "digest"), ("status", "failed")))] == 1
    assert metrics[("portal_notification_delivery_attempts_total", (("kind", "alert"),))] == 9
    assert metrics[("portal_notification_channels_broken", ())] == 1
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


@pytest.fixture
def routed_queue():
    """A queue of this test's own (no worker reads it), named in task_routes as a deployment would."""
    name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_routes
    app.conf.task_routes = {"catalog.tasks.evaluate_rules": {"queue": name}}
    yield name
    app.conf.task_routes = previous


@pytest.mark.django_db
def test_celery_queue_length_counts_every_priority(client, settings, redis_url, routed_queue):
    settings.CELERY_BROKER_URL = redis_url
    with app.connection_for_write(redis_url) as connection:
        for priority in (0, 0, 9):
            app.send_task("catalog.tasks.evaluate_rules", connection=connection, priority=priority)
    metrics = scrape(client)
    assert metrics[("portal_celery_broker_up", ())] == 1
    assert metrics[("portal_celery_queue_length", (("queue", routed_queue),))] == 3
    assert ("portal_celery_queue_length", (("queue", "celery"),)) in metrics  # the default queue too

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    metrics = scrape(client)
    assert metrics[("portal_celery_broker_up", ())] == 0
    assert not any(name == "portal_celery_queue_length" for name, _ in metrics)


def test_a_scrape_succeeds_when_the_database_is_down(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = portal_env(tmp_path, DATABASE_URL=f"postgres://portal:pw@127.0.0.1:{port}/portal")
    scrape_code = "from django.test import Client\nr = Client().get('/metrics')\n"
    result = run_python(scrape_code + "print(r.status_code, r.content.decode())", env)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.split(" ", 1)
    assert status == "200"
    assert "portal_catalog_metrics_up 0.0" in body
    assert "portal_findings_open" not in body
