"""The history of triage: who acknowledged, snoozed or claimed what, and when."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class TriageEvent(models.Model):
    """One triage action by ``user``: on a finding (acknowledge, snooze and their undoing) or a project
    (claim: its owner set). ``detail`` holds the action's values (``until``, ``reason``, ``owner``); ``via``
    says where it was done (``portal``, ``api``, ``slack``; empty when not told).
    """

    class Action(models.TextChoices):
        ACKNOWLEDGE = "acknowledge"
        UNACKNOWLEDGE = "unacknowledge"
        SNOOZE = "snooze"
        UNSNOOZE = "unsnooze"
        CLAIM = "claim"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    finding = models.ForeignKey(
        "catalog.Finding", null=True, blank=True, on_delete=models.CASCADE, related_name="triage_events"
    )
    project = models.ForeignKey(
        "catalog.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="triage_events"
    )
    detail = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["project", "at"]), models.Index(fields=["finding", "at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.user} at {self.at:%Y-%m-%d %H:%M}"


def record(action: str, *, user, finding=None, project=None, via: str = "", **detail) -> TriageEvent:
    """Write one TriageEvent; ``detail`` values must be JSON-serialisable (datetimes as ISO 8601)."""
    return TriageEvent.objects.create(
        action=action,
        user=user if getattr(user, "is_authenticated", False) else None,
        finding=finding,
        project=project if project is not None else getattr(finding, "project", None),
        via=via,
        detail=detail,
    )
