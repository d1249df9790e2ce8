"""Delivery over real HTTP to the Slack stand-in: sent once, retried, rate limited, broken, restart-safe."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from catalog.models import Channel, Notification
from catalog.notifications import delivery
from catalog.notifications.routing import Destination
from catalog.notifications.slack import blocks
from catalog.notifications.slack.transport import Outcome
from tests.notifications.conftest import notify_settings
from tests.notifications.slack_standin import TOKEN, json_response


def queue(destination: Destination, key: str, *, now=None, **fields) -> Notification:
    now = now or timezone.now()
    return Notification.objects.create(
        dedup_key=key,
        kind=fields.pop("kind", Notification.Kind.TEST),
        channel=destination.channel,
        person=destination.person,
        payload=blocks.test_message(str(destination), dedup_key=key),
        created_at=now,
        next_attempt_at=now,
        **fields,
    )


@pytest.fixture
def webhook_channel(catalog, slack, monkeypatch) -> Channel:
    monkeypatch.setenv("DATA_WEBHOOK_URL", slack.url("/hooks/T000/B000/XXXX"))
    return Channel.objects.create(
        team=catalog.team("data-eng"), kind=Channel.Kind.SLACK_WEBHOOK, webhook_url_env="DATA_WEBHOOK_URL"
    )


def test_a_notification_is_posted_once_with_chat_post_message(slack, team_channel):
    row = queue(Destination(channel=team_channel), "test:1")

    assert delivery.deliver_due() == {"sent": 1}
    assert delivery.deliver_due() == {}

    [request] = slack.posted()
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body["channel"] == "C0PLATFORM"
    assert request.body["blocks"] == row.payload["blocks"] and request.body["text"] == row.payload["text"]
    assert request.body["metadata"]["event_payload"]["dedup_key"] == "test:1"
    assert request.body["unfurl_links"] is False
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Notification.Status.SENT, 1, "")
    assert row.response == {"channel": "C0PLATFORM", "ts": "1503435956.000001"} and row.sent_at is not None


def test_a_direct_message_goes_to_the_persons_slack_id_with_the_workspace_token(catalog, slack):
    ada = catalog.person("ada", slack_user_id="U0ADA")
    queue(Destination(person=ada), "test:dm")
    assert delivery.deliver_due() == {"sent": 1}
    assert slack.posted()[0].body["channel"] == "U0ADA"


def test_an_incoming_webhook_answers_ok(slack, webhook_channel):
    row = queue(Destination(channel=webhook_channel), "test:hook")
    assert delivery.deliver_due() == {"sent": 1}
    [request] = slack.posted("/hooks/T000/B000/XXXX")
    assert request.body["blocks"] == row.payload["blocks"]
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and row.response == {"body": "ok"}


@pytest.mark.parametrize(
    ("status", "body"), [(404, "no_service"), (403, "invalid_token"), (410, "channel_is_archived")]
)
def test_a_webhook_gone_marks_the_channel_broken_and_the_row_waits(slack, webhook_channel, status, body):
    slack.webhook_errors["/hooks/T000/B000/XXXX"] = (status, body)
    row = queue(Destination(channel=webhook_channel), "test:hook")

    assert delivery.deliver_due() == {"broken": 1}
    assert delivery.deliver_due() == {}  # a broken channel's rows are not claimed

    webhook_channel.refresh_from_db()
    row.refresh_from_db()
    assert webhook_channel.status == Channel.Status.BROKEN
    assert webhook_channel.last_error == f"HTTP {status}: {body}" and webhook_channel.last_error_at
    assert (row.status, row.attempts, row.last_error) == (
        Notification.Status.PENDING,
        0,
        f"HTTP {status}: {body}",
    )

    del slack.webhook_errors["/hooks/T000/B000/XXXX"]
    delivery.repair(webhook_channel)  # fixed: nothing was lost
    assert delivery.deliver_due() == {"sent": 1}
    assert len(slack.posted("/hooks/T000/B000/XXXX")) == 2


def test_a_webhook_refusing_the_payload_fails_the_row_not_the_channel(slack, webhook_channel):
    slack.webhook_errors["/hooks/T000/B000/XXXX"] = (400, "invalid_payload")
    row = queue(Destination(channel=webhook_channel), "test:hook")
    assert delivery.deliver_due() == {"failed": 1}
    row.refresh_from_db()
    webhook_channel.refresh_from_db()
    assert (row.status, row.last_error) == (Notification.Status.FAILED, "HTTP 400: invalid_payload")
    assert webhook_channel.status == Channel.Status.OK


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"slack_channel": "C0GONE"}, "channel_not_found"),
        ({"token_env": "WRONG_TOKEN"}, "invalid_auth"),
        ({"token_env": "UNSET_TOKEN"}, "the environment variable UNSET_TOKEN is not set"),
    ],
)
def test_permanent_web_api_errors_mark_the_channel_broken(slack, team_channel, monkeypatch, change, error):
    monkeypatch.setenv("WRONG_TOKEN", "xoxb-revoked")
    monkeypatch.delenv("UNSET_TOKEN", raising=False)
    Channel.objects.filter(pk=team_channel.pk).update(**change)
    queue(Destination(channel=team_channel), "test:1")

    assert delivery.deliver_due() == {"broken": 1}

    team_channel.refresh_from_db()
    assert (team_channel.status, team_channel.last_error) == (Channel.Status.BROKEN, error)
    assert len(slack.posted()) == (0 if "UNSET" in change.get("token_env", "") else 1)


def test_a_message_slack_refuses_fails_without_retry(slack, team_channel):
    slack.script["/api/chat.postMessage"].append(json_response({"ok": False, "error": "invalid_blocks"}))
    row = queue(Destination(channel=team_channel), "test:1")
    assert delivery.deliver_due() == {"failed": 1}
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Notification.Status.FAILED, "invalid_blocks")


def test_a_short_429_is_waited_for_within_the_call(slack, team_channel):
    slack.script["/api/chat.postMessage"].append(
        json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
    )
    row = queue(Destination(channel=team_channel), "test:1")

    started = time.monotonic()
    assert delivery.deliver_due() == {"sent": 1}
    assert time.monotonic() - started >= 1  # slack_sdk's RateLimitErrorRetryHandler slept Retry-After
    assert len(slack.posted()) == 2
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Notification.Status.SENT, 1)


def test_a_long_429_reschedules_the_row_at_retry_after(slack, team_channel):
    slack.script["/api/chat.postMessage"].append(
        json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "120"})
    )
    now = timezone.now()
    row = queue(Destination(channel=team_channel), "test:1", now=now)

    assert delivery.deliver_due(now=now) == {"retry": 1}

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Notification.Status.PENDING, 1, "ratelimited")
    assert row.next_attempt_at == now + timedelta(seconds=120)
    assert delivery.deliver_due(now=now + timedelta(seconds=119)) == {}
    assert delivery.deliver_due(now=now + timedelta(seconds=120)) == {"sent": 1}
    assert len(slack.posted()) == 2


def test_server_errors_are_retried_with_backoff_a_bounded_number_of_times(slack, team_channel, settings):
    notify_settings(settings, MAX_ATTEMPTS=2, RETRY_BASE_SECONDS=60)
    for _ in range(6):  # slack_sdk retries a 503 twice within each call
        slack.script["/api/chat.postMessage"].append(Response("upstream unavailable", status=503))
    now = timezone.now()
    row = queue(Destination(channel=team_channel), "test:1", now=now)

    assert delivery.deliver_due(now=now) == {"retry": 1}
    row.refresh_from_db()
    assert row.next_attempt_at == now + timedelta(seconds=60) and len(slack.posted()) == 3
    assert delivery.deliver_due(now=now + timedelta(seconds=60)) == {"failed": 1}

    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED and row.attempts == 2
    assert row.last_error.startswith("gave up after 2 attempts: ")
    assert len(slack.posted()) == 6


def test_a_worker_killed_between_claim_and_send_loses_nothing(slack, team_channel, settings):
    notify_settings(settings, CLAIM_TIMEOUT=300)
    now = timezone.now()
    for i in range(3):
        queue(Destination(channel=team_channel), f"test:{i}", now=now)

    claimed = delivery.claim("worker-a:killed", 10, now)  # ... and the worker dies here
    assert len(claimed) == 3
    assert delivery.claim("worker-b", 10, now) == []  # claimed rows are nobody else's
    assert delivery.deliver_due(now=now + timedelta(seconds=299)) == {}

    assert delivery.deliver_due(now=now + timedelta(seconds=301)) == {"sent": 3}
    assert slack.counts_by_key() == {"test:0": 1, "test:1": 1, "test:2": 1}
    assert set(Notification.objects.values_list("status", "attempts")) == {(Notification.Status.SENT, 2)}


def test_a_worker_killed_after_sending_causes_at_most_one_resend(slack, team_channel):
    now = timezone.now()
    queue(Destination(channel=team_channel), "test:sent-then-killed", now=now)
    [row] = delivery.claim("worker-a:killed", 10, now)
    assert delivery.send(row).outcome == Outcome.SENT  # posted; killed before recording it

    assert delivery.deliver_due(now=now + timedelta(seconds=301)) == {"sent": 1}
    assert delivery.deliver_due(now=now + timedelta(days=1)) == {}
    assert slack.counts_by_key() == {"test:sent-then-killed": 2}
    # the dead worker's late result (had it come back) no longer counts: the claim is someone else's
    assert delivery.record(row, delivery.send(row)) == "sent"
    assert Notification.objects.get().claimed_by != row.claimed_by


def test_an_alert_whose_finding_resolved_is_cancelled_and_a_snoozed_one_waits(
    catalog, team, slack, team_channel
):
    project = catalog.project("fraud-model", owner=team)
    now = timezone.now()
    resolved = catalog.finding(project, "stale-code", resolved_at=now)
    snoozed = catalog.finding(project, "no-ci", snoozed_until=now + timedelta(days=3))
    queue(Destination(channel=team_channel), f"alert:{resolved.pk}", kind="alert", finding=resolved, now=now)
    row = queue(
        Destination(channel=team_channel), f"alert:{snoozed.pk}", kind="alert", finding=snoozed, now=now
    )

    assert delivery.deliver_due(now=now) == {"cancelled": 1, "postponed": 1}

    assert slack.posted() == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (
        Notification.Status.PENDING,
        0,
        snoozed.snoozed_until,
    )
    assert delivery.deliver_due(now=snoozed.snoozed_until + timedelta(seconds=1)) == {"sent": 1}
