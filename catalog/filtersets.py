"""Filter sets: one per model, shared by the pages and the REST API (NetBox-style).

Each filter set reads plain GET parameters (``?team=3&lifecycle=production&q=fraud``), so a filtered page's
URL is shareable and the API accepts the same query.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.descriptors.backstage import parse_ref
from catalog.models import (
    Finding,
    Lifecycle,
    ModelVersion,
    Person,
    Pipeline,
    PipelineRun,
    PortalStatus,
    Project,
    RegisteredModel,
    Repository,
    Severity,
    Source,
    SyncRun,
    Team,
    of_project,
)
from catalog.rules import RULES

PIPELINE_CHOICES = [("failing", "CI failing"), ("passing", "CI passing"), ("none", "No CI")]


def _distinct_values(model, field: str, known: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Choices for a free-text field: the known values first, then any other value found in the table."""
    choices = list(known)
    seen = {value for value, _ in choices}
    values = model.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
    choices += [(value, value) for value in values if value not in seen]
    return choices


def lifecycle_choices() -> list[tuple[str, str]]:
    return _distinct_values(Project, "lifecycle", list(Lifecycle.choices))


def project_type_choices() -> list[tuple[str, str]]:
    return _distinct_values(Project, "type", [])


def rule_choices() -> list[tuple[str, str]]:
    return [(code, f"{code}: {rule.title}") for code, rule in sorted(RULES.items())]


SEVERITY_AT_LEAST_CHOICES = [(severity.value, f"{severity.label} or worse") for severity in Severity]


ENTITY_SEARCH_FIELDS = ("name", "title", "description", "tags")


def search(queryset: QuerySet, value: str, fields: tuple[str, ...]) -> QuerySet:
    """Rows where any of ``fields`` contains ``value`` (stripped), case-insensitively; all rows for "".

    A JSON list field (``tags``) matches its JSON text, which works on SQLite and PostgreSQL alike (a tag
    with non-ASCII letters is stored escaped on SQLite and only matches there through the other fields).
    """
    value = value.strip()
    if not value:
        return queryset
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": value})
    return queryset.filter(query)


def search_entities(queryset: QuerySet, value: str) -> QuerySet:
    """Projects (or teams) whose name, title, description or tags contain ``value``."""
    return search(queryset, value, ENTITY_SEARCH_FIELDS)


class AnyYesNoWidget(django_filters.widgets.BooleanWidget):
    """A yes/no select (``?enabled=true``) whose empty choice reads "Any" rather than "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


def is_set(field_name: str, label: str) -> django_filters.BooleanFilter:
    """A yes/no filter on whether ``field_name`` is set: ``?gone=true`` keeps the rows with a ``gone_at``."""
    return django_filters.BooleanFilter(
        field_name=field_name, lookup_expr="isnull", exclude=True, label=label, widget=AnyYesNoWidget
    )


class SearchFilterSet(django_filters.FilterSet):
    """A filter set with ``?q=``, matched against the subclass's ``search_fields`` (see ``search``)."""

    q = django_filters.CharFilter(method="filter_q", label="Search")
    search_fields: tuple[str, ...] = ()

    def filter_q(self, queryset, name, value):
        return search(queryset, value, self.search_fields)


class EntityRefField(django_filters.fields.ModelChoiceField):
    """Chooses an entity by its reference without the kind: ``name`` in namespace ``default``, else
    ``namespace/name`` (the entity's ``str()``), compared case-insensitively as Backstage does."""

    def prepare_value(self, value):
        return str(value) if isinstance(value, models.Model) else super().prepare_value(value)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        namespace, _, name = str(value).rpartition("/")
        entity = self.queryset.filter(namespace__iexact=namespace or "default", name__iexact=name).first()
        if entity is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return entity


class EntityRefFilter(django_filters.ModelChoiceFilter):
    """A team (or other entity) named in the URL by reference: ``?team=fraud`` or ``?team=payments/fraud``."""

    field_class = EntityRefField


