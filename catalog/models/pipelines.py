"""CI pipelines of repositories (GitHub Actions workflows, GitLab CI) and their runs on the default branch."""

from django.db import models

from catalog.connectors.ci import COMPLETED, PORTAL_STATUSES
from catalog.models.base import TimestampedModel

PortalStatus = models.TextChoices("PortalStatus", [(s.upper(), s) for s in PORTAL_STATUSES])


class Pipeline(TimestampedModel):
    """A CI pipeline of a repository: a GitHub Actions workflow, or a GitLab project's CI configuration.

    ``external_id`` is stable per repository and provider (the workflow id; the CI configuration path on
    GitLab). ``state`` is the provider's (``active``, ``disabled_manually``, ...). ``templates`` lists the
    shared templates its file uses as ``{"kind", "project", "file", "ref"}`` (see
    ``catalog.connectors.records.TemplateRef``); ``template_*`` repeat the first of them, for filtering.
    ``config_error`` says why the file could not be read for templates. ``latest_status`` and
    ``latest_run_at`` are the portal status and creation time of the newest completed run on the default
    branch; ``failing_since`` is when the current streak of failed runs began (None unless it is failing).
    ``gone_at`` is set when the repository no longer has the pipeline.
    """

    class Provider(models.TextChoices):
        GITHUB_ACTIONS = "github-actions", "GitHub Actions"
        GITLAB_CI = "gitlab-ci", "GitLab CI"

    repository = models.ForeignKey("catalog.Repository", on_delete=models.CASCADE, related_name="pipelines")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1024, blank=True)
    state = models.CharField(max_length=32, blank=True)
    url = models.CharField(max_length=1024, blank=True)
    template_kind = models.CharField(max_length=32, blank=True)
    template_project = models.CharField(max_length=255, blank=True)
    template_file = models.CharField(max_length=1024, blank=True)
    template_ref = models.CharField(max_length=255, blank=True)
    templates = models.JSONField(default=list, blank=True)
    config_error = models.TextField(blank=True)
    latest_status = models.CharField(max_length=16, choices=PortalStatus.choices, blank=True)
    latest_run_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "provider", "external_id"], name="catalog_pipeline_external_id"
            ),
        ]
        indexes = [models.Index(fields=["latest_status", "gone_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_failing(self) -> bool:
        return self.latest_status == PortalStatus.FAILURE


class PipelineRun(models.Model):
    """One run of a pipeline on the default branch: a workflow run (GitHub) or a pipeline (GitLab).

    ``status`` and ``conclusion`` are the provider's own values (GitLab has no conclusion: it is empty);
    ``portal_status`` is the mapped value the rules use. ``created_at`` is the provider's creation time;
    ``started_at`` / ``finished_at`` are None when unknown. ``run_attempt`` counts GitHub re-runs (a re-run
    keeps its run's id, so it updates the row).
    """

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    external_id = models.CharField(max_length=64)
    run_number = models.PositiveIntegerField(null=True, blank=True)
    run_attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=32)
    conclusion = models.CharField(max_length=32, blank=True)
    portal_status = models.CharField(max_length=16, choices=PortalStatus.choices)
    branch = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    url = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "external_id"], name="catalog_pipelinerun_external_id"
            ),
        ]
        indexes = [models.Index(fields=["pipeline", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.pipeline} #{self.run_number or self.external_id}"

    @property
    def is_completed(self) -> bool:
        return self.portal_status in COMPLETED
