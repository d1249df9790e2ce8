"""The catalog's pages: thin declarations over a few shared pieces (NetBox-style).

A list view states its ``queryset``, ``filterset_class`` and ``table_class``; an htmx request (header
``HX-Request``) gets only the results block, any other request the full page, so a filtered URL is
shareable. Every page is readable when signed in, or by anyone when ``PORTAL["ANONYMOUS_READ"]`` is on.
Querysets select and annotate what the templates show: a page's query count does not grow with its rows.
"""

from datetime import UTC, date, datetime, time

from django.conf import settings
from django.contrib.auth.mixins import AccessMixin
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from catalog.exports import CsvExportMixin, maintenance_csv, wants_csv
from catalog.filtersets import (
    PersonFilterSet,
    ProjectFilterSet,
    RegisteredModelFilterSet,
    SourceFilterSet,
    SyncRunFilterSet,
    TeamFilterSet,
    search_entities,
)
from catalog.models import (
    DescriptorFile,
    Finding,
    ModelVersion,
    Person,
    Pipeline,
    PipelineRun,
    Project,
    RegisteredModel,
    Severity,
    Source,
    SyncRun,
    Team,
    of_project,
)
from catalog.people import match_authors, merge_by_person
from catalog.permissions import can_edit_person, can_edit_team, describe_descriptor, team_managed_by
from catalog.production import production_version_on
from catalog.sync import MAX_CHANGES_LISTED
from catalog.tables import (
    PersonTable,
    ProjectTable,
    RegisteredModelTable,
    SourceTable,
    SyncRunTable,
    TeamTable,
)

PAGE_SIZE = 50
MODEL_VERSIONS_SHOWN = 100  # newest first, on a registered model's page
HISTORY_SHOWN = 100  # alias and stage changes on a registered model's page, newest first
SECTION_SIZE = 50  # teams, and registered models, with findings listed under the maintenance view's projects
RECENTLY_RESOLVED = 20
PIPELINE_RUNS_SHOWN = 5  # runs listed per pipeline on a project's page


class PortalReadMixin(AccessMixin):
    """Lets signed-in users in, and anyone when ``settings.PORTAL["ANONYMOUS_READ"]`` is true."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated and not settings.PORTAL.get("ANONYMOUS_READ", False):
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)

    def handle_no_permission(self):
        response = super().handle_no_permission()
        if is_htmx(self.request):
            # htmx would follow the redirect and swap the login page into the results block: load it instead.
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response


def is_htmx(request) -> bool:
    """True for an htmx request that swaps a block in; a history restore wants the full page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


class HtmxPartialMixin:
    """Renders ``partial_template_name`` (the results block) for htmx requests, the full page otherwise."""

    partial_template_name = ""

    def get_template_names(self):
        if is_htmx(self.request) and self.partial_template_name:
            return [self.partial_template_name]
        return super().get_template_names()

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        # The same URL answers a partial or a full page: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response


def count_of(queryset, field: str):
    """An annotation: how many rows of ``queryset`` point at the outer row through ``field`` (0 if none)."""
    counted = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def project_open_findings_count(findings: QuerySet | None = None):
    """An annotation on projects: how many of ``findings`` (default: the open ones) count for each, its own
    and its registered models' (``models.of_project``); 0 if none."""
    findings = findings if findings is not None else Finding.objects.filter(resolved_at__isnull=True)
    return count_of(findings, "project") + count_of(findings, "registered_model__project")


def open_findings_prefetch(queryset=None, to_attr: str = "open_findings") -> Prefetch:
    queryset = queryset if queryset is not None else Finding.objects.filter(resolved_at__isnull=True)
    return Prefetch(
        "findings", queryset=queryset.order_by("-severity", "first_seen_at", "rule"), to_attr=to_attr
    )