class OwnerRefField(forms.CharField):
    """An owner's entity reference (``group:default/team-a``, ``user:default/ada``, or a bare group name),
    cleaned to the lowercased full form that ``owner_ref`` stores."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return str(parse_ref(value, default_kind="group")).lower()
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class OwnerRefFilter(django_filters.CharFilter):
    """The declared owner, so an owner the catalog does not know (yet) matches too."""

    field_class = OwnerRefField


class ProjectFilterSet(SearchFilterSet):
    """Projects by text, owner team, type, lifecycle, and by their open findings (rule, minimum severity).

    ``rule`` and ``severity`` together select the projects with at least one open finding matching both
    (the same finding); ``open_findings()`` gives those findings, so a page shows exactly what matched.
    """

    search_fields = ENTITY_SEARCH_FIELDS
    team = EntityRefFilter(
        field_name="owner_team", queryset=Team.objects.order_by("name"), label="Team", empty_label="Any team"
    )
    rule = django_filters.ChoiceFilter(
        choices=rule_choices, method="filter_noop", label="Rule", empty_label="Any rule"
    )
    severity = django_filters.ChoiceFilter(
        choices=SEVERITY_AT_LEAST_CHOICES, method="filter_noop", label="Severity", empty_label="Any severity"
    )
    lifecycle = django_filters.ChoiceFilter(
        choices=lifecycle_choices, label="Lifecycle", empty_label="Any lifecycle"
    )
    type = django_filters.ChoiceFilter(choices=project_type_choices, label="Type", empty_label="Any type")
    pipeline = django_filters.ChoiceFilter(
        choices=PIPELINE_CHOICES, method="filter_pipeline", label="CI", empty_label="Any CI"
    )
    # For the API (not shown on the pages): the declared owner by reference, the name, orphaned or not.
    owner = OwnerRefFilter(field_name="owner_ref", label="Owner reference")
    name = django_filters.CharFilter(lookup_expr="iexact", label="Name")
    orphaned = django_filters.BooleanFilter(field_name="orphaned_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Project
        fields = [
            "q",
            "team",
            "rule",
            "severity",
            "lifecycle",
            "type",
            "pipeline",
            "owner",
            "name",
            "orphaned",
        ]

    def filter_pipeline(self, queryset, name, value: str):
        """``failing``: a live pipeline's default branch is red; ``passing``: live pipelines, none red;
        ``none``: no live (active, not gone) pipeline."""
        live = Pipeline.objects.filter(
            repository=OuterRef("repository"), gone_at__isnull=True, state="active"
        )
        failing = Exists(live.filter(latest_status=PortalStatus.FAILURE))
        if value == "failing":
            return queryset.filter(failing)
        if value == "passing":
            return queryset.filter(Exists(live)).exclude(failing)
        return queryset.exclude(Exists(live))

    def filter_noop(self, queryset, name, value: str):
        # Applied together in filter_queryset: both must hold for the same finding.
        return queryset

    def open_findings(self) -> QuerySet:
        """The open findings matching the ``rule`` and ``severity`` filters (of any subject)."""
        data = self._data()
        condition = Q(resolved_at__isnull=True)
        if data.get("rule"):
            condition &= Q(rule=data["rule"])
        if data.get("severity"):
            condition &= Q(severity__gte=int(data["severity"]))
        return Finding.objects.filter(condition)

    def _data(self) -> dict:
        return self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}

    @property
    def filters_findings(self) -> bool:
        """True when ``rule`` or ``severity`` is set."""
        data = self._data()
        return bool(data.get("rule") or data.get("severity"))

    @property
    def filters_projects(self) -> bool:
        """True when a filter on the project itself (text, team, lifecycle, type) is set."""
        data = self._data()
        names = ("q", "team", "lifecycle", "type", "pipeline", "owner", "name", "orphaned")
        return any(data.get(name) for name in names)

    def filter_projects(self, queryset: QuerySet) -> QuerySet:
        """``queryset`` narrowed by the filters on the project itself only; none when the form is invalid."""
        if not self.is_bound:
            return queryset
        if not self.is_valid():
            return queryset.none()
        return super().filter_queryset(queryset)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.filters_findings:
            queryset = queryset.filter(Exists(self.open_findings().filter(project=OuterRef("pk"))))
        return queryset


class TeamFilterSet(SearchFilterSet):
    """Teams by text, type and parent team."""

    search_fields = ENTITY_SEARCH_FIELDS
    type = django_filters.ChoiceFilter(
        choices=lambda: _distinct_values(Team, "type", []), label="Type", empty_label="Any type"
    )
    parent = EntityRefFilter(queryset=Team.objects.order_by("name"), label="Parent", empty_label="Any parent")

    class Meta:
        model = Team
        fields = ["q", "type", "parent"]


class SyncRunFilterSet(django_filters.FilterSet):
    """Sync runs by source and status."""

    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.order_by("name"),
        to_field_name="name",
        label="Source",
        empty_label="Any source",
    )
    status = django_filters.ChoiceFilter(
        choices=SyncRun.Status.choices, label="Status", empty_label="Any status"
    )

    class Meta:
        model = SyncRun
        fields = ["source", "status"]


class SourceFilterSet(django_filters.FilterSet):
    """Sources by kind and whether they are enabled."""

    kind = django_filters.ChoiceFilter(choices=Source.Kind.choices, label="Kind", empty_label="Any kind")
    enabled = django_filters.BooleanFilter(label="Enabled", widget=AnyYesNoWidget)

    class Meta:
        model = Source
        fields = ["kind", "enabled"]


class PersonFilterSet(SearchFilterSet):
    """People by text (name, title, email, git emails) and team."""

    search_fields = ("name", "title", "email", "git_emails")
    team = EntityRefFilter(field_name="teams", queryset=Team.objects.order_by("name"), label="Team")

    class Meta:
        model = Person
        fields = ["q", "team"]


class RepositoryFilterSet(SearchFilterSet):
    """Repositories by text (name, URL), host, source, archived and gone."""

    search_fields = ("name", "url")
    host = django_filters.CharFilter(lookup_expr="iexact", label="Host")
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.order_by("name"), to_field_name="name", label="Source"
    )
    archived = django_filters.BooleanFilter(label="Archived", widget=AnyYesNoWidget)
    gone = is_set("gone_at", "Gone")

    class Meta:
        model = Repository
        fields = ["q", "host", "source", "archived", "gone"]


class FindingFilterSet(django_filters.FilterSet):
    """Findings by rule, minimum severity, subject (project id: with its models' findings; team), open,
    acknowledged and snoozed."""

    q = django_filters.CharFilter(field_name="message", lookup_expr="icontains", label="Search")
    rule = django_filters.ChoiceFilter(choices=rule_choices, label="Rule")
    severity = django_filters.ChoiceFilter(
        choices=SEVERITY_AT_LEAST_CHOICES, field_name="severity", lookup_expr="gte", label="Severity"
    )
    project = django_filters.ModelChoiceFilter(
        queryset=Project.objects.all(), method="filter_project", label="Project (with its models)"
    )
    team = EntityRefFilter(queryset=Team.objects.order_by("name"), label="Team")
    open = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", label="Open", widget=AnyYesNoWidget
    )
    acknowledged = is_set("acknowledged_at", "Acknowledged")
    snoozed = django_filters.BooleanFilter(
        method="filter_snoozed", label="Snoozed now", widget=AnyYesNoWidget
    )

    class Meta:
        model = Finding
        fields = ["q", "rule", "severity", "project", "team", "open", "acknowledged", "snoozed"]

    def filter_project(self, queryset, name, value):
        """The findings about the project and about its registered models (``models.of_project``)."""
        return queryset.filter(of_project(value))

    def filter_snoozed(self, queryset, name, value):
        snoozed = Q(snoozed_until__gt=timezone.now())
        return queryset.filter(snoozed) if value else queryset.exclude(snoozed)


class RegisteredModelFilterSet(SearchFilterSet):
    """Registered models by text (name, description), source, project, owner team, linked or orphan,
    with or without a production version, and still in their registry or gone."""

    search_fields = ("name", "description")
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.filter(registered_models__isnull=False).distinct().order_by("name"),
        to_field_name="name",
        label="Source",
        empty_label="Any source",
    )
    project = EntityRefFilter(
        queryset=Project.objects.order_by("name"), label="Project", empty_label="Any project"
    )
    team = EntityRefFilter(
        field_name="project__owner_team",
        queryset=Team.objects.order_by("name"),
        label="Team",
        empty_label="Any team",
    )
    linked = is_set("project", "Linked to a project")
    in_production = is_set("production_version", "In production")
    gone = is_set("gone_at", "Gone")

    class Meta:
        model = RegisteredModel
        fields = ["q", "source", "project", "team", "linked", "in_production", "gone"]


class PipelineFilterSet(SearchFilterSet):
    """CI pipelines by text (name, file), provider, repository, project, latest status, failing and gone."""

    search_fields = ("name", "file_path")
    provider = django_filters.ChoiceFilter(choices=Pipeline.Provider.choices, label="Provider")
    repository = django_filters.ModelChoiceFilter(queryset=Repository.objects.all(), label="Repository")
    project = EntityRefFilter(
        field_name="repository__projects", queryset=Project.objects.order_by("name"), label="Project"
    )
    latest_status = django_filters.ChoiceFilter(choices=PortalStatus.choices, label="Latest status")
    failing = is_set("failing_since", "Failing")
    gone = is_set("gone_at", "Gone")

    class Meta:
        model = Pipeline
        fields = ["q", "provider", "repository", "project", "latest_status", "failing", "gone"]


class PipelineRunFilterSet(django_filters.FilterSet):
    """Pipeline runs by pipeline, portal status and branch."""

    pipeline = django_filters.ModelChoiceFilter(queryset=Pipeline.objects.all(), label="Pipeline")
    portal_status = django_filters.ChoiceFilter(choices=PortalStatus.choices, label="Status")
    branch = django_filters.CharFilter(label="Branch")

    class Meta:
        model = PipelineRun
        fields = ["pipeline", "portal_status", "branch"]


class ModelVersionFilterSet(django_filters.FilterSet):
    """Model versions by registered model, status, legacy stage, alias and gone."""

    registered_model = django_filters.ModelChoiceFilter(
        queryset=RegisteredModel.objects.all(), label="Registered model"
    )
    status = django_filters.CharFilter(label="Status")
    stage = django_filters.CharFilter(lookup_expr="iexact", label="Stage")
    alias = django_filters.CharFilter(method="filter_alias", label="Alias")
    gone = is_set("gone_at", "Gone")

    class Meta:
        model = ModelVersion
        fields = ["registered_model", "status", "stage", "alias", "gone"]

    def filter_alias(self, queryset, name, value):
        # ``aliases`` is a JSON list of strings: match the quoted alias in its text (SQLite and PostgreSQL).
        return queryset.filter(aliases__icontains=f'"{value.strip()}"') if value.strip() else queryset
