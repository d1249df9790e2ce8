"""The model registry: registered models, their versions, and the history of their aliases and stages.

Terms are MLflow's (registered model, model version, alias, legacy stage, run); other registries (Hugging
Face Hub, W&B, SageMaker) map onto the same rows. ``registered_at`` / ``last_updated_at`` are the
registry's own times (MLflow's ``creation_timestamp`` / ``last_updated_timestamp``), while ``created_at`` /
``updated_at`` say when the portal's row was made and last changed.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from catalog import giturls
from catalog.models.base import TimestampedModel


class RegisteredModel(TimestampedModel):
    """A registered model of a registry source, e.g. an MLflow registered model.

    ``aliases`` maps each alias (``champion``) to the version string it points at. ``production_version``
    is the version the portal takes as in production (``catalog.registry.production_version``), set by the
    sync. ``project`` is the project the model belongs to and ``link_method`` says how that was found
    (``link_detail`` names the annotation, tag or repository); a model with no project is an orphan.
    ``gone_at`` is set when the registry stops listing the model (deleted there).
    """

    class LinkMethod(models.TextChoices):
        ANNOTATION = "annotation", "Project annotation"
        TAG = "tag", "Registered-model tag"
        REPOSITORY = "repository", "Training run's repository"

    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="registered_models")
    name = models.CharField(max_length=256)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_updated_at = models.DateTimeField(null=True, blank=True)
    production_version = models.ForeignKey(
        "catalog.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    project = models.ForeignKey(
        "catalog.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registered_models",
    )
    link_method = models.CharField(max_length=20, choices=LinkMethod.choices, blank=True)
    link_detail = models.CharField(max_length=1024, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name"], name="catalog_registeredmodel_name"),
        ]
        indexes = [models.Index(fields=["project"]), models.Index(fields=["gone_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """Its page; reads ``source`` (select it with the model)."""
        return reverse("model-detail", args=[self.source.name, self.name])

    @property
    def is_orphan(self) -> bool:
        return self.project_id is None


class ModelVersion(TimestampedModel):
    """One version of a registered model.

    ``version`` is the registry's string and ``number`` its integer value when it has one (for ordering).
    ``aliases`` lists the aliases pointing at it; ``stage`` is MLflow's legacy stage ('' for none);
    ``source_uri`` is MLflow's ``source`` (where the artifacts are: ``runs:/<run id>/model``, ``s3://...``;
    named so as not to be taken for the catalog's Source). ``run_id`` names the training run (``run_url``
    links to it); ``git_repo_url`` / ``git_commit`` are that run's tags ``mlflow.source.git.repoURL`` /
    ``mlflow.source.git.commit``, ``trained_at`` its start time and ``metrics`` its key metrics
    (``{"rmse": 0.71}``). ``gone_at`` is set when the registry no longer lists it.
    """

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    number = models.BigIntegerField(null=True, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    stage = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=64, blank=True)
    status_message = models.TextField(blank=True)
    description = models.TextField(blank=True)
    source_uri = models.TextField(blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    run_url = models.CharField(max_length=2048, blank=True)
    user_id = models.CharField(max_length=256, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    git_repo_url = models.CharField(max_length=1024, blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_updated_at = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_model_id", "-number", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="catalog_modelversion_version"
            ),
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["registered_at"])]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"

    @property
    def labels(self) -> list[str]:
        """Its aliases as ``@alias`` and its stage, for display."""
        return [f"@{alias}" for alias in self.aliases] + ([self.stage] if self.stage else [])

    @property
    def commit_url(self) -> str:
        """A web link to the training commit, or '' when it is unknown or the repository is local."""
        return giturls.commit_url(self.git_repo_url, self.git_commit)


class ModelVersionEvent(models.Model):
    """A version gained or lost an alias or a stage: the history MLflow itself does not keep.

    ``label_kind`` is ``alias`` or ``stage``; ``label`` the alias (``champion``) or stage (``Production``).
    ``observed_at`` is the sync that saw the change; ``at`` when it happened as far as the portal can tell:
    for a stage, the version's ``last_updated_at`` when that falls after the previous sync (MLflow stamps
    stage transitions), else ``observed_at`` (aliases carry no timestamp in MLflow).
    """

    class LabelKind(models.TextChoices):
        ALIAS = "alias"
        STAGE = "stage"

    class Action(models.TextChoices):
        ADDED = "added"
        REMOVED = "removed"

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="events")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="events")
    label_kind = models.CharField(max_length=10, choices=LabelKind.choices)
    label = models.CharField(max_length=256)
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField()
    observed_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["registered_model", "at"])]

    def __str__(self) -> str:
        return f"{self.model_version} {self.action} {self.label_kind} {self.label} at {self.at:%Y-%m-%d}"
