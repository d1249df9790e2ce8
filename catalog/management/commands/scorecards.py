"""manage.py scorecards: load a scorecards file and/or evaluate the scorecards now."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.burden import update_burden
from catalog.scorecards.evaluate import evaluate_scorecards
from catalog.scorecards.refresh import load_scorecards_file, read_scorecards_file
from catalog.scorecards.spec import ScorecardFileError, parse_scorecards


class Command(BaseCommand):
    help = (
        "Load a scorecards YAML file (--file, else PORTAL_SCORECARDS_FILE when set), then update the "
        "maintenance burden and evaluate the "
        "scorecards (all enabled ones, or those named), printing the projects per level."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="scorecard names (default: every enabled scorecard)")
        parser.add_argument(
            "--file", help="a scorecards YAML file to load first (default: PORTAL_SCORECARDS_FILE, if set)"
        )
        parser.add_argument(
            "--check", action="store_true", help="only validate the file (--file or the configured one)"
        )

    def handle(self, *args, names, file, check, **options):
        file = file or settings.PORTAL.get("SCORECARDS_FILE") or ""
        if check and not file:
            raise CommandError("--check needs --file (PORTAL_SCORECARDS_FILE is not set)")
        if file:
            try:
                if check:
                    parse_scorecards(read_scorecards_file(file), str(file))
                    self.stdout.write(f"{file}: valid")
                    return
                load_scorecards_file(file)
            except ScorecardFileError as error:
                raise CommandError(f"{file} has errors (nothing loaded):\n{error}") from None
            except OSError as error:
                raise CommandError(f"cannot read {file} (nothing loaded): {error}") from None
        update_burden()
        try:
            outcomes = evaluate_scorecards(names=names or None)
        except KeyError as error:
            raise CommandError(error.args[0]) from None
        for name, outcome in outcomes.items():
            levels = ", ".join(
                f"{level or 'none'}: {count}" for level, count in sorted(outcome.levels.items())
            )
            self.stdout.write(
                f"{name}: {outcome.created} results created, {outcome.changed} changed, "
                f"{outcome.level_changes} levels changed; projects per level: {levels or 'no projects'}"
            )
