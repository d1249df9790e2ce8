"""``GET /api/v1/backstage/entities``: the catalog as Backstage entities, so Backstage can read the portal.

Groups, then users, then systems, then components (each by id), in pages of ``?limit=`` (default 50, at most
500), filtered by ``?kind=component,group`` (any of group, user, system, component). The cursor is
``<kind>-<id>`` of the last entity of the previous page. JSON answers ``{"count", "next", "previous",
"results"}`` like the other lists (``previous`` is always null: walk forward). With ``?format=yaml`` (or
``Accept: application/yaml``) the page is a multi-document YAML file of the entities and, when more
follow, a ``Location`` entity whose ``spec.target`` is the next page: register the first page's URL as a
Backstage ``url`` location and Backstage follows the chain. Entity shape:
``catalog.descriptors.backstage_export``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import Prefetch, QuerySet
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from catalog.api.errors import ErrorSerializer
from catalog.descriptors import backstage_export as export
from catalog.models import Person, Project, System, Team

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CURSOR = re.compile(r"(group|user|system|component)-(\d{1,18})")


@dataclass(frozen=True)
class _Kind:
    name: str
    queryset: Any
    to_entity: Any


def _kinds() -> list[_Kind]:
    people = Person.objects.only("pk", "namespace", "name")
    teams = Team.objects.only("pk", "namespace", "name")
    return [
        _Kind(
            "group",
            Team.objects.select_related("parent").prefetch_related(
                Prefetch("children", queryset=teams.only("pk", "namespace", "name", "parent_id")),
                Prefetch("members", queryset=people),
            ),
            export.group_entity,
        ),
        _Kind("user", Person.objects.prefetch_related(Prefetch("teams", queryset=teams)), export.user_entity),
        _Kind("system", System.objects.all(), export.system_entity),
        _Kind("component", Project.objects.select_related("repository"), export.component_entity),
    ]


class YAMLEntitiesRenderer(renderers.BaseRenderer):
    """A page of entities as multi-document YAML, a Location to the next page last; errors as one document."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if not isinstance(data, dict) or "results" not in data:
            return export.dump_entities([data]).encode()
        entities = list(data["results"])
        if data.get("next"):
            cursor = parse_qs(urlsplit(data["next"]).query).get("cursor", [""])[0]
            entities.append(export.location_entity(f"ml-portal-after-{cursor}", data["next"]))
        return export.dump_entities(entities).encode()


class EntitySerializerDoc:
    """The shape of one entity, for the schema."""

    schema = {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "example": "backstage.io/v1alpha1"},
            "kind": {"type": "string", "enum": ["Group", "User", "System", "Component"]},
            "metadata": {
                "type": "object",
                "required": ["name", "namespace"],
                "properties": {
                    "name": {"type": "string"},
                    "namespace": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "links": {"type": "array", "items": {"type": "object"}},
                },
            },
            "spec": {"type": "object", "description": "The kind's spec; references are strings."},
        },
    }


PAGE_SCHEMA = {
    "type": "object",
    "required": ["count", "next", "previous", "results"],
    "properties": {
        "count": {"type": "integer", "description": "Entities of the requested kinds."},
        "next": {"type": "string", "format": "uri", "nullable": True},
        "previous": {"type": "string", "format": "uri", "nullable": True},
        "results": {"type": "array", "items": EntitySerializerDoc.schema},
    },
}


class BackstageEntitiesView(GenericAPIView):
    renderer_classes = [ORJSONRenderer, YAMLEntitiesRenderer]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="The catalog as Backstage entities (Group, User, System, Component)",
        description=__doc__,
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                description="Comma-separated kinds to export: group, user, system, component (default: all).",
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"Page size (default {DEFAULT_LIMIT})."),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` link's cursor."),
        ],
        responses={
            (200, "application/json"): PAGE_SCHEMA,
            (200, "application/yaml"): OpenApiTypes.STR,
            **{code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403)},
        },
    )
    def get(self, request):
        kinds = self._requested_kinds(request.query_params.get("kind", ""))
        limit = self._limit(request.query_params.get("limit", ""))
        after_kind, after_pk = self._cursor(request.query_params.get("cursor"), kinds)
        count = sum(kind.queryset.order_by().count() for kind in kinds)
        if after_kind is not None:
            kinds = kinds[[kind.name for kind in kinds].index(after_kind) :]
        rows: list[tuple[_Kind, Any]] = []
        for kind in kinds:
            queryset: QuerySet = kind.queryset.order_by("pk")
            if kind.name == after_kind:
                queryset = queryset.filter(pk__gt=after_pk)
            rows += [(kind, row) for row in queryset[: limit + 1 - len(rows)]]
            if len(rows) > limit:
                break
        next_link = None
        if len(rows) > limit:
            rows = rows[:limit]
            kind, row = rows[-1]
            next_link = replace_query_param(request.build_absolute_uri(), "cursor", f"{kind.name}-{row.pk}")
        results = [kind.to_entity(row) for kind, row in rows]
        return Response({"count": count, "next": next_link, "previous": None, "results": results})

    @staticmethod
    def _requested_kinds(value: str) -> list[_Kind]:
        kinds = _kinds()
        wanted = {part.strip().lower() for part in value.split(",") if part.strip()}
        unknown = wanted - {kind.name for kind in kinds}
        if unknown:
            raise exceptions.ValidationError(
                {"kind": [f"unknown kind {', '.join(sorted(unknown))}: use group, user, system or component"]}
            )
        return [kind for kind in kinds if not wanted or kind.name in wanted]

    @staticmethod
    def _limit(value: str) -> int:
        if not value:
            return DEFAULT_LIMIT
        if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
            raise exceptions.ValidationError({"limit": [f"must be a whole number from 1 to {MAX_LIMIT}"]})
        return int(value)

    @staticmethod
    def _cursor(value: str | None, kinds: list[_Kind]) -> tuple[str | None, int]:
        if not value:
            return None, 0
        match = _CURSOR.fullmatch(value)
        if match is None or match[1] not in {kind.name for kind in kinds}:
            raise exceptions.ValidationError(
                {"cursor": ["is not a cursor of this listing: follow the next link"]}
            )
        return match[1], int(match[2])