class ObjectListView(CsvExportMixin, PortalReadMixin, HtmxPartialMixin, SingleTableMixin, FilterView):
    """A filtered, sortable, paginated table (``?format=csv``: all its rows as CSV); subclasses declare
    the rest.

    ``filter_fields`` names the filter set's fields shown in the form (all by default); ``search_field``
    is the one rendered as a live search box.
    """

    template_name = "catalog/object_list.html"
    partial_template_name = "catalog/partials/object_table.html"
    table_pagination = {"per_page": PAGE_SIZE}
    title = ""
    filter_fields: tuple[str, ...] = ()
    search_placeholder = "Search"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["filter"].form
        names = self.filter_fields or tuple(form.fields)
        context.update(
            title=self.title,
            search_placeholder=self.search_placeholder,
            search_field=form["q"] if "q" in names else None,
            filter_fields=[form[name] for name in names if name != "q"],
            list_url=self.request.path,
        )
        return context


def needing_attention(findings: QuerySet) -> QuerySet:
    """``findings`` less those snoozed now: their owners asked for quiet until then (catalog/triage.py)."""
    return findings.exclude(snoozed_until__gt=timezone.now())


def rank_for_maintenance(findings: QuerySet, projects: QuerySet | None = None) -> QuerySet:
    """The projects that have at least one of ``findings`` (open ones), most in need of maintenance first.

    Returns a values queryset, one row per project: ``{"project": pk, "burden", "worst_severity",
    "open_count", "oldest_seen_at"}``, ordered by the highest maintenance burden (``catalog/burden.py``),
    then highest severity, then number of findings, then the oldest ``first_seen_at``, then project name.
    ``projects`` narrows to those projects (None: all). Grouping the findings table is about 3x faster
    than annotating every project (benchmarks/pages.py).
    """
    if projects is not None:
        findings = findings.filter(project__in=projects.values("pk"))
    return (
        findings.filter(project__isnull=False)
        .values("project")
        .annotate(
            burden=Max("project__maintenance_burden"),
            worst_severity=Max("severity"),
            open_count=Count("pk"),
            oldest_seen_at=Min("first_seen_at"),
        )
        .order_by("-burden", "-worst_severity", "-open_count", "oldest_seen_at", "project__name", "project")
    )


def ranked_projects(rows, queryset: QuerySet) -> list[Project]:
    """The projects of ``rows`` (from ``rank_for_maintenance``) fetched from ``queryset`` in one query, in
    the rows' order, each with its row's values as attributes."""
    by_pk = queryset.in_bulk([row["project"] for row in rows])
    projects = []
    for row in rows:
        project = by_pk.get(row["project"])
        if project is not None:  # deleted since the rows were read
            for name, value in row.items():
                if name != "project":
                    setattr(project, name, value)
            projects.append(project)
    return projects


