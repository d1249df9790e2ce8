"""manage.py token_create: make an API token for a user and print it (shown once, stored hashed)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import APIToken

MAX_DAYS = 3650  # ten years; timedelta overflows far beyond, and a longer-lived token is a risk


class Command(BaseCommand):
    help = (
        "Make a personal API token for USERNAME, or with --service a service token (USERNAME must be staff), "
        "and print it. --create-staff makes USERNAME a staff account first if it does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for")
        parser.add_argument("--service", action="store_true", help="a staff-only service token")
        parser.add_argument(
            "--expires-days", type=int, default=None, help=f"days until it expires (1 to {MAX_DAYS})"
        )
        parser.add_argument("--create-staff", action="store_true")

    def handle(self, *args, username, name, service, expires_days, create_staff, **options):
        if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
            raise CommandError(f"--expires-days: must be 1 to {MAX_DAYS}, not {expires_days}")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None and create_staff:
            user = User(username=username, is_staff=True)
            user.set_unusable_password()
            try:
                user.full_clean()
            except ValidationError as exc:
                raise CommandError(
                    f"USERNAME: {' '.join(exc.message_dict.get('username', exc.messages))}"
                ) from None
            user.save()
        if user is None:
            raise CommandError(f"no user {username!r}")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        kind = APIToken.Kind.SERVICE if service else APIToken.Kind.PERSONAL
        try:
            _, token = APIToken.objects.issue(user, name, kind=kind, expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            ) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(token)
