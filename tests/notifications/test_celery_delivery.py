"""Two real Celery workers on Redis deliver an outbox of 500 notifications to the Slack stand-in:
every notification reaches Slack exactly once, none twice, none lost; then a worker is killed mid-run
and the other finishes its work, re-sending at most the rows it held."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer

from catalog.models import Channel, Notification, Team
from catalog.notifications.routing import Destination
from catalog.notifications.slack import blocks
from catalog.notifications.tasks import deliver_notifications
from portal.celery import app
from tests.notifications.slack_standin import TOKEN, SlackStandIn
from tests.services import redis_test_url, running_workers, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

CHANNELS = [f"C0W{i:03d}" for i in range(5)]
TOTAL = 500


@pytest.fixture
def standin():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    slack = SlackStandIn(server)
    slack.channels.update(CHANNELS)
    yield slack
    server.clear()
    server.stop()


@pytest.fixture
def broker_url():
    return redis_test_url(flush=True)


@pytest.fixture
def workers(broker_url, standin, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKER_SLACK_TOKEN", TOKEN)
    with running_workers(
        2, broker_url, tmp_path, SLACK_API_URL=standin.api_url, PORTAL_NOTIFY_CLAIM_TIMEOUT="5"
    ) as started:
        yield started


def fill_outbox(count: int, prefix: str) -> list[str]:
    teams = [None] + [Team.objects.create(name=f"{prefix}-team-{i}") for i in range(1, len(CHANNELS))]
    channels = [
        Channel.objects.create(team=team, token_env="WORKER_SLACK_TOKEN", slack_channel=address)
        for team, address in zip(teams, CHANNELS, strict=True)
    ]
    now = timezone.now()
    rows = []
    for i in range(count):
        channel = channels[i % len(channels)]
        key = f"{prefix}:{i:04d}"
        rows.append(
            Notification(
                dedup_key=key,
                kind=Notification.Kind.TEST,
                channel=channel,
                payload=blocks.test_message(str(Destination(channel=channel)), dedup_key=key),
                created_at=now,
                next_attempt_at=now,
            )
        )
    Notification.objects.bulk_create(rows)
    return [row.dedup_key for row in rows]


def queue_deliveries(runs: int, broker: str) -> None:
    """Send ``runs`` delivery tasks to the broker over their own connection: the app's pool may have been
    made by an earlier eager task, before the broker was set."""
    with app.connection_for_write(broker) as connection:
        for _ in range(runs):
            deliver_notifications.apply_async(kwargs={"limit": TOTAL}, connection=connection)


def sent() -> int:
    return Notification.objects.filter(status=Notification.Status.SENT).count()


def test_two_workers_deliver_500_notifications_once_each(workers, standin, broker_url):
    _, logs = workers
    keys = fill_outbox(TOTAL, "bulk")
    started = time.monotonic()

    queue_deliveries(8, broker_url)  # more runs than the four worker processes: they compete for rows
    wait_until(lambda: sent() == TOTAL, logs, timeout=120)
    elapsed = time.monotonic() - started

    counts = standin.counts_by_key()
    assert set(counts) == set(keys), "none lost"
    assert max(counts.values()) == 1, f"duplicates: {[k for k, n in counts.items() if n > 1]}"
    assert len(standin.posted()) == TOTAL
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
    delivered_by = [log for log in logs if "notifications delivered" in log.read_text()]
    assert len(delivered_by) == 2, "both workers took part"
    processes_seen = {
        token.split(":")[1] for token in Notification.objects.values_list("claimed_by", flat=True)
    }
    assert len(processes_seen) >= 2
    print(f"\n500 notifications through 2 workers x 2 processes: {elapsed:.1f} s, {TOTAL / elapsed:.0f}/s")


def test_a_worker_killed_mid_run_loses_nothing(workers, standin, broker_url):
    processes, logs = workers
    keys = fill_outbox(TOTAL, "kill")
    standin.server.clear()  # a slower Slack, so that the kill lands mid-run
    original = standin.handle

    def slow(request):
        time.sleep(0.01)
        return original(request)

    standin.server.expect_request("/api/chat.postMessage", method="POST").respond_with_handler(slow)

    queue_deliveries(8, broker_url)
    wait_until(lambda: sent() >= 100, logs, timeout=120)
    os.killpg(processes[0].pid, signal.SIGKILL)  # worker 1 and its pool die between claims and sends
    processes[0].wait(timeout=10)
    held = Notification.objects.filter(status=Notification.Status.SENDING).count()

    time.sleep(5.5)  # past PORTAL_NOTIFY_CLAIM_TIMEOUT: the dead worker's claims are stale
    queue_deliveries(4, broker_url)
    wait_until(lambda: sent() == TOTAL, logs[1:], timeout=120)

    counts = standin.counts_by_key()
    assert set(counts) == set(keys), "none lost"
    resent = [key for key, n in counts.items() if n > 1]
    assert max(counts.values()) <= 2, "at most one re-send"
    assert len(resent) <= held, (resent, held)
    print(f"\nkilled worker 1 holding {held} claims: {len(resent)} notification(s) re-sent, none lost")