class MaintenanceView(PortalReadMixin, HtmxPartialMixin, FilterView):
    """The home page: projects with open findings, most in need of maintenance first.

    Ranking: highest maintenance burden, then highest open severity, then number of open findings, then
    the oldest ``first_seen_at``. Findings snoozed now are left out until their snooze ends.
    The ``rule`` and ``severity`` filters narrow the findings shown (and counted) as well as the projects.
    Teams and registered models with open findings of their own are listed apart (orphan models among
    them), narrowed by the same filters where they apply.
    """

    filterset_class = ProjectFilterSet
    template_name = "catalog/maintenance.html"
    partial_template_name = "catalog/partials/maintenance_results.html"
    paginate_by = PAGE_SIZE
    context_object_name = "ranked_rows"  # the page's rows; ``object_list`` holds their projects

    def get_queryset(self):
        return Project.objects.select_related("owner_team", "owner_person", "repository")

    def paginate_queryset(self, queryset, page_size):
        """As Django's, but a page number out of range or not a number shows the nearest page, not a 404."""
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get(self, request, *args, **kwargs):
        self.filterset = self.get_filterset(self.get_filterset_class())
        self.object_list = rank_for_maintenance(
            needing_attention(self.filterset.open_findings()), self.project_scope(self.filterset)
        )
        if wants_csv(request):
            return maintenance_csv(self.object_list)
        context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
        return self.render_to_response(context)

    @staticmethod
    def project_scope(filterset) -> QuerySet | None:
        """The projects the filters on the project itself select, or None when there are none (all)."""
        if filterset.filters_projects or (filterset.is_bound and not filterset.is_valid()):
            return filterset.filter_projects(Project.objects.all())
        return None

    @staticmethod
    def teams_with_findings(filterset, findings: QuerySet) -> QuerySet:
        """Teams with some of ``findings`` of their own, by name, narrowed by the filters that apply."""
        data = filterset.form.cleaned_data if filterset.is_bound else {}
        if (filterset.is_bound and not filterset.is_valid()) or data.get("lifecycle") or data.get("type"):
            return Team.objects.none()
        teams = Team.objects.filter(Exists(findings.filter(team=OuterRef("pk"))))
        if data.get("team"):
            teams = teams.filter(pk=data["team"].pk)
        if data.get("q"):
            teams = search_entities(teams, data["q"])
        return teams.order_by("name")

    @staticmethod
    def models_with_findings(filterset, findings: QuerySet) -> QuerySet:
        """Registered models with some of ``findings`` (orphans among them), by name.

        The team, lifecycle and type filters apply through the model's project, so they leave orphans out.
        """
        if filterset.is_bound and not filterset.is_valid():
            return RegisteredModel.objects.none()
        data = filterset.form.cleaned_data if filterset.is_bound else {}
        models = RegisteredModel.objects.filter(Exists(findings.filter(registered_model=OuterRef("pk"))))
        if data.get("team"):
            models = models.filter(project__owner_team=data["team"])
        if data.get("lifecycle"):
            models = models.filter(project__lifecycle=data["lifecycle"])
        if data.get("type"):
            models = models.filter(project__type=data["type"])
        if data.get("q"):
            models = models.filter(Q(name__icontains=data["q"]) | Q(description__icontains=data["q"]))
        return models.order_by("name")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        findings = needing_attention(filterset.open_findings())
        context["object_list"] = ranked_projects(
            context["object_list"], self.get_queryset().prefetch_related(open_findings_prefetch(findings))
        )
        all_teams = self.teams_with_findings(filterset, findings)
        all_models = self.models_with_findings(filterset, findings)
        # The sections show the first SECTION_SIZE; the headline counts the findings of all of them.
        teams = list(all_teams.prefetch_related(open_findings_prefetch(findings))[:SECTION_SIZE])
        models = list(
            all_models.select_related("project", "source").prefetch_related(open_findings_prefetch(findings))[
                :SECTION_SIZE
            ]
        )
        projects = self.project_scope(filterset)
        scope = Q(project__isnull=False) if projects is None else Q(project__in=projects.values("pk"))
        scope |= Q(team__in=all_teams.values("pk")) | Q(registered_model__in=all_models.values("pk"))
        counts = dict(findings.filter(scope).order_by().values_list("severity").annotate(n=Count("pk")))
        form = filterset.form
        context.update(
            teams_with_findings=teams,
            models_with_findings=models,
            section_size=SECTION_SIZE,
            severity_counts=[
                {"severity": severity, "count": counts.get(severity.value, 0)}
                for severity in reversed(Severity)
            ],
            findings_total=sum(counts.values()),
            search_field=form["q"],
            filter_fields=[
                form[name] for name in ("team", "rule", "severity", "lifecycle", "type", "pipeline")
            ],
        )
        return context


class ProjectListView(ObjectListView):
    title = "Projects"
    queryset = Project.objects.select_related("owner_team", "owner_person", "repository").annotate(
        open_findings_count=project_open_findings_count()
    )
    filterset_class = ProjectFilterSet
    table_class = ProjectTable
    filter_fields = ("q", "team", "type", "lifecycle")
    search_placeholder = "Search name, title, description, tags"


class TeamListView(ObjectListView):
    title = "Teams"
    queryset = Team.objects.select_related("parent").annotate(
        members_count=count_of(Team.members.through.objects.all(), "team"),
        projects_count=count_of(Project.objects.all(), "owner_team"),
        open_findings_count=count_of(Finding.objects.filter(resolved_at__isnull=True), "team"),
    )
    filterset_class = TeamFilterSet
    table_class = TeamTable
    search_placeholder = "Search name, title, description"


class PersonListView(ObjectListView):
    title = "People"
    queryset = Person.objects.annotate(
        teams_count=count_of(Team.members.through.objects.all(), "person"),
        projects_count=count_of(Project.objects.all(), "owner_person"),
    )
    filterset_class = PersonFilterSet
    table_class = PersonTable
    search_placeholder = "Search name, title, email, git email"


