"""Snooze and acknowledge from the project page (htmx), who may, the history, and the team's channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Channel, Finding, Project
from tests.auditing import entries, triage_actions

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def finding(member) -> Finding:
    project = Project.objects.get(name="team-model")
    return Finding.objects.create(
        project=project,
        rule="stale-code",
        message="No commit for 200 days.",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def triage(client, finding, **data):
    return client.post(reverse("finding-triage", args=[finding.pk]), data, **HTMX)


def test_an_owner_snoozes_and_acknowledges_with_htmx(client, member, finding):
    client = signed_in(client, member)
    until = (timezone.now() + timedelta(days=10)).date()

    response = triage(client, finding, action="snooze", until=until.isoformat(), reason="retraining in July")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.startswith(f'<div class="triage" id="triage-{finding.pk}">')
    assert f"snoozed until {until:%Y-%m-%d}" in page and "retraining in July" in page
    assert 'value="unsnooze"' in page
    finding.refresh_from_db()
    assert finding.snoozed_until == datetime.combine(until, datetime.min.time(), tzinfo=UTC)
    assert finding.snooze_reason == "retraining in July"

    assert "acknowledged" in triage(client, finding, action="acknowledge").content.decode()
    triage(client, finding, action="unacknowledge")
    triage(client, finding, action="unsnooze")
    finding.refresh_from_db()
    assert finding.snoozed_until is None and finding.acknowledged_at is None
    assert triage_actions(finding) == [
        ("snooze", "member", "portal"),
        ("acknowledge", "member", "portal"),
        ("unacknowledge", "member", "portal"),
        ("unsnooze", "member", "portal"),
    ]
    first = entries(finding)[0]
    assert first.changes_dict == {
        "snoozed_until": ["None", f"{until:%Y-%m-%d} 00:00:00"],
        "snooze_reason": ["", "retraining in July"],
    }
    assert first.actor == member and first.timestamp is not None


def test_an_outsider_may_not_and_anonymous_users_sign_in_first(client, outsider, finding):
    response = triage(client, finding, action="acknowledge")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    response = triage(signed_in(client, outsider), finding, action="acknowledge")
    assert response.status_code == 403
    assert "only the owners of team-model or staff can triage its findings" in response.content.decode()
    finding.refresh_from_db()
    assert finding.acknowledged_at is None and entries(finding) == []


def test_staff_may_and_bad_input_is_named(client, staff, finding):
    client = signed_in(client, staff)
    past = triage(client, finding, action="snooze", until="2020-01-01")
    assert past.status_code == 400 and "must be in the future" in past.content.decode()
    missing = triage(client, finding, action="snooze")
    assert missing.status_code == 400 and "until: say until when" in missing.content.decode()
    assert triage(client, finding, action="acknowledge").status_code == 200


def test_without_htmx_the_form_redirects_to_the_project(client, member, finding):
    response = signed_in(client, member).post(
        reverse("finding-triage", args=[finding.pk]), {"action": "acknowledge"}
    )
    assert response.status_code == 302 and response["Location"] == "/projects/default/team-model/"


def test_the_project_page_shows_the_form_to_owners_and_the_history_to_all(client, member, outsider, finding):
    url = reverse("project-detail", args=["default", "team-model"])
    owner_page = signed_in(client, member).get(url).content.decode()
    assert f'hx-post="/findings/{finding.pk}/triage/"' in owner_page
    until = (timezone.now() + timedelta(days=3)).date().isoformat()
    assert triage(client, finding, action="snooze", until=until, reason="x").status_code == 200, "snoozed"

    client.logout()
    other_page = signed_in(client, outsider).get(url).content.decode()
    assert 'hx-post="/findings/' not in other_page
    assert 'id="audit-history"' in other_page
    assert f"member snoozed stale-code until {until}" in " ".join(other_page.split())


def test_the_team_page_shows_its_channel_and_its_last_error(client, member, team, monkeypatch):
    monkeypatch.setenv("PLATFORM_SLACK_TOKEN", "xoxb-secret-value")
    Channel.objects.create(
        team=team,
        token_env="PLATFORM_SLACK_TOKEN",
        slack_channel="C0PLATFORM",
        status=Channel.Status.BROKEN,
        last_error="channel_not_found",
        last_error_at=timezone.now(),
    )
    page = (
        signed_in(client, member)
        .get(reverse("team-detail", args=["default", "ml-platform"]))
        .content.decode()
    )
    assert "<code>C0PLATFORM</code>" in page and "<code>PLATFORM_SLACK_TOKEN</code>" in page
    assert '<span class="tag">set</span>' in page and "xoxb-secret-value" not in page
    assert '<span class="tag tag-error">broken</span>' in page and "channel_not_found" in page
