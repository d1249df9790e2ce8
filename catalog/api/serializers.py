"""Serializers of the REST API: one per model for lists, a richer one where a detail saves round trips.

Entities (projects, teams, people) carry their Backstage reference ``ref`` (``component:default/name``).
Nested objects are summaries (``EntitySummary``, ``RepositorySummary``) read from ``select_related`` or
``prefetch_related`` rows that the viewsets declare: no serializer here runs a query per row.
Timestamps are ISO 8601 in UTC.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import UTC, timedelta

from django.db import models
from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.descriptors.backstage import parse_file, parse_ref
from catalog.descriptors.backstage_export import component_entity, dump_entities
from catalog.models import (
    DescriptorFile,
    Finding,
    ModelVersion,
    Person,
    Pipeline,
    PipelineRun,
    Project,
    ProjectFact,
    RegisteredModel,
    Repository,
    Severity,
    Source,
    SyncRun,
    System,
    Team,
)
from catalog.permissions import can_own, managed_fields
from catalog.source_config import redacted_config

# Where the Backstage validator's field paths land among the project's API fields.
_ENTITY_FIELDS = {
    "metadata.name": "name",
    "metadata.namespace": "namespace",
    "metadata.title": "title",
    "metadata.description": "description",
    "metadata.labels": "labels",
    "metadata.annotations": "annotations",
    "metadata.tags": "tags",
    "metadata.links": "links",
    "spec.type": "type",
    "spec.lifecycle": "lifecycle",
    "spec.owner": "owner_ref",
    "spec.system": "system_ref",
}


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC (``...Z``); input without an offset is taken as UTC. Cheaper than DRF's default,
    which looks the current time zone up for every value."""

    timezone = UTC


class RejectUnknownFields:
    """Input answers 400 naming each field the serializer does not have (DRF would ignore it, and a
    PATCH of only unknown fields would still save the row). Read-only fields are known: they are
    ignored, so that a client may send back what it read."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
                message = f"unknown field; the fields that can be written are: {writable}"
                raise serializers.ValidationError({name: [message] for name in unknown}, code="invalid")
        return super().to_internal_value(data)


def closed_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: request bodies allow no other properties
    (``additionalProperties: false``), as ``RejectUnknownFields`` enforces."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result


class CatalogModelSerializer(RejectUnknownFields, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def managed_by(entity) -> str:
    """``descriptor`` (declared in a file), ``source`` (found by a sync) or ``portal`` (made here)."""
    return managed_by_ids(entity.descriptor_id, entity.source_id)


def managed_by_ids(descriptor_id: int | None, source_id: int | None) -> str:
    if descriptor_id is not None:
        return "descriptor"
    return "source" if source_id is not None else "portal"


class EntitySummarySerializer(serializers.Serializer):
    """A team, person or system in a few fields, with its reference."""

    id = serializers.IntegerField()
    ref = serializers.CharField(help_text="Backstage entity reference, e.g. group:default/ml-platform.")
    name = serializers.CharField()
    title = serializers.CharField()


def entity_summary(entity) -> dict | None:
    """``EntitySummarySerializer``'s shape, built directly: it runs for every row of a list."""
    if entity is None:
        return None
    return {"id": entity.pk, "ref": entity.ref, "name": entity.name, "title": entity.title}


class RepositorySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    default_branch = serializers.CharField()
    last_commit_at = UTCDateTimeField(allow_null=True)


class RepositorySerializer(CatalogModelSerializer):
    source = serializers.CharField(source="source.name", read_only=True)

    class Meta:
        model = Repository
        exclude = ["external_id"]


