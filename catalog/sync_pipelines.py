"""Pipeline records -> catalog: the pipelines step of the sync, and single runs from webhooks.

Pipelines are keyed by (repository, provider, external id), runs by (pipeline, external id); both are
written through ``catalog.sync.upsert``, so a second sync with nothing changed writes nothing. A pipeline
no longer listed for a repository that was read gets ``gone_at``; each pipeline keeps its newest
``PORTAL["PIPELINE_RUN_HISTORY"]`` runs. After writing runs, each pipeline's ``latest_status``,
``latest_run_at`` and ``failing_since`` are recomputed from its stored runs. A run from a webhook is first
compared with the stored one (``compare_run``): deliveries may arrive out of order. A sync does not write
a run behind the stored one either: a webhook may have written a newer state after the sync read it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from catalog import sync
from catalog.bulk import bulk_update, from_db, select_rows
from catalog.connectors.ci import COMPLETED
from catalog.connectors.records import PipelineRecord, PipelineRunRecord, RepositoryRecord
from catalog.models import Pipeline, PipelineRun, PortalStatus, Repository

BATCH_SIZE = 500
# Runs that say whether the default branch is green: cancelled, skipped and neutral runs say neither.
CONCLUSIVE = (PortalStatus.SUCCESS, PortalStatus.FAILURE)
# How a run read (by a webhook or a sync) compares with the stored one of its id (``compare_run``).
NEWER, OLDER, REOPENED = "newer", "older", "reopened"


def write_pipelines(
    repos_read: dict[str, Repository],
    records: dict[str, RepositoryRecord],
    tally: sync.Tally,
    now: datetime,
) -> None:
    """Write the pipelines and runs of the repositories read (``external_id`` -> row and record)."""
    if not repos_read:
        return
    repo_ids = [repo.pk for repo in repos_read.values()]
    existing: dict[tuple[str, str, str], Pipeline] = {}
    for start in range(0, len(repo_ids), BATCH_SIZE):
        for row in Pipeline.objects.filter(repository_id__in=repo_ids[start : start + BATCH_SIZE]):
            existing[(str(row.repository_id), row.provider, row.external_id)] = row
    desired: dict[tuple[str, str, str], dict[str, Any]] = {}
    runs: dict[tuple[str, str, str], tuple[PipelineRunRecord, ...]] = {}
    for external_id, repo in repos_read.items():
        for record in records[external_id].pipelines:
            key = (str(repo.pk), record.provider, record.external_id)
            desired[key] = {"repository_id": repo.pk, **_pipeline_values(record), "gone_at": None}
            runs[key] = record.runs
    stored = sync.upsert(Pipeline, existing, desired, tally, now)
    gone = [row.pk for key, row in existing.items() if key not in desired and row.gone_at is None]
    for start in range(0, len(gone), BATCH_SIZE):
        Pipeline.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).update(gone_at=now)
    _write_runs({stored[key]: runs[key] for key in stored}, tally, now)


def record_run(
    repository: Repository, pipeline: PipelineRecord, now: datetime, *, runs_only: bool = False
) -> Pipeline:
    """Write one pipeline and its runs as a webhook reported them, at once; return the pipeline.

    A pipeline not yet in the catalog is created from the record; a known one keeps its templates (a
    webhook does not carry the file) and gets the record's name, path, state and URL, unless
    ``runs_only`` (the webhook did not describe the pipeline itself): then it keeps them all.
    """
    with transaction.atomic():
        tally = sync.Tally()
        key = (str(repository.pk), pipeline.provider, pipeline.external_id)
        row = Pipeline.objects.filter(
            repository=repository, provider=pipeline.provider, external_id=pipeline.external_id
        ).first()
        values = {"repository_id": repository.pk, **_pipeline_values(pipeline), "gone_at": None}
        if row is not None:
            for name in ("templates", "template_kind", "template_project", "template_file", "template_ref"):
                values.pop(name)
            values.pop("config_error")
            if runs_only:
                values = {"repository_id": repository.pk, "gone_at": None}
        stored = sync.upsert(Pipeline, {key: row} if row else {}, {key: values}, tally, now)
        if tally.failed:
            raise ValueError("; ".join(e["message"] for e in tally.errors))
        _write_runs({stored[key]: pipeline.runs}, tally, now)
        if tally.failed:
            raise ValueError("; ".join(e["message"] for e in tally.errors))
    return stored[key]


def compare_run(repository: Repository, provider: str, run: PipelineRunRecord) -> str:
    """How ``run``, as a webhook reported it, compares with the stored run of that id in ``repository``'s
    ``provider`` pipelines: ``NEWER`` when none is stored or it is ahead; ``OLDER`` when it is behind (an
    earlier ``run_attempt``, or both finished and it finished earlier); ``REOPENED`` when the stored run
    of the same attempt is finished and ``run`` is not (an older delivery, or a GitLab pipeline retried
    under the same id). The repository's row stays locked until the transaction ends, so that deliveries
    for it (two of a run not stored yet, say) are compared and written one after the other.
    """
    list(Repository.objects.select_for_update(no_key=True).filter(pk=repository.pk).only("pk"))
    stored = (
        PipelineRun.objects.filter(
            pipeline__repository=repository, pipeline__provider=provider, external_id=run.external_id
        )
        .only("run_attempt", "portal_status", "finished_at")
        .first()
    )
    return NEWER if stored is None else _order(stored, run)


def is_behind(order: str, run: PipelineRunRecord) -> bool:
    """Whether ``run``, compared with the stored one as ``order`` (``compare_run``), is behind it and is
    not written: ``OLDER``, or ``REOPENED`` where re-runs are counted as attempts (then it is an older
    answer; where a retry reuses the run, it may be running again)."""
    return order == OLDER or (order == REOPENED and run.attempts_counted)


def _order(stored: PipelineRun, run: PipelineRunRecord) -> str:
    """How ``run`` compares with the ``stored`` run of the same id (see ``compare_run``)."""
    if run.run_attempt > stored.run_attempt:
        return NEWER
    if run.run_attempt < stored.run_attempt:
        return OLDER
    if not stored.is_completed:
        return NEWER
    if run.portal_status not in COMPLETED:
        return REOPENED
    if run.finished_at and stored.finished_at and run.finished_at < stored.finished_at:
        return OLDER
    return NEWER


def _pipeline_values(record: PipelineRecord) -> dict[str, Any]:
    first = record.templates[0] if record.templates else None
    return {
        "provider": record.provider,
        "external_id": record.external_id,
        "name": record.name,
        "file_path": record.file_path,
        "state": record.state,
        "url": record.url,
        "templates": [asdict(t) for t in record.templates],
        "template_kind": first.kind if first else "",
        "template_project": first.project if first else "",
        "template_file": first.file if first else "",
        "template_ref": first.ref if first else "",
        "config_error": record.config_error,
    }


def _run_values(pipeline: Pipeline, run: PipelineRunRecord) -> dict[str, Any]:
    return {
        "pipeline_id": pipeline.pk,
        "external_id": run.external_id,
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "status": run.status,
        "conclusion": run.conclusion,
        "portal_status": run.portal_status,
        "branch": run.branch,
        "commit_sha": run.commit_sha,
        "event": run.event,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "url": run.url,
    }


def _write_runs(
    runs: dict[Pipeline, tuple[PipelineRunRecord, ...]], tally: sync.Tally, now: datetime
) -> None:
    """Upsert the runs of each pipeline, trim each history, and refresh the pipelines' latest status."""
    pks = [p.pk for p in runs]
    if not pks:
        return
    existing: dict[tuple[str, str], PipelineRun] = {}
    for start in range(0, len(pks), BATCH_SIZE):
        for row in PipelineRun.objects.filter(pipeline_id__in=pks[start : start + BATCH_SIZE]):
            existing[(str(row.pipeline_id), row.external_id)] = row
    desired = {}
    for pipeline, records in runs.items():
        for run in records:
            key = (str(pipeline.pk), run.external_id)
            if key not in existing or not is_behind(_order(existing[key], run), run):
                desired[key] = _run_values(pipeline, run)
    sync.upsert(PipelineRun, existing, desired, tally, now, returning=False)
    _trim_history(pks)
    refresh_latest(pks)


