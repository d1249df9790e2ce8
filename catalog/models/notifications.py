"""Notification channels (Slack) and the outbox of notifications (Healthchecks-style)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_celery_beat.validators import crontab_validator

from catalog.env_names import env_name_problem


def env_name_validator(value: str) -> None:
    """Raise ValidationError unless ``value`` is empty or an environment variable's NAME (not a token);
    the message never repeats ``value`` (see ``catalog.source_config.env_name_problem``)."""
    problem = value and env_name_problem(value)
    if problem:
        raise ValidationError(f"this {problem}")


class Channel(models.Model):
    """Where a team's notifications go: a Slack channel through a bot token, or an incoming webhook.

    ``team`` empty makes it the organisation-wide fallback (at most one), used for projects with no owner
    and for teams with no channel of their own or of a parent team. Secrets are never stored: ``token_env``
    and ``webhook_url_env`` hold the NAMES of environment variables. ``status`` turns ``broken`` when Slack
    answers a permanent error (``last_error`` says which); notifications then wait until it is repaired.
    Nags: open findings older than ``nag_after_days`` are repeated every ``nag_every_days`` (both default
    from ``PORTAL["NOTIFY"]``), next at ``next_nag_at``. Digests follow ``digest_crontab`` (5 fields, UTC).
    """

    class Kind(models.TextChoices):
        SLACK = "slack", "Slack channel (bot token)"
        SLACK_WEBHOOK = "slack-webhook", "Slack incoming webhook"

    class Status(models.TextChoices):
        OK = "ok"
        BROKEN = "broken"

    team = models.ForeignKey(
        "catalog.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
        help_text="Empty: the organisation-wide fallback channel.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SLACK)
    token_env = models.CharField(
        max_length=128,
        blank=True,
        validators=[env_name_validator],
        help_text="Name of the environment variable holding the bot token (xoxb-...), for kind slack.",
    )
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        help_text="Channel id (C0123ABC) or name (#ml-platform), for kind slack; empty: the team's Slack "
        "channel.",
    )
    webhook_url_env = models.CharField(
        max_length=128,
        blank=True,
        validators=[env_name_validator],
        help_text="Name of the environment variable holding the incoming-webhook URL, for kind "
        "slack-webhook.",
    )
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    nag_after_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Remind of findings open this many days (empty: the portal's default).",
    )
    nag_every_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days between reminders (empty: the portal's default)."
    )
    next_nag_at = models.DateTimeField(null=True, blank=True)
    digest_enabled = models.BooleanField(default=True)
    digest_crontab = models.CharField(
        max_length=100,
        blank=True,
        validators=[crontab_validator],
        help_text="When the digest is sent: minute hour day-of-month month day-of-week, UTC (empty: the "
        "portal's default, weekly).",
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "pk"]
        constraints = [
            # One channel per team, and one fallback (team empty).
            models.UniqueConstraint(Coalesce("team", Value(0)), name="catalog_channel_one_per_team"),
        ]

    def __str__(self) -> str:
        where = self.slack_channel or (self.team.slack_channel if self.team_id else "") or self.kind
        return f"{where} ({self.team.name if self.team_id else 'organisation fallback'})"

    def validate_constraints(self, exclude=None) -> None:
        """Django's checks, with a second channel of a team (or a second fallback) named: Django would
        say only that ``catalog_channel_one_per_team`` is violated."""
        if "team" not in (exclude or ()):
            taken = (
                Channel.objects.filter(team=self.team_id).exclude(pk=self.pk).select_related("team").first()
            )
            if taken is not None:
                message = (
                    f"there is already a fallback channel: {taken}; edit it, or give this channel a team"
                    if self.team_id is None
                    else f"team {taken.team.name} already has a channel: {taken}; edit that one instead"
                )
                raise ValidationError({"team": ValidationError(message, code="unique")})
        super().validate_constraints(exclude)

    def clean(self) -> None:
        if self.kind == self.Kind.SLACK:
            if not self.token_env:
                raise ValidationError({"token_env": "a Slack channel needs the bot token's variable name"})
            if not self.address:
                raise ValidationError({"slack_channel": "name the channel (the team has no Slack channel)"})
        elif not self.webhook_url_env:
            raise ValidationError({"webhook_url_env": "an incoming webhook needs its URL's variable name"})

    @property
    def secret_env(self) -> str:
        """The NAME of the environment variable this channel's secret is read from."""
        return self.token_env if self.kind == self.Kind.SLACK else self.webhook_url_env

    @property
    def secret_is_set(self) -> bool:
        """Whether the secret's variable is set (pages show this, never the value)."""
        return bool(self.secret_env and os.environ.get(self.secret_env))

    @property
    def address(self) -> str:
        """The Slack channel posted to (kind slack): its own, else the team's."""
        return self.slack_channel or (self.team.slack_channel if self.team_id else "")

    @property
    def crontab(self) -> str:
        return self.digest_crontab or settings.PORTAL["NOTIFY"]["DIGEST_CRONTAB"]

    @property
    def nag_after(self) -> int:
        return self.nag_after_days or settings.PORTAL["NOTIFY"]["NAG_AFTER_DAYS"]

    @property
    def nag_every(self) -> int:
        return self.nag_every_days or settings.PORTAL["NOTIFY"]["NAG_EVERY_DAYS"]


class Notification(models.Model):
    """One message in the outbox, written in the transaction that made it due, delivered by a worker.

    Exactly one of ``channel`` and ``person`` (a direct message to ``Person.slack_user_id``) is set.
    ``dedup_key`` is unique: ``alert:<finding id>`` (a finding is announced once), ``digest:<channel>:<day>``,
    ``nag:<channel>:<time>``, ``test:...``. ``topic`` (``<rule>:<subject kind>:<id>``) finds alerts on the
    same subject within the quiet period. ``payload`` is the Slack message (``text``, ``blocks``,
    ``metadata``). A worker claims a row (``status`` pending -> sending, ``claimed_at``/``claimed_by``) with
    a conditional UPDATE; a claim older than ``PORTAL["NOTIFY"]["CLAIM_TIMEOUT"]`` seconds is taken again.
    """

    class Kind(models.TextChoices):
        ALERT = "alert"
        DIGEST = "digest"
        NAG = "nag"
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        CANCELLED = "cancelled"  # its finding was resolved before it could be sent

    dedup_key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    person = models.ForeignKey(
        "catalog.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    finding = models.ForeignKey(
        "catalog.Finding", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    topic = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(
        default=dict, blank=True
    )  # e.g. {"channel": "C0123", "ts": "1503435956.000247"}
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__isnull=False, person__isnull=True)
                | Q(channel__isnull=True, person__isnull=False),
                name="catalog_notification_one_destination",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["topic", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.dedup_key

    @property
    def destination(self) -> str:
        if self.person_id is not None:
            return f"direct message to {self.person} ({self.person.slack_user_id or 'no Slack user id'})"
        return str(self.channel)
