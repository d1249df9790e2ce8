"""API tokens: personal tokens a user makes on their profile page, and staff-only service tokens.

A token reads ``mlp_<prefix>_<secret>``: the prefix (8 characters) is stored in clear to find the row and to
show the user which token is which; only the SHA-256 of the whole token is stored, so the token is shown
once, when it is made, and never again. The secret carries 256 bits of randomness, which is why a plain
SHA-256 (rather than a slow password hash) is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

TOKEN_PREFIX = "mlp_"
PREFIX_LENGTH = 8
# ``last_used_at`` is written at most this often per token: a busy integration costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The hex SHA-256 of the whole token string, as stored in ``APIToken.secret_hash``."""
    return hashlib.sha256(token.encode()).hexdigest()


class APITokenQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> APITokenQuerySet:
        """Tokens neither revoked nor expired at ``now`` (default: the current time)."""
        now = now or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)

    def issue(
        self, user, name: str, *, kind: str = "personal", expires_at: datetime | None = None
    ) -> tuple[APIToken, str]:
        """Make a token for ``user``; return the row and the token string (shown once, never stored).

        Raises ValueError when a service token is asked for a user who is not active staff, and Django's
        ValidationError naming the field (``name`` longer than its 100 characters, an unknown ``kind``)
        before anything is saved: SQLite would store an over-long name as it is.
        """
        if kind == APIToken.Kind.SERVICE and not (user.is_active and user.is_staff):
            raise ValueError("service tokens are for staff only")
        while True:
            prefix = secrets.token_hex(PREFIX_LENGTH // 2)
            if not self.filter(prefix=prefix).exists():
                break
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = self.model(
            user=user,
            name=name,
            kind=kind,
            prefix=prefix,
            secret_hash=hash_token(token),
            expires_at=expires_at,
        )
        row.full_clean(validate_unique=False)
        row.save(force_insert=True)
        return row, token

    def find(self, token: str) -> APIToken | None:
        """The token row whose hash matches ``token`` (revoked and expired ones included), or None.

        The hash is compared in constant time; a string not shaped like a token is None without a query.
        """
        if not token.startswith(TOKEN_PREFIX):
            return None
        prefix, sep, _ = token[len(TOKEN_PREFIX) :].partition("_")
        if len(prefix) != PREFIX_LENGTH or not sep:
            return None
        row = next(iter(self.select_related("user").filter(prefix=prefix).order_by()[:1]), None)
        if row is None or not hmac.compare_digest(row.secret_hash, hash_token(token)):
            return None
        return row


class APIToken(models.Model):
    """A token that authenticates API requests as ``user`` (``Authorization: Bearer <token>``).

    ``kind`` is ``personal`` (any user, listed and revoked by its user) or ``service`` (made by staff for an
    integration, listed and revoked by any staff member; it acts with its maker's staff rights and stops
    working if the maker is no longer active staff). ``expires_at`` is optional; ``revoked_at`` is set when
    revoked (the row is kept so the last use stays visible).
    """

    class Kind(models.TextChoices):
        PERSONAL = "personal"
        SERVICE = "service"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CI coverage reporter'.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = APITokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.prefix}_…)"

    @property
    def display_prefix(self) -> str:
        """What the user sees of the token: ``mlp_1a2b3c4d_…``."""
        return f"{TOKEN_PREFIX}{self.prefix}_…"

    def problem(self, now: datetime | None = None) -> str | None:
        """Why the token cannot be used at ``now`` (revoked, expired, inactive, not staff), or None."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "the token was revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "the token has expired"
        if not self.user.is_active:
            return "the token's user is inactive"
        if self.kind == self.Kind.SERVICE and not self.user.is_staff:
            return "the service token's maker is no longer staff"
        return None

    def touch(self, now: datetime | None = None) -> None:
        """Record a use: one conditional UPDATE, at most once per ``LAST_USED_RESOLUTION``."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        APIToken.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        self.last_used_at = now

    def revoke(self, now: datetime | None = None) -> None:
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            APIToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)
