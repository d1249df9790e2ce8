"""Findings: what the rules say needs maintenance, with their history."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Severity(models.IntegerChoices):
    INFO = 10, "info"
    WARNING = 20, "warning"
    ERROR = 30, "error"
    CRITICAL = 40, "critical"


class Finding(models.Model):
    """One rule's verdict on one subject (a project, a team or a registered model), kept while it holds.

    ``rule`` is the rule's code (``stale-code``); ``message`` one sentence saying why; ``evidence`` the
    facts behind it (dates as ISO 8601 strings, counts, links). Re-evaluation updates the open finding in
    place (``last_seen_at``) and sets ``resolved_at`` once the rule no longer holds; if it holds again
    later, a new finding opens. At most one open finding per rule and subject.
    """

    rule = models.CharField(max_length=64)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.WARNING)
    project = models.ForeignKey(
        "catalog.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    team = models.ForeignKey(
        "catalog.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    registered_model = models.ForeignKey(
        "catalog.RegisteredModel", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Triage by the owners (API, pages, Slack): acknowledged (seen, being handled) or snoozed until a time.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-severity", "first_seen_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(project__isnull=False, team__isnull=True, registered_model__isnull=True)
                | Q(project__isnull=True, team__isnull=False, registered_model__isnull=True)
                | Q(project__isnull=True, team__isnull=True, registered_model__isnull=False),
                name="catalog_finding_one_subject",
            ),
            models.UniqueConstraint(
                fields=["rule", "project"],
                condition=Q(resolved_at__isnull=True, project__isnull=False),
                name="catalog_finding_open_project",
            ),
            models.UniqueConstraint(
                fields=["rule", "team"],
                condition=Q(resolved_at__isnull=True, team__isnull=False),
                name="catalog_finding_open_team",
            ),
            models.UniqueConstraint(
                fields=["rule", "registered_model"],
                condition=Q(resolved_at__isnull=True, registered_model__isnull=False),
                name="catalog_finding_open_registered_model",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "resolved_at"]),
            models.Index(fields=["registered_model", "resolved_at"]),
            models.Index(fields=["rule", "resolved_at"]),
            # Covers the maintenance view's ranking of open findings by project, snoozed ones left out
            # (views.rank_for_maintenance): about 40% faster on 20,000 open findings (benchmarks/pages.py).
            models.Index(
                fields=["project", "severity", "first_seen_at", "snoozed_until"],
                condition=Q(resolved_at__isnull=True),
                name="catalog_finding_open_rank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"

    @property
    def subject(self):
        return self.project or self.team or self.registered_model

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


def of_project(project) -> Q:
    """Findings that count for ``project`` (a Project, its pk or an ``OuterRef``): those about the project
    itself and those about its registered models. A finding keeps one subject; its project is the one its
    subject belongs to."""
    return Q(project=project) | Q(registered_model__project=project)


class RuleConfig(models.Model):
    """An admin's settings for one rule: on or off, its severity and its thresholds.

    ``params`` overrides the rule's defaults (``{"days": 90}``); keys a rule does not know are refused
    when the config is saved.
    """

    code = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "rule setting"

    def __str__(self) -> str:
        return self.code
