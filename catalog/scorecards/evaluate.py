"""Evaluate the scorecards and store each project's results and level; pages read them as stored.

Per scorecard the evaluation takes a constant number of queries whatever the number of projects: its
checks, its valid exemptions, its stored results and levels, and one ``executemany`` per kind of write.
What checks read (a rule's open findings, a fact's values, ...) is read once per evaluation for all the
scorecards, and a check's verdicts once per kind and parameters (``CheckContext.cache``). The first
evaluation of a scorecard over 10,000 projects writes 100,000 results: they are plain tuples inserted in
the order of the unique (project, check) index, with no model instance per row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q

from catalog.bulk import insert_rows, prepared, select_rows, update_rows
from catalog.models import (
    Project,
    ProjectLevel,
    Scorecard,
    ScorecardCheck,
    ScorecardExemption,
    ScorecardResult,
)
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
    """The projects scorecards score: every project not orphaned, as ``CheckContext.projects`` rows, by
    ascending pk (the order results are written in)."""
    rows = Project.objects.filter(orphaned_at__isnull=True).order_by("pk").values(*PROJECT_FIELDS)
    return {row["pk"]: row for row in rows}


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
    """Evaluate one scorecard over ``context.projects`` and write what changed (see evaluate_scorecards).

    Verdicts are kept in ``context.cache`` by kind and parameters, so a check that several scorecards share
    is evaluated once. Rows are written project by project, the order of the unique (project, check) index.
    """
    now = context.now
    levels = scorecard.levels
    exempt = set(
        ScorecardExemption.objects.filter(check_ref__scorecard=scorecard)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("check_ref_id", "project_id")
    )
    evaluated = []  # (check pk, index of its level, verdicts by project pk)
    top = len(levels)
    for check in scorecard.checks.all():
        if check.kind not in CHECK_KINDS:
            logger.error(
                "scorecard %s: check %s has an unknown kind %r: skipped",
                scorecard.name,
                check.code,
                check.kind,
            )
            continue
        # a check of a level the scorecard no longer has is stored but holds no level back
        index = levels.index(check.level) if check.level in levels else top
        evaluated.append((check.pk, index, _verdicts(check, context)))
    # Stored results as the driver returns them, by check then project: a scorecard has 100,000 of them.
    stored: dict[int, dict[int, tuple]] = {check_id: {} for check_id, _, _ in evaluated}
    rows = ScorecardResult.objects.filter(check_ref__scorecard=scorecard).values_list(
        "check_ref_id", "project_id", "pk", "passed", "exempt", "detail"
    )
    gone = []  # results of projects orphaned since, or of checks skipped
    for check_id, project_id, *rest in select_rows(rows):
        mine = stored.get(check_id)
        if mine is None:
            gone.append(rest[0])
        else:
            mine[project_id] = rest
    stamp = prepared(ScorecardResult, "changed_at", now)
    to_create, changed, detail_only = [], [], []
    ranks: dict[int, int] = {}
    for project_id in context.projects:
        rank = top  # levels reached: up to the lowest level with a failed check
        for check_id, index, verdicts in evaluated:
            passed, detail = verdicts[project_id]
            is_exempt = False
            if not passed:
                is_exempt = (check_id, project_id) in exempt
                if not is_exempt and index < rank:
                    rank = index
            result = stored[check_id].pop(project_id, None)
            if result is None:
                to_create.append((project_id, check_id, passed, is_exempt, detail, stamp))
            elif result[1] != passed or result[2] != is_exempt:
                changed.append((passed, is_exempt, detail, stamp, result[0]))
            elif result[3] != detail:
                detail_only.append((detail, result[0]))
        ranks[project_id] = rank
    insert_rows(ScorecardResult, RESULT_FIELDS, to_create)
    update_rows(ScorecardResult, ("passed", "exempt", "detail", "changed_at"), changed)
    update_rows(ScorecardResult, ("detail",), detail_only)
    gone += [result[0] for mine in stored.values() for result in mine.values()]
    _delete(ScorecardResult, gone)
    outcome = ScorecardOutcome(created=len(to_create), changed=len(changed) + len(detail_only))
    _write_levels(scorecard, ranks, now, outcome)
    return outcome


RESULT_FIELDS = ("project", "check_ref", "passed", "exempt", "detail", "changed_at")
LEVEL_FIELDS = ("project", "scorecard", "level", "rank", "previous_level", "previous_rank", "changed_at")


def _verdicts(check: ScorecardCheck, context: CheckContext) -> dict[int, tuple[bool, str]]:
    """``check``'s verdicts by project pk (details cut to the stored 500 characters), evaluated once per
    kind and parameters for all the scorecards of ``context``."""

    def evaluate():
        verdicts = CHECK_KINDS[check.kind].evaluate(context, parse_params(check.kind, check.params))
        return {pk: (passed, detail[:500]) for pk, (passed, detail) in verdicts.items()}

    return context.cached(f"verdicts:{check.kind}:{json.dumps(check.params, sort_keys=True)}", evaluate)


def _delete(model, pks: list[int]) -> None:
    for start in range(0, len(pks), 500):
        model.objects.filter(pk__in=pks[start : start + 500]).delete()


def reached(levels: list[str], failed_levels: set[str]) -> int:
    """How many of ``levels`` (lowest first) are reached: each up to the first with a failed check."""
    for index, level in enumerate(levels):
        if level in failed_levels:
            return index
    return len(levels)


def _write_levels(scorecard: Scorecard, ranks: dict[int, int], now: datetime, outcome) -> None:
    rows = ProjectLevel.objects.filter(scorecard=scorecard).values_list("project_id", "pk", "level", "rank")
    stored = {project_id: rest for project_id, *rest in select_rows(rows)}
    to_create, to_update = [], []
    stamp = prepared(ProjectLevel, "changed_at", now)
    names = ["", *scorecard.levels]
    for project_id, rank in ranks.items():
        level = names[rank]
        outcome.levels[level] = outcome.levels.get(level, 0) + 1
        row = stored.pop(project_id, None)
        if row is None:  # a first level is no move up or down: previous_* are the level itself
            to_create.append((project_id, scorecard.pk, level, rank, level, rank, stamp))
        elif row[1] != level or row[2] != rank:
            to_update.append((level, rank, row[1], row[2], stamp, row[0]))
    insert_rows(ProjectLevel, LEVEL_FIELDS, to_create)
    update_rows(ProjectLevel, ("level", "rank", "previous_level", "previous_rank", "changed_at"), to_update)
    _delete(ProjectLevel, [row[0] for row in stored.values()])
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
