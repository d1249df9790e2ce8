"""Alerts in the outbox: written with the finding, routed, never twice, quiet, and in Block Kit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.models import Channel, Finding, Notification, Severity
from catalog.notifications import outbox
from catalog.rules import evaluate
from catalog.rules.evaluate import evaluate_rules
from tests.conftest import NOW
from tests.notifications.conftest import notify_settings


def stale_project(catalog, name: str, *, days: int = 200, **fields):
    project = catalog.project(name, **fields)
    project.repository.last_commit_at = NOW - timedelta(days=days)
    project.repository.save(update_fields=["last_commit_at"])
    return project


def alerts() -> list[Notification]:
    return list(Notification.objects.filter(kind=Notification.Kind.ALERT).order_by("pk"))


def test_an_opened_finding_writes_one_alert_in_block_kit(catalog, team, team_channel):
    project = stale_project(catalog, "fraud-model", owner=team)

    evaluate_rules(now=NOW, codes=["stale-code"])

    finding = Finding.objects.get(rule="stale-code")
    [alert] = alerts()
    assert (alert.dedup_key, alert.channel, alert.person, alert.finding) == (
        f"alert:{finding.pk}",
        team_channel,
        None,
        finding,
    )
    assert alert.status == Notification.Status.PENDING and alert.topic == f"stale-code:project:{project.pk}"
    url = "http://127.0.0.1:8000/projects/default/fraud-model/"
    header, section, actions = alert.payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Needs maintenance: fraud-model", "emoji": True},
    }
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    lines = section["text"]["text"].split("\n")
    assert lines[0] == f":large_yellow_circle: *<{url}|fraud-model>* · `stale-code` · warning"
    assert lines[1] == finding.message.replace("&", "&amp;")
    assert "_last commit_ 2024-11-13" in lines[2]  # the evidence, dates as days
    assert lines[3] == "open since 2025-06-01 · owner group:default/ml-platform"
    assert actions == {
        "type": "actions",
        "block_id": f"finding:{finding.pk}",
        "elements": [
            {
                "type": "button",
                "action_id": "snooze",
                "text": {"type": "plain_text", "text": "Snooze 30 days"},
                "value": str(finding.pk),
            },
            {
                "type": "button",
                "action_id": "claim",
                "style": "primary",
                "text": {"type": "plain_text", "text": "I'll take it"},
                "value": str(finding.pk),
            },
            {
                "type": "button",
                "action_id": "open",
                "text": {"type": "plain_text", "text": "Open"},
                "url": url,
                "value": str(finding.pk),
            },
        ],
    }
    assert alert.payload["text"].startswith("Needs maintenance: fraud-model: No commit on main for 200 days")
    assert alert.payload["metadata"] == {
        "event_type": "portal_notification",
        "event_payload": {"kind": "alert", "dedup_key": f"alert:{finding.pk}"},
    }

    evaluate_rules(now=NOW + timedelta(hours=1), codes=["stale-code"])  # seen again: nothing new
    assert len(alerts()) == 1


def test_the_alert_is_written_in_the_findings_transaction(catalog, team, team_channel, monkeypatch):
    stale_project(catalog, "fraud-model", owner=team)

    def announce_then_fail(findings, *, now):
        written = outbox.announce(findings, now=now)
        assert written
        raise RuntimeError("the database went away")

    monkeypatch.setattr(evaluate, "announce", announce_then_fail)
    with pytest.raises(RuntimeError):
        evaluate_rules(now=NOW, codes=["stale-code"])
    assert not Finding.objects.exists() and not Notification.objects.exists()


def test_routing_person_team_parent_and_fallback(catalog, team, team_channel, fallback):
    ada = catalog.person("ada", slack_user_id="U0ADA")
    bob = catalog.person("bob", teams=[team])  # no Slack id: his team's channel
    child = catalog.team("ml-fraud", parent=team)  # no channel: its parent's
    stale_project(catalog, "ada-notebook", owner=ada)
    stale_project(catalog, "bob-notebook", owner=bob)
    stale_project(catalog, "fraud-model", owner=child)
    stale_project(catalog, "nobodys")
    catalog.finding(catalog.registered_model("orphan"), "orphan-model", first_seen_at=NOW)

    evaluate_rules(now=NOW, codes=["stale-code"])
    outbox.announce(Finding.objects.filter(rule="orphan-model"), now=NOW)

    routed = {
        (n.finding.subject.name): (n.channel.slack_channel if n.channel else n.person.slack_user_id)
        for n in Notification.objects.select_related("finding", "channel", "person")
    }
    assert routed == {
        "ada-notebook": "U0ADA",
        "bob-notebook": "C0PLATFORM",
        "fraud-model": "C0PLATFORM",
        "nobodys": "#ml-portal",
        "orphan": "#ml-portal",
    }


def test_nothing_is_written_without_channels_or_below_the_severity(catalog, team, settings):
    stale_project(catalog, "fraud-model", owner=team)
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert not Notification.objects.exists()  # no channel configured

    Channel.objects.create(team=team, token_env="PLATFORM_SLACK_TOKEN", slack_channel="C0PLATFORM")
    notify_settings(settings, ALERT_MIN_SEVERITY="error")
    stale_project(catalog, "churn-model", owner=team)
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert not Notification.objects.exists()  # stale-code is a warning


def test_a_finding_that_opens_again_stays_quiet_within_the_quiet_period(catalog, team, team_channel):
    project = stale_project(catalog, "fraud-model", owner=team)
    evaluate_rules(now=NOW, codes=["stale-code"])
    repository = project.repository

    def flap(at, last_commit_days_ago):
        repository.last_commit_at = at - timedelta(days=last_commit_days_ago)
        repository.save(update_fields=["last_commit_at"])
        evaluate_rules(now=at, codes=["stale-code"])

    flap(NOW + timedelta(days=1), 1)  # a commit: resolved
    flap(NOW + timedelta(days=2), 100)  # stale again, a new finding, within the 7-day quiet period
    assert Finding.objects.filter(rule="stale-code").count() == 2
    assert len(alerts()) == 1

    flap(NOW + timedelta(days=3), 1)
    flap(NOW + timedelta(days=9), 100)  # past the quiet period: announced
    assert len(alerts()) == 2


def test_a_finding_is_announced_once_however_often_asked(catalog, team, team_channel):
    finding = catalog.finding(catalog.project("fraud-model", owner=team), "stale-code", first_seen_at=NOW)
    outbox.announce([finding], now=NOW)
    outbox.announce([finding], now=NOW + timedelta(days=30))
    assert len(alerts()) == 1


def test_a_snoozed_finding_whose_severity_rises_is_not_announced(catalog, team, team_channel):
    project = catalog.project("fraud-model", owner=team)
    finding = catalog.finding(project, "stale-code", snoozed_until=NOW + timedelta(days=3))
    finding.severity = Severity.ERROR
    assert outbox.announce([finding], now=NOW) == []


def test_alerts_over_the_per_run_limit_share_one_summary(catalog, team, team_channel, settings):
    notify_settings(settings, ALERTS_PER_RUN=3)
    for i in range(5):
        stale_project(catalog, f"project-{i}", owner=team, days=100 + i)

    evaluate_rules(now=NOW, codes=["stale-code"])

    written = alerts()
    assert [n.dedup_key.split(":")[0] for n in written].count("alert") == 3
    [summary] = [n for n in written if n.dedup_key.startswith("alert-summary:")]
    assert summary.payload["blocks"][0]["text"]["text"] == "2 more findings need maintenance"
    assert len(summary.payload["blocks"]) == 3  # header and the two findings, without buttons
    # the most severe first, then the oldest findings, then in the order they were written
    assert [n.finding.project.name for n in written if n.finding] == ["project-0", "project-1", "project-2"]
