"""Git repositories and the facts read from them."""

from django.db import models


class Repository(models.Model):
    """A git repository found in a source, with the facts of its default branch.

    ``external_id`` is stable per source (clone URL or local path). ``last_commit_at`` is the committer
    time of the newest commit on the default branch; ``commits_in_window`` counts commits on it in the
    last ``window_days`` days and ``top_authors`` lists that window's authors as ``{"name", "email",
    "commits"}``, most first. ``authors`` lists every author of the last ``authors_days`` days the same way
    (the authorship the ``bus-factor`` rule judges). ``last_read_at`` is the last successful read;
    ``last_error`` the message of the last failed one (cleared by a success). ``gone_at`` is set when the
    source stops listing it.
    ``topics`` are the hosting service's topics (GitHub, GitLab); empty for plain git.
    """

    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="repositories")
    external_id = models.CharField(max_length=1024)
    url = models.CharField(max_length=1024)
    host = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255)
    default_branch = models.CharField(max_length=255, blank=True)
    archived = models.BooleanField(default=False)
    topics = models.JSONField(default=list, blank=True)
    last_commit_sha = models.CharField(max_length=64, blank=True)
    last_commit_at = models.DateTimeField(null=True, blank=True)
    last_commit_author_name = models.CharField(max_length=255, blank=True)
    last_commit_author_email = models.CharField(max_length=255, blank=True)
    commits_in_window = models.PositiveIntegerField(default=0)
    window_days = models.PositiveIntegerField(default=90)
    top_authors = models.JSONField(default=list, blank=True)
    authors = models.JSONField(default=list, blank=True)
    authors_days = models.PositiveIntegerField(default=180)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="catalog_repository_external_id"),
        ]
        indexes = [models.Index(fields=["last_commit_at"])]

    def __str__(self) -> str:
        return self.name
