"""Sources the portal reads from, their sync runs, and the descriptor files they hold."""

from django.db import models
from django.db.models import Q

from catalog.source_config import validate_source_config


class Source(models.Model):
    """A configured place to read from: git repositories, a descriptor file, later GitHub, MLflow...

    ``config`` is the connector's JSON configuration (see ``catalog.connectors``); secrets are never
    stored here, only the *names* of the environment variables that hold them.
    """

    class Kind(models.TextChoices):
        GIT = "git", "Git repositories"
        FILE = "file", "Descriptor file"
        MLFLOW = "mlflow", "MLflow tracking server"
        GITHUB = "github", "GitHub organization or user"
        GITLAB = "gitlab", "GitLab group"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    config = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=60, help_text="How often the scheduler syncs this source, in minutes."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The connector's validation and the address policy (``catalog.source_config``)."""
        validate_source_config(self.kind, self.config)


class SyncRun(models.Model):
    """One run of a source's sync: when, how it ended, what it changed and what failed.

    ``errors`` is a list of ``{"item": str, "message": str}``, one per failed item (a repository, a
    descriptor file, an entity). At most one run per source is ``running`` at a time (a partial unique
    constraint), which is the lock that keeps two workers from syncing one source at once.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCESS = "success"
        PARTIAL = "partial", "Partial (some items failed)"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        WEBHOOK = "webhook"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    orphaned = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    changes = models.JSONField(
        default=dict,
        blank=True,
        help_text='What changed: {"created"|"updated"|"orphaned"|"skipped": {kind: [names]}}.',
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=Q(status="running"), name="catalog_syncrun_one_running"
            ),
        ]
        indexes = [models.Index(fields=["source", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.source} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class DescriptorFile(models.Model):
    """A descriptor file (``catalog-info.yaml`` or a file a Location points to) and its errors.

    ``path`` is relative to the repository (or to the file source's folder). ``errors`` is a list of
    ``{"path", "document", "field", "message"}`` from the last read; it is empty when the file is valid.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="descriptor_files")
    repository = models.ForeignKey(
        "catalog.Repository", null=True, blank=True, on_delete=models.CASCADE, related_name="descriptor_files"
    )
    path = models.CharField(max_length=1024)
    errors = models.JSONField(default=list, blank=True)
    entity_count = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField()
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "path"],
                condition=Q(repository__isnull=False),
                name="catalog_descriptor_repo_path",
            ),
            models.UniqueConstraint(
                fields=["source", "path"],
                condition=Q(repository__isnull=True),
                name="catalog_descriptor_path",
            ),
        ]

    def __str__(self) -> str:
        return self.path
