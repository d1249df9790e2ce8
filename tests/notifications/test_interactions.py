"""``POST /slack/interactions``: signatures (good, bad, stale, replayed), idempotent actions, updates."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from catalog.models import Finding, Project, WebhookDelivery
from catalog.notifications import tasks
from catalog.notifications.slack import blocks
from tests.auditing import entries, triage_actions
from tests.notifications.conftest import SIGNING_SECRET

URL = "/slack/interactions"
CLICKS = itertools.count(1)


def block_actions(finding: Finding, action_id: str, *, user_id: str, response_url: str) -> dict:
    """A block_actions payload as Slack sends it for a click on one of our alert's buttons."""
    message = blocks.alert_message(finding, dedup_key=f"alert:{finding.pk}")
    button = next(e for e in message["blocks"][2]["elements"] if e["action_id"] == action_id)
    click = next(CLICKS)  # each click has its own trigger_id and action_ts
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "ada", "name": "ada", "team_id": "T9TK3CUKW"},
        "api_app_id": "A0KRD7HC3",
        "token": "Shh_its_a_seekrit",
        "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": "C0PLATFORM"},
        "trigger_id": f"12321423423.333649436676.{click:032x}",
        "team": {"id": "T9TK3CUKW", "domain": "example"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "C0PLATFORM", "name": "ml-platform"},
        "message": {
            "type": "message",
            "subtype": "bot_message",
            "text": message["text"],
            "ts": "1548261231.000200",
            "bot_id": "BAH5CA16Z",
            "blocks": message["blocks"],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"finding:{finding.pk}",
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": f"1548426417.{click:06d}",
            }
        ],
    }


def signed(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(timestamp), "HTTP_X_SLACK_SIGNATURE": f"v0={digest}"}


def post(client, payload: dict, **headers):
    body = urlencode({"payload": json.dumps(payload)})
    headers = headers or signed(body)
    return client.post(URL, body, content_type="application/x-www-form-urlencoded", **headers)


@pytest.fixture
def ada(catalog, team, django_user_model):
    user = django_user_model.objects.create_user("ada", email="ada@example.com")
    return catalog.person("ada", user=user, slack_user_id="U0ADA", teams=[team])


@pytest.fixture
def stale(catalog, team) -> Finding:
    return catalog.finding(
        catalog.project("fraud-model", owner=team), "stale-code", first_seen_at=timezone.now()
    )


def click(client, slack, finding, action_id, *, user_id="U0ADA", **headers):
    payload = block_actions(
        finding, action_id, user_id=user_id, response_url=slack.url("/respond/T9TK3CUKW/1")
    )
    return post(client, payload, **headers)


