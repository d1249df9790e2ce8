"""manage.py ensure_admin: a local admin account for the laptop setup, its login printed."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' if it does not exist, with a random password kept in the data folder "
        "(var/admin_password, mode 600), and print the login. For local use; production creates its own."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        path = settings.DATA_DIR / f"{username}_password"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None or not path.exists():
            password = secrets.token_urlsafe(12)
            if user is None:
                User.objects.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.save()
            path.write_text(password)
            path.chmod(0o600)
        self.stdout.write(f"Sign in as {username} / {path.read_text().strip()}")