class SyncRunListView(ObjectListView):
    title = "Sync runs"
    queryset = SyncRun.objects.select_related("source")
    filterset_class = SyncRunFilterSet
    table_class = SyncRunTable


class SourceListView(ObjectListView):
    title = "Sources"
    table_class = SourceTable
    filterset_class = SourceFilterSet

    def get_queryset(self):
        latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
        return Source.objects.annotate(
            last_run_id=Subquery(latest.values("pk")[:1]),
            last_run_status=Subquery(latest.values("status")[:1]),
            last_run_at=Subquery(latest.values("started_at")[:1]),
        ).order_by("name")


class EntityDetailView(PortalReadMixin, DetailView):
    """A team, person or project page, looked up by namespace and name (case-insensitively, as Backstage)."""

    def get_object(self, queryset=None):
        queryset = queryset if queryset is not None else self.get_queryset()
        try:
            return queryset.get(namespace__iexact=self.kwargs["namespace"], name__iexact=self.kwargs["name"])
        except self.model.DoesNotExist:
            ref = f"{self.kwargs['namespace']}/{self.kwargs['name']}"
            raise Http404(f"No {self.model._meta.verbose_name} {ref}") from None


class ProjectDetailView(EntityDetailView):
    model = Project
    template_name = "catalog/project_detail.html"
    queryset = Project.objects.select_related(
        "owner_team",
        "owner_person",
        "system",
        "repository",
        "repository__source",
        "source",
        "descriptor__repository",  # the ownership panel names the descriptor file and where it lives
        "descriptor__source",
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        project = self.object
        files = Q(pk=project.descriptor_id) if project.descriptor_id else Q(pk__in=[])
        if project.repository_id:
            files |= Q(repository_id=project.repository_id)
        findings = (
            Finding.objects.filter(of_project(project))
            .select_related("registered_model__source")
            .order_by("-severity", "first_seen_at")
        )
        context.update(
            registered_models=project.registered_models.select_related("source", "production_version")
            .annotate(
                open_findings_count=count_of(
                    Finding.objects.filter(resolved_at__isnull=True), "registered_model"
                )
            )
            .order_by("gone_at", "name"),
            descriptor_files=DescriptorFile.objects.filter(files).order_by("path"),
            pipelines=project_pipelines(project),
            open_findings=findings.filter(resolved_at__isnull=True),
            resolved_findings=findings.filter(resolved_at__isnull=False).order_by("-resolved_at")[
                :RECENTLY_RESOLVED
            ],
            annotations=sorted(project.annotations.items()) if isinstance(project.annotations, dict) else [],
            **repository_people(project.repository),
            links=[link for link in project.links if isinstance(link, dict)]
            if isinstance(project.links, list)
            else [],
        )
        return context


def repository_people(repository) -> dict:
    """``top_authors`` (``MatchedAuthor``s) and ``last_commit_person`` of a project's repository: the
    people of the catalog behind the commit addresses, in one query."""
    if repository is None:
        return {"top_authors": [], "last_commit_person": None}
    last = {"email": repository.last_commit_author_email} if repository.last_commit_author_email else None
    matched = match_authors([*repository.top_authors, *([last] if last else [])])
    if last:
        return {"top_authors": merge_by_person(matched[:-1]), "last_commit_person": matched[-1].person}
    return {"top_authors": merge_by_person(matched), "last_commit_person": None}


def project_pipelines(project: Project) -> list[Pipeline]:
    """The pipelines of the project's repository, live ones first, each with its ``last_runs``."""
    if not project.repository_id:
        return []
    runs = PipelineRun.objects.order_by("-created_at", "-pk")[:PIPELINE_RUNS_SHOWN]
    return list(
        Pipeline.objects.filter(repository_id=project.repository_id)
        .order_by(F("gone_at").asc(nulls_first=True), "name")
        .prefetch_related(Prefetch("runs", queryset=runs, to_attr="last_runs"))
    )


def owned_projects(**owner):
    return (
        Project.objects.filter(**owner)
        .select_related("repository")
        .annotate(open_findings_count=project_open_findings_count())
        .order_by("name")
    )


class TeamDetailView(EntityDetailView):
    model = Team
    template_name = "catalog/team_detail.html"
    queryset = Team.objects.select_related(
        "parent", "source", "descriptor", "descriptor__repository", "descriptor__source"
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        team = self.object
        context.update(
            members=team.members.order_by("name"),
            managed_by=team_managed_by(team),
            can_edit=can_edit_team(self.request.user, team),
            children=team.children.order_by("name"),
            projects=owned_projects(owner_team=team),
            open_findings=team.findings.filter(resolved_at__isnull=True).order_by(
                "-severity", "first_seen_at"
            ),
        )
        return context


class PersonDetailView(EntityDetailView):
    model = Person
    template_name = "catalog/person_detail.html"
    queryset = Person.objects.select_related("user", "source", "descriptor__repository", "descriptor__source")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person = self.object
        context.update(
            teams=person.teams.order_by("name"),
            projects=owned_projects(owner_person=person),
            can_edit=can_edit_person(self.request.user, person),
            managed_by=describe_descriptor(person) if person.descriptor_id else "",
        )
        return context


class SyncRunDetailView(PortalReadMixin, DetailView):
    model = SyncRun
    template_name = "catalog/syncrun_detail.html"
    queryset = SyncRun.objects.select_related("source")
    extra_context = {"max_changes_listed": MAX_CHANGES_LISTED}


class RegisteredModelListView(ObjectListView):
    title = "Registered models"
    queryset = RegisteredModel.objects.select_related("source", "project", "production_version").annotate(
        versions_count=count_of(ModelVersion.objects.filter(gone_at__isnull=True), "registered_model"),
        open_findings_count=count_of(Finding.objects.filter(resolved_at__isnull=True), "registered_model"),
    )
    filterset_class = RegisteredModelFilterSet
    table_class = RegisteredModelTable
    filter_fields = ("q", "source", "team", "linked", "in_production", "gone")
    search_placeholder = "Search name, description"


class RegisteredModelDetailView(PortalReadMixin, DetailView):
    """A registered model: its versions, aliases, history, project and findings.

    ``?on=YYYY-MM-DD`` also answers which version was in production at the end of that day (UTC).
    """

    model = RegisteredModel
    template_name = "catalog/registeredmodel_detail.html"
    context_object_name = "model"
    queryset = RegisteredModel.objects.select_related(
        "source", "project", "project__owner_team", "project__owner_person", "production_version"
    )

    def get_object(self, queryset=None):
        queryset = queryset if queryset is not None else self.get_queryset()
        try:
            return queryset.get(source__name=self.kwargs["source"], name=self.kwargs["name"])
        except RegisteredModel.DoesNotExist:
            raise Http404(
                f"No registered model {self.kwargs['name']} in source {self.kwargs['source']}"
            ) from None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        model = self.object
        findings = model.findings.order_by("-severity", "first_seen_at")
        context.update(
            versions=list(model.versions.all()[:MODEL_VERSIONS_SHOWN]),
            versions_shown=MODEL_VERSIONS_SHOWN,
            events=list(model.events.select_related("model_version").order_by("-at", "-pk")[:HISTORY_SHOWN]),
            history_shown=HISTORY_SHOWN,
            open_findings=findings.filter(resolved_at__isnull=True),
            resolved_findings=findings.filter(resolved_at__isnull=False).order_by("-resolved_at")[
                :RECENTLY_RESOLVED
            ],
            aliases=sorted(model.aliases.items()) if isinstance(model.aliases, dict) else [],
            tags=sorted(model.tags.items()) if isinstance(model.tags, dict) else [],
            **self.production_on(model),
        )
        return context

    def production_on(self, model: RegisteredModel) -> dict:
        """``on`` (the date asked for, or None), ``on_error``, and ``on_version`` (the answer)."""
        value = self.request.GET.get("on", "").strip()
        if not value:
            return {"on": None, "on_error": "", "on_version": None}
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return {"on": None, "on_error": f"{value!r} is not a date (YYYY-MM-DD)", "on_version": None}
        end_of_day = datetime.combine(day, time.max, tzinfo=UTC)
        return {"on": day, "on_error": "", "on_version": production_version_on(model, end_of_day)}
