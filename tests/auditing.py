"""Reading the audit log (django-auditlog entries) in tests."""

from __future__ import annotations

from auditlog.models import LogEntry


def entries(obj) -> list[LogEntry]:
    """``obj``'s audit entries, oldest first."""
    return list(LogEntry.objects.get_for_object(obj).select_related("actor").order_by("pk"))


def triage_actions(finding) -> list[tuple[str, str, str]]:
    """``(action, actor's username, via)`` per audit entry of ``finding``, oldest first; the action is
    ``snooze``, ``unsnooze``, ``acknowledge`` or ``unacknowledge`` from the fields it changed."""
    actions = []
    for entry in entries(finding):
        changes = entry.changes_dict
        if "snoozed_until" in changes:
            action = "unsnooze" if changes["snoozed_until"][1] == "None" else "snooze"
        elif "acknowledged_at" in changes:
            action = "unacknowledge" if changes["acknowledged_at"][1] == "None" else "acknowledge"
        else:
            action = "other"
        username = entry.actor.get_username() if entry.actor else ""
        actions.append((action, username, (entry.additional_data or {}).get("via", "")))
    return actions
