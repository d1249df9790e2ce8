"""Webhook deliveries already handled, so that a replayed or redelivered event is applied once."""

from django.db import models


class WebhookDelivery(models.Model):
    """One delivery received: ``provider`` (``github``, ``gitlab``) and its id (GitHub's
    ``X-GitHub-Delivery``, GitLab's ``Idempotency-Key``). Rows older than
    ``PORTAL["WEBHOOK_DELIVERY_RETENTION_DAYS"]`` are deleted as new deliveries arrive.
    """

    provider = models.CharField(max_length=16)
    delivery_id = models.CharField(max_length=128)
    event = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["provider", "delivery_id"], name="catalog_webhookdelivery_id"),
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.delivery_id}"
