"""The API's viewsets: thin declarations of queryset, serializer_class and filterset_class (NetBox-style).

Filtering (the pages' FilterSets, ``?q=`` search), ``?ordering=``, cursor pagination with a total count,
authentication and permissions come from ``settings.REST_FRAMEWORK``; a viewset states only what differs.
Querysets select and prefetch what the serializers read, so a page costs the same number of queries
whatever its size (pinned in tests/api/test_queries.py).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from catalog import filtersets, tasks, triage
from catalog.api import serializers
from catalog.api.errors import Conflict, ErrorSerializer
from catalog.api.pagination import parse_limit
from catalog.api.permissions import StaffOnly
from catalog.audit import record_sync_trigger
from catalog.models import (
    Finding,
    ModelVersion,
    Person,
    Pipeline,
    PipelineRun,
    Project,
    ProjectFact,
    RegisteredModel,
    Repository,
    Source,
    SyncRun,
    Team,
    of_project,
)
from catalog.ownership import set_owner
from catalog.permissions import can_edit_project, can_triage_finding
from catalog.views import project_open_findings_count

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid request: `fields` names what is wrong."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in, or a bad, revoked or expired token."),
    403: OpenApiResponse(ErrorSerializer, description="Signed in, but not allowed."),
    404: OpenApiResponse(ErrorSerializer, description="No such object (or an invalid cursor)."),
}
READ_ERRORS = {code: ERRORS[code] for code in (400, 401, 403, 404)}
WRITE_ERRORS = ERRORS


# Built once: annotate() resolves a copy each time, and building it cost a list page about 0.5 ms.
PROJECT_OPEN_FINDINGS = project_open_findings_count()


def live_pipelines():
    """Pipelines still in their repository, each with its newest run as ``latest_runs`` (one query)."""
    newest = PipelineRun.objects.filter(pipeline=OuterRef("pipeline")).order_by("-created_at", "-pk")
    latest = PipelineRun.objects.filter(pk=Subquery(newest.values("pk")[:1]))
    return (
        Pipeline.objects.filter(gone_at__isnull=True)
        .order_by("name", "pk")
        .prefetch_related(Prefetch("runs", queryset=latest, to_attr="latest_runs"))
    )


def open_findings():
    return Finding.objects.filter(resolved_at__isnull=True).order_by("-severity", "first_seen_at", "pk")


class CatalogViewSet(viewsets.ReadOnlyModelViewSet):
    """List and detail of one model; ``ordering`` must start with a never-null, nearly unique field."""

    ordering = ("name",)
    ordering_fields = ("name", "created_at", "updated_at", "id")


@extend_schema_view(
    list=extend_schema(
        summary="List projects", responses={200: serializers.ProjectSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A project with its owner, repository, descriptor, open findings and latest facts",
        responses={200: serializers.ProjectDetailSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a project (managed in the portal)",
        description="`owner_ref` is required unless you are staff: one of your own teams or yourself, so "
        "that you can edit the project afterwards (owners and staff write). Unknown fields are a 400.",
        responses={201: serializers.ProjectSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "A notebook project",
                request_only=True,
                value={
                    "name": "churn-notebook",
                    "title": "Churn exploration",
                    "type": "notebook",
                    "lifecycle": "experimental",
                    "owner_ref": "group:default/ml-platform",
                    "tags": ["churn", "exploration"],
                },
            )
        ],
    ),
    update=extend_schema(
        summary="Replace a project's editable fields",
        description="Fields set by a descriptor or a source's sync cannot change: the error names the field "
        "and the descriptor file (or source) that owns it.",
        responses={200: serializers.ProjectSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of a project's editable fields",
        description="Fields set by a descriptor or a source's sync cannot change: the error names the field "
        "and the descriptor file (or source) that owns it.",
        responses={200: serializers.ProjectSerializer, **WRITE_ERRORS},
    ),
)
class ProjectViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, CatalogViewSet):
    """Projects (Backstage kind Component). Owners and staff change them; anyone signed in creates them."""

    queryset = Project.objects.select_related("owner_team", "owner_person", "system", "repository").annotate(
        open_findings_count=PROJECT_OPEN_FINDINGS
    )
    serializer_class = serializers.ProjectSerializer
    filterset_class = filtersets.ProjectFilterSet

    def can_edit(self, user, project):
        return can_edit_project(user, project)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return Project.objects.all()
        if self.action == "retrieve":
            return queryset.select_related(
                "repository__source", "source", "descriptor__repository", "descriptor__source"
            ).prefetch_related(
                Prefetch(
                    "facts",
                    queryset=ProjectFact.objects.latest_per_name().select_related("reported_by"),
                    to_attr="latest_facts",
                ),
                Prefetch("repository__pipelines", queryset=live_pipelines(), to_attr="live_pipelines"),
                Prefetch(
                    "registered_models",
                    queryset=RegisteredModel.objects.filter(gone_at__isnull=True)
                    .select_related("source", "production_version")
                    .order_by("name"),
                    to_attr="live_models",
                ),
            )
        if self.action in ("update", "partial_update"):
            return queryset.select_related("source", "descriptor__repository", "descriptor__source")
        return queryset

    def page_queryset(self, queryset):
        """A list page's rows: what ProjectListSerializer reads (joined after the count)."""
        return serializers.ProjectListSerializer.list_queryset(
            queryset.annotate(open_findings_count=PROJECT_OPEN_FINDINGS)
        )

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.ProjectListSerializer
        return serializers.ProjectDetailSerializer if self.action == "retrieve" else self.serializer_class

    def get_object(self):
        project = super().get_object()
        if self.action == "retrieve":
            project.can_edit = can_edit_project(self.request.user, project)
            project.open_findings = list(
                open_findings().filter(of_project(project)).select_related("registered_model")
            )
        return project

    def perform_save(self, serializer):
        # The serializer checked the name is free; a concurrent request may still take it first.
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            data = serializer.validated_data
            wanted = Project(namespace=data.get("namespace") or "default", name=data.get("name", ""))
            if serializer.instance is not None:
                wanted.pk = serializer.instance.pk
            clash = wanted.ref_clash() or wanted
            raise ValidationError({"name": [wanted.ref_clash_message(clash)]}, code="unique") from None

    perform_create = perform_update = perform_save

    @extend_schema(
        summary="Claim or transfer the project's ownership",
        description="Sets the owner to a team of yours (or yourself); staff may name any team or person. "
        "Anyone signed in may claim a project with no known owner; an owned project is transferred by its "
        "owners or staff. A descriptor's owner is changed in the descriptor.",
        request=serializers.ProjectOwnerSerializer,
        responses={200: serializers.ProjectSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Claim for a team", value={"owner": "group:default/ml-platform"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def owner(self, request, pk=None):
        # Not get_object(): claiming a project you do not own yet is allowed; set_owner decides.
        project = get_object_or_404(
            Project.objects.select_related("source", "descriptor__repository", "descriptor__source"), pk=pk
        )
        payload = serializers.ProjectOwnerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        set_owner(project, payload.validated_data["owner"], by=request.user, via="api")
        return Response(serializers.ProjectSerializer(self.get_queryset().get(pk=project.pk)).data)

    @extend_schema(
        methods=["GET"],
        summary="The project's custom facts: the latest value of each, and the history",
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, description="Only the history of this fact."),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description="History rows, newest first: a positive integer, 100 by default; values "
                "above 1000 are clamped to 1000.",
            ),
        ],
        responses={200: serializers.ProjectFactsSerializer, **READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Report a custom fact (a named number or string at a time)",
        request=serializers.ProjectFactSerializer,
        responses={201: serializers.ProjectFactSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Test coverage from CI",
                value={"name": "coverage", "value": 0.83, "observed_at": "2025-06-01T12:00:00Z"},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def facts(self, request, pk=None):
        project = get_object_or_404(Project.objects.only("pk", "owner_team_id", "owner_person_id"), pk=pk)
        if request.method == "POST":
            self.check_object_permissions(request, project)
            fact = serializers.ProjectFactSerializer(data=request.data)
            fact.is_valid(raise_exception=True)
            fact.save(project=project, reported_by=request.user)
            return Response(fact.data, status=status.HTTP_201_CREATED)
        facts = ProjectFact.objects.filter(project=project).select_related("reported_by")
        history = facts.order_by("-observed_at", "-pk")
        if request.query_params.get("name"):
            history = history.filter(name=request.query_params["name"])
        limit = parse_limit(request.query_params.get("limit"), default=100, maximum=1000)
        return Response(
            {
                "latest": serializers.ProjectFactSerializer(
                    facts.latest_per_name().order_by("name"), many=True
                ).data,
                "history": serializers.ProjectFactSerializer(history[:limit], many=True).data,
            }
        )


class TeamViewSet(CatalogViewSet):
    """Teams (Backstage kind Group) with their members' references."""

    queryset = Team.objects.select_related("parent").prefetch_related(
        Prefetch("members", queryset=Person.objects.only("pk", "namespace", "name").order_by("name"))
    )
    serializer_class = serializers.TeamSerializer
    filterset_class = filtersets.TeamFilterSet


class PersonViewSet(CatalogViewSet):
    """People (Backstage kind User) with the references of their teams."""

    queryset = Person.objects.select_related("user").prefetch_related(
        Prefetch("teams", queryset=Team.objects.only("pk", "namespace", "name").order_by("name"))
    )
    serializer_class = serializers.PersonSerializer
    filterset_class = filtersets.PersonFilterSet


class RepositoryViewSet(CatalogViewSet):
    """Git repositories and the facts read from their default branch."""

    queryset = Repository.objects.select_related("source")
    serializer_class = serializers.RepositorySerializer
    filterset_class = filtersets.RepositoryFilterSet
    ordering_fields = ("name", "id")


@extend_schema_view(
    acknowledge=extend_schema(
        summary="Acknowledge the finding (POST) or take the acknowledgement back (DELETE)",
        request=None,
        responses={200: serializers.FindingSerializer, **WRITE_ERRORS},
    ),
    snooze=extend_schema(
        summary="Snooze the finding until a time (POST) or end the snooze (DELETE)",
        request=serializers.SnoozeSerializer,
        responses={200: serializers.FindingSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Snooze for a release",
                value={"until": "2025-07-01T00:00:00Z", "reason": "retraining after the Q2 release"},
                request_only=True,
            )
        ],
    ),
)
class FindingViewSet(CatalogViewSet):
    """Findings of the rules on projects, teams and registered models; owners triage them."""

    queryset = Finding.objects.select_related("project", "team", "registered_model", "acknowledged_by")
    serializer_class = serializers.FindingSerializer
    filterset_class = filtersets.FindingFilterSet
    ordering = ("-first_seen_at",)
    ordering_fields = ("first_seen_at", "last_seen_at", "id")

    def can_edit(self, user, finding):
        return can_triage_finding(user, finding)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action in ("acknowledge", "snooze"):
            queryset = queryset.select_related("project__owner_team", "registered_model__project")
        return queryset

    @action(detail=True, methods=["post", "delete"])
    def acknowledge(self, request, pk=None):
        finding = self.get_object()
        triage.acknowledge(finding, by=request.user, acknowledged=request.method == "POST", via="api")
        return Response(self.get_serializer(finding).data)

    @action(detail=True, methods=["post", "delete"])
    def snooze(self, request, pk=None):
        finding = self.get_object()
        if request.method == "DELETE":
            triage.snooze(finding, by=request.user, until=None, via="api")
        else:
            payload = serializers.SnoozeSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            triage.snooze(finding, by=request.user, via="api", **payload.validated_data)
        return Response(self.get_serializer(finding).data)


@extend_schema_view(
    sync=extend_schema(
        summary="Queue a sync of the source (staff)",
        request=None,
        responses={
            202: serializers.SyncQueuedSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Disabled, or a sync is already running."),
            **WRITE_ERRORS,
        },
    )
)
class SourceViewSet(CatalogViewSet):
    """Sources the portal reads from (staff only)."""

    permission_classes = [StaffOnly]
    serializer_class = serializers.SourceSerializer
    filterset_class = filtersets.SourceFilterSet
    ordering_fields = ("name", "id")

    def get_queryset(self):
        latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
        return Source.objects.annotate(
            last_run_id=Subquery(latest.values("pk")[:1]),
            last_run_status=Subquery(latest.values("status")[:1]),
            last_run_at=Subquery(latest.values("started_at")[:1]),
        )

    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        source = self.get_object()
        if not source.enabled:
            raise Conflict(f"source {source.name!r} is disabled: enable it first")
        running = SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING).first()
        if running is not None:
            raise Conflict(f"source {source.name!r} is already being synced (sync run {running.pk})")
        record_sync_trigger(source, by=request.user, trigger=SyncRun.Trigger.MANUAL, via="api")
        tasks.sync_source.delay(source.pk, SyncRun.Trigger.MANUAL)
        body = {"source": source.name, "queued": True, "message": f"a sync of {source.name!r} was queued"}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class SyncRunViewSet(CatalogViewSet):
    """Sync runs: what each sync created, updated, orphaned and what failed (staff only)."""

    permission_classes = [StaffOnly]
    queryset = SyncRun.objects.select_related("source")
    serializer_class = serializers.SyncRunSerializer
    filterset_class = filtersets.SyncRunFilterSet
    ordering = ("-started_at",)
    ordering_fields = ("started_at", "id")


