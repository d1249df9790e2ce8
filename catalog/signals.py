"""Keep each source's beat entry in step with the source."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Source
from catalog.schedules import schedule_source, unschedule_source


@receiver(post_save, sender=Source)
def source_saved(sender, instance: Source, raw: bool = False, **kwargs) -> None:
    if not raw:
        schedule_source(instance)


@receiver(post_delete, sender=Source)
def source_deleted(sender, instance: Source, **kwargs) -> None:
    unschedule_source(instance)
