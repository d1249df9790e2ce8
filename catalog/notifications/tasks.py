"""Celery tasks of the notifications: thin wrappers over delivery, reminders and Slack actions."""

import logging

from celery import shared_task

from catalog.models import Channel
from catalog.notifications import delivery, reminders
from catalog.notifications.slack import interactions

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def deliver_notifications(limit: int = 500) -> None:
    """Deliver due notifications (at most ``limit`` in this run; the next run takes the rest)."""
    outcomes = delivery.deliver_due(limit=limit)
    if outcomes:
        logger.info("notifications delivered: %s", dict(outcomes))


@shared_task(ignore_result=True)
def send_nags() -> None:
    """Write the nags due now; delivery is queued when they commit."""
    reminders.write_nags()


@shared_task(ignore_result=True)
def send_digest(channel_id: int) -> None:
    channel = Channel.objects.filter(pk=channel_id).select_related("team").first()
    if channel is None:
        logger.info("channel %s is gone: no digest", channel_id)
        return
    reminders.write_digest(channel)


@shared_task(ignore_result=True)
def handle_slack_action(payload: dict) -> None:
    """Carry out a verified Slack button click and update its message through ``response_url``."""
    interactions.perform(payload)
