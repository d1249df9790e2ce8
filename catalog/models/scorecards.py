"""Scorecards: the organisation's standards as levels of checks, their exemptions and stored results.

A scorecard (``ml-readiness``) names its levels lowest first (``["bronze", "silver", "gold"]``); each check
belongs to one level and is a check kind of ``catalog.scorecards.checks.CHECK_KINDS`` with its parameters.
A project reaches a level when it passes (or is exempt from) every check of that level and of every lower
one. Results are written by ``catalog.scorecards.evaluate`` after the rules pass and read as stored.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Scorecard(models.Model):
    """A named set of checks grouped into ``levels`` (a list of level names, lowest first).

    ``file`` names the YAML file that defines it (empty: made in the admin): a path, or the location of a
    repository's file that a source syncs (its web URL, or ``<repository>@<branch>:<path>``). A file's load
    replaces the checks of the scorecards it defines and leaves the others alone; the admin shows a
    scorecard defined by a file read-only.
    """

    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    levels = models.JSONField(default=list)
    file = models.CharField(max_length=1024, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title or self.name

    def clean(self) -> None:
        levels = self.levels
        if (
            not isinstance(levels, list)
            or not levels
            or not all(isinstance(level, str) and level.strip() for level in levels)
        ):
            raise ValidationError(
                {"levels": 'a list of level names, lowest first, e.g. ["bronze", "silver"]'}
            )
        if len(set(levels)) != len(levels):
            raise ValidationError({"levels": "each level is named once"})


class ScorecardCheck(models.Model):
    """One check of a scorecard: ``kind`` (``rule``, ``has-owner``, ``fact``...) with its ``params``.

    ``code`` is unique within the scorecard; ``level`` is one of the scorecard's levels.
    """

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="checks")
    code = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    level = models.CharField(max_length=100)
    kind = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "code"], name="catalog_scorecardcheck_code"),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard.name}/{self.code}"

    def clean(self) -> None:
        from catalog.scorecards.checks import CHECK_KINDS, check_params

        errors = {}
        if self.scorecard_id and self.level not in self.scorecard.levels:
            errors["level"] = f"one of the scorecard's levels: {', '.join(self.scorecard.levels)}"
        if self.kind not in CHECK_KINDS:
            errors["kind"] = f"one of: {', '.join(sorted(CHECK_KINDS))}"
        else:
            try:
                self.params = check_params(self.kind, self.params)
            except ValueError as error:
                errors["params"] = str(error)
        if errors:
            raise ValidationError(errors)


class ScorecardExemption(models.Model):
    """A project excused from one check, with a ``reason``, until ``expires_at`` (None: until removed)."""

    check_ref = models.ForeignKey(ScorecardCheck, on_delete=models.CASCADE, related_name="exemptions")
    project = models.ForeignKey(
        "catalog.Project", on_delete=models.CASCADE, related_name="scorecard_exemptions"
    )
    reason = models.CharField(max_length=500)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["check_ref", "project"]
        constraints = [
            models.UniqueConstraint(fields=["check_ref", "project"], name="catalog_scorecardexemption_once"),
        ]

    def __str__(self) -> str:
        return f"{self.project} exempt from {self.check_ref}"


class ScorecardResult(models.Model):
    """The stored outcome of one check on one project.

    ``passed`` is the check's own verdict; ``exempt`` says a valid exemption excuses a failure (the check
    then counts as met). ``detail`` is one sentence saying why. ``changed_at`` is when ``passed`` or
    ``exempt`` last changed (or the row was made); ``evaluated_at`` the last evaluation that wrote it.
    """

    # No index of their own: the unique (project, check_ref) and the (check_ref, passed) index lead with them,
    # and each index slows the 100,000-row writes of a scorecard's first evaluation.
    project = models.ForeignKey(
        "catalog.Project", on_delete=models.CASCADE, related_name="scorecard_results", db_index=False
    )
    check_ref = models.ForeignKey(
        ScorecardCheck, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    passed = models.BooleanField()
    exempt = models.BooleanField(default=False)
    detail = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "check_ref"], name="catalog_scorecardresult_once"),
        ]
        indexes = [models.Index(fields=["check_ref", "passed"])]

    def __str__(self) -> str:
        return f"{self.check_ref_id} on {self.project_id}: {'met' if self.met else 'failed'}"

    @property
    def met(self) -> bool:
        return self.passed or self.exempt


class ProjectLevel(models.Model):
    """The level a project reached on a scorecard: ``level`` ('' below the first), ``rank`` its index + 1
    (0 below the first), ``changed_at`` when it last changed and ``previous_level`` what it was before."""

    # Covered by the unique (project, scorecard) and the (scorecard, rank) index.
    project = models.ForeignKey(
        "catalog.Project", on_delete=models.CASCADE, related_name="scorecard_levels", db_index=False
    )
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="project_levels", db_index=False
    )
    level = models.CharField(max_length=100, blank=True)
    rank = models.PositiveSmallIntegerField(default=0)
    previous_level = models.CharField(max_length=100, blank=True)
    previous_rank = models.PositiveSmallIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "scorecard"], name="catalog_projectlevel_once"),
        ]
        indexes = [models.Index(fields=["scorecard", "rank"]), models.Index(fields=["changed_at"])]

    def __str__(self) -> str:
        return f"{self.project_id} on {self.scorecard_id}: {self.level or 'no level'}"
