"""manage.py notify [--dry-run] [--digests] and manage.py slack_test --team."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Channel, Notification
from catalog.notifications import outbox


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def queued(catalog, team, team_channel, slack):
    finding = catalog.finding(
        catalog.project("fraud-model", owner=team), "stale-code", first_seen_at=timezone.now()
    )
    catalog.finding(catalog.project("churn-model", owner=team), "stale-code", age_days=3000)  # nag-worthy
    [alert] = outbox.announce([finding], now=timezone.now())
    return alert


def test_dry_run_prints_what_would_go_to_whom_and_changes_nothing(queued, team_channel, slack):
    printed = run("notify", "--dry-run", "--digests").splitlines()

    assert printed[0] == (
        f"alert {queued.dedup_key} -> C0PLATFORM (ml-platform): "
        "Needs maintenance: fraud-model: stale-code holds for fraud-model."
    )
    assert printed[1].startswith(f"nag nag:{team_channel.pk}:") and printed[1].endswith(
        "-> C0PLATFORM (ml-platform): Reminder: 1 finding open for 30+ days"
    )
    assert printed[2].startswith(f"digest digest:{team_channel.pk}:")
    assert printed[2].endswith(": Maintenance digest: ML Platform: 2 open, 0 fixed")
    assert printed[3] == (
        "dry run: 3 message(s) would be sent now, 0 held by a broken or disabled channel; "
        "0 more wait for a retry or a snooze to end"
    )
    assert Notification.objects.count() == 1 and slack.received == []
    team_channel.refresh_from_db()
    assert team_channel.next_nag_at is None and team_channel.last_digest_at is None


@pytest.mark.parametrize("change", [{"status": Channel.Status.BROKEN}, {"enabled": False}])
def test_dry_run_marks_rows_held_by_a_broken_channel_and_does_not_count_them(queued, team_channel, change):
    Channel.objects.filter(pk=team_channel.pk).update(**change)
    printed = run("notify", "--dry-run", "--digests").splitlines()
    assert printed[0].startswith(f"alert {queued.dedup_key} -> C0PLATFORM (ml-platform) [held: the channel")
    # A broken channel gets no nag; its digest would be written but held (a disabled one gets none).
    held = 2 if change.get("status") else 1
    assert all("[held: the channel is broken or disabled]" in line for line in printed[:-1])
    assert printed[-1] == (
        f"dry run: 0 message(s) would be sent now, {held} held by a broken or disabled channel; "
        "0 more wait for a retry or a snooze to end"
    )


def test_notify_writes_and_delivers(queued, slack):
    assert run("notify", "--digests") == "1 nag(s) and 1 digest(s) written; delivered: 3 sent\n"
    assert sorted(r.dedup_key.split(":")[0] for r in slack.posted()) == ["alert", "digest", "nag"]
    assert run("notify") == "0 nag(s) and 0 digest(s) written; delivered: nothing due\n"


def test_slack_test_sends_and_repairs_a_broken_channel(team_channel, slack):
    Channel.objects.filter(pk=team_channel.pk).update(status=Channel.Status.BROKEN, last_error="invalid_auth")

    printed = run("slack_test", "--team", "group:default/ml-platform")

    assert printed.startswith("sent to C0PLATFORM (ml-platform): {'channel': 'C0PLATFORM', 'ts': ")
    [request] = slack.posted()
    assert request.body["channel"] == "C0PLATFORM"
    assert request.body["blocks"][0]["text"]["text"] == "ML portal: test message"
    team_channel.refresh_from_db()
    assert (team_channel.status, team_channel.last_error) == (Channel.Status.OK, "")


def test_slack_test_reports_and_records_a_permanent_error(team_channel, slack, catalog):
    Channel.objects.filter(pk=team_channel.pk).update(slack_channel="C0GONE")
    with pytest.raises(CommandError, match=r"C0GONE \(ml-platform\): broken: channel_not_found"):
        run("slack_test", "--team", "ml-platform")
    team_channel.refresh_from_db()
    assert (team_channel.status, team_channel.last_error) == (Channel.Status.BROKEN, "channel_not_found")
    with pytest.raises(CommandError, match="team 'nobody' does not exist: give a team's name"):
        run("slack_test", "--team", "nobody")
    catalog.team("research")
    with pytest.raises(CommandError, match="team 'research' has no channel: add one in the admin"):
        run("slack_test", "--team", "group:default/Research")
    with pytest.raises(CommandError, match="no fallback channel"):
        run("slack_test", "--fallback")


def test_a_retry_waiting_is_counted_apart(queued):
    Notification.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert (
        run("notify", "--dry-run").splitlines()[-1].endswith("; 1 more wait for a retry or a snooze to end")
    )