def test_snooze_from_slack_updates_the_finding_and_the_message(
    client, slack, ada, stale, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = click(client, slack, stale, "snooze")

    assert response.status_code == 200 and response.content == b""
    stale.refresh_from_db()
    assert stale.snoozed_until - timezone.now() > timedelta(days=29, hours=23)
    assert stale.snooze_reason == "snoozed from Slack"
    assert triage_actions(stale) == [("snooze", ada.user.get_username(), "slack")]
    [update] = slack.posted("/respond/T9TK3CUKW/1")
    assert update.body["replace_original"] is True
    _, section, note = update.body["blocks"]
    assert section["block_id"] == f"finding:{stale.pk}:text"
    assert note["type"] == "context" and note["block_id"] == f"finding:{stale.pk}:done"
    assert note["elements"][0]["text"] == (
        f":zzz: Snoozed for 30 days by <@U0ADA>, until {stale.snoozed_until:%Y-%m-%d}."
    )


def test_the_view_answers_at_once_and_leaves_the_work_to_a_task(
    client, slack, ada, stale, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.handle_slack_action, "delay", queued.append)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = click(client, slack, stale, "claim")
    assert response.status_code == 200 and time.monotonic() - started < 3
    assert queued == [
        {
            "user_id": "U0ADA",
            "action_id": "claim",
            "finding_id": stale.pk,
            "response_url": slack.url("/respond/T9TK3CUKW/1"),
            "message": queued[0]["message"],
        }
    ]
    stale.refresh_from_db()
    assert stale.acknowledged_at is None  # not done yet: the task does it


def test_a_second_click_changes_nothing(client, slack, ada, stale, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, stale, "snooze")
    stale.refresh_from_db()
    until = stale.snoozed_until
    with django_capture_on_commit_callbacks(execute=True):
        assert click(client, slack, stale, "snooze").status_code == 200
    stale.refresh_from_db()
    assert stale.snoozed_until == until and len(entries(stale)) == 1
    assert slack.posted("/respond/T9TK3CUKW/1")[1].body["blocks"][2]["elements"][0]["text"] == (
        f":zzz: Snoozed until {until:%Y-%m-%d}."
    )


def test_ill_take_it_claims_an_unowned_project_and_acknowledges(
    catalog, client, slack, ada, django_capture_on_commit_callbacks
):
    project = catalog.project("nobodys", source=None)
    finding = catalog.finding(project, "no-owner", first_seen_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, finding, "claim")
    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, finding, "claim")  # idempotent

    project.refresh_from_db()
    finding.refresh_from_db()
    assert project.owner_person == ada and project.owner_ref == "user:default/ada"
    assert finding.acknowledged_by == ada.user and finding.acknowledged_at is not None
    assert triage_actions(finding) == [("acknowledge", ada.user.get_username(), "slack")]
    [claim] = [entry for entry in entries(project) if entry.action == entry.Action.UPDATE]
    assert claim.changes_dict["owner_ref"] == ["", "user:default/ada"]
    assert (claim.actor, claim.additional_data["via"]) == (ada.user, "slack")
    first, second = slack.posted("/respond/T9TK3CUKW/1")
    assert first.body["blocks"][2]["elements"][0]["text"] == (
        ":raising_hand: <@U0ADA> took it; nobodys is now owned by ada."
    )
    # The claim re-evaluated the ownership rules: the "no owner" finding is resolved by the second click.
    assert finding.resolved_at is not None
    assert second.body["blocks"][2]["elements"][0]["text"] == (
        f":white_check_mark: Resolved on {finding.resolved_at:%Y-%m-%d}: nothing left to do."
    )


def test_ill_take_it_on_a_team_project_acknowledges_and_keeps_the_owner(
    client, slack, ada, stale, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, stale, "claim")
    stale.refresh_from_db()
    assert stale.acknowledged_by == ada.user
    assert Project.objects.get().owner_team is not None


def test_an_outsider_is_told_privately(
    catalog, client, slack, stale, django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create_user("eve")
    catalog.person("eve", user=user, slack_user_id="U0EVE")
    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, stale, "snooze", user_id="U0EVE")
    with django_capture_on_commit_callbacks(execute=True):
        click(client, slack, stale, "snooze", user_id="U0NOBODY")
    stale.refresh_from_db()
    assert stale.snoozed_until is None and entries(stale) == []
    denied, unknown = (r.body for r in slack.posted("/respond/T9TK3CUKW/1"))
    assert denied["response_type"] == "ephemeral" and denied["replace_original"] is False
    assert denied["text"].startswith("You cannot do that: only the owners of fraud-model or staff")
    assert unknown["text"].startswith("Your Slack account (U0NOBODY) is not linked to a portal user")


def test_a_bad_signature_is_refused(client, slack, ada, stale):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    body = urlencode({"payload": json.dumps(payload)})
    response = post(client, payload, **signed(body, secret="not-the-secret"))
    assert response.status_code == 401
    assert response.json() == {"error": "X-Slack-Signature does not match the body"}
    tampered = signed(urlencode({"payload": json.dumps({**payload, "user": {"id": "U0BOSS"}})}))
    assert post(client, payload, **tampered).status_code == 401
    assert post(client, payload, HTTP_X_SLACK_REQUEST_TIMESTAMP=str(int(time.time()))).status_code == 401
    stale.refresh_from_db()
    assert stale.snoozed_until is None and slack.received == []


