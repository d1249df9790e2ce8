"""A project's findings are its own and those of its registered models (``models.of_project``): the project
page, the API's project detail, list count and ``?project=`` filter, and the maintenance burden agree."""

from datetime import timedelta

import pytest
from django.urls import reverse

from catalog.burden import update_burden
from catalog.models import Finding, Project, RegisteredModel, Severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(catalog):
    team = catalog.team("ranking")
    project = catalog.project("ranker", owner=team, lifecycle="production")
    catalog.finding(project, "stale-code", severity=Severity.WARNING, message="No commit for 120 days.")
    source = catalog.source("mlflow-prod", kind="mlflow")
    model = RegisteredModel.objects.create(source=source, name="ranker-model", project=project)
    orphan = RegisteredModel.objects.create(source=source, name="orphan-model")
    catalog.finding(
        model, "stale-model", severity=Severity.ERROR, message="Production version is 200 days old."
    )
    catalog.finding(orphan, "orphan-model", message="Linked to no project.")
    return project


def test_the_api_counts_and_lists_the_models_findings(client, outsider, linked):
    client.force_login(outsider)
    detail = client.get(f"/api/v1/projects/{linked.pk}/").json()
    assert [(f["rule"], f["registered_model"]) for f in detail["open_findings"]] == [
        ("stale-model", "ranker-model"),
        ("stale-code", None),
    ]
    assert detail["open_findings_count"] == 2
    [listed] = client.get("/api/v1/projects/", {"name": "ranker"}).json()["results"]
    assert listed["open_findings_count"] == 2
    found = client.get("/api/v1/findings/", {"project": linked.pk}).json()["results"]
    assert {(f["rule"], f["is_open"]) for f in found} == {("stale-code", True), ("stale-model", True)}


def test_the_project_page_shows_the_models_findings(client, outsider, linked):
    client.force_login(outsider)
    page = client.get(reverse("project-detail", args=["default", "ranker"])).content.decode()
    section = page.split('id="open-findings"')[1].split("</section>")[0]
    assert "Production version is 200 days old." in section and "No commit for 120 days." in section
    assert 'href="/models/mlflow-prod/ranker-model/"' in section
    assert "Linked to no project." not in section


def test_the_burden_weighs_the_models_findings(catalog, linked):
    update_burden(now=catalog.now)
    assert {f.first_seen_at for f in Finding.objects.all()} == {catalog.now - timedelta(days=30)}
    # production 1.5 x (warning 3 + error 9) x 31 days; the orphan model's finding counts for no project
    assert Project.objects.get(pk=linked.pk).maintenance_burden == 1.5 * (3 * 31 + 9 * 31)