@extend_schema_field({"type": "string", "enum": ["descriptor", "source", "portal"]})
class ManagedByField(serializers.ReadOnlyField):
    """The entity's ``managed_by`` (see ``managed_by``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Who sets the entity's fields: descriptor (a catalog-info.yaml), source (a sync) or portal.",
        )
        super().__init__(source="*", **kwargs)

    def to_representation(self, entity) -> str:
        return managed_by(entity)


class ProjectSerializer(CatalogModelSerializer):
    """A project (Backstage kind Component), as listed, created and updated.

    Writable on projects made in the portal: every field below not marked read-only. On a project found by
    a source's sync its name, namespace, title and repository are not; on a project declared by a
    descriptor no field is (change the descriptor). ``owner_ref`` is set on creation only (to one of your
    teams, or yourself; staff: anyone): use ``POST /projects/{id}/owner/`` to change it later.
    """

    ref = serializers.CharField(read_only=True)
    owner = serializers.SerializerMethodField()
    system = EntitySummarySerializer(read_only=True, allow_null=True)
    repository = RepositorySummarySerializer(read_only=True, allow_null=True)
    repository_id = serializers.PrimaryKeyRelatedField(
        source="repository",
        queryset=Repository.objects.all(),
        allow_null=True,
        required=False,
        write_only=True,
        help_text="Id of the repository the project lives in.",
    )
    tags = serializers.ListField(child=serializers.CharField(), required=False, help_text="Backstage tags.")
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    annotations = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    links = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text='Backstage links: [{"url": "https://...", "title": "...", "type": "..."}].',
    )
    managed_by = ManagedByField()
    open_findings_count = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "ref",
            "namespace",
            "name",
            "title",
            "description",
            "type",
            "lifecycle",
            "tags",
            "labels",
            "annotations",
            "links",
            "owner_ref",
            "owner",
            "system_ref",
            "system",
            "repository",
            "repository_id",
            "managed_by",
            "open_findings_count",
            "orphaned_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["orphaned_at", "created_at", "updated_at"]
        extra_kwargs = {
            "namespace": {"required": False},
            "owner_ref": {
                "help_text": "The owner's reference: group:default/team-a or user:default/ada. Required "
                "when a non-staff user creates a project (one of their teams, or themselves); only staff "
                "create projects with no owner."
            },
            "system_ref": {"help_text": "The system's reference, e.g. system:default/fraud."},
        }

    @extend_schema_field(EntitySummarySerializer(allow_null=True))
    def get_owner(self, project):
        """The owner the reference resolved to (a team or a person), or null."""
        return entity_summary(project.owner)

    def get_open_findings_count(self, project) -> int:
        """Open findings of the project (0 on a write's answer)."""
        return getattr(project, "open_findings_count", 0)

    def validate(self, attrs):
        instance = self.instance
        if instance is not None:
            self._refuse_managed_changes(instance, attrs)
            if "owner_ref" in attrs and attrs["owner_ref"] != instance.owner_ref:
                raise serializers.ValidationError(
                    {"owner_ref": "change the owner with POST /api/v1/projects/{id}/owner/"}
                )
        merged = copy.copy(instance) if instance is not None else Project()
        for name, value in attrs.items():
            setattr(merged, name, value)
        merged.namespace = merged.namespace or "default"
        attrs.update(self._validate_entity(merged))
        self._check_unique(merged)
        if instance is None and not attrs.get("owner_ref") and not self.context["request"].user.is_staff:
            # Without an owner its creator could not edit it (owners and staff write): say so now.
            raise serializers.ValidationError(
                {
                    "owner_ref": "required: give one of your own teams (group:default/NAME) or yourself "
                    "(user:default/NAME) as the owner; only staff create projects with no owner"
                },
                code="required",
            )
        if instance is None and attrs.get("owner_ref"):
            attrs.update(self._resolve_owner(attrs["owner_ref"]))
        if "system_ref" in attrs:
            attrs["system"] = self._resolve(System, attrs["system_ref"])
        return attrs

    def _refuse_managed_changes(self, project: Project, attrs: dict) -> None:
        locked = managed_fields(project)
        changed = {}
        for name, value in attrs.items():
            field = {"owner_ref": "owner", "system_ref": "system"}.get(name, name)
            if field in locked and value != getattr(project, name):
                changed[name] = [f"{name} is set by {locked[field]}: change it there"]
        if changed:
            raise serializers.ValidationError(changed, code="managed_by_descriptor")

    def _validate_entity(self, project: Project) -> dict:
        """Check the project as Backstage would check its descriptor; the normalized references."""
        parsed = parse_file(dump_entities([component_entity(project)]), "api")
        errors: dict[str, list[str]] = {}
        for error in parsed.errors:
            path = error.field or "non_field_errors"
            field = next(
                (v for k, v in _ENTITY_FIELDS.items() if path == k or path.startswith(k + ".")), path
            )
            errors.setdefault(field, []).append(
                f"{path}: {error.message}" if path != field else error.message
            )
        if errors:
            raise serializers.ValidationError(errors)
        normalized = {}
        for name, kind in (("owner_ref", "group"), ("system_ref", "system")):
            value = getattr(project, name)
            normalized[name] = (
                str(parse_ref(value, default_kind=kind, default_namespace=project.namespace)).lower()
                if (value)
                else ""
            )
        return normalized

    def _check_unique(self, project: Project) -> None:
        clash = project.ref_clash()  # merged is a copy of the instance: its own row is not a clash
        if clash is not None:
            raise serializers.ValidationError({"name": project.ref_clash_message(clash)}, code="unique")

    @staticmethod
    def _resolve(model, ref: str):
        """The entity a normalized reference (``kind:namespace/name``) names, or None."""
        if not ref:
            return None
        namespace, name = ref.split(":", 1)[1].split("/", 1)
        return model.objects.filter(namespace__iexact=namespace, name__iexact=name).first()

    def _resolve_owner(self, ref: str) -> dict:
        kind = ref.split(":", 1)[0]
        model = {"group": Team, "user": Person}.get(kind)
        owner = self._resolve(model, ref) if model else None
        if owner is None:
            raise serializers.ValidationError({"owner_ref": f"{ref} names no known team or person"})
        if not can_own(self.context["request"].user, owner):
            raise serializers.ValidationError(
                {"owner_ref": f"you can make only one of your own teams (or yourself) the owner, not {ref}"},
                code="permission_denied",
            )
        return {
            "owner_team": owner if kind == "group" else None,
            "owner_person": owner if kind == "user" else None,
        }


def _iso(value):
    """``UTCDateTimeField``'s output."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _strings(mapping) -> dict:
    return {str(key): None if value is None else str(value) for key, value in mapping.items()}


class ProjectListSerializer(ProjectSerializer):
    """``ProjectSerializer``'s output, built by hand from one flat row: the hot path of every project list.

    The queryset (``list_queryset``) gives plain rows (``values()``) with the owner's, system's and
    repository's few fields joined in, rather than model instances, and this skips DRF's per-field
    machinery: together they took a page of 50 from about 12 ms to 5. tests/api/test_read.py checks that
    both outputs agree.
    """

    FIELDS = (
        "id",
        "namespace",
        "name",
        "title",
        "description",
        "type",
        "lifecycle",
        "tags",
        "labels",
        "annotations",
        "links",
        "owner_ref",
        "owner_team_id",
        "owner_person_id",
        "system_ref",
        "system_id",
        "repository_id",
        "source_id",
        "descriptor_id",
        "orphaned_at",
        "created_at",
        "updated_at",
    )
    SUMMARIES = {
        "owner_team": ("group", ("namespace", "name", "title")),
        "owner_person": ("user", ("namespace", "name", "title")),
        "system": ("system", ("namespace", "name", "title")),
        "repository": (None, ("name", "url", "default_branch", "last_commit_at")),
    }

    @classmethod
    def list_queryset(cls, queryset):
        """``queryset`` as the rows ``to_representation`` reads (it must annotate ``open_findings_count``)."""
        related = {
            f"{relation}_{name}": F(f"{relation}__{name}")
            for relation, (_, names) in cls.SUMMARIES.items()
            for name in names
        }
        return queryset.values(*cls.FIELDS, "open_findings_count", **related)

    @staticmethod
    def _entity(row: dict, relation: str, kind: str):
        pk = row[f"{relation}_id"]
        if pk is None:
            return None
        namespace, name = row[f"{relation}_namespace"], row[f"{relation}_name"]
        return {
            "id": pk,
            "ref": f"{kind}:{namespace}/{name}",
            "name": name,
            "title": row[f"{relation}_title"],
        }

    def to_representation(self, row: dict):
        owner = self._entity(row, "owner_team", "group") or self._entity(row, "owner_person", "user")
        managed = managed_by_ids(row["descriptor_id"], row["source_id"])
        return {
            "id": row["id"],
            "ref": f"{Project.kind}:{row['namespace']}/{row['name']}",
            "namespace": row["namespace"],
            "name": row["name"],
            "title": row["title"],
            "description": row["description"],
            "type": row["type"],
            "lifecycle": row["lifecycle"],
            "tags": [str(tag) for tag in row["tags"]],
            "labels": _strings(row["labels"]),
            "annotations": _strings(row["annotations"]),
            "links": [_strings(link) for link in row["links"]],
            "owner_ref": row["owner_ref"],
            "owner": owner,
            "system_ref": row["system_ref"],
            "system": self._entity(row, "system", "system"),
            "repository": None
            if row["repository_id"] is None
            else {
                "id": row["repository_id"],
                "name": row["repository_name"],
                "url": row["repository_url"],
                "default_branch": row["repository_default_branch"],
                "last_commit_at": _iso(row["repository_last_commit_at"]),
            },
            "managed_by": managed,
            "open_findings_count": row["open_findings_count"],
            "orphaned_at": _iso(row["orphaned_at"]),
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
        }


class DescriptorSerializer(CatalogModelSerializer):
    repository = serializers.CharField(source="repository.name", default=None, allow_null=True)
    source = serializers.CharField(source="source.name")

    class Meta:
        model = DescriptorFile
        fields = ["id", "path", "repository", "source", "errors", "read_at", "gone_at"]


class FindingSummarySerializer(CatalogModelSerializer):
    """An open finding of a project: about the project itself, or about one of its registered models
    (``registered_model`` names it; null otherwise)."""

    severity = serializers.CharField(source="get_severity_display")
    registered_model = serializers.CharField(
        source="registered_model.name", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "rule",
            "severity",
            "registered_model",
            "message",
            "evidence",
            "first_seen_at",
            "last_seen_at",
            "acknowledged_at",
            "snoozed_until",
        ]


class FactValueField(serializers.Field):
    """A number (finite) or a string."""

    default_error_messages = {
        "invalid": "must be a number or a string, not {kind}",
        "finite": "must be finite",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid", kind=type(data).__name__)
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("finite")
        if isinstance(data, str) and len(data) > 10_000:
            raise serializers.ValidationError("must be at most 10,000 characters")
        return data

    def to_representation(self, value):
        return value


extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "maxLength": 10000}]})(FactValueField)


class ProjectFactSerializer(CatalogModelSerializer):
    """A reported value of a named fact. ``observed_at`` defaults to the time of the request."""

    value = FactValueField(help_text="A number (e.g. 0.83) or a string (e.g. 'passing').")
    observed_at = UTCDateTimeField(required=False, help_text="When it was measured (default: now).")
    reported_by = serializers.CharField(
        source="reported_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ProjectFact
        fields = ["id", "name", "value", "observed_at", "reported_by", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"name": {"help_text": "The fact's name, e.g. coverage or drift-score."}}

    def validate_observed_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("must not be in the future")
        return value

    def create(self, validated_data):
        fact = ProjectFact(
            project=validated_data["project"],
            name=validated_data["name"],
            observed_at=validated_data.get("observed_at") or timezone.now(),
            reported_by=validated_data.get("reported_by"),
        )
        fact.value = validated_data["value"]
        fact.save()
        return fact


class ProjectFactsSerializer(serializers.Serializer):
    latest = ProjectFactSerializer(many=True, help_text="The newest value of each fact name.")
    history = ProjectFactSerializer(many=True, help_text="Reported values, newest first (?name=, ?limit=).")


class PipelineRunSerializer(CatalogModelSerializer):
    """A run of a CI pipeline on the default branch: the provider's status and conclusion, the portal's."""

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "pipeline",
            "external_id",
            "run_number",
            "run_attempt",
            "status",
            "conclusion",
            "portal_status",
            "branch",
            "commit_sha",
            "event",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]


class PipelineSerializer(CatalogModelSerializer):
    """A CI pipeline (GitHub Actions workflow, GitLab CI) of a repository, with its shared templates."""

    repository = RepositorySummarySerializer(read_only=True)

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "repository",
            "provider",
            "external_id",
            "name",
            "file_path",
            "state",
            "url",
            "templates",
            "template_kind",
            "template_project",
            "template_file",
            "template_ref",
            "config_error",
            "latest_status",
            "latest_run_at",
            "failing_since",
            "gone_at",
            "created_at",
            "updated_at",
        ]


class PipelineWithRunSerializer(PipelineSerializer):
    """A pipeline and its newest run (``null`` when it has none)."""

    latest_run = serializers.SerializerMethodField()

    class Meta(PipelineSerializer.Meta):
        fields = [name for name in PipelineSerializer.Meta.fields if name != "repository"] + ["latest_run"]

    @extend_schema_field(PipelineRunSerializer(allow_null=True))
    def get_latest_run(self, pipeline):
        runs = getattr(pipeline, "latest_runs", [])
        return PipelineRunSerializer(runs[0]).data if runs else None


class ModelVersionSummarySerializer(CatalogModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "version", "aliases", "stage", "status", "run_id", "git_commit", "registered_at"]


class ModelVersionSerializer(CatalogModelSerializer):
    """A version of a registered model: aliases, legacy stage, training run and its git commit, metrics."""

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "registered_model",
            "version",
            "aliases",
            "stage",
            "status",
            "status_message",
            "description",
            "source_uri",
            "run_id",
            "run_url",
            "user_id",
            "tags",
            "url",
            "git_repo_url",
            "git_commit",
            "trained_at",
            "metrics",
            "registered_at",
            "last_updated_at",
            "gone_at",
        ]


class RegisteredModelSerializer(CatalogModelSerializer):
    """A registered model (MLflow's term), its production version and the project it is linked to."""

    source = serializers.CharField(source="source.name", read_only=True)
    project = serializers.SerializerMethodField()
    production_version = ModelVersionSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "source",
            "name",
            "description",
            "tags",
            "aliases",
            "url",
            "registered_at",
            "last_updated_at",
            "production_version",
            "project",
            "link_method",
            "link_detail",
            "last_read_at",
            "gone_at",
        ]

    @extend_schema_field(EntitySummarySerializer(allow_null=True))
    def get_project(self, model):
        """The project the model is linked to; null for an orphan."""
        return entity_summary(model.project if model.project_id else None)


class ProjectDetailSerializer(ProjectSerializer):
    """A project with what its page shows: owner, repository, descriptor, open findings, latest facts, CI
    pipelines with their latest run, and registered models with their production version."""

    repository = serializers.SerializerMethodField()
    descriptor = DescriptorSerializer(read_only=True, allow_null=True)
    source = serializers.CharField(source="source.name", read_only=True, default=None, allow_null=True)
    open_findings = FindingSummarySerializer(many=True, read_only=True)
    facts = ProjectFactSerializer(many=True, read_only=True, source="latest_facts")
    pipelines = serializers.SerializerMethodField()
    registered_models = RegisteredModelSerializer(many=True, read_only=True, source="live_models")
    managed_fields = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = [
            *ProjectSerializer.Meta.fields,
            "source",
            "descriptor",
            "open_findings",
            "facts",
            "pipelines",
            "registered_models",
            "managed_fields",
            "can_edit",
        ]

    @extend_schema_field(PipelineWithRunSerializer(many=True))
    def get_pipelines(self, project):
        """The live CI pipelines of the project's repository, each with its latest run."""
        repository = project.repository if project.repository_id else None
        pipelines = getattr(repository, "live_pipelines", []) if repository else []
        return PipelineWithRunSerializer(pipelines, many=True).data

    @extend_schema_field(RepositorySerializer(allow_null=True))
    def get_repository(self, project):
        repository = project.repository if project.repository_id else None
        return RepositorySerializer(repository).data if repository else None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_managed_fields(self, project):
        """Fields the portal will not change, each with who sets them."""
        return managed_fields(project)

    def get_can_edit(self, project) -> bool:
        """Whether the requesting user may change the project."""
        return bool(getattr(project, "can_edit", False))


class ProjectOwnerSerializer(RejectUnknownFields, serializers.Serializer):
    owner = serializers.CharField(
        help_text="The new owner: group:default/team-a (a bare name is a group) or user:default/ada."
    )

    def validate_owner(self, value):
        try:
            ref = parse_ref(value, default_kind="group")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        model = {"group": Team, "user": Person}.get(ref.kind)
        if model is None:
            raise serializers.ValidationError(f"an owner is a group or a user, not a {ref.kind}")
        owner = model.objects.filter(namespace__iexact=ref.namespace, name__iexact=ref.name).first()
        if owner is None:
            raise serializers.ValidationError(
                f"{ref} names no known {'team' if ref.kind == 'group' else 'person'}"
            )
        return owner


class TeamSerializer(CatalogModelSerializer):
    ref = serializers.CharField(read_only=True)
    parent = EntitySummarySerializer(read_only=True, allow_null=True)
    members = serializers.SerializerMethodField()
    managed_by = ManagedByField()

    class Meta:
        model = Team
        fields = [
            "id",
            "ref",
            "namespace",
            "name",
            "title",
            "description",
            "type",
            "email",
            "slack_channel",
            "parent",
            "parent_ref",
            "members",
            "member_refs",
            "tags",
            "labels",
            "annotations",
            "links",
            "managed_by",
            "orphaned_at",
            "created_at",
            "updated_at",
        ]

    def get_members(self, team) -> list[str]:
        """References of the members (people) the portal knows."""
        return [person.ref for person in team.members.all()]


class PersonSerializer(CatalogModelSerializer):
    ref = serializers.CharField(read_only=True)
    username = serializers.CharField(source="user.username", default=None, read_only=True, allow_null=True)
    teams = serializers.SerializerMethodField()
    managed_by = ManagedByField()

    class Meta:
        model = Person
        fields = [
            "id",
            "ref",
            "namespace",
            "name",
            "title",
            "email",
            "git_emails",
            "slack_user_id",
            "username",
            "teams",
            "member_of_refs",
            "managed_by",
            "orphaned_at",
            "created_at",
            "updated_at",
        ]

    def get_teams(self, person) -> list[str]:
        """References of the teams the person is a member of."""
        return [team.ref for team in person.teams.all()]


class FindingSerializer(CatalogModelSerializer):
    """A finding; its subject is a project, a team or a registered model (the other ids are null)."""

    severity = serializers.ChoiceField(
        source="get_severity_display", choices=[s.label for s in Severity], read_only=True
    )
    severity_level = serializers.IntegerField(
        source="severity", read_only=True, help_text="10 info ... 40 critical"
    )
    subject = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "rule",
            "severity",
            "severity_level",
            "subject",
            "project",
            "team",
            "registered_model",
            "message",
            "evidence",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
            "is_open",
            "acknowledged_at",
            "acknowledged_by",
            "snoozed_until",
            "snooze_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["project", "team", "registered_model"]},
                "id": {"type": "integer"},
                "name": {"type": "string"},
            },
        }
    )
    def get_subject(self, finding):
        for kind in ("project", "team", "registered_model"):
            if getattr(finding, f"{kind}_id", None) is not None:
                subject = getattr(finding, kind)
                return {"kind": kind, "id": subject.pk, "name": str(subject)}
        return None


