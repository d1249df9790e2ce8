"""Evaluate the scorecards and store each project's results and level; pages read them as stored.

Per scorecard the evaluation takes a constant number of queries whatever the number of projects: its
checks, its valid exemptions, its stored results and levels, one query per check kind's data (shared
between checks through ``CheckContext.cache``), and one ``executemany`` per kind of write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connections, router, transaction
from django.db.models import Q

from catalog.bulk import bulk_update
from catalog.models import Project, ProjectLevel, Scorecard, ScorecardExemption, ScorecardResult
from catalog.scorecards.checks import CHECK_KINDS, CheckContext, parse_params

logger = logging.getLogger(__name__)

PROJECT_FIELDS = (
    "pk",
    "owner_team_id",
    "owner_person_id",
    "owner_ref",
    "descriptor_id",
    "lifecycle",
    "repository_id",
)


@dataclass
class ScorecardOutcome:
    """One scorecard's evaluation: results written (created, changed), levels changed, projects per level
    (``levels``: level name, '' for none, to count)."""

    created: int = 0
    changed: int = 0
    level_changes: int = 0
    levels: dict[str, int] = field(default_factory=dict)


def scored_projects() -> dict[int, dict]:
    """The projects scorecards score: every project not orphaned, as ``CheckContext.projects`` rows."""
    return {
        row["pk"]: row for row in Project.objects.filter(orphaned_at__isnull=True).values(*PROJECT_FIELDS)
    }


def evaluate_scorecards(
    *, now: datetime | None = None, names: list[str] | None = None
) -> dict[str, ScorecardOutcome]:
    """Evaluate the enabled scorecards (or those ``names``) at ``now`` (aware UTC) and store the results.

    A result's ``changed_at`` moves only when ``passed`` or ``exempt`` changes; a project's level likewise.
    Results of projects no longer scored (orphaned) are deleted. Each scorecard is written in its own
    transaction. Raises KeyError for an unknown name.
    """
    now = now or datetime.now(UTC)
    scorecards = (
        Scorecard.objects.filter(enabled=True) if names is None else Scorecard.objects.filter(name__in=names)
    )
    scorecards = list(scorecards)
    if names is not None and len(scorecards) != len(set(names)):
        raise KeyError(f"unknown scorecards: {', '.join(sorted(set(names) - {s.name for s in scorecards}))}")
    context = CheckContext(projects=scored_projects(), now=now)
    outcomes = {}
    for scorecard in scorecards:
        with transaction.atomic():
            outcomes[scorecard.name] = evaluate_scorecard(scorecard, context)
        logger.info("scorecard %s evaluated: %s", scorecard.name, outcomes[scorecard.name])
    return outcomes


def evaluate_scorecard(scorecard: Scorecard, context: CheckContext) -> ScorecardOutcome:
    """Evaluate one scorecard over ``context.projects`` and write what changed (see evaluate_scorecards)."""
    now = context.now
    checks = list(scorecard.checks.all())
    exempt = set(
        ScorecardExemption.objects.filter(check_ref__scorecard=scorecard)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("check_ref_id", "project_id")
    )
    # Plain tuples, not model instances: a scorecard has a row per project and check.
    rows = ScorecardResult.objects.filter(check_ref__scorecard=scorecard).values_list(
        "check_ref_id", "project_id", "pk", "passed", "exempt", "detail"
    )
    stored = {(row[0], row[1]): row[2:] for row in rows}
    outcome = ScorecardOutcome()
    to_create, changed, detail_only = [], [], []
    stamp = prepared(ScorecardResult, "changed_at", now)
    failed_levels: dict[int, set[str]] = {pk: set() for pk in context.projects}
    for check in checks:
        kind = CHECK_KINDS.get(check.kind)
        if kind is None:
            logger.error(
                "scorecard %s: check %s has an unknown kind %r: skipped",
                scorecard.name,
                check.code,
                check.kind,
            )
            continue
        verdicts = kind.evaluate(context, parse_params(check.kind, check.params))
        check_id = check.pk
        for project_id, (passed, detail) in verdicts.items():
            is_exempt = not passed and (check_id, project_id) in exempt
            if not (passed or is_exempt):
                failed_levels[project_id].add(check.level)
            result = stored.pop((check_id, project_id), None)
            detail = detail[:500]
            if result is None:
                to_create.append((project_id, check_id, passed, is_exempt, detail, stamp))
            elif (result[1], result[2]) != (passed, is_exempt):
                changed.append(
                    ScorecardResult(
                        pk=result[0], passed=passed, exempt=is_exempt, detail=detail, changed_at=now
                    )
                )
            elif result[3] != detail:
                detail_only.append(ScorecardResult(pk=result[0], detail=detail))
    insert_rows(ScorecardResult, RESULT_FIELDS, to_create)
    bulk_update(ScorecardResult, changed, ["passed", "exempt", "detail", "changed_at"])
    bulk_update(ScorecardResult, detail_only, ["detail"])
    gone = [result[0] for result in stored.values()]  # projects orphaned since, or checks skipped
    for start in range(0, len(gone), 500):
        ScorecardResult.objects.filter(pk__in=gone[start : start + 500]).delete()
    outcome.created, outcome.changed = len(to_create), len(changed) + len(detail_only)

    _write_levels(scorecard, failed_levels, now, outcome)
    return outcome


RESULT_FIELDS = ("project", "check_ref", "passed", "exempt", "detail", "changed_at")
LEVEL_FIELDS = ("project", "scorecard", "level", "rank", "previous_level", "previous_rank", "changed_at")


def prepared(model, field: str, value):
    """``value`` as the database driver takes it for ``model.field`` (prepared once for many rows)."""
    connection = connections[router.db_for_write(model)]
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def insert_rows(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples of driver-ready values, one per field of ``fields``) in one ``executemany``.

    Unlike ``catalog.bulk.bulk_insert`` no model instance is made and nothing is prepared per row: for the
    100,000 results of a first evaluation of a scorecard over 10,000 projects.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})", rows
        )


def reached(levels: list[str], failed_levels: set[str]) -> int:
    """How many of ``levels`` (lowest first) are reached: each up to the first with a failed check."""
    for index, level in enumerate(levels):
        if level in failed_levels:
            return index
    return len(levels)


def _write_levels(scorecard: Scorecard, failed_levels: dict[int, set[str]], now: datetime, outcome) -> None:
    rows = ProjectLevel.objects.filter(scorecard=scorecard).values_list("project_id", "pk", "level", "rank")
    stored = {project_id: rest for project_id, *rest in rows}
    to_create, to_update = [], []
    stamp = prepared(ProjectLevel, "changed_at", now)
    for project_id, failed in failed_levels.items():
        rank = reached(scorecard.levels, failed)
        level = scorecard.levels[rank - 1] if rank else ""
        outcome.levels[level] = outcome.levels.get(level, 0) + 1
        row = stored.pop(project_id, None)
        if row is None:  # a first level is no move up or down: previous_* are the level itself
            to_create.append((project_id, scorecard.pk, level, rank, level, rank, stamp))
        elif (row[1], row[2]) != (level, rank):
            to_update.append(
                ProjectLevel(
                    pk=row[0],
                    level=level,
                    rank=rank,
                    previous_level=row[1],
                    previous_rank=row[2],
                    changed_at=now,
                )
            )
    insert_rows(ProjectLevel, LEVEL_FIELDS, to_create)
    bulk_update(ProjectLevel, to_update, ["level", "rank", "previous_level", "previous_rank", "changed_at"])
    gone = [row[0] for row in stored.values()]
    for start in range(0, len(gone), 500):
        ProjectLevel.objects.filter(pk__in=gone[start : start + 500]).delete()
    outcome.level_changes = len(to_create) + len(to_update)


def next_level_steps(
    project: Project, scorecard: Scorecard, results: list[ScorecardResult]
) -> tuple[str, list]:
    """The next level ``project`` can reach on ``scorecard`` ('' when at the top) and the failed results
    (with their checks) that stand in its way: those of that level and of any lower one."""
    failed_levels = {r.check_ref.level for r in results if not r.met}
    rank = reached(scorecard.levels, failed_levels)
    if rank == len(scorecard.levels):
        return "", []
    wanted = set(scorecard.levels[: rank + 1])
    return scorecard.levels[rank], [r for r in results if not r.met and r.check_ref.level in wanted]