class PipelineViewSet(CatalogViewSet):
    """CI pipelines of the repositories (GitHub Actions workflows, GitLab CI), with their templates."""

    queryset = Pipeline.objects.select_related("repository")
    serializer_class = serializers.PipelineSerializer
    filterset_class = filtersets.PipelineFilterSet


class PipelineRunViewSet(CatalogViewSet):
    """Runs of the pipelines on their default branch, newest first."""

    queryset = PipelineRun.objects.all()
    serializer_class = serializers.PipelineRunSerializer
    filterset_class = filtersets.PipelineRunFilterSet
    ordering = ("-created_at",)
    ordering_fields = ("created_at", "id")


class RegisteredModelViewSet(CatalogViewSet):
    """Registered models of the model registries (MLflow), linked to projects or orphans."""

    queryset = RegisteredModel.objects.select_related("source", "project", "production_version")
    serializer_class = serializers.RegisteredModelSerializer
    filterset_class = filtersets.RegisteredModelFilterSet
    ordering_fields = ("name", "id")


class ModelVersionViewSet(CatalogViewSet):
    """Versions of the registered models: aliases, stages, training runs and commits."""

    queryset = ModelVersion.objects.all()
    serializer_class = serializers.ModelVersionSerializer
    filterset_class = filtersets.ModelVersionFilterSet
    ordering = ("-id",)
    ordering_fields = ("id",)
