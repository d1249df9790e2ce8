"""Query counts per endpoint, pinned: a page of 5 and a page of 50 cost the same (no N+1), and any new query
on a list or a detail is a failing test here rather than a slow page in production."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Finding, ModelVersion, Pipeline, PipelineRun, Project, ProjectFact, RegisteredModel

pytestmark = pytest.mark.django_db

# (url, who asks, queries): the token's lookup is one of them.
LISTS = [
    ("/api/v1/projects/", "reader", 3),
    ("/api/v1/projects/?team=team-0&ordering=-name", "reader", 4),
    ("/api/v1/projects/?owner=group:default/team-1&rule=stale-code", "reader", 3),
    ("/api/v1/teams/", "reader", 4),
    ("/api/v1/people/", "reader", 4),
    ("/api/v1/repositories/", "reader", 3),
    ("/api/v1/findings/", "reader", 3),
    ("/api/v1/findings/?open=true&severity=20", "reader", 3),
    ("/api/v1/sources/", "staff", 3),
    ("/api/v1/sync-runs/", "staff", 3),
    ("/api/v1/backstage/entities?kind=component", "reader", 3),
    ("/api/v1/backstage/entities?kind=group", "reader", 5),
    ("/api/v1/backstage/entities?kind=user", "reader", 4),
    ("/api/v1/pipelines/", "reader", 3),
    ("/api/v1/pipelines/?failing=true&provider=github-actions", "reader", 3),
    ("/api/v1/pipeline-runs/", "reader", 3),
    ("/api/v1/registered-models/", "reader", 3),
    ("/api/v1/model-versions/", "reader", 3),
]


@pytest.fixture
def big_catalog(catalog, outsider, staff, as_user):
    projects = catalog.populate(60)
    # More than 50 projects of each team with an open stale-code finding: filtered lists fill a page of 50.
    teams = {project.owner_team for project in projects if project.owner_team}
    extra = Project.objects.bulk_create(
        Project(name=f"bulk-{team.name}-{i}", owner_team=team, owner_ref=team.ref.lower())
        for team in teams
        for i in range(50)
    )
    Finding.objects.bulk_create(
        Finding(
            project=p, rule="stale-code", message="m", first_seen_at=catalog.now, last_seen_at=catalog.now
        )
        for p in extra
    )
    for project in projects[:5]:
        ProjectFact.objects.create(project=project, name="coverage", number=0.5, observed_at=catalog.now)
    repository = projects[0].repository
    for i in range(55):
        pipeline = Pipeline.objects.create(
            repository=repository,
            provider="github-actions",
            external_id=str(i),
            name=f"ci-{i}",
            latest_status="failure",
            failing_since=catalog.now,
        )
        for n in range(2):
            PipelineRun.objects.create(
                pipeline=pipeline,
                external_id=f"{i}-{n}",
                status="completed",
                conclusion="failure",
                portal_status="failure",
                created_at=catalog.now - timedelta(hours=n),
            )
        model = catalog.registered_model(f"rm-{i}", project=projects[0])
        version = ModelVersion.objects.create(registered_model=model, version="1", aliases=["champion"])
        RegisteredModel.objects.filter(pk=model.pk).update(production_version=version)
        catalog.sync_run(catalog.source(f"s-{i}"))
        team = catalog.team(f"squad-{i}", parent=projects[0].owner_team)
        catalog.person(f"person-{i}", teams=[team, projects[0].owner_team])
    return {"reader": as_user(outsider), "staff": as_user(staff), "projects": projects}


def test_a_first_page_holding_every_row_needs_no_count(big_catalog):
    url = "/api/v1/projects/?owner=user:default/maintainer"
    client = big_catalog["reader"]
    full, whole = queries(client, f"{url}&limit=5"), queries(client, f"{url}&limit=50")
    assert (full, whole) == (3, 2)
    page = client.get(f"{url}&limit=50").json()
    assert page["count"] == len(page["results"]) == 12 and page["next"] is None


def queries(client, url) -> int:
    client.get(url)  # the token's first use is recorded once: not part of the steady state
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def test_a_list_costs_the_same_for_5_and_50_rows(big_catalog):
    measured, pinned = {}, {}
    for url, who, expected in LISTS:
        client = big_catalog[who]
        sep = "&" if "?" in url else "?"
        measured[url] = tuple(queries(client, f"{url}{sep}limit={n}") for n in (5, 50))
        pinned[url] = (expected, expected)
        assert len(client.get(f"{url}{sep}limit=50").json()["results"]) > 5, url
    assert measured == pinned


DETAILS = [
    # token, project, open findings, latest facts, pipelines, their latest runs, registered models,
    # the reader's person (can_edit)
    ("/api/v1/projects/{project}/", 8),
    ("/api/v1/projects/{project}/facts/", 4),
    ("/api/v1/teams/{team}/", 3),
    ("/api/v1/findings/{finding}/", 2),
    ("/api/v1/pipelines/{pipeline}/", 2),
    ("/api/v1/registered-models/{model}/", 2),
]


def test_a_detail_costs_a_fixed_number_of_queries(big_catalog):
    project = big_catalog["projects"][0]
    ids = {
        "project": project.pk,
        "team": project.owner_team_id,
        "finding": project.findings.first().pk,
        "pipeline": Pipeline.objects.first().pk,
        "model": RegisteredModel.objects.filter(project=project).first().pk,
    }
    measured = {path: queries(big_catalog["reader"], path.format(**ids)) for path, _ in DETAILS}
    assert measured == dict(DETAILS)