class SnoozeSerializer(RejectUnknownFields, serializers.Serializer):
    until = UTCDateTimeField(help_text="When the finding speaks again (at most a year ahead).")
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class RedactedConfigField(serializers.JSONField):
    """A source's config as ``catalog.source_config.redacted_config`` shows it: a secret-looking value
    saved before the config was validated comes out as ``***redacted***``."""

    def to_representation(self, value):
        return redacted_config(super().to_representation(value))


class SourceSerializer(CatalogModelSerializer):
    """A source (staff only). ``config`` names environment variables for secrets, never the secrets; a
    value under a secret-looking key, or a URL's credentials, are shown redacted."""

    config = RedactedConfigField(
        read_only=True, help_text="The connector's config; secret-looking values are redacted."
    )
    last_run_id = serializers.IntegerField(read_only=True, allow_null=True)
    last_run_status = serializers.CharField(read_only=True, allow_null=True)
    last_run_at = UTCDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "kind",
            "config",
            "enabled",
            "sync_interval_minutes",
            "created_at",
            "last_run_id",
            "last_run_status",
            "last_run_at",
        ]


class SyncQueuedSerializer(serializers.Serializer):
    source = serializers.CharField()
    queued = serializers.BooleanField()
    message = serializers.CharField()


class SyncRunSerializer(CatalogModelSerializer):
    source = serializers.CharField(source="source.name", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "source",
            "status",
            "trigger",
            "started_at",
            "finished_at",
            "duration_seconds",
            "created",
            "updated",
            "unchanged",
            "failed",
            "orphaned",
            "errors",
        ]

    def get_duration_seconds(self, run) -> float | None:
        return run.duration.total_seconds() if run.duration else None
