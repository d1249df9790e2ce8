"""Celery tasks: thin wrappers over the sync, the rules and the schedule."""

import logging

from celery import shared_task

from catalog import sync
from catalog.models import Source, SyncRun
from catalog.rules.evaluate import evaluate_rules as run_rules

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sync_source(source_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> None:
    """Sync one source, then re-evaluate the rules. A source already syncing elsewhere is skipped."""
    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        logger.info("source %s is gone or disabled: nothing to sync", source_id)
        return
    try:
        run = sync.sync_source(source, trigger=trigger)
    except sync.SyncAlreadyRunning:
        logger.info("source %s is already being synced: skipped", source.name)
        return
    logger.info("synced source %s: %s", source.name, run.status)
    evaluate_rules.delay()


@shared_task(ignore_result=True)
def evaluate_rules() -> None:
    """Evaluate every enabled rule and update the findings."""
    result = run_rules()
    logger.info(
        "rules evaluated: %s opened, %s resolved", sum(result.opened.values()), sum(result.resolved.values())
    )


@shared_task(ignore_result=True)
def sync_all_sources(trigger: str = SyncRun.Trigger.SCHEDULE) -> None:
    """Queue a sync of every enabled source (one task each, so workers share them)."""
    for pk in Source.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_source.delay(pk, trigger)
