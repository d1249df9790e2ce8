"""Nags and digests: what is due, to which channel, how often, and their beat entries."""

from __future__ import annotations

import json
from datetime import timedelta

from django_celery_beat.models import PeriodicTask

from catalog.models import Channel, Notification, Severity
from catalog.notifications import delivery, reminders
from tests.conftest import NOW


def texts(notification: Notification) -> list[str]:
    found = []
    for block in notification.payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
        found += [f["text"] for f in block.get("fields", [])]
    return found


def test_a_nag_lists_old_findings_once_per_period(catalog, team, team_channel, slack):
    ada = catalog.person("ada", slack_user_id="U0ADA", teams=[team])
    old = catalog.finding(catalog.project("fraud-model", owner=team), "stale-code", age_days=45)
    mine = catalog.finding(catalog.project("ada-notebook", owner=ada), "stale-code", age_days=31)
    catalog.finding(catalog.project("churn-model", owner=team), "stale-code", age_days=10)  # too young
    catalog.finding(catalog.project("acked", owner=team), "stale-code", age_days=90, acknowledged_at=NOW)
    catalog.finding(
        catalog.project("snoozed", owner=team),
        "stale-code",
        age_days=90,
        snoozed_until=NOW + timedelta(days=1),
    )
    catalog.finding(
        catalog.project("noted", owner=team), "no-descriptor", age_days=90, severity=Severity.INFO
    )

    [nag] = reminders.write_nags(NOW)

    assert (nag.kind, nag.channel, nag.dedup_key) == (
        "nag",
        team_channel,
        f"nag:{team_channel.pk}:2025-06-01T12:00",
    )
    blocks = nag.payload["blocks"]
    assert blocks[0]["text"]["text"] == "Reminder: 2 findings open for 30+ days"
    assert [b["block_id"] for b in blocks[1:]] == [
        f"finding:{old.pk}:text",
        f"finding:{old.pk}",
        f"finding:{mine.pk}:text",
        f"finding:{mine.pk}",
    ]
    assert blocks[3]["text"]["text"].endswith("owner user:default/ada · <@U0ADA>")  # told in the team channel
    team_channel.refresh_from_db()
    assert team_channel.next_nag_at == NOW + timedelta(days=7)
    assert reminders.write_nags(NOW + timedelta(days=6)) == []  # not due again yet
    assert len(reminders.write_nags(NOW + timedelta(days=7))) == 1

    assert delivery.deliver_due() == {"sent": 2}
    assert [r.body["channel"] for r in slack.posted()] == ["C0PLATFORM", "C0PLATFORM"]


def test_per_team_nag_periods(catalog, team, team_channel):
    Channel.objects.filter(pk=team_channel.pk).update(nag_after_days=60, nag_every_days=1)
    catalog.finding(catalog.project("fraud-model", owner=team), "stale-code", age_days=45)
    assert reminders.write_nags(NOW) == []
    team_channel.refresh_from_db()
    assert team_channel.next_nag_at == NOW + timedelta(days=1)  # the period moved on all the same
    assert len(reminders.write_nags(NOW + timedelta(days=15))) == 1


def test_two_workers_do_not_both_nag(catalog, team, team_channel, monkeypatch):
    catalog.finding(catalog.project("fraud-model", owner=team), "stale-code", age_days=45)
    rival: list = []
    real_router = reminders.Router

    def router_after_a_rival():
        if not rival:  # another worker nags between this one's read of due channels and its write
            rival.append(None)
            rival.append(reminders.write_nags(NOW))
        return real_router()

    monkeypatch.setattr(reminders, "Router", router_after_a_rival)
    assert reminders.write_nags(NOW) == []
    assert len(rival[1]) == 1 and Notification.objects.filter(kind="nag").count() == 1


def test_the_digest_counts_ranks_and_tells_what_was_fixed(catalog, team, team_channel, fallback):
    fraud = catalog.project("fraud-model", owner=team)
    catalog.finding(fraud, "stale-code", age_days=100)
    catalog.finding(fraud, "no-owner", severity=Severity.ERROR, age_days=5)
    catalog.finding(catalog.project("churn-model", owner=team), "stale-code", age_days=50)
    catalog.finding(catalog.project("muted", owner=team), "stale-code", snoozed_until=NOW + timedelta(days=1))
    catalog.finding(fraud, "ci-failing", resolved_at=NOW - timedelta(days=2))
    catalog.finding(fraud, "no-ci", resolved_at=NOW - timedelta(days=20))  # before the last digest
    catalog.finding(catalog.project("nobodys"), "stale-code")  # the fallback's
    Channel.objects.filter(pk=team_channel.pk).update(last_digest_at=NOW - timedelta(days=7))
    team_channel.refresh_from_db()

    digest = reminders.write_digest(team_channel, NOW)

    assert (digest.kind, digest.dedup_key) == ("digest", f"digest:{team_channel.pk}:2025-06-01")
    shown = texts(digest)
    assert shown[0] == "Maintenance digest: ML Platform"
    assert shown[1] == "*3* open findings (1 error, 2 warning)"
    assert shown[2:5] == ["*By rule*", "`stale-code`: 2", "`no-owner`: 1"]
    assert "*Top 3*" in shown
    tops = [t for t in shown if t.startswith(":")]
    assert [t.split("|")[1].split(">")[0] for t in tops] == ["fraud-model", "fraud-model", "churn-model"]
    assert "`no-owner`" in tops[0]
    assert shown[-1] == "*Fixed since 2025-05-25:* 1 — fraud-model (`ci-failing`)"
    team_channel.refresh_from_db()
    assert team_channel.last_digest_at == NOW
    assert reminders.write_digest(team_channel, NOW + timedelta(hours=1)) is None  # once a day at most

    other = reminders.write_digest(fallback, NOW)
    assert texts(other)[1] == "*1* open finding (1 warning)"


def test_each_channel_gets_a_digest_entry_on_its_crontab(team, team_channel):
    entry = PeriodicTask.objects.get(name=f"digest of channel {team_channel.pk}")
    assert entry.task == "catalog.notifications.tasks.send_digest" and json.loads(entry.args) == [
        team_channel.pk
    ]
    crontab = entry.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, str(crontab.timezone)) == (
        "0",
        "9",
        "1",
        "UTC",
    )
    assert PeriodicTask.objects.filter(name__in=["deliver notifications", "send nags"]).count() == 2

    team_channel.digest_crontab = "30 8 * * 5"
    team_channel.digest_enabled = False
    team_channel.save()
    entry.refresh_from_db()
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week, entry.enabled) == (
        "30",
        "8",
        "5",
        False,
    )
    team_channel.delete()
    assert not PeriodicTask.objects.filter(name=entry.name).exists()