def test_a_stale_timestamp_is_refused_even_when_signed(client, slack, ada, stale):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    body = urlencode({"payload": json.dumps(payload)})
    response = post(client, payload, **signed(body, timestamp=int(time.time()) - 6 * 60))
    assert response.status_code == 401
    assert "more than 5 minutes" in response.json()["error"]
    assert post(client, payload, **signed(body, timestamp=int(time.time()) - 4 * 60)).status_code == 200


def test_a_replayed_request_is_refused(client, slack, ada, stale, django_capture_on_commit_callbacks):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    headers = signed(urlencode({"payload": json.dumps(payload)}))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, payload, **headers).status_code == 200
        replay = post(client, payload, **headers)
    assert replay.status_code == 409 and "replay" in replay.json()["error"]
    assert WebhookDelivery.objects.filter(provider="slack").count() == 1
    assert len(entries(stale)) == 1


def test_interactions_are_off_without_a_signing_secret(client, slack, stale, monkeypatch):
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    response = click(client, slack, stale, "snooze")
    assert response.status_code == 503
    assert response.json() == {"error": "Slack interactions are off: SLACK_SIGNING_SECRET is not set"}


def test_a_payload_not_as_documented_is_a_400(client, slack, ada, stale):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    payload["actions"][0]["value"] = "drop table"
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json()["error"].endswith("actions[0].value is not a finding id")
    assert client.get(URL).status_code == 405


@pytest.mark.parametrize(
    ("timestamp", "signature", "error"),
    [
        (
            "9" * 400,
            "v0=" + "0" * 64,
            "X-Slack-Request-Timestamp '99999999999999999999' is not a Unix time in seconds",
        ),
        ("-" + "9" * 400, "v0=abc", None),
        ("1e10", "v0=abc", None),
        ("+1700000000", "v0=abc", None),
        ("1_700_000_000", "v0=abc", None),
        ("\u0661\u0667", "v0=abc", None),  # Arabic-Indic digits: int() would take them
        ("NOW", "v0=abc", None),
        (None, "v0=\u00e9" * 30, "X-Slack-Signature is not of the form v0=<64 hex digits>"),
        (None, "v0=" + "a" * 100_000, "X-Slack-Signature is not of the form v0=<64 hex digits>"),
        (None, "sha256=" + "0" * 64, "X-Slack-Signature is not of the form v0=<64 hex digits>"),
    ],
)
def test_any_header_value_is_a_401_never_a_crash(client, slack, ada, stale, timestamp, signature, error):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    response = post(
        client, payload, HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp, HTTP_X_SLACK_SIGNATURE=signature
    )
    assert response.status_code == 401
    if error is None:
        assert response.json()["error"].endswith("is not a Unix time in seconds")
    else:
        assert response.json() == {"error": error}
    assert WebhookDelivery.objects.filter(provider="slack").count() == 0


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("value", "9" * 400, "actions[0].value is not a finding id"),
        ("value", "\u00b2", "actions[0].value is not a finding id"),  # "²".isdigit() is True
        ("value", 7, "actions[0].value is not a finding id"),
        ("user", {"id": "U0\x00ADA"}, "user.id is not a Slack user id"),
        ("user", {"id": "u" * 400}, "user.id is not a Slack user id"),
    ],
)
def test_a_signed_payload_with_values_out_of_shape_is_a_400(client, slack, ada, stale, field, value, error):
    payload = block_actions(stale, "snooze", user_id="U0ADA", response_url=slack.url("/respond/1"))
    if field == "value":
        payload["actions"][0]["value"] = value
    else:
        payload["user"] = value
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json()["error"] == f"the block_actions payload is not as documented: {error}"
