"""Tables of the list pages (django-tables2 declarations).

Columns read only what the views' querysets select or annotate (``open_findings_count``, ``members_count``,
...), so a page runs the same number of queries whatever the number of rows.
"""

from urllib.parse import urlencode

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.models import Person, Project, RegisteredModel, Source, SyncRun, Team


def entity_url(entity) -> str:
    """The page of a team, person or project, or "" for anything else."""
    url_names = {"group": "team-detail", "user": "person-detail", "component": "project-detail"}
    url_name = url_names.get(getattr(entity, "kind", ""))
    return reverse(url_name, args=[entity.namespace, entity.name]) if url_name else ""


def owner_html(record):
    """A project's owner as a link, or its unresolved reference marked unknown, or a dash."""
    owner = record.owner
    if owner is not None:
        return format_html('<a href="{}">{}</a>', entity_url(owner), owner)
    if record.owner_ref:
        return format_html('{} <span class="muted">(unknown)</span>', record.owner_ref)
    return mark_safe('<span class="muted">none</span>')


class CountColumn(tables.Column):
    """A right-aligned count; zero is shown muted."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return value if value else mark_safe('<span class="muted">0</span>')


class ProjectTable(tables.Table):
    name = tables.Column(linkify=lambda record: entity_url(record), order_by=("name", "namespace"))
    title = tables.Column()
    owner = tables.Column(empty_values=(), order_by=("owner_team__name", "owner_person__name", "owner_ref"))
    type = tables.Column()
    lifecycle = tables.Column()
    last_commit = tables.DateTimeColumn(
        accessor="repository__last_commit_at", verbose_name="Last commit", format="Y-m-d"
    )
    open_findings_count = CountColumn(verbose_name="Open findings")

    class Meta:
        model = Project
        fields = ("name", "title", "owner", "type", "lifecycle", "last_commit", "open_findings_count")
        empty_text = "No projects match."
        attrs = {"class": "table", "id": "project-table"}

    def render_name(self, value, record):
        if record.orphaned_at:
            return format_html('{} <span class="tag tag-warn">orphaned</span>', record)
        return str(record)

    def render_owner(self, record):
        return owner_html(record)


class TeamTable(tables.Table):
    name = tables.Column(linkify=lambda record: entity_url(record), order_by=("name", "namespace"))
    title = tables.Column()
    type = tables.Column()
    parent = tables.Column(linkify=lambda record: entity_url(record.parent), order_by=("parent__name",))
    members_count = CountColumn(verbose_name="Members")
    projects_count = CountColumn(verbose_name="Projects")
    open_findings_count = CountColumn(verbose_name="Open findings")

    class Meta:
        model = Team
        fields = ("name", "title", "type", "parent", "members_count", "projects_count", "open_findings_count")
        empty_text = "No teams match."
        attrs = {"class": "table", "id": "team-table"}

    def render_name(self, value, record):
        return str(record)


class PersonTable(tables.Table):
    name = tables.Column(linkify=lambda record: entity_url(record), order_by=("name", "namespace"))
    title = tables.Column(verbose_name="Name shown")
    email = tables.EmailColumn()
    teams_count = CountColumn(verbose_name="Teams")
    projects_count = CountColumn(verbose_name="Projects owned")
    deactivated_at = tables.DateTimeColumn(verbose_name="Deactivated", format="Y-m-d")

    class Meta:
        model = Person
        fields = ("name", "title", "email", "teams_count", "projects_count", "deactivated_at")
        empty_text = "No people match."
        attrs = {"class": "table", "id": "person-table"}

    def render_name(self, value, record):
        return str(record)


class SyncRunTable(tables.Table):
    id = tables.Column(linkify=lambda record: reverse("syncrun-detail", args=[record.pk]), verbose_name="Run")
    source = tables.Column(order_by=("source__name",))
    trigger = tables.Column()
    status = tables.Column()
    started_at = tables.DateTimeColumn(verbose_name="Started", format="Y-m-d H:i")
    duration = tables.Column(empty_values=(), orderable=False)
    created = CountColumn()
    updated = CountColumn()
    unchanged = CountColumn()
    failed = CountColumn()
    orphaned = CountColumn()

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "source",
            "trigger",
            "status",
            "started_at",
            "duration",
            "created",
            "updated",
            "unchanged",
            "failed",
            "orphaned",
        )
        empty_text = "No sync runs yet."
        attrs = {"class": "table", "id": "syncrun-table"}

    def render_id(self, value):
        return f"#{value}"

    def render_status(self, value, record):
        return format_html('<span class="status status-{}">{}</span>', record.status, value)

    def render_duration(self, record):
        duration = record.duration
        if duration is None:
            return mark_safe('<span class="muted">running</span>') if record.status == "running" else "—"
        return format_duration(duration.total_seconds())


def format_duration(seconds: float) -> str:
    """``seconds`` as ``850 ms``, ``12.3 s`` or ``4 min 05 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


def source_runs_url(source) -> str:
    return f"{reverse('syncrun-list')}?{urlencode({'source': source.name})}"


class SourceTable(tables.Table):
    name = tables.Column(linkify=lambda record: source_runs_url(record), verbose_name="Source")
    kind = tables.Column()
    enabled = tables.BooleanColumn()
    sync_interval_minutes = tables.Column(
        verbose_name="Every (min)", attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    last_run_status = tables.Column(verbose_name="Last run")
    last_run_at = tables.DateTimeColumn(verbose_name="Last run started", format="Y-m-d H:i")

    class Meta:
        model = Source
        fields = ("name", "kind", "enabled", "sync_interval_minutes", "last_run_status", "last_run_at")
        empty_text = "No sources configured: add one in the admin."
        attrs = {"class": "table", "id": "source-table"}

    def render_last_run_status(self, value, record):
        return format_html(
            '<a href="{}"><span class="status status-{}">{}</span></a>',
            reverse("syncrun-detail", args=[record.last_run_id]),
            value,
            value,
        )


def version_labels_html(version) -> str:
    """A model version as ``v3`` with its aliases (``@champion``) and stage as tags."""
    labels = format_html("".join(' <span class="tag">{}</span>' for _ in version.labels), *version.labels)
    return format_html("v{}{}", version.version, labels)


class RegisteredModelTable(tables.Table):
    name = tables.Column(linkify=True)
    source = tables.Column(order_by=("source__name",))
    project = tables.Column(
        linkify=lambda record: entity_url(record.project),
        order_by=("project__name",),
        default=mark_safe('<span class="tag tag-warn">no project</span>'),
    )
    production_version = tables.Column(
        verbose_name="In production",
        order_by=("production_version__number",),
        default=mark_safe('<span class="muted">none</span>'),
    )
    production_registered = tables.DateTimeColumn(
        accessor="production_version__registered_at", verbose_name="Registered", format="Y-m-d"
    )
    versions_count = CountColumn(verbose_name="Versions")
    open_findings_count = CountColumn(verbose_name="Open findings")
    last_updated_at = tables.DateTimeColumn(verbose_name="Last updated", format="Y-m-d")

    class Meta:
        model = RegisteredModel
        fields = (
            "name",
            "source",
            "project",
            "production_version",
            "production_registered",
            "versions_count",
            "open_findings_count",
            "last_updated_at",
        )
        empty_text = "No registered models match."
        attrs = {"class": "table", "id": "model-table"}

    def render_name(self, value, record):
        if record.gone_at:
            return format_html('{} <span class="tag tag-muted">gone</span>', value)
        return value

    def render_project(self, value, record):
        return str(value)

    def render_production_version(self, value):
        return version_labels_html(value)
