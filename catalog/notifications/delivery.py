"""Delivering the outbox: claim due notifications, send each once, record what happened.

A worker claims rows with a conditional UPDATE (pending -> sending, with its claim token), so two
workers never send the same row; on PostgreSQL the candidates are first locked with ``FOR UPDATE SKIP
LOCKED`` so workers do not queue behind each other. A row still ``sending`` after ``CLAIM_TIMEOUT`` seconds
(its worker died between claim and send, or mid-send) is claimed again: it is re-sent at most once per such
death, and never lost. Results (``transport.Outcome``): sent; retried later with exponential backoff (or
Slack's ``Retry-After``) up to ``MAX_ATTEMPTS`` attempts, then failed; failed; or the channel is marked
broken and the row waits, uncounted, until the channel is repaired. An alert whose finding was resolved is
cancelled, and one whose finding is snoozed waits until the snooze ends.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Channel, Notification
from catalog.notifications import registry
from catalog.notifications.slack.transport import Outcome, SendResult

logger = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=6)


def _setting(name: str):
    return settings.PORTAL["NOTIFY"][name]


def claim_token() -> str:
    """A token unique to one delivery run: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def due(now: datetime) -> Q:
    stale = now - timedelta(seconds=_setting("CLAIM_TIMEOUT"))
    return Q(status=Notification.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=stale
    )


def deliverable() -> Q:
    """Rows for a direct message, or for an enabled channel that is not broken."""
    return Q(channel__isnull=True) | Q(channel__enabled=True, channel__status=Channel.Status.OK)


def claim(token: str, limit: int, now: datetime) -> list[Notification]:
    """Claim up to ``limit`` due notifications for ``token`` and return them (oldest due first)."""
    candidates = Notification.objects.filter(due(now), deliverable()).order_by("next_attempt_at", "pk")
    claimed = {
        "status": Notification.Status.SENDING,
        "claimed_at": now,
        "claimed_by": token,
        "attempts": F("attempts") + 1,
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            locked = candidates.select_for_update(skip_locked=True, of=("self",)).only("pk")[:limit]
            ids = [row.pk for row in locked]
            Notification.objects.filter(pk__in=ids).update(**claimed)
    else:
        ids = []
        for pk, status, claimed_at in candidates.values_list("pk", "status", "claimed_at")[: limit * 4]:
            # The row must still be as read: pending, or sending under the same stale claim.
            unchanged = Q(status=status, claimed_at=claimed_at) if claimed_at else Q(status=status)
            if Notification.objects.filter(unchanged, due(now), pk=pk).update(**claimed):
                ids.append(pk)
                if len(ids) == limit:
                    break
    rows = Notification.objects.filter(pk__in=ids, claimed_by=token).select_related(
        "channel__team", "person", "finding"
    )
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.pk))


def deliver_due(*, limit: int = 500, batch: int = 10, now: datetime | None = None) -> Counter:
    """Claim and deliver due notifications until none is due or ``limit`` were handled.

    Returns a Counter of outcomes (``sent``, ``retry``, ``failed``, ``broken``, ``cancelled``,
    ``postponed``). ``now`` (aware UTC) fixes the clock, for tests; by default each batch reads it.
    """
    token = claim_token()
    outcomes: Counter = Counter()
    while outcomes.total() < limit:
        rows = claim(token, min(batch, limit - outcomes.total()), now or timezone.now())
        if not rows:
            break
        for row in rows:
            outcomes[deliver_claimed(row, now=now)] += 1
    return outcomes


def deliver_claimed(row: Notification, *, now: datetime | None = None) -> str:
    """Send one claimed notification and record the result; returns what happened."""
    now = now or timezone.now()
    mine = Notification.objects.filter(
        pk=row.pk, status=Notification.Status.SENDING, claimed_by=row.claimed_by
    )
    if row.kind == Notification.Kind.ALERT and row.dedup_key.startswith("alert:"):
        finding = row.finding
        if finding is None or finding.resolved_at is not None:
            mine.update(
                status=Notification.Status.CANCELLED, last_error="the finding was resolved or deleted"
            )
            return "cancelled"
        if finding.snoozed_until is not None and finding.snoozed_until > now:
            mine.update(
                status=Notification.Status.PENDING,
                next_attempt_at=finding.snoozed_until,
                attempts=F("attempts") - 1,
            )
            return "postponed"
    return record(row, send(row), now=now)


def send(row: Notification) -> SendResult:
    """Send ``row``'s payload to its destination (no database write)."""
    return registry.send(registry.target_of(row), row.payload)


def record(row: Notification, result: SendResult, *, now: datetime | None = None) -> str:
    """Record ``result`` on ``row`` if this run still holds its claim; returns the outcome's name."""
    now = now or timezone.now()
    mine = Notification.objects.filter(
        pk=row.pk, status=Notification.Status.SENDING, claimed_by=row.claimed_by
    )
    outcome = result.outcome
    if outcome == Outcome.SENT:
        updated = mine.update(
            status=Notification.Status.SENT, sent_at=now, response=result.response, last_error=""
        )
    elif outcome == Outcome.BROKEN and row.channel_id is not None:
        Channel.objects.filter(pk=row.channel_id).update(
            status=Channel.Status.BROKEN, last_error=result.error, last_error_at=now
        )
        logger.warning("channel %s is broken: %s", row.channel, result.error)
        # The row waits for the channel's repair; this attempt does not count against it.
        updated = mine.update(
            status=Notification.Status.PENDING, last_error=result.error, attempts=F("attempts") - 1
        )
    elif outcome == Outcome.RETRY and row.attempts < _setting("MAX_ATTEMPTS"):
        backoff = timedelta(seconds=_setting("RETRY_BASE_SECONDS") * 2 ** max(0, row.attempts - 1))
        wait = max(backoff, timedelta(seconds=result.retry_after or 0))
        updated = mine.update(
            status=Notification.Status.PENDING,
            next_attempt_at=now + min(wait, MAX_BACKOFF),
            last_error=result.error,
        )
    else:
        error = (
            result.error
            if outcome != Outcome.RETRY
            else f"gave up after {row.attempts} attempts: {result.error}"
        )
        updated = mine.update(status=Notification.Status.FAILED, last_error=error)
        outcome = Outcome.FAILED
    if not updated:
        logger.warning(
            "notification %s: the claim was taken over before its result was recorded", row.dedup_key
        )
    return str(outcome)


def repair(channel: Channel) -> None:
    """Mark ``channel`` working again (after a successful test): its waiting notifications go out."""
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.OK, last_error="")
    channel.status, channel.last_error = Channel.Status.OK, ""
