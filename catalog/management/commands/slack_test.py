"""manage.py slack_test --team NAME: send a test message to a team's channel (or --fallback's)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import Channel, Team
from catalog.notifications import delivery, registry
from catalog.notifications.slack import blocks
from catalog.notifications.slack.transport import Outcome


class Command(BaseCommand):
    help = (
        "Send a test message to a team's Slack channel now and print Slack's answer. Success marks a "
        "broken channel working again; a permanent error marks it broken."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--team", help="the team's name or entity reference (group:default/ml-platform)")
        target.add_argument("--fallback", action="store_true", help="the organisation-wide fallback channel")

    def handle(self, *args, team: str | None, fallback: bool, **options):
        channel = self.channel(team)
        key = f"test:{channel.pk}:{timezone.now().isoformat()}"
        result = registry.send(
            registry.channel_target(channel), blocks.test_message(str(channel), dedup_key=key)
        )
        if result.outcome == Outcome.SENT:
            delivery.repair(channel)
            self.stdout.write(f"sent to {channel}: {result.response}")
            return
        if result.outcome == Outcome.BROKEN:
            Channel.objects.filter(pk=channel.pk).update(
                status=Channel.Status.BROKEN, last_error=result.error, last_error_at=timezone.now()
            )
        raise CommandError(f"{channel}: {result.outcome}: {result.error}")

    @staticmethod
    def channel(team: str | None) -> Channel:
        if team is None:
            found = Channel.objects.filter(team__isnull=True).first()
            if found is None:
                raise CommandError("no fallback channel: add a channel with no team in the admin")
            return found
        name = team.split("/")[-1]
        namespace = team.split(":")[-1].split("/")[0] if "/" in team else "default"
        found_team = Team.objects.filter(name__iexact=name, namespace__iexact=namespace).first()
        if found_team is None:
            raise CommandError(
                f"team {team!r} does not exist: give a team's name or reference (group:default/NAME)"
            )
        found = Channel.objects.select_related("team").filter(team=found_team).first()
        if found is None:
            raise CommandError(f"team {found_team.name!r} has no channel: add one in the admin (Channels)")
        return found
