"""Maintenance burden: one number per project saying how much maintenance its open findings ask for.

Formula, over the project's open findings and those of its registered models (acknowledged and snoozed
ones included: the work is still owed)::

    burden = lifecycle weight x sum(severity weight x age in days)

- severity weight: info 1, warning 3, error 9, critical 27 (each step outweighs three of the one below);
- age in days: whole days since the finding's ``first_seen_at``, plus 1 (a finding opened today counts one
  day), capped at 365 so that one ancient finding does not hide everything else;
- lifecycle weight: production 1.5, experimental 0.5, deprecated 0.25, anything else (unset, custom) 1.

Rounded to one decimal. A project without open findings has burden 0. ``update_burden`` stores it on
``Project.maintenance_burden`` after each evaluation of the rules; a team's burden is the sum over the
projects it owns (``team_burdens``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Sum
from django.db.models.functions import Coalesce

from catalog.bulk import bulk_update
from catalog.models import Finding, Lifecycle, Project, Severity

SEVERITY_WEIGHTS = {Severity.INFO: 1, Severity.WARNING: 3, Severity.ERROR: 9, Severity.CRITICAL: 27}
LIFECYCLE_WEIGHTS = {Lifecycle.PRODUCTION: 1.5, Lifecycle.EXPERIMENTAL: 0.5, Lifecycle.DEPRECATED: 0.25}
MAX_AGE_DAYS = 365


def finding_weight(severity: int, first_seen_at: datetime, now: datetime) -> float:
    """One open finding's share before the lifecycle weight: severity weight x age in days (1..365)."""
    age = min(MAX_AGE_DAYS, max(0, (now - first_seen_at).days) + 1)
    return SEVERITY_WEIGHTS.get(severity, 1) * age


def lifecycle_weight(lifecycle: str) -> float:
    return LIFECYCLE_WEIGHTS.get(lifecycle.lower(), 1.0)


def compute_burden(findings: list[tuple[int, datetime]], lifecycle: str, now: datetime) -> float:
    """The burden of a project of ``lifecycle`` whose open findings are ``(severity, first_seen_at)``."""
    total = sum(finding_weight(severity, first_seen, now) for severity, first_seen in findings)
    return round(total * lifecycle_weight(lifecycle), 1)


def update_burden(*, now: datetime | None = None) -> int:
    """Recompute every project's burden at ``now`` (aware UTC) and store those that changed; returns how many.

    Two reads (open findings of projects and of their models; projects) and one write, whatever the number
    of projects.
    """
    now = now or datetime.now(UTC)
    open_findings: dict[int, list] = {}
    rows = (
        Finding.objects.filter(resolved_at__isnull=True)
        .annotate(counted_for=Coalesce("project_id", "registered_model__project_id"))
        .filter(counted_for__isnull=False)
        .values_list("counted_for", "severity", "first_seen_at")
    )
    for project_id, severity, first_seen_at in rows:
        open_findings.setdefault(project_id, []).append((severity, first_seen_at))
    changed = []
    for project in Project.objects.only("pk", "lifecycle", "maintenance_burden"):
        burden = compute_burden(open_findings.get(project.pk, []), project.lifecycle, now)
        if burden != project.maintenance_burden:
            project.maintenance_burden = burden
            changed.append(project)
    bulk_update(Project, changed, ["maintenance_burden"])
    return len(changed)


def team_burdens() -> dict[int, float]:
    """Each team's burden: the sum over the projects it owns (teams owning none are left out)."""
    rows = (
        Project.objects.filter(owner_team__isnull=False)
        .values("owner_team")
        .annotate(burden=Sum("maintenance_burden"))
        .values_list("owner_team", "burden")
    )
    return {team: round(burden or 0, 1) for team, burden in rows}
