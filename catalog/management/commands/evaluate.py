"""manage.py evaluate: run the maintenance rules now."""

from django.core.management.base import BaseCommand, CommandError

from catalog.rules import RULES
from catalog.rules.evaluate import evaluate_rules
from catalog.scorecards.refresh import after_rules


class Command(BaseCommand):
    help = (
        "Evaluate the maintenance rules and print, per rule, the findings opened, kept and resolved; then "
        "update the maintenance burden and the scorecards."
    )

    def add_arguments(self, parser):
        parser.add_argument("rules", nargs="*", help=f"rule codes (default: all): {', '.join(sorted(RULES))}")

    def handle(self, *args, rules, **options):
        unknown = set(rules) - set(RULES)
        if unknown:
            raise CommandError(
                f"unknown rules: {', '.join(sorted(unknown))}; known: {', '.join(sorted(RULES))}"
            )
        result = evaluate_rules(codes=rules or None)
        after_rules(
            report=self.stderr.write
        )  # the maintenance burden and the scorecards, as the evaluate_rules task does
        for code in rules or sorted(RULES):
            self.stdout.write(
                f"{code}: {result.opened[code]} opened, {result.seen[code]} still open, "
                f"{result.resolved[code]} resolved"
            )
