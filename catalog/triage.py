"""Triage of open findings by their owners: acknowledge (seen, being handled) and snooze (quiet until)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from catalog.audit import acting
from catalog.models import Finding
from catalog.permissions import can_triage_finding

MAX_SNOOZE = timedelta(days=365)


def _check(finding: Finding, by) -> None:
    if not can_triage_finding(by, finding):
        raise PermissionDenied(f"only the owners of {finding.subject} or staff can triage its findings")
    if finding.resolved_at is not None:
        raise ValidationError(
            f"finding {finding.pk} was resolved at {finding.resolved_at:%Y-%m-%d %H:%M} UTC"
        )


def acknowledge(
    finding: Finding, *, by, acknowledged: bool = True, now: datetime | None = None, via: str = ""
) -> Finding:
    """Mark ``finding`` acknowledged by the user ``by`` (or clear it with ``acknowledged=False``).

    Raises PermissionDenied when ``by`` may not change the finding's subject, ValidationError when it is
    resolved. Recorded in the audit log with ``by`` and ``via`` (``portal``, ``api``, ``slack``).
    """
    _check(finding, by)
    finding.acknowledged_at = (now or timezone.now()) if acknowledged else None
    finding.acknowledged_by = by if acknowledged else None
    with acting(by, via):
        finding.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return finding


def snooze(
    finding: Finding,
    *,
    by,
    until: datetime | None,
    reason: str = "",
    now: datetime | None = None,
    via: str = "",
):
    """Snooze ``finding`` until ``until`` (aware) with a reason, or end the snooze with ``until=None``.

    Raises ValidationError on field ``until`` when it is not in the future or more than a year ahead,
    PermissionDenied and ValidationError as ``acknowledge`` does; recorded likewise.
    """
    _check(finding, by)
    now = now or timezone.now()
    if until is not None and until <= now:
        raise ValidationError({"until": "must be in the future"})
    if until is not None and until > now + MAX_SNOOZE:
        raise ValidationError({"until": f"must be at most {MAX_SNOOZE.days} days ahead"})
    finding.snoozed_until = until
    finding.snooze_reason = reason if until is not None else ""
    with acting(by, via):
        finding.save(update_fields=["snoozed_until", "snooze_reason"])
    return finding