def _trim_history(pipeline_ids: list[int]) -> None:
    keep = settings.PORTAL["PIPELINE_RUN_HISTORY"]
    for start in range(0, len(pipeline_ids), BATCH_SIZE):
        ranked = PipelineRun.objects.filter(
            pipeline_id__in=pipeline_ids[start : start + BATCH_SIZE]
        ).annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("pipeline_id")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        stale = list(ranked.filter(rank__gt=keep).values_list("pk", flat=True))
        for offset in range(0, len(stale), BATCH_SIZE):
            PipelineRun.objects.filter(pk__in=stale[offset : offset + BATCH_SIZE]).delete()


def refresh_latest(pipeline_ids: list[int]) -> None:
    """Recompute ``latest_status``, ``latest_run_at`` and ``failing_since`` of the pipelines from their
    conclusive runs (success or failure), newest first; write only the pipelines that changed.
    """
    for start in range(0, len(pipeline_ids), BATCH_SIZE):
        chunk = pipeline_ids[start : start + BATCH_SIZE]
        facts: dict[int, dict[str, Any]] = {
            pk: {"latest_status": "", "latest_run_at": None, "failing_since": None} for pk in chunk
        }
        # Raw rows (a first sync reads 30,000 runs back), their times converted only where kept. One
        # query: a run trimmed by a webhook in between cannot go missing.
        to_datetime = from_db(PipelineRun, "created_at")  # started_at is the same kind of field
        streak_open: dict[int, bool] = {}
        rows = select_rows(
            PipelineRun.objects.filter(pipeline_id__in=chunk, portal_status__in=CONCLUSIVE)
            .order_by("pipeline_id", "-created_at", "-pk")
            .values_list("pipeline_id", "portal_status", "created_at", "started_at")
        )
        for pipeline_id, status, created, started in rows:
            fact = facts[pipeline_id]
            if not fact["latest_status"]:
                fact["latest_status"], fact["latest_run_at"] = status, created
                streak_open[pipeline_id] = status == PortalStatus.FAILURE
            if streak_open.get(pipeline_id):
                if status == PortalStatus.FAILURE:
                    fact["failing_since"] = started if started is not None else created
                else:
                    streak_open[pipeline_id] = False
        for fact in facts.values():
            for name in ("latest_run_at", "failing_since"):
                if fact[name] is not None:
                    fact[name] = to_datetime(fact[name])
        changed = []
        for pipeline in Pipeline.objects.filter(pk__in=chunk).only("pk", *facts[chunk[0]]):
            want = facts[pipeline.pk]
            if any(getattr(pipeline, name) != value for name, value in want.items()):
                for name, value in want.items():
                    setattr(pipeline, name, value)
                changed.append(pipeline)
        bulk_update(Pipeline, changed, ["latest_status", "latest_run_at", "failing_since"])
