"""Custom facts: named values that CI jobs and monitors report about a project, kept with their history."""

from __future__ import annotations

import math

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery

FACT_NAME_RULE = "1-100 characters of [a-z0-9] separated by any of [-_.:]"
fact_name_validator = RegexValidator(
    r"^[a-z0-9](?:[-a-z0-9_.:]{0,98}[a-z0-9])?$", f"a fact name is {FACT_NAME_RULE}"
)


class ProjectFactQuerySet(models.QuerySet):
    def latest_per_name(self) -> ProjectFactQuerySet:
        """The newest fact (by ``observed_at``, then id) of each project and name among these rows."""
        newest = (
            ProjectFact.objects.filter(project=OuterRef("project"), name=OuterRef("name"))
            .order_by("-observed_at", "-pk")
            .values("pk")[:1]
        )
        return self.filter(pk=Subquery(newest))


class ProjectFact(models.Model):
    """One reported value of a named fact about a project (``coverage``, ``drift-score``...) at a time.

    Exactly one of ``number`` and ``text`` holds the value (``value`` reads whichever it is).
    ``observed_at`` is when the reporter measured it (aware UTC); a report never replaces an earlier one,
    so the rows of one name are its history. ``reported_by`` is the user (or service token's maker).
    """

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="facts")
    name = models.CharField(max_length=100, validators=[fact_name_validator])
    number = models.FloatField(null=True, blank=True)
    # NULL, not "", marks "no text": an empty string is a value a reporter may send.
    text = models.TextField(null=True, blank=True)  # noqa: DJ001
    observed_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectFactQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-observed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__isnull=False, text__isnull=True)
                | Q(number__isnull=True, text__isnull=False),
                name="catalog_projectfact_one_value",
            ),
        ]
        indexes = [models.Index(fields=["project", "name", "-observed_at"])]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @property
    def value(self) -> float | str | None:
        return self.number if self.number is not None else self.text

    @value.setter
    def value(self, value: float | int | str) -> None:
        """Store a number (finite int or float, not a bool) or a string; raises ValueError otherwise."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"a fact's value is a number or a string, not {type(value).__name__}")
        if isinstance(value, str):
            self.number, self.text = None, value
        elif not math.isfinite(value):
            raise ValueError("a fact's value must be a finite number")
        else:
            self.number, self.text = float(value), None
