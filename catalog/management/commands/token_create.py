"""manage.py token_create: make an API token for a user and print it (shown once, stored hashed)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import APIToken


class Command(BaseCommand):
    help = (
        "Make a personal API token for USERNAME, or with --service a service token (USERNAME must be staff), "
        "and print it. --create-staff makes USERNAME a staff account first if it does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for")
        parser.add_argument("--service", action="store_true", help="a staff-only service token")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--create-staff", action="store_true")

    def handle(self, *args, username, name, service, expires_days, create_staff, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None and create_staff:
            user = User.objects.create_user(username, is_staff=True)
        if user is None:
            raise CommandError(f"no user {username!r}")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        kind = APIToken.Kind.SERVICE if service else APIToken.Kind.PERSONAL
        try:
            _, token = APIToken.objects.issue(user, name, kind=kind, expires_at=expires_at)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(token)
