"""manage.py sync: sync sources now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from catalog import sync
from catalog.audit import record_sync_trigger
from catalog.models import Source, SyncRun


class Command(BaseCommand):
    help = "Sync the named sources (or --all enabled ones) now and print each run's counts."

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="*", help="source names")
        parser.add_argument("--all", action="store_true", help="every enabled source")

    def handle(self, *args, sources, all, **options):
        if all:
            selected = list(Source.objects.filter(enabled=True))
        elif sources:
            selected = list(Source.objects.filter(name__in=sources))
            missing = set(sources) - {s.name for s in selected}
            if missing:
                raise CommandError(f"no source named {', '.join(sorted(missing))}")
        else:
            raise CommandError("name the sources to sync, or pass --all")
        failed = False
        for source in selected:
            record_sync_trigger(source, by=None, trigger=SyncRun.Trigger.MANUAL, via="command")
            try:
                run = sync.sync_source(source, trigger=SyncRun.Trigger.MANUAL)
            except sync.SyncAlreadyRunning as exc:
                self.stderr.write(str(exc))
                failed = True
                continue
            self.stdout.write(
                f"{source.name}: {run.status} in {run.duration.total_seconds():.2f} s: "
                f"{run.created} created, {run.updated} updated, {run.unchanged} unchanged, "
                f"{run.failed} failed, {run.orphaned} orphaned"
            )
            for error in run.errors[:50]:
                self.stdout.write(f"  {error['item']}: {error['message']}")
            if len(run.errors) > 50:
                self.stdout.write(f"  ... and {len(run.errors) - 50} more errors (see the sync run's page)")
            failed |= run.status == SyncRun.Status.FAILED
        if failed:
            raise CommandError("some sources could not be synced")
