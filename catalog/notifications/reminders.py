"""Nags and digests: what each channel hears on a schedule, written to the outbox.

Both cover the open findings routed to the channel (``Router.route(direct=False)``). A **nag** lists those
at or above the alert severity, open ``nag_after`` days or more, neither snoozed nor acknowledged; it is
due when the channel's ``next_nag_at`` has passed, and the worker that moves ``next_nag_at`` on (a
conditional UPDATE) is the one that writes it, so two workers never both nag. A **digest** gives the
counts by severity and rule, the top items (highest severity, then oldest) and what was fixed since the
last digest; its key ``digest:<channel>:<day>`` makes a second run the same day a no-op.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Channel, Finding, Notification
from catalog.notifications import outbox
from catalog.notifications.routing import Destination, Router, with_routing
from catalog.notifications.slack import blocks

MAX_TOP_ITEMS = 40  # two blocks each would pass Block Kit's 50 blocks; one each stays well under


def by_channel(router: Router, findings) -> dict[int, list[Finding]]:
    grouped: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        destination = router.route(finding, direct=False)
        if destination is not None:
            grouped[destination.channel.pk].append(finding)
    return grouped


def mentions(findings) -> dict[int, str]:
    """``<@U123>`` for findings on projects owned by a person with a Slack user id."""
    found = {}
    for finding in findings:
        project = (
            finding.project if finding.project_id else getattr(finding.registered_model, "project", None)
        )
        person = project.owner_person if project is not None and project.owner_person_id else None
        if person is not None and person.slack_user_id:
            found[finding.pk] = f"<@{person.slack_user_id}>"
    return found


def nag_due(now: datetime) -> Q:
    return Q(next_nag_at__isnull=True) | Q(next_nag_at__lte=now)


def nag_plan(now: datetime) -> list[tuple[Channel, list[Finding]]]:
    """The channels whose nag is due at ``now``, each with its overdue findings (maybe none). Reads only."""
    channels = list(
        Channel.objects.filter(nag_due(now), enabled=True, status=Channel.Status.OK).select_related("team")
    )
    if not channels:
        return []
    open_findings = (
        Finding.objects.filter(
            resolved_at__isnull=True, acknowledged_at__isnull=True, severity__gte=outbox.min_severity()
        )
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
        .order_by("first_seen_at", "pk")
    )
    grouped = by_channel(Router(), with_routing(open_findings))
    return [
        (
            channel,
            [
                f
                for f in grouped.get(channel.pk, [])
                if f.first_seen_at <= now - timedelta(days=channel.nag_after)
            ],
        )
        for channel in channels
    ]


def nag_payload(channel: Channel, overdue: list[Finding], now: datetime) -> tuple[str, dict]:
    key = f"nag:{channel.pk}:{now:%Y-%m-%dT%H:%M}"
    return key, blocks.nag_message(
        overdue, after_days=channel.nag_after, dedup_key=key, mentions=mentions(overdue)
    )


def write_nags(now: datetime | None = None) -> list[Notification]:
    """Write the nags due at ``now`` (aware UTC, default now), at most one per channel; return them."""
    now = now or timezone.now()
    written = []
    for channel, overdue in nag_plan(now):
        with transaction.atomic():
            taken = Channel.objects.filter(nag_due(now), pk=channel.pk).update(
                next_nag_at=now + timedelta(days=channel.nag_every)
            )
            if not taken or not overdue:
                continue
            key, payload = nag_payload(channel, overdue, now)
            notification = outbox.enqueue(
                Destination(channel=channel), kind=Notification.Kind.NAG, key=key, payload=payload, now=now
            )
            if notification is not None:
                written.append(notification)
    return written


def digest_payload(channel: Channel, now: datetime) -> tuple[str, dict]:
    """``channel``'s digest at ``now``: its dedup key and message. Reads only."""
    router = Router()
    since = channel.last_digest_at or now - timedelta(days=7)
    mine = by_channel(router, with_routing(Finding.objects.filter(resolved_at__isnull=True)))
    items = sorted(
        (f for f in mine.get(channel.pk, []) if not outbox.is_snoozed(f, now)),
        key=lambda f: (-f.severity, f.first_seen_at, f.pk),
    )
    resolved = with_routing(Finding.objects.filter(resolved_at__gt=since, resolved_at__lte=now)).order_by(
        "-resolved_at"
    )
    fixed = by_channel(router, resolved).get(channel.pk, [])
    top_count = min(settings.PORTAL["NOTIFY"]["DIGEST_TOP_ITEMS"], MAX_TOP_ITEMS)
    key = f"digest:{channel.pk}:{now:%Y-%m-%d}"
    payload = blocks.digest_message(
        audience=channel.team.display_name if channel.team_id else "projects with no team channel",
        top=items[:top_count],
        open_total=len(items),
        by_severity=Counter(f.severity for f in items),
        by_rule=Counter(f.rule for f in items),
        fixed=fixed,
        since=since,
        dedup_key=key,
    )
    return key, payload


def write_digest(channel: Channel, now: datetime | None = None) -> Notification | None:
    """Write ``channel``'s digest for ``now`` (aware UTC); None when it is disabled or was written today."""
    now = now or timezone.now()
    if not (channel.enabled and channel.digest_enabled):
        return None
    key, payload = digest_payload(channel, now)
    with transaction.atomic():
        notification = outbox.enqueue(
            Destination(channel=channel), kind=Notification.Kind.DIGEST, key=key, payload=payload, now=now
        )
        if notification is not None:
            Channel.objects.filter(pk=channel.pk).update(last_digest_at=now)
    return notification
