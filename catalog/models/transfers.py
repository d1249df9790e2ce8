"""Requests to hand a project over to another team, decided by its current owners."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TransferRequest(models.Model):
    """A request by ``requested_by`` that ``to_team`` becomes the owner of ``project``.

    The project's owners (the members of its owning team, or the person who owns it) or staff accept or
    decline it; the requester may cancel it while it is pending. ``from_ref`` keeps the owner's reference
    when it was asked. At most one pending request per project and team.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        CANCELLED = "cancelled"

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="transfer_requests")
    to_team = models.ForeignKey("catalog.Team", on_delete=models.CASCADE, related_name="incoming_transfers")
    from_ref = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "to_team"],
                condition=Q(status="pending"),
                name="catalog_transferrequest_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["status", "project"])]

    def __str__(self) -> str:
        return f"{self.project} to {self.to_team} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
