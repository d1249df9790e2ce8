"""manage.py source_add: create or update a source from the command line."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.connectors import mlflow
from catalog.models import Source
from catalog.source_urls import check_source_config


class Command(BaseCommand):
    help = (
        "Create or update a source. For --kind git, each target is a local directory (a repository or a "
        "folder scanned for repositories) or a git URL; for --kind file, each target is a descriptor file; "
        "for --kind mlflow, the one target is the tracking server's URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the source's name (a slug)")
        parser.add_argument("targets", nargs="+", help="directories, git URLs or descriptor files")
        parser.add_argument(
            "--kind", choices=[Source.Kind.GIT, Source.Kind.FILE, Source.Kind.MLFLOW], default=Source.Kind.GIT
        )
        parser.add_argument("--interval", type=int, default=60, help="minutes between scheduled syncs")

    def handle(self, *args, name, targets, kind, interval, **options):
        if kind == Source.Kind.FILE:
            config = {"paths": [str(Path(t).resolve()) for t in targets]}
        elif kind == Source.Kind.MLFLOW:
            if len(targets) != 1:
                raise CommandError("--kind mlflow takes one target: the tracking server's URL")
            config = {"tracking_uri": targets[0]}
            try:
                mlflow.parse_config(config)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        else:
            paths = [str(Path(t).resolve()) for t in targets if Path(t).exists()]
            urls = [t for t in targets if not Path(t).exists()]
            bad = [u for u in urls if "://" not in u and "@" not in u]
            if bad:
                raise CommandError(f"neither an existing directory nor a git URL: {', '.join(bad)}")
            config = {"paths": paths, "urls": urls}
        try:
            check_source_config(kind, config)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.message_dict["config"])) from None
        source, created = Source.objects.update_or_create(
            name=name, defaults={"kind": kind, "config": config, "sync_interval_minutes": interval}
        )
        self.stdout.write(f"{'created' if created else 'updated'} source {source.name}: {config}")
