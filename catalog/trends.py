"""Trends: a daily snapshot per team and per rule, the last 90 days as small SVG charts, and this week's
changes.

Per team (``TeamSnapshot``, ``team`` None for the whole organisation) a day records the team's projects
(owned by it and not orphaned), their open findings, the sum of their maintenance burden and the number
of them at each level of each scorecard. Each project counts once, for the team that owns it (the
organisation row counts every project, owned or not). Per rule (``RuleSnapshot``) a day records that
rule's open findings on any subject. ``take_snapshots`` rewrites the day's rows, so running it twice a day
counts nothing twice; it runs daily from Celery beat (``CELERY_BEAT_SCHEDULE``) and after nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.models import Finding, Project, ProjectLevel, RuleSnapshot, Team, TeamSnapshot

CHART_DAYS = 90


def take_snapshots(*, day: date | None = None) -> tuple[int, int]:
    """Write ``day``'s (default: today, UTC) team and rule snapshots from the catalog as it is now, replacing
    that day's earlier ones; returns (team rows, rule rows). Five reads and two inserts."""
    day = day or datetime.now(UTC).date()
    projects = Project.objects.filter(orphaned_at__isnull=True)
    totals: dict[int | None, dict] = defaultdict(
        lambda: {"projects": 0, "burden": 0.0, "open": 0, "levels": {}}
    )
    for team, count, burden in projects.values_list("owner_team").annotate(
        Count("pk"), Sum("maintenance_burden")
    ):
        for key in {team, None}:
            totals[key]["projects"] += count
            totals[key]["burden"] += burden or 0
    open_findings = Finding.objects.filter(resolved_at__isnull=True)
    in_scope = open_findings.filter(project__in=projects)
    for team, count in in_scope.values_list("project__owner_team").annotate(Count("pk")).order_by():
        for key in {team, None}:
            totals[key]["open"] += count
    levels = ProjectLevel.objects.filter(project__in=projects, scorecard__enabled=True)
    rows = (
        levels.values_list("project__owner_team", "scorecard__name", "level").annotate(Count("pk")).order_by()
    )
    for team, scorecard, level, count in rows:
        for key in {team, None}:
            per_level = totals[key]["levels"].setdefault(scorecard, {})
            per_level[level] = per_level.get(level, 0) + count
    known_teams = set(Team.objects.values_list("pk", flat=True))
    team_rows = [
        TeamSnapshot(
            team_id=team,
            date=day,
            projects=values["projects"],
            open_findings=values["open"],
            burden=round(values["burden"], 1),
            levels=values["levels"],
        )
        for team, values in totals.items()
        if team is None or team in known_teams
    ]
    if not any(row.team_id is None for row in team_rows):
        team_rows.append(TeamSnapshot(team_id=None, date=day))
    rule_rows = [
        RuleSnapshot(rule=rule, date=day, open_findings=count)
        for rule, count in open_findings.values_list("rule").annotate(Count("pk")).order_by()
    ]
    with transaction.atomic():
        TeamSnapshot.objects.filter(date=day).delete()
        RuleSnapshot.objects.filter(date=day).delete()
        TeamSnapshot.objects.bulk_create(team_rows)
        RuleSnapshot.objects.bulk_create(rule_rows)
    return len(team_rows), len(rule_rows)


def team_history(
    team: Team | None, *, today: date | None = None, days: int = CHART_DAYS
) -> list[TeamSnapshot]:
    """The team's (None: the organisation's) snapshots of the last ``days`` days, oldest first (one query)."""
    today = today or datetime.now(UTC).date()
    return list(
        TeamSnapshot.objects.filter(team=team, date__gt=today - timedelta(days=days)).order_by("date")
    )


@dataclass
class WeekChanges:
    """Over the last 7 days: findings opened and fixed, level ups and downs (of the team's projects)."""

    opened: int
    fixed: int
    level_ups: int
    level_downs: int


def week_changes(team: Team | None, *, now: datetime | None = None) -> WeekChanges:
    """This week's changes for ``team``'s projects (None: every project); two queries."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=7)
    findings = Finding.objects.filter(project__isnull=False)
    levels = ProjectLevel.objects.filter(changed_at__gte=since)
    if team is not None:
        findings = findings.filter(project__owner_team=team)
        levels = levels.filter(project__owner_team=team)
    counts = findings.aggregate(
        opened=Count("pk", filter=Q(first_seen_at__gte=since)),
        fixed=Count("pk", filter=Q(resolved_at__gte=since)),
    )
    moves = levels.aggregate(
        ups=Count("pk", filter=Q(rank__gt=F("previous_rank"))),
        downs=Count("pk", filter=Q(rank__lt=F("previous_rank"))),
    )
    return WeekChanges(counts["opened"], counts["fixed"], moves["ups"], moves["downs"])


def svg_chart(values: list[float], *, label: str, width: int = 240, height: int = 48) -> SafeString:
    """A small line chart (inline SVG) of ``values`` in order, with ``label`` as its accessible name and the
    latest value, the minimum and the maximum written out. An empty list draws an empty frame."""
    pad = 2
    if values:
        low, high = min(values), max(values)
        span = (high - low) or 1
        step = (width - 2 * pad) / max(1, len(values) - 1)
        points = " ".join(
            f"{pad + i * step:.1f},{height - pad - (v - low) / span * (height - 2 * pad):.1f}"
            for i, v in enumerate(values)
        )
        summary = f"{label}: {values[-1]:g} now, between {low:g} and {high:g} over {len(values)} days"
    else:
        points, summary = "", f"{label}: no snapshot yet"
    dots = format_html_join(
        "", '<circle cx="{}" cy="{}" r="2"/>', [points.split()[-1].split(",")] if points else []
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{summary}" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        "<title>{summary}</title>"
        '<rect class="chart-frame" x="0.5" y="0.5" width="{wf}" height="{hf}" fill="none"/>'
        '<polyline class="chart-line" fill="none" points="{points}"/>{dots}</svg>',
        summary=summary,
        w=width,
        h=height,
        wf=width - 1,
        hf=height - 1,
        points=points,
        dots=dots,
    )
