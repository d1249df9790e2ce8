"""Keep each channel's digest entry (and the delivery and nag entries) in step with the channels."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Channel
from catalog.notifications.schedules import ensure_schedules, schedule_digest, unschedule_digest


@receiver(post_save, sender=Channel)
def channel_saved(sender, instance: Channel, raw: bool = False, **kwargs) -> None:
    if not raw:
        ensure_schedules()
        schedule_digest(instance)


@receiver(post_delete, sender=Channel)
def channel_deleted(sender, instance: Channel, **kwargs) -> None:
    unschedule_digest(instance)
