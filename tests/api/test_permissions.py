"""The permission matrix: every endpoint and method of the API, for every kind of caller.

Callers: ``anonymous``; ``anonymous_read`` (anonymous with ``PORTAL["ANONYMOUS_READ"]`` on); ``reader`` (the
outsider of STYLE.md: signed in, owns nothing); ``owner`` (a member of the team that owns the project);
``staff``; ``revoked`` and ``expired`` (the owner's tokens, revoked or past their expiry). Every signed-in
caller uses a personal API token, as an integration would. The matrix is a declaration; one test runs each
cell on a fresh database, and one more checks that the declaration covers every operation of the OpenAPI
schema, so a new endpoint cannot be left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from catalog.models import APIToken, ModelVersion, Pipeline, PipelineRun, Source
from tests.api.conftest import bearer

ROLES = ("anonymous", "anonymous_read", "reader", "owner", "staff", "revoked", "expired")
DENIED = {"anonymous": 401, "anonymous_read": 401, "revoked": 401, "expired": 401}


def read(ok: int = 200) -> dict[str, int]:
    return {**DENIED, "anonymous_read": ok, "reader": ok, "owner": ok, "staff": ok}


def staff_read(ok: int = 200) -> dict[str, int]:
    return {**DENIED, "reader": 403, "owner": 403, "staff": ok}


def owner_write(ok: int = 200) -> dict[str, int]:
    return {**DENIED, "reader": 403, "owner": ok, "staff": ok}


def signed_in_write(ok: int = 201) -> dict[str, int]:
    return {**DENIED, "reader": ok, "owner": ok, "staff": ok}


def staff_write(ok: int = 200) -> dict[str, int]:
    return staff_read(ok)


def not_allowed() -> dict[str, int]:
    return {**DENIED, "reader": 405, "owner": 405, "staff": 405}


def staff_not_allowed() -> dict[str, int]:
    return {**DENIED, "reader": 403, "owner": 403, "staff": 405}


@dataclass(frozen=True)
class Cell:
    """One operation: ``path`` is the schema's template, filled from the world (``{id}``: ``ids[path]``)."""

    method: str
    path: str
    expect: dict[str, int]
    data: dict[str, Any] = field(default_factory=dict)
    query: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}{self.query}"


SNOOZE = {"until": (timezone.now() + timedelta(days=30)).isoformat(), "reason": "after the release"}

MATRIX = [
    Cell("GET", "/api/v1/", read()),
    Cell("GET", "/api/schema/", read()),
    Cell("GET", "/api/docs/", read()),
    # projects
    Cell("GET", "/api/v1/projects/", read()),
    # A non-staff creator names an owner of theirs (else they could not edit it): 400 naming owner_ref.
    Cell(
        "POST",
        "/api/v1/projects/",
        {**signed_in_write(201), "reader": 400},
        {"name": "brand-new", "type": "library", "owner_ref": "group:default/ml-platform"},
    ),
    Cell(
        "POST",
        "/api/v1/projects/",
        {**signed_in_write(201), "reader": 400, "owner": 400},
        {"name": "brand-new", "type": "library"},
    ),
    Cell("GET", "/api/v1/projects/{id}/", read()),
    Cell("PUT", "/api/v1/projects/{id}/", owner_write(), {"name": "api-model", "description": "Put."}),
    Cell("PATCH", "/api/v1/projects/{id}/", owner_write(), {"description": "Patched."}),
    Cell("DELETE", "/api/v1/projects/{id}/", {**owner_write(405), "reader": 405}),
    Cell("POST", "/api/v1/projects/{id}/owner/", owner_write(), {"owner": "group:default/ml-platform"}),
    Cell("GET", "/api/v1/projects/{id}/facts/", read()),
    Cell("POST", "/api/v1/projects/{id}/facts/", owner_write(201), {"name": "coverage", "value": 0.8}),
    # teams, people, repositories: read only
    Cell("GET", "/api/v1/teams/", read()),
    Cell("POST", "/api/v1/teams/", not_allowed(), {"name": "x"}),
    Cell("GET", "/api/v1/teams/{id}/", read()),
    Cell("PATCH", "/api/v1/teams/{id}/", not_allowed(), {"title": "x"}),
    Cell("DELETE", "/api/v1/teams/{id}/", not_allowed()),
    Cell("GET", "/api/v1/people/", read()),
    Cell("GET", "/api/v1/people/{id}/", read()),
    Cell("PUT", "/api/v1/people/{id}/", not_allowed(), {"name": "x"}),
    Cell("GET", "/api/v1/repositories/", read()),
    Cell("GET", "/api/v1/repositories/{id}/", read()),
    Cell("DELETE", "/api/v1/repositories/{id}/", not_allowed()),
    # findings
    Cell("GET", "/api/v1/findings/", read()),
    Cell("GET", "/api/v1/findings/{id}/", read()),
    Cell("PATCH", "/api/v1/findings/{id}/", not_allowed(), {"message": "x"}),
    Cell("POST", "/api/v1/findings/{id}/acknowledge/", owner_write()),
    Cell("DELETE", "/api/v1/findings/{id}/acknowledge/", owner_write()),
    Cell("POST", "/api/v1/findings/{id}/snooze/", owner_write(), SNOOZE),
    Cell("DELETE", "/api/v1/findings/{id}/snooze/", owner_write()),
    # sources and sync runs: staff only
    Cell("GET", "/api/v1/sources/", staff_read()),
    Cell("POST", "/api/v1/sources/", staff_not_allowed(), {"name": "x", "kind": "git"}),
    Cell("GET", "/api/v1/sources/{id}/", staff_read()),
    Cell("DELETE", "/api/v1/sources/{id}/", staff_not_allowed()),
    Cell("POST", "/api/v1/sources/{id}/sync/", staff_write(202)),
    Cell("GET", "/api/v1/sync-runs/", staff_read()),
    Cell("GET", "/api/v1/sync-runs/{id}/", staff_read()),
    Cell("DELETE", "/api/v1/sync-runs/{id}/", staff_not_allowed()),
    # CI pipelines and the model registry: read only
    Cell("GET", "/api/v1/pipelines/", read()),
    Cell("GET", "/api/v1/pipelines/{id}/", read()),
    Cell("DELETE", "/api/v1/pipelines/{id}/", not_allowed()),
    Cell("GET", "/api/v1/pipeline-runs/", read()),
    Cell("GET", "/api/v1/pipeline-runs/{id}/", read()),
    Cell("POST", "/api/v1/pipeline-runs/", not_allowed(), {"status": "x"}),
    Cell("GET", "/api/v1/registered-models/", read()),
    Cell("GET", "/api/v1/registered-models/{id}/", read()),
    Cell("PATCH", "/api/v1/registered-models/{id}/", not_allowed(), {"name": "x"}),
    Cell("GET", "/api/v1/model-versions/", read()),
    Cell("GET", "/api/v1/model-versions/{id}/", read()),
    Cell("PUT", "/api/v1/model-versions/{id}/", not_allowed(), {"version": "2"}),
    # the Backstage export
    Cell("GET", "/api/v1/backstage/entities", read()),
    Cell("GET", "/api/v1/backstage/entities", read(), query="?format=yaml"),
    Cell("POST", "/api/v1/backstage/entities", not_allowed()),
]


