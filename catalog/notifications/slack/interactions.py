"""``POST /slack/interactions``: the buttons of our messages (Slack's ``block_actions`` payloads).

The view verifies the request (``X-Slack-Signature``: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``
with the signing secret, through ``slack_sdk.signature.SignatureVerifier``, compared in constant time;
``X-Slack-Request-Timestamp`` at most 5 minutes from the server's clock), refuses a request seen before
(its signature is kept as a WebhookDelivery, provider ``slack``), queues the action as a Celery task and
answers 200 at once, well within Slack's 3 seconds. The task does the action as the portal user mapped
from the Slack user id (``Person.slack_user_id``), through the same domain functions as the pages and the
API (``triage.snooze``, ``triage.acknowledge``, ``ownership.set_owner``), and updates the message through
``response_url``. Actions are idempotent: snoozing a snoozed finding or taking a finding one already has
changes nothing. Spec: https://docs.slack.dev/authentication/verifying-requests-from-slack,
https://docs.slack.dev/interactivity/handling-user-interaction, block_actions payload reference.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from catalog import ownership, triage
from catalog.models import Finding, Person, Project, WebhookDelivery
from catalog.notifications.slack import blocks
from catalog.notifications.slack.transport import SendResult, post_json, read_secret

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW = 5 * 60  # seconds, as Slack recommends
ACTIONS = (blocks.SNOOZE, blocks.CLAIM, blocks.OPEN)


# Slack's documented shapes: a Unix time in seconds, and "v0=" with a hex HMAC-SHA256. Anything else is
# refused before it reaches int(), float arithmetic, hmac.compare_digest (which raises on non-ASCII str)
# or the database.
TIMESTAMP_SHAPE = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE_SHAPE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)
FINDING_ID_SHAPE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)  # fits a 64-bit primary key
SLACK_ID_SHAPE = re.compile(r"[A-Z0-9]{1,32}", re.ASCII)  # U024BE7LH, W0123...


def signature_problem(secret: str, body: bytes, headers, now: float | None = None) -> str | None:
    """Why the request's signature fails, or None when it is Slack's. ``now`` is Unix time (default now).

    Any header value is safe here: huge, signed, non-ASCII or non-decimal values are reasons, not errors.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return "X-Slack-Request-Timestamp and X-Slack-Signature are required"
    if not TIMESTAMP_SHAPE.fullmatch(timestamp):
        return f"X-Slack-Request-Timestamp {timestamp[:20]!r} is not a Unix time in seconds"
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_CLOCK_SKEW:
        return "X-Slack-Request-Timestamp is more than 5 minutes from the server's clock"
    if not SIGNATURE_SHAPE.fullmatch(signature):
        return "X-Slack-Signature is not of the form v0=<64 hex digits>"
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        return "X-Slack-Signature does not match the body"
    return None


def first_receipt(signature: str, now: datetime) -> bool:
    """Record a verified request's signature; False when it was received before (a replay)."""
    retention = timedelta(days=settings.PORTAL["WEBHOOK_DELIVERY_RETENTION_DAYS"])
    WebhookDelivery.objects.filter(provider="slack", received_at__lt=now - retention).delete()
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                provider="slack", delivery_id=signature[:128], event="block_actions", received_at=now
            )
    except IntegrityError:
        return False
    return True


def parse_actions(payload: dict) -> dict:
    """The parts of a ``block_actions`` payload the task needs; raises ValueError naming what is wrong."""
    user = payload.get("user")
    actions = payload.get("actions")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise ValueError("user.id is missing")
    if not SLACK_ID_SHAPE.fullmatch(user["id"]):
        raise ValueError("user.id is not a Slack user id")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise ValueError("actions is missing or empty")
    action = actions[0]
    if action.get("action_id") not in ACTIONS:
        raise ValueError(f"actions[0].action_id {action.get('action_id')!r} is not one of ours")
    value = action.get("value")
    if not isinstance(value, str) or not FINDING_ID_SHAPE.fullmatch(value):
        raise ValueError("actions[0].value is not a finding id")
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    return {
        "user_id": user["id"],
        "action_id": action["action_id"],
        "finding_id": int(action["value"]),
        "response_url": payload.get("response_url") if isinstance(payload.get("response_url"), str) else "",
        "message": {"text": message.get("text", ""), "blocks": message.get("blocks") or []},
    }


