"""The notifications' beat entries (django-celery-beat): delivery and nags on intervals, and each
channel's digest on its crontab. ``ensure_schedules`` is idempotent; channels call it when saved."""

from __future__ import annotations

import json

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from catalog.models import Channel

DELIVER_TASK = "catalog.notifications.tasks.deliver_notifications"
NAGS_TASK = "catalog.notifications.tasks.send_nags"
DIGEST_TASK = "catalog.notifications.tasks.send_digest"


def digest_task_name(channel: Channel) -> str:
    return f"digest of channel {channel.pk}"


def ensure_schedules() -> None:
    """Create (or keep) the entries that deliver the outbox every minute and write nags every hour."""
    for name, task, every, period in (
        ("deliver notifications", DELIVER_TASK, 1, IntervalSchedule.MINUTES),
        ("send nags", NAGS_TASK, 1, IntervalSchedule.HOURS),
    ):
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "description": "Slack notifications"}
        )


def schedule_digest(channel: Channel) -> PeriodicTask:
    """Create or update the entry that writes ``channel``'s digest on its crontab (UTC)."""
    minute, hour, day_of_month, month_of_year, day_of_week = channel.crontab.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=digest_task_name(channel),
        defaults={
            "task": DIGEST_TASK,
            "crontab": crontab,
            "interval": None,
            "args": json.dumps([channel.pk]),
            "enabled": channel.enabled and channel.digest_enabled,
            "description": f"Digest to {channel}",
        },
    )
    return task


def unschedule_digest(channel: Channel) -> None:
    PeriodicTask.objects.filter(name=digest_task_name(channel)).delete()