@pytest.fixture
def world(catalog, team, member, outsider, staff, tmp_path):
    """One object of each kind, owned by ``team`` (whose member is the ``owner`` caller)."""
    project = catalog.project("api-model", owner=team, source=None)
    finding = catalog.finding(project, "stale-code")
    descriptor = tmp_path / "catalog-info.yaml"
    descriptor.write_text("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\nspec: {}\n")
    source = catalog.source("files", kind=Source.Kind.FILE, config={"paths": [str(descriptor)]})
    run = catalog.sync_run(source)
    pipeline = Pipeline.objects.create(
        repository=project.repository, provider="gitlab-ci", external_id=".gitlab-ci.yml", name="ci"
    )
    pipeline_run = PipelineRun.objects.create(
        pipeline=pipeline, external_id="1", status="success", portal_status="success", created_at=catalog.now
    )
    model = catalog.registered_model("api-model", project=project)
    version = ModelVersion.objects.create(registered_model=model, version="1")
    ids = {
        "pipelines": pipeline.pk,
        "pipeline-runs": pipeline_run.pk,
        "registered-models": model.pk,
        "model-versions": version.pk,
        "projects": project.pk,
        "teams": team.pk,
        "people": member.person.pk,
        "repositories": project.repository_id,
        "findings": finding.pk,
        "sources": source.pk,
        "sync-runs": run.pk,
    }
    return SimpleNamespace(ids=ids, member=member, outsider=outsider, staff=staff)


def client_for(role: str, world, settings):
    if role == "anonymous_read":
        settings.PORTAL = {**settings.PORTAL, "ANONYMOUS_READ": True}
    if role in ("anonymous", "anonymous_read"):
        return APIClient()
    user = {"reader": world.outsider, "owner": world.member, "staff": world.staff}.get(role, world.member)
    row, token = APIToken.objects.issue(user, role)
    if role == "revoked":
        row.revoke()
    if role == "expired":
        APIToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return bearer(token)


def fill(path: str, ids: dict[str, int]) -> str:
    if "{id}" not in path:
        return path
    collection = path.removeprefix("/api/v1/").split("/")[0]
    return path.replace("{id}", str(ids[collection]))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cell", MATRIX, ids=lambda cell: cell.id)
def test_matrix(cell: Cell, role: str, world, settings):
    client = client_for(role, world, settings)
    url = fill(cell.path, world.ids) + cell.query
    body = json.dumps(cell.data) if cell.data else ""
    response = client.generic(cell.method, url, data=body, content_type="application/json")
    expected = cell.expect[role]
    assert response.status_code == expected, (role, cell.id, response.status_code, response.content[:300])
    if expected >= 400 and response["Content-Type"].startswith("application/json"):
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    if expected == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_matrix_covers_every_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    declared = {(cell.method, cell.path) for cell in MATRIX}
    missing = operations - declared
    assert not missing, f"add these operations to the permission matrix: {sorted(missing)}"
    assert all(set(cell.expect) == set(ROLES) for cell in MATRIX)
