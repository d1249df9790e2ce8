"""Celery tasks: thin wrappers over the sync, the rules and the schedule."""

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task

from catalog import sync, trends
from catalog.models import Source, SyncRun
from catalog.rules.evaluate import evaluate_rules as run_rules
from catalog.scorecards.refresh import after_rules

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5  # a sync refused for a rate limit is retried at most this many times in a row
BUSY_RETRIES = 10  # a targeted (webhook) sync waits this many minutes at most for the running sync


@shared_task(bind=True, ignore_result=True)
def sync_source(
    self, source_id: int, trigger: str = SyncRun.Trigger.SCHEDULE, only: list[str] | None = None
) -> None:
    """Sync one source (or ``only`` the named repositories, for a webhook), then re-evaluate the rules.

    A source already syncing elsewhere is skipped; a targeted sync is then retried a minute later, so the
    event it stands for is not lost. When the API refused for a rate limit, the task is retried at the
    time the API named (at most ``RATE_LIMIT_RETRIES`` times; not when tasks run eagerly: there is no queue
    to wait in, and the next scheduled sync tries again).
    """
    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        logger.info("source %s is gone or disabled: nothing to sync", source_id)
        return
    try:
        run = sync.sync_source(source, trigger=trigger, only=tuple(only or ()))
    except sync.SyncAlreadyRunning:
        if only and not self.app.conf.task_always_eager and self.request.retries < BUSY_RETRIES:
            raise self.retry(countdown=60, max_retries=BUSY_RETRIES) from None
        logger.info("source %s is already being synced: skipped", source.name)
        return
    logger.info("synced source %s: %s", source.name, run.status)
    retry_at = _retry_at(run)
    if retry_at is not None:
        if not self.app.conf.task_always_eager and self.request.retries < RATE_LIMIT_RETRIES:
            logger.warning("source %s is rate limited: retrying at %s", source.name, retry_at.isoformat())
            raise self.retry(eta=retry_at, max_retries=RATE_LIMIT_RETRIES)
        logger.warning("source %s is rate limited until %s: not retried", source.name, retry_at.isoformat())
    evaluate_rules.delay()


def _retry_at(run: SyncRun) -> datetime | None:
    """When the API that refused ``run`` for a rate limit said to come back, or None."""
    for error in run.errors:
        if error.get("retry_at"):
            return max(datetime.fromisoformat(error["retry_at"]), datetime.now(UTC) + timedelta(seconds=1))
    return None


@shared_task(ignore_result=True)
def evaluate_rules(codes: list[str] | None = None) -> None:
    """Evaluate every enabled rule (or only ``codes``) and update the findings, then the maintenance burden
    and the scorecards."""
    result = run_rules(codes=codes)
    logger.info(
        "rules evaluated: %s opened, %s resolved", sum(result.opened.values()), sum(result.resolved.values())
    )
    after_rules()


@shared_task(ignore_result=True)
def sync_all_sources(trigger: str = SyncRun.Trigger.SCHEDULE) -> None:
    """Queue a sync of every enabled source (one task each, so workers share them)."""
    for pk in Source.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_source.delay(pk, trigger)


@shared_task(ignore_result=True)
def take_snapshots() -> None:
    """Write today's trend snapshots per team and per rule (idempotent within a day)."""
    teams, rules = trends.take_snapshots()
    logger.info("snapshots taken: %s teams, %s rules", teams, rules)
