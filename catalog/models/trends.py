"""Daily snapshots of the catalog's health, per team and per rule, for the trend charts."""

from django.db import models
from django.db.models import Q


class TeamSnapshot(models.Model):
    """One day's figures of one team's projects (``team`` None: the whole organisation).

    ``open_findings`` counts the open findings of the team's projects; ``burden`` sums their maintenance
    burden; ``levels`` maps each scorecard name to ``{level: number of projects}`` ('' for below the first).
    Written once per day by ``catalog.trends.take_snapshots``; a second run that day rewrites the row.
    """

    team = models.ForeignKey(
        "catalog.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="snapshots"
    )
    date = models.DateField()
    projects = models.PositiveIntegerField(default=0)
    open_findings = models.PositiveIntegerField(default=0)
    burden = models.FloatField(default=0)
    levels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="catalog_teamsnapshot_day"),
            models.UniqueConstraint(
                fields=["date"], condition=Q(team__isnull=True), name="catalog_teamsnapshot_org_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id or 'organisation'} on {self.date}"


class RuleSnapshot(models.Model):
    """One day's number of open findings of one rule (every subject kind)."""

    rule = models.CharField(max_length=64)
    date = models.DateField()
    open_findings = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["rule", "date"], name="catalog_rulesnapshot_day")]

    def __str__(self) -> str:
        return f"{self.rule} on {self.date}: {self.open_findings}"
