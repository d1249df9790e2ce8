"""Each source's periodic sync, kept in django-celery-beat's tables."""

import json

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from catalog.models import Source

TASK = "catalog.tasks.sync_source"


def task_name(source: Source) -> str:
    return f"sync source {source.pk}"


def schedule_source(source: Source) -> PeriodicTask:
    """Create or update the beat entry that syncs ``source`` every ``sync_interval_minutes`` minutes."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=max(1, source.sync_interval_minutes), period=IntervalSchedule.MINUTES
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=task_name(source),
        defaults={
            "task": TASK,
            "interval": interval,
            "args": json.dumps([source.pk]),
            "enabled": source.enabled,
            "description": f"Sync of source {source.name}",
        },
    )
    return task


def unschedule_source(source: Source) -> None:
    PeriodicTask.objects.filter(name=task_name(source)).delete()