@csrf_exempt
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    """Verify and queue one interaction; 200 with no body once queued (Slack shows nothing more)."""
    env_name = settings.PORTAL["NOTIFY"]["SLACK_SIGNING_SECRET_ENV"]
    secret = read_secret(env_name)
    if secret is None:
        return JsonResponse({"error": f"Slack interactions are off: {env_name} is not set"}, status=503)
    problem = signature_problem(secret, request.body, request.headers)
    if problem:
        logger.warning("Slack interaction refused: %s", problem)
        return JsonResponse({"error": problem}, status=401)
    if not first_receipt(request.headers["X-Slack-Signature"], timezone.now()):
        return JsonResponse({"error": "this request was received before (a replay)"}, status=409)
    try:
        payload = json.loads(request.POST.get("payload", ""))
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        if payload.get("type") != "block_actions":
            return HttpResponse(status=200)  # other interaction types are not ours to handle
        job = parse_actions(payload)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return JsonResponse({"error": f"the block_actions payload is not as documented: {exc}"}, status=400)
    if job["action_id"] != blocks.OPEN:  # Open is a link: Slack opens it, there is nothing to do here
        from catalog.notifications.tasks import handle_slack_action

        transaction.on_commit(lambda: handle_slack_action.delay(job))
    return HttpResponse(status=200)


@dataclass(frozen=True)
class Reply:
    """What the clicker sees: ``note`` replaces the finding's buttons (``replace``) or is shown only to
    them (ephemeral)."""

    note: str
    replace: bool = True


def perform(job: dict, now: datetime | None = None) -> SendResult | None:
    """Do ``job`` (from ``parse_actions``) and update the message; returns what ``response_url`` said."""
    reply = act(job["action_id"], job["finding_id"], job["user_id"], now or timezone.now())
    if not job["response_url"]:
        return None
    if reply.replace:
        body = {
            "replace_original": True,
            "text": job["message"]["text"],
            "blocks": blocks.replace_actions(job["message"]["blocks"], job["finding_id"], reply.note),
        }
    else:
        body = {"response_type": "ephemeral", "replace_original": False, "text": reply.note}
    result = post_json(job["response_url"], body, channel_statuses=frozenset())
    if result.error:
        logger.warning("updating the Slack message failed: %s", result.error)
    return result


def act(action_id: str, finding_id: int, slack_user_id: str, now: datetime) -> Reply:
    """Snooze or take finding ``finding_id`` as the portal user of ``slack_user_id``."""
    person = Person.objects.select_related("user").filter(slack_user_id=slack_user_id).first()
    if person is None or person.user is None or not person.user.is_active:
        return Reply(
            f"Your Slack account ({slack_user_id}) is not linked to a portal user: set your Slack user id "
            "on your person in the portal, then try again.",
            replace=False,
        )
    finding = (
        Finding.objects.select_related("project__owner_team", "registered_model__project", "team")
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        return Reply(f"Finding {finding_id} no longer exists.")
    if finding.resolved_at is not None:
        return Reply(f":white_check_mark: Resolved on {finding.resolved_at:%Y-%m-%d}: nothing left to do.")
    try:
        with transaction.atomic():
            if action_id == blocks.SNOOZE:
                return snooze(finding, person, now)
            return take(finding, person, now)
    except PermissionDenied as exc:
        return Reply(f"You cannot do that: {exc}", replace=False)
    except ValidationError as exc:
        return Reply(f"Not done: {'; '.join(exc.messages)}", replace=False)


def snooze(finding: Finding, person: Person, now: datetime) -> Reply:
    mention = f"<@{person.slack_user_id}>"
    if finding.snoozed_until is not None and finding.snoozed_until > now:
        return Reply(f":zzz: Snoozed until {finding.snoozed_until:%Y-%m-%d}.")
    days = settings.PORTAL["NOTIFY"]["SNOOZE_DAYS"]
    until = now + timedelta(days=days)
    triage.snooze(finding, by=person.user, until=until, reason="snoozed from Slack", now=now, via="slack")
    return Reply(f":zzz: Snoozed for {days} days by {mention}, until {until:%Y-%m-%d}.")


def take(finding: Finding, person: Person, now: datetime) -> Reply:
    """Claim the finding's project for ``person`` where the portal may (a project with no owner), and
    acknowledge the finding as theirs. A project owned by them or their team stays as it is."""
    project: Project | None = finding.project
    if project is None and finding.registered_model_id is not None:
        project = finding.registered_model.project
    notes = []
    if project is not None and not owned_by(project, person):
        if project.owner_team_id is None and project.owner_person_id is None:
            ownership.set_owner(project, person, by=person.user, via="slack")
            notes.append(f"{project} is now owned by {person}")
        else:
            notes.append(f"{project} stays with its owner {project.owner_ref}")
    if finding.acknowledged_at is None:
        triage.acknowledge(finding, by=person.user, now=now, via="slack")
    elif finding.acknowledged_by_id != person.user.pk:
        notes.append(f"already taken by {finding.acknowledged_by} on {finding.acknowledged_at:%Y-%m-%d}")
        return Reply(f":raising_hand: {'; '.join(notes)}.")
    return Reply(
        f":raising_hand: <@{person.slack_user_id}> took it" + (f"; {'; '.join(notes)}." if notes else ".")
    )


def owned_by(project: Project, person: Person) -> bool:
    if project.owner_person_id is not None:
        return project.owner_person_id == person.pk
    return project.owner_team_id is not None and person.teams.filter(pk=project.owner_team_id).exists()
