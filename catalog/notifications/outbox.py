"""The outbox: alerts written as Notification rows in the transaction that opens (or raises) a finding.

A finding is alerted when it opens, or its severity rises, at or above ``PORTAL["NOTIFY"]
["ALERT_MIN_SEVERITY"]`` and it is not snoozed. Never twice: the row's ``dedup_key`` is
``alert:<finding id>`` (unique), and a finding whose rule and subject were alerted within the quiet
period (``QUIET_PERIOD_HOURS``; a finding that resolved and opened again) is not alerted again. At most
``ALERTS_PER_RUN`` alerts go to one destination per evaluation; the rest share one summary message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from catalog.models import Channel, Finding, Notification, Severity
from catalog.notifications.routing import Destination, Router, with_routing
from catalog.notifications.slack import blocks

logger = logging.getLogger(__name__)
SUMMARY_SHOWN = 10


def min_severity() -> int:
    """The alert threshold from settings, a severity label (``error``) or number (``30``)."""
    value = str(settings.PORTAL["NOTIFY"]["ALERT_MIN_SEVERITY"]).strip().lower()
    if value.isdigit():
        return int(value)
    by_label = {s.label: s.value for s in Severity}
    if value not in by_label:
        raise ValueError(f"PORTAL_ALERT_MIN_SEVERITY={value!r}: expected one of {', '.join(by_label)}")
    return by_label[value]


def is_snoozed(finding: Finding, now: datetime) -> bool:
    return finding.snoozed_until is not None and finding.snoozed_until > now


def alert_key(finding: Finding) -> str:
    return f"alert:{finding.pk}"


def topic(finding: Finding) -> str:
    """The finding's rule and subject, the same for every finding that opens on them."""
    if finding.project_id is not None:
        return f"{finding.rule}:project:{finding.project_id}"
    if finding.team_id is not None:
        return f"{finding.rule}:team:{finding.team_id}"
    return f"{finding.rule}:model:{finding.registered_model_id}"


def announce(findings: Iterable[Finding], *, now: datetime) -> list[Notification]:
    """Write the alerts ``findings`` call for (just opened, or whose severity rose) and return them.

    Call inside the transaction that wrote the findings, so both commit or neither; delivery is queued
    once it commits. Findings need primary keys. Nothing is written while no channel is enabled.
    """
    threshold = min_severity()
    ids = [
        f.pk for f in findings if f.severity >= threshold and f.resolved_at is None and not is_snoozed(f, now)
    ]
    if not ids or not Channel.objects.filter(enabled=True).exists():
        return []
    rows = []
    for start in range(0, len(ids), 500):
        rows += with_routing(Finding.objects.filter(pk__in=ids[start : start + 500]))
    rows.sort(key=lambda f: (-f.severity, f.first_seen_at, f.pk))
    quiet_since = now - timedelta(hours=settings.PORTAL["NOTIFY"]["QUIET_PERIOD_HOURS"])
    recent = set(
        Notification.objects.filter(
            kind=Notification.Kind.ALERT, topic__in={topic(f) for f in rows}, created_at__gte=quiet_since
        ).values_list("topic", flat=True)
    )
    router = Router()
    grouped: dict[str, tuple[Destination, list[Finding]]] = {}
    for finding in rows:
        if topic(finding) in recent:
            continue
        destination = router.route(finding)
        if destination is None:
            continue
        grouped.setdefault(destination.key, (destination, []))[1].append(finding)
    limit = settings.PORTAL["NOTIFY"]["ALERTS_PER_RUN"]
    notifications = []
    for destination, items in grouped.values():
        for finding in items[:limit]:
            key = alert_key(finding)
            notifications.append(
                _notification(destination, key, blocks.alert_message(finding, dedup_key=key), now, finding)
            )
        if len(items) > limit:
            key = f"alert-summary:{destination.key}:{now.isoformat()}"
            message = blocks.summary_message(items[limit:], shown=SUMMARY_SHOWN, dedup_key=key)
            notifications.append(_notification(destination, key, message, now))
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=500)
    if notifications:
        deliver_after_commit()
    return notifications


def _notification(
    destination: Destination, key: str, payload: dict, now: datetime, finding: Finding | None = None
) -> Notification:
    return Notification(
        dedup_key=key,
        kind=Notification.Kind.ALERT,
        channel=destination.channel,
        person=destination.person,
        finding=finding,
        topic=topic(finding) if finding is not None else "",
        payload=payload,
        created_at=now,
        next_attempt_at=now,
    )


def enqueue(
    destination: Destination, *, kind: str, key: str, payload: dict, now: datetime
) -> Notification | None:
    """Write one notification (a digest, a nag, a test) unless ``key`` was written before (then None)."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                dedup_key=key,
                kind=kind,
                channel=destination.channel,
                person=destination.person,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return None
    deliver_after_commit()
    return notification


def deliver_after_commit() -> None:
    """Queue a delivery run once the current transaction commits (at once outside a transaction)."""
    from catalog.notifications.tasks import deliver_notifications

    transaction.on_commit(deliver_notifications.delay)
