"""manage.py notify: write the nags (and digests) due now and deliver the outbox, or show what would go."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from catalog.models import Channel, Notification
from catalog.notifications import delivery, reminders
from catalog.notifications.delivery import deliverable, due


class Command(BaseCommand):
    help = (
        "Write the nags due now (and with --digests every channel's digest), then deliver the due "
        "notifications. With --dry-run, print what would be sent to whom, and change nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print, write nothing, send nothing")
        parser.add_argument("--digests", action="store_true", help="also write each channel's digest now")

    def handle(self, *args, dry_run: bool, digests: bool, **options):
        now = timezone.now()
        if dry_run:
            self.dry_run(now, digests)
            return
        nags = reminders.write_nags(now)
        written = [n for n in (reminders.write_digest(c, now) for c in self.digest_channels(digests)) if n]
        outcomes = delivery.deliver_due(limit=10_000)
        self.stdout.write(
            f"{len(nags)} nag(s) and {len(written)} digest(s) written; delivered: "
            + (
                ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
                or "nothing due"
            )
        )

    @staticmethod
    def digest_channels(digests: bool):
        return (
            Channel.objects.filter(enabled=True, digest_enabled=True).select_related("team")
            if digests
            else []
        )

    def dry_run(self, now, digests: bool) -> None:
        """Print each message that would be written or sent now, marking those a broken or disabled
        channel holds back; the closing count is of the messages that would really be sent."""
        lines, held = [], 0
        hold = " [held: the channel is broken or disabled]"
        pending = (
            Notification.objects.filter(due(now))
            .select_related("channel__team", "person")
            .order_by("next_attempt_at", "pk")
        )
        ready = set(pending.filter(deliverable()).values_list("pk", flat=True))
        for row in pending:
            held += row.pk not in ready
            lines.append(
                f"{row.kind} {row.dedup_key} -> {row.destination}{'' if row.pk in ready else hold}: "
                f"{row.payload.get('text', '')}"
            )
        waiting = Notification.objects.filter(status=Notification.Status.PENDING).exclude(due(now))
        for channel, overdue in reminders.nag_plan(now):  # only channels that are enabled and OK
            if overdue:
                key, payload = reminders.nag_payload(channel, overdue, now)
                lines.append(f"nag {key} -> {channel}: {payload['text']}")
        for channel in self.digest_channels(digests):
            key, payload = reminders.digest_payload(channel, now)
            blocked = channel.status != Channel.Status.OK
            held += blocked
            lines.append(f"digest {key} -> {channel}{hold if blocked else ''}: {payload['text']}")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(
            f"dry run: {len(lines) - held} message(s) would be sent now, {held} held by a broken or "
            f"disabled channel; {waiting.count()} more wait for a retry or a snooze to end"
        )
